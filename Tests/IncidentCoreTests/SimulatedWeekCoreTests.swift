import Foundation
import KlaxonTestSupport
import Testing

@testable import IncidentCore

/// Issue 4's simulated week on the pure core: the same plan as the integration week in SchedulerTests
/// (`SimulatedWeek`), but each incident is driven through `IncidentEngine` alone, in its own
/// `EngineTimerWorld`, with simulated time. No store, no scheduler, no clock: a week of hundreds of
/// incidents runs in a fraction of a second, so it can run for several seeds on every `swift test`.
///
/// Incidents do not share state in the engine (each decision reads one incident; who is on call is a
/// function of the time), so one world per incident fires the same timers at the same times as one
/// scheduler for all of them would.
@Suite("IncidentEngine: a simulated week")
struct SimulatedWeekCoreTests {
    typealias F = EngineFixture

    /// `EngineFixture`'s policy, spelled out: sev1 every 15 min (ack 5 min, long-running 1 h), sev2 every
    /// 30 min (ack 15 min), sev3 every 2 h, sev4 nothing; reviews 48 h / 48 h / 5 days; monitoring 30 min;
    /// the chain primary at 0, secondary at +5 min, carol at +15 min, walked once; overdue at 2 cadences.
    static let policy = WeekPolicy(
        mix: ["sev1", "sev2", "sev2", "sev3", "sev3", "sev3", "sev4"],
        cadence: ["sev1": 15 * F.minute, "sev2": 30 * F.minute, "sev3": 2 * F.hour],
        ackWithin: ["sev1": 5 * F.minute, "sev2": 15 * F.minute],
        escalateAfter: ["sev1": F.hour],
        reviewWithin: ["sev1": 48 * F.hour, "sev2": 48 * F.hour, "sev3": 120 * F.hour],
        monitorFor: 30 * F.minute,
        escalationAfter: [0, 5 * F.minute, 15 * F.minute],
        overdueAfterCadences: 2)

    static let incidents = 500

    /// What one firing left in the timeline, reduced to what the policy decides: when, the timer's step,
    /// and its lines without the people reached (who is on call is the rotation tests' business).
    struct Firing: Equatable, CustomStringConvertible {
        var at: Date
        var step: Int
        var text: String
        var description: String { "\(at) step \(step): \(text)" }

        /// The timeline lines of `kinds` that `fired` wrote, joined by " | ".
        init(_ fired: (timer: ScheduledTimer, changes: ChangeSet), _ kinds: TimelineKind..., keepLevel: Bool = false) {
            let entries = fired.changes.timeline.filter { kinds.contains($0.kind) }
            at = entries.first?.at ?? .distantPast
            step = fired.timer.step
            text = entries.map { SimulatedWeek.Line.withoutRecipients($0.text, keepLevel: keepLevel) }.joined(separator: " | ")
            if entries.contains(where: { $0.at != at }) { text += " (written at different times)" }
        }

        init(at: Date, step: Int, text: String) {
            self.at = at
            self.step = step
            self.text = text
        }
    }

    @Test("the policy the week is checked against is the fixture's")
    func policyIsTheFixtures() throws {
        let config = F.config()
        for severity in config.severities {
            #expect(Self.policy.cadence[severity.id] == severity.updateEvery?.timeInterval, "\(severity.id).updateEvery")
            #expect(Self.policy.ackWithin[severity.id] == (severity.page ? severity.ackWithin?.timeInterval : nil), "\(severity.id).ackWithin")
            #expect(Self.policy.escalateAfter[severity.id] == severity.escalateAfter?.timeInterval, "\(severity.id).escalateAfter")
            #expect(Self.policy.reviewWithin[severity.id] == severity.reviewWithin?.timeInterval, "\(severity.id).reviewWithin")
        }
        #expect(Set(Self.policy.mix) == Set(config.severities.map(\.id)))
        #expect(Self.policy.monitorFor == config.incidents.monitorFor?.timeInterval)
        #expect(Self.policy.escalationAfter == config.oncall.escalation.map(\.after.timeInterval))
        #expect(Self.policy.repeatEscalation == config.oncall.repeatEscalation)
        #expect(Self.policy.overdueAfterCadences == config.incidents.overdueAfterCadences)
    }

