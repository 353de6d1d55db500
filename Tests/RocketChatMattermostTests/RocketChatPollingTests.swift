import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// Polling mode: no outgoing webhook, the daemon reads the rooms' history with a cursor in the store.
@Suite("Rocket.Chat polling")
struct RocketChatPollingTests {
    static let channel = "incident-2025-11-10-001"
    static let poll = RocketChatConfig.Poll(rooms: ["#incidents"], every: TimeSpan(seconds: 5))

    @Test func messagesPostedWhileStoppedAreHandledOnceEach() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-poll")
        defer { directory.remove() }
        let database = directory.file("klaxon.sqlite")

        try await withLiveServer(fake.router()) { url in
            let config = Runbook004.config(rocketChat: url, poll: Self.poll)
            // What was said before Klaxon first looked is history, not commands.
            await fake.post(as: "alice", in: "incidents", "!incident create \"Yesterday's outage\"")

            var klaxon = try await TestDaemon.open(config, clock: clock, databasePath: database)
            var poller = try #require(klaxon.rocketChat?.poller)
            #expect(await poller.pollOnce().commands == 0)

            clock.advance(by: 5)
            await fake.post(as: "alice", in: "incidents", "!incident create \"API response time degraded\"")
            await fake.post(as: "carol", in: "incidents", "is anyone looking at the API?")
            let first = await poller.pollOnce()
            #expect(first.commands == 1 && first.ignored == 1)
            await klaxon.drain()
            #expect(await fake.room(named: Self.channel) != nil)
            let reply = await fake.messages(in: "incidents").last { $0.author.username == "klaxon.bot" && $0.text.hasPrefix("Declared INC-1") }
            #expect(reply != nil, "the answer is posted in the room the command came from")
            #expect(await poller.pollOnce().commands == 0, "the bot's own posts are not commands")

            // Stop the daemon; people go on working.
            try await klaxon.close()
            clock.advance(by: 60)
            await fake.post(as: "bob", in: Self.channel, "!incident ack")
            clock.advance(by: 1)
            await fake.post(as: "alice", in: "incidents", "/incident update INC-1 Investigating high error rate on API")
            await fake.post(as: "alice", in: "incidents", "/incident note INC-1 Checked the DigitalOcean status page")

            // Start again on the same database file.
            klaxon = try await TestDaemon.open(config, clock: clock, databasePath: database)
            poller = try #require(klaxon.rocketChat?.poller)
            let afterRestart = await poller.pollOnce()
            #expect(afterRestart.commands == 3)
            #expect(await poller.pollOnce().commands == 0)
            await klaxon.drain()

            let incident = try #require(try await klaxon.store.incident(IncidentID(1)))
            #expect(incident.acknowledgedBy?.id == "bob")
            let kinds = try await klaxon.store.timeline(of: IncidentID(1)).map(\.kind)
            #expect(kinds.filter { $0 == .acknowledged }.count == 1)
            #expect(kinds.filter { $0 == .update }.count == 1)
            #expect(kinds.filter { $0 == .note }.count == 1)
            #expect(try await klaxon.store.incidents(includeClosed: true, limit: 10).count == 1, "yesterday's message was never run")
            try await klaxon.close()

            // And once more: nothing is handled twice after another restart.
            klaxon = try await TestDaemon.open(config, clock: clock, databasePath: database)
            #expect(try await #require(klaxon.rocketChat?.poller).pollOnce().commands == 0)
            try await klaxon.close()
        }
    }

    /// Replicas (issue 16): one poller at a time holds the `rocketchat:poll` lease and renews it each round;
    /// while another replica holds it this one reads nothing, and once the holder stops renewing (a crash)
    /// the lease runs out and this one takes over, handling what was posted meanwhile exactly once.
    @Test func onePollerAtATimeAndATakeoverWhenTheHolderStops() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-poll-lease")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let config = Runbook004.config(rocketChat: url, poll: Self.poll)
            let klaxon = try await TestDaemon.open(config, clock: clock, databasePath: directory.file("klaxon.sqlite"))
            let poller = try #require(klaxon.rocketChat?.poller)
            #expect(await poller.pollOnce().polledElsewhere == false)
            // Another replica asks while this one's lease runs: refused.
            let lease = TimeInterval(config.storage.leaseTime.seconds)
            clock.advance(by: 5)
            #expect(
                try await klaxon.store.holdLease("rocketchat:poll", owner: "replica-b", now: clock.now(), until: clock.now().addingTimeInterval(lease)) == false
            )

            // This replica stops renewing (it crashed): once its lease has run out the other one takes it,
            // and while the other holds it this poller reads nothing, not even a command waiting there.
            clock.advance(by: lease)
            #expect(try await klaxon.store.holdLease("rocketchat:poll", owner: "replica-b", now: clock.now(), until: clock.now().addingTimeInterval(lease)))
            await fake.post(as: "alice", in: "incidents", "!incident create \"API response time degraded\"")
            let elsewhere = await poller.pollOnce()
            #expect(elsewhere.polledElsewhere && elsewhere.commands == 0)
            #expect(try await klaxon.store.incidents(includeClosed: true, limit: 10).isEmpty)

            // The other replica goes quiet in turn: this one takes the poll back and handles the command once.
            clock.advance(by: lease)
            let back = await poller.pollOnce()
            #expect(!back.polledElsewhere && back.commands == 1)
            #expect(await poller.pollOnce().commands == 0)
            #expect(try await klaxon.store.incidents(includeClosed: true, limit: 10).count == 1)
            try await klaxon.close()
        }
    }

    @Test func aCommandSeenAgainAfterACrashChangesNothing() async throws {
        // The daemon handled a message but died before moving the cursor: the inbound key catches it.
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-poll")
        defer { directory.remove() }
        let database = directory.file("klaxon.sqlite")

        try await withLiveServer(fake.router()) { url in
            let config = Runbook004.config(rocketChat: url, poll: Self.poll)
            let klaxon = try await TestDaemon.open(config, clock: clock, databasePath: database)
            let poller = try #require(klaxon.rocketChat?.poller)
            await poller.pollOnce()
            let saved = try #require(try await klaxon.store.cursor("rocketchat:poll:rid-incidents"))

            clock.advance(by: 5)
            await fake.post(as: "alice", in: "incidents", "!incident create \"API response time degraded\"")
            #expect(await poller.pollOnce().commands == 1)
            try await klaxon.store.setCursor("rocketchat:poll:rid-incidents", value: saved)
            let replay = await poller.pollOnce()
            #expect(replay.commands == 1)
            #expect(try await klaxon.store.incidents(includeClosed: true, limit: 10).count == 1)
            await klaxon.drain()
            let replies = await fake.messages(in: "incidents").filter { $0.author.username == "klaxon.bot" && $0.text.hasPrefix("Declared") }
            #expect(replies.count == 1, "no second answer for a replayed command")
            try await klaxon.close()
        }
    }

    @Test func theServicePollsOnTheInjectedClockAndStopsOnShutdown() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-poll")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(rocketChat: url, poll: Self.poll), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            let poller = try #require(klaxon.rocketChat?.poller)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await poller.run() }
                try await waitUntil { clock.sleeperCount == 1 }
                await fake.post(as: "alice", in: "incidents", "!incident create \"API response time degraded\"")
                #expect(try await klaxon.store.incidents(includeClosed: true, limit: 10).isEmpty, "nothing before the interval has passed")
                clock.advance(by: 5)
                try await waitUntil { (try? await klaxon.store.incidents(includeClosed: true, limit: 10).count) == 1 }
                group.cancelAll()
            }
            try await klaxon.close()
        }
    }

    @Test func aRateLimitedHistoryCallIsWaitedOut() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-poll")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(rocketChat: url, poll: Self.poll), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            let poller = try #require(klaxon.rocketChat?.poller)
            await poller.pollOnce()
            await fake.throttle("channels.history", afterCalls: 0, window: 42)
            clock.advance(by: 5)
            await fake.post(as: "alice", in: "incidents", "!incident create \"API response time degraded\"")

            let limited = await poller.pollOnce()
            #expect(limited.rateLimitedFor == 42, "X-RateLimit-Reset (epoch ms) read against the clock")
            #expect(limited.commands == 0)
            clock.advance(by: 42)
            #expect(await poller.pollOnce().commands == 1)
            #expect(await fake.tooManyRequestsAnswers() == 1)
            try await klaxon.close()
        }
    }
}

/// Polls `condition` until it holds (at most five seconds of real time).
func waitUntil(_ condition: @Sendable () async -> Bool) async throws {
    for _ in 0..<500 {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition not met in time")
}
