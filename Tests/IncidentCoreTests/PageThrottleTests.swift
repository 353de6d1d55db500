import Foundation
import Testing

@testable import IncidentCore

/// Issue 12, item 3: pager-webhook calls are throttled per person and webhook (at most one a minute, a
/// cap per hour), a throttled page says so in the incident's room and timeline, and only committed
/// calls count.
@Suite("Page throttling")
struct PageThrottleTests {
    static func engine(perHour: Int = 10) throws -> IncidentEngine {
        var config = PagerNoticeTests.config([PagerNoticeTests.webhook("sms")])
        config.paging.throttle = PageThrottleLimits(perPersonEvery: .minutes(1), perHour: perHour)
        return try IncidentEngine(config: config)
    }

    static func at(_ hhmmss: String) -> Date {
        EngineFixture.monday.addingTimeInterval(TimeInterval(hhmmss.split(separator: ":").reduce(0) { $0 * 60 + Int($1)! }) - 9 * 3600)
    }

    /// Declares a paging incident at `time`, committing it (so its calls are recorded) unless told not to.
    static func declare(_ engine: IncidentEngine, at time: Date, commit: Bool = true) throws -> Decision {
        let decision = try EngineScenario("sev1", at: time, engine: engine).declaration
        if commit { engine.pageThrottle.record(decision.changes) }
        return decision
    }

    static func posts(_ changes: ChangeSet) -> [String] {
        changes.outbox.compactMap {
            if case .post(_, let text, _) = $0.action { return text }
            return nil
        }
    }

    @Test func aSecondPageWithinAMinuteIsNotCalledAndTheRoomIsTold() throws {
        let engine = try Self.engine()
        #expect(PagerNoticeTests.notices(try Self.declare(engine, at: Self.at("09:00:00")).changes).first?.people.map(\.id) == ["bob"])

        let second = try Self.declare(engine, at: Self.at("09:00:30"))
        #expect(PagerNoticeTests.notices(second.changes).isEmpty, "Bob was called 30 s ago")
        let line = "Pager webhook sms throttled for Bob Brown: called 30 s ago (at most one call every minute)"
        #expect(Self.posts(second.changes).contains("⏳ \(line). Paged in chat only."), "\(Self.posts(second.changes))")
        #expect(second.changes.timeline.contains { $0.kind == .page && $0.text == line })
        // Still paged in chat: the page post mentions him.
        #expect(Self.posts(second.changes).contains { $0.contains("bob") || $0.contains("Bob") })

        // A minute after the first call, he may be called again.
        #expect(PagerNoticeTests.notices(try Self.declare(engine, at: Self.at("09:01:00")).changes).count == 1)
    }

    @Test func theHourlyCapCountsTheLastHour() throws {
        let engine = try Self.engine(perHour: 3)
        for time in ["09:00:00", "09:02:00", "09:04:00"] {
            #expect(PagerNoticeTests.notices(try Self.declare(engine, at: Self.at(time)).changes).count == 1, "call at \(time)")
        }
        let capped = try Self.declare(engine, at: Self.at("09:06:00"))
        #expect(PagerNoticeTests.notices(capped.changes).isEmpty)
        #expect(Self.posts(capped.changes).contains { $0.contains("called 3 times in the last hour (at most 3)") }, "\(Self.posts(capped.changes))")
        // An hour after the first call, one slot is free again.
        #expect(PagerNoticeTests.notices(try Self.declare(engine, at: Self.at("10:00:00")).changes).count == 1)
    }

    @Test func aDecisionThatWasNotCommittedCountsNothing() throws {
        let engine = try Self.engine()
        // Decided but thrown away (a conflict re-decided), twice: Bob is called by the decision that is kept.
        _ = try Self.declare(engine, at: Self.at("09:00:00"), commit: false)
        _ = try Self.declare(engine, at: Self.at("09:00:01"), commit: false)
        #expect(PagerNoticeTests.notices(try Self.declare(engine, at: Self.at("09:00:02")).changes).count == 1)
    }

    @Test func acknowledgementsAreNotThrottled() throws {
        let engine = try IncidentEngine(
            config: {
                var config = PagerNoticeTests.config([PagerNoticeTests.webhook("sms", events: [.page, .acknowledged])])
                config.paging.throttle = PageThrottleLimits(perPersonEvery: .minutes(1), perHour: 1)
                return config
            }())
        var scenario = try EngineScenario("sev1", engine: engine)
        engine.pageThrottle.record(scenario.declaration.changes)
        let ack = scenario.run(.ack(nil), by: EngineFixture.bob, at: Self.at("09:00:20"))
        #expect(PagerNoticeTests.notices(ack.changes).map(\.event) == [.acknowledged])
    }
}