    @Test(
        "500 incidents over seven days: every reminder, acknowledgement escalation, long-running escalation, review and auto-close at its time",
        arguments: [UInt64(1), 2, 3])
    func week(seed: UInt64) throws {
        let engine = try F.engine()
        let end = F.monday.addingTimeInterval(SimulatedWeek.length)
        let events = SimulatedWeek.plan(incidents: Self.incidents, seed: seed, start: F.monday, policy: Self.policy)
        let byIncident = Dictionary(grouping: events, by: \.incident)
        try #require(byIncident.count == Self.incidents)

        var totals = (reminders: 0, overdue: 0, ackTimeouts: 0, exhausted: 0, longRunning: 0, reviews: 0, autoClosed: 0, reclassified: 0)
        for incident in 0..<Self.incidents {
            let plan = byIncident[incident]!  // `grouping` keeps the plan's order
            guard case .declare(let severity) = plan[0].action else {
                Issue.record("incident \(incident) starts with \(plan[0].action)")
                continue
            }
            let declaredAt = plan[0].at
            /// Says which incident failed and how it was planned (built only for a failure's message).
            func label() -> String {
                let steps = plan.dropFirst().map { "\($0.action) +\(Int($0.at.timeIntervalSince(declaredAt))) s" }
                return "seed \(seed), incident \(incident): \(severity) declared \(declaredAt), then \(steps.joined(separator: ", "))"
            }
            var world = EngineTimerWorld(try EngineScenario(severity, title: "Simulated incident \(incident)", at: declaredAt, engine: engine))
            for event in plan.dropFirst() {
                let decision: Decision
                switch event.action {
                case .declare: Issue.record("\(label()): declared twice"); continue
                case .ack: decision = world.run(.ack(nil), by: F.bob, at: event.at)
                case .update: decision = world.run(.update(nil, text: "Still on it"), at: event.at)
                case .severity(let new):
                    decision = world.run(.severity(nil, new), at: event.at)
                    totals.reclassified += 1
                case .resolve: decision = world.run(.resolve(nil, text: "Fixed"), at: event.at)
                case .close: decision = world.run(.close(nil, text: nil), at: event.at)
                }
                #expect(decision.outcome == .applied, "\(label()): \(event.action) at \(event.at): \(decision.reply.text)")
            }
            world.runTimers(through: end)

            let expected = SimulatedWeek.expectations(for: plan, until: end, policy: Self.policy)

            // Update reminders: each at its time, with its count since the last update, to the declarer
            // (nobody took the IC role), never a "missed" one (nothing fired late), escalating when overdue.
            let reminders = world.firings(of: .updateReminder)
            #expect(
                reminders.map { Firing($0, .reminder, .escalation) }
                    == expected.reminders.map {
                        let lines = [SimulatedWeek.Line.reminder($0, owner: "alice"), SimulatedWeek.Line.overdue($0, policy: Self.policy)]
                        return Firing(at: $0.at, step: $0.step, text: lines.compactMap { $0 }.joined(separator: " | "))
                    }, "\(label()): update reminders")
            #expect(
                reminders.allSatisfy { $0.changes.postTexts(to: .incidentRoom).filter { $0.hasPrefix("⏰") }.count == 1 },
                "\(label()): one post per reminder")

            // The acknowledgement clock: the chain walked step by step, then "exhausted".
            #expect(
                world.firings(of: .ackTimeout).map { Firing($0, .escalation, keepLevel: true) }
                    == expected.ackTimeouts.map {
                        Firing(at: $0.at, step: $0.step, text: SimulatedWeek.Line.ackTimeout($0))
                    }, "\(label()): acknowledgement timeouts")

            // Long-running: one step up the chain.
            #expect(
                world.firings(of: .longRunning).map { Firing($0, .escalation) }
                    == expected.longRunning.map {
                        Firing(at: $0, step: 0, text: SimulatedWeek.Line.longRunning(open: $0.timeIntervalSince(declaredAt)))
                    }, "\(label()): long-running escalation")

            // After the resolution: the review reminder, and the close by the monitoring window.
            #expect(
                world.firings(of: .reviewReminder).map { Firing($0, .reminder) }
                    == (expected.review.map {
                        [Firing(at: $0, step: 0, text: SimulatedWeek.Line.review)]
                    } ?? []), "\(label()): review reminder")
            #expect(world.firings(of: .monitoringWindow).map(\.timer.dueAt) == (expected.autoClose.map { [$0] } ?? []), "\(label()): monitoring window")
            if let autoClose = expected.autoClose {
                #expect(world.incident.status == .closed && world.incident.closedAt == autoClose, "\(label()): closed after the monitoring window")
            }
            // Nothing else fired: every other timer was cancelled before it came due.
            #expect(world.fired.count == expected.firingCount, "\(label()): \(world.fired.count) firings, \(expected.firingCount) expected")

            // Counted from what the engine did (equal to the expectations when the checks above pass).
            totals.reminders += reminders.count
            totals.overdue += reminders.filter { $0.changes.timeline.contains { $0.kind == .escalation } }.count
            totals.ackTimeouts += world.firings(of: .ackTimeout).count
            totals.exhausted += world.firings(of: .ackTimeout).filter { $0.changes.timeline.first?.text.hasPrefix("Still unacknowledged") == true }.count
            totals.longRunning += world.firings(of: .longRunning).count
            totals.reviews += world.firings(of: .reviewReminder).count
            totals.autoClosed += world.firings(of: .monitoringWindow).count
        }
        // The week is not trivially small: thousands of reminders, and every other rule at work many times.
        #expect(totals.reminders > 2000, "only \(totals.reminders) update reminders in the week")
        #expect(totals.overdue > 100 && totals.ackTimeouts > 100 && totals.exhausted > 20, "\(totals)")
        #expect(totals.longRunning > 30 && totals.reviews > 200 && totals.autoClosed > 150 && totals.reclassified > 50, "\(totals)")
    }
}
