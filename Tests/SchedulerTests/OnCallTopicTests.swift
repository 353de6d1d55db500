import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import Storage
import Testing

/// Issue 14, item 5: the current on-call person kept in a channel's topic (runbook 004-12: "Current
/// on-call: Posted in Rocket.Chat #devops topic"), at every hand-off and override, once each, on the
/// injected clock. The shipped rotations hand off on Mondays at 09:00 Europe/Berlin.
@Suite("On-call topic channels")
struct OnCallTopicTests {
    static let week: TimeInterval = 7 * 86400

    static func topics(_ klaxon: TestDaemon) async throws -> [ConsoleMessage] {
        try await klaxon.consoleLines().filter { $0.channel == "devops" }
    }

    @Test func theTopicFollowsEveryHandoffAndOverrideOnce() async throws {
        let directory = try TemporaryDirectory("klaxon-topic")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday)
        let klaxon = try await TestDaemon.open(path: directory.file("klaxon.sqlite"), clock: clock) { config in
            config.oncall.topicChannels = [OnCallTopicChannel(platform: .console, channel: "devops", rotation: "primary")]
        }

        // First sight of the rotation: nothing is announced, but the topic says who is on call now.
        #expect(await klaxon.scheduler.announceHandoffs() == 0)
        await klaxon.sender.drainOnce()
        var topics = try await Self.topics(klaxon).map(\.text)
        // 004-12. (The zone reads CET or GMT+1 depending on the platform's zone names.)
        #expect(topics.count == 1)
        #expect(topics.first?.hasPrefix("Topic: On call · primary: @bob until 2025-12-01 09:00 ") == true, "\(topics)")
        #expect(topics.first?.hasSuffix(" · next: @alice") == true)

        // The Monday hand-off: the topic changes at 09:00 Berlin, once however often the scheduler looks.
        let handoff = Fixture.monday.addingTimeInterval(8 * 3600)
        clock.advance(to: handoff.addingTimeInterval(-1))
        #expect(await klaxon.scheduler.announceHandoffs() == 0)
        clock.advance(to: handoff)
        #expect(await klaxon.scheduler.announceHandoffs() == 2)
        #expect(await klaxon.scheduler.announceHandoffs() == 0)
        await klaxon.sender.drainOnce()
        topics = try await Self.topics(klaxon).map(\.text)
        #expect(topics.count == 2)
        #expect(topics.last?.hasPrefix("Topic: On call · primary: @alice until 2025-12-08 09:00 ") == true, "\(topics)")
        #expect(topics.last?.hasSuffix(" · next: @bob") == true)
        #expect(try await Self.topics(klaxon).last?.at == handoff)

        // An override from chat an hour later: the topic names the override at its start and the rotation
        // again at its end.
        clock.advance(by: 3600)
        await klaxon.run("oncall override @dave primary for 4h", as: "alice")
        #expect(await klaxon.scheduler.announceHandoffs() == 1)
        await klaxon.sender.drainOnce()
        let overridden = try await Self.topics(klaxon).last?.text ?? ""
        #expect(overridden.hasPrefix("Topic: On call · primary: @dave (override) until 2025-12-01 14:00 "), "\(overridden)")
        #expect(overridden.hasSuffix(" · next: @alice"))
        clock.advance(by: 4 * 3600)
        #expect(await klaxon.scheduler.announceHandoffs() == 1)
        await klaxon.sender.drainOnce()
        topics = try await Self.topics(klaxon).map(\.text)
        #expect(topics.last?.hasPrefix("Topic: On call · primary: @alice until 2025-12-08 09:00 ") == true, "\(topics)")
        #expect(topics.count == 4, "one topic per change, none repeated: \(topics)")
        #expect(try await klaxon.consoleLines().filter { $0.text.hasPrefix("Topic: On call · secondary") }.isEmpty, "only the configured rotation")
        try await klaxon.close()
    }
}
