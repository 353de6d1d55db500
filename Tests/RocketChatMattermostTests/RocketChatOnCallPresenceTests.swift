import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// Issue 14, item 5 over loopback: runbook 004's `#devops` topic names whoever is on call (004-12),
/// set through the outbox against the fake Rocket.Chat at the first sight of the rotation and at an
/// override, on the injected clock.
@Suite("Rocket.Chat on-call topic")
struct RocketChatOnCallTopicTests {
    @Test func theDevopsTopicNamesWhoeverIsOnCall() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        await fake.addRoom(named: "devops", creatorID: "uid-alice", createdAt: clock.now().addingTimeInterval(-86_400))
        let directory = try TemporaryDirectory("klaxon-rc-topic")
        defer { directory.remove() }
        try await withLiveServer(fake.router()) { url in
            var config = Runbook004.config(rocketChat: url)
            config.oncall.topicChannels = [OnCallTopicChannel(platform: .rocketchat, channel: "devops", rotation: "primary")]
            let klaxon = try await TestDaemon.open(config, clock: clock, databasePath: directory.file("klaxon.sqlite"))
            #expect(await klaxon.daemon.scheduler.announceHandoffs() == 0, "the first sight announces nothing")
            await klaxon.drain()
            #expect(await fake.room(named: "devops")?.topic == "On call · primary: @bob until 2025-11-17 09:00 UTC · next: @bob")

            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let override = await fake.post(as: "bob", in: "incidents", "/incident oncall override @alice for 2h")
                let answer = try await RocketChatWebhookTests.deliver(override, from: fake, to: client)
                #expect(answer.status == .ok)
            }
            #expect(await klaxon.daemon.scheduler.announceHandoffs() == 1)
            await klaxon.drain()
            #expect(await fake.room(named: "devops")?.topic == "On call · primary: @alice (override) until 2025-11-10 12:00 UTC · next: @bob")
            #expect(await fake.messages(in: "devops").isEmpty, "a topic, not a message")
            try await klaxon.close()
        }
    }
}

/// Issue 14, item 5: `@oncall` on Rocket.Chat resolves to whoever is on call now (004-14), as Slack's
/// user group does, through the outgoing webhook and the same command path as `/incident oncall ping`.
@Suite("Rocket.Chat @oncall")
struct RocketChatOnCallMentionTests {
    @Test func theFilterReadsAnOnCallMentionAsAPing() {
        let filter = RocketChatCommandFilter(triggers: ["/incident"], ownUserID: "BOT", oncallMention: "@oncall")
        #expect(filter.mentionsOnCall("@oncall acknowledging - investigating now"))
        #expect(filter.mentionsOnCall("is anyone looking? @OnCall"))
        #expect(filter.mentionsOnCall("(@oncall) please"))
        #expect(!filter.mentionsOnCall("@oncall-team please"))
        #expect(!filter.mentionsOnCall("mail ops@oncall.example.com"))
        #expect(!filter.mentionsOnCall("the oncall rota"))
        #expect(!RocketChatCommandFilter(triggers: ["/incident"], ownUserID: "BOT").mentionsOnCall("@oncall"), "off unless configured")
    }

    @Test func anOnCallMentionIsAnsweredByMentioningWhoeverIsOnCall() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc-mention")
        defer { directory.remove() }
        try await withLiveServer(fake.router()) { url in
            var config = Runbook004.config(rocketChat: url)
            config.platforms.rocketchat?.oncallMention = "oncall"
            let klaxon = try await TestDaemon.open(config, clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let question = await fake.post(as: "alice", in: "incidents", "@oncall API errors above 50%, can you look?")
                let answer = try await RocketChatWebhookTests.deliver(question, from: fake, to: client)
                #expect(answer.status == .ok)
                #expect(answer.text == "📣 @oncall: @bob (primary)")  // 004-14: the mention reaches bob

                // An override moves the mention at once.
                let override = await fake.post(as: "bob", in: "incidents", "/incident oncall override @alice for 1h")
                _ = try await RocketChatWebhookTests.deliver(override, from: fake, to: client)
                let again = await fake.post(as: "carol", in: "incidents", "ping @oncall")
                #expect(try await RocketChatWebhookTests.deliver(again, from: fake, to: client).text == "📣 @oncall: @alice (primary)")

                // Ordinary talk is left alone.
                let chatter = await fake.post(as: "alice", in: "incidents", "the oncall rota is on the wiki")
                #expect(try await RocketChatWebhookTests.deliver(chatter, from: fake, to: client).text == nil)
            }
            try await klaxon.close()
        }
    }
}
