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

/// `privateChannels: true`: incident channels only the invited can see, on Rocket.Chat (private groups,
/// `groups.*`) and Mattermost (`type: "P"`). The fakes refuse a `channels.*` call on a private group and a
/// `groups.*` call on a public channel, as the servers do, so using the wrong family fails these tests.
@Suite("Private incident channels")
struct PrivateChannelTests {
    static let channel = "incident-2025-11-10-001"

    @Test func rocketChatCreatesAPrivateGroupAndKeepsUsingGroupsCallsAfterARestart() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-private")
        defer { directory.remove() }
        let database = directory.file("klaxon.sqlite")

        try await withLiveServer(fake.router()) { url in
            let config = Runbook004.config(rocketChat: url, privateChannels: true)
            var klaxon = try await TestDaemon.open(config, clock: clock, databasePath: database)
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let create = await fake.post(as: "alice", in: "incidents", "/incident create \"API response time degraded\"")
                let answer = try await RocketChatWebhookTests.deliver(create, from: fake, to: client)
                #expect(answer.text?.hasPrefix("Declared INC-1") == true)
            }
            await klaxon.drain()
            let room = try #require(await fake.room(named: Self.channel))
            #expect(room.type == "p")
            #expect(room.topic == "P1 · Declared · IC: unassigned · INC-1 API response time degraded")
            #expect(room.memberIDs.contains("uid-alice") && room.memberIDs.contains("uid-bob"))
            #expect(!room.memberIDs.contains("uid-carol"), "only the invited are in")
            #expect(await fake.calls(to: "groups.create").map(\.status) == [200])
            #expect(await fake.calls(to: "channels.create").isEmpty)
            #expect(await fake.messages(in: Self.channel).contains { $0.text.hasPrefix("🚨 [P1 INCIDENT]") })
            let announcement = try #require(await fake.messages(in: "incidents").first { $0.author.username == "klaxon.bot" })
            #expect(announcement.text.contains("#\(Self.channel)"))
            try await klaxon.close()

            // A new process knows only the room's id: it asks the server what kind of room it is.
            klaxon = try await TestDaemon.open(config, clock: clock, databasePath: database)
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let role = await fake.post(as: "alice", in: Self.channel, "!incident role ic @carol")
                let answer = try await RocketChatWebhookTests.deliver(role, from: fake, to: client)
                #expect(answer.text == "@carol is now Incident Commander of INC-1.")
            }
            await klaxon.drain()
            let after = try #require(await fake.room(named: Self.channel))
            #expect(after.memberIDs.contains("uid-carol"))
            #expect(after.topic?.contains("IC: @carol") == true)
            #expect(await fake.calls(to: "groups.invite").allSatisfy { $0.status == 200 })
            let topics = await fake.calls(to: "groups.setTopic")
            #expect(topics.count >= 2 && topics.allSatisfy { $0.status == 200 })
            #expect(await fake.calls(to: "channels.invite").isEmpty)
            #expect(await fake.calls(to: "channels.setTopic").isEmpty)
            #expect(try await klaxon.store.outboxMessages(incident: IncidentID(1)).allSatisfy { $0.state == .delivered })
            try await klaxon.close()
        }
    }

    @Test func rocketChatPollingReadsAPrivateIncidentGroupWithGroupsHistory() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-private")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let poll = RocketChatConfig.Poll(rooms: ["#incidents"], every: TimeSpan(seconds: 5))
            let klaxon = try await TestDaemon.open(
                Runbook004.config(rocketChat: url, poll: poll, privateChannels: true), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            let poller = try #require(klaxon.rocketChat?.poller)
            await poller.pollOnce()

            clock.advance(by: 5)
            await fake.post(as: "alice", in: "incidents", "!incident create \"API response time degraded\"")
            #expect(await poller.pollOnce().commands == 1)
            await klaxon.drain()
            #expect(await fake.room(named: Self.channel)?.type == "p")

            clock.advance(by: 5)
            await fake.post(as: "bob", in: Self.channel, "!incident ack")
            let report = await poller.pollOnce()
            #expect(report.commands == 1)
            #expect(report.failedRooms.isEmpty)
            #expect(try await klaxon.store.incident(IncidentID(1))?.acknowledgedBy?.id == "bob")
            let groupReads = await fake.calls(to: "groups.history")
            #expect(!groupReads.isEmpty && groupReads.allSatisfy { $0.status == 200 })
            #expect(await fake.calls(to: "channels.history").allSatisfy { $0.status == 200 }, "the group is never read as a channel")
            await klaxon.drain()
            #expect(await fake.messages(in: Self.channel).contains { $0.author.username == "klaxon.bot" && $0.text.hasPrefix("Acknowledged INC-1") })
            // The room's kind is learnt once, not every round.
            let lookups = await fake.calls(to: "rooms.info").count
            await poller.pollOnce()
            #expect(await fake.calls(to: "rooms.info").count == lookups)
            try await klaxon.close()
        }
    }

    @Test func mattermostCreatesAPrivateChannel() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-private")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, privateChannels: true), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let answer = try await MattermostTests.command("create \"API response time degraded\"", fake: fake, client: client)
                #expect((answer.json?["text"] as? String)?.hasPrefix("Declared INC-1") == true)
                await klaxon.drain()
                let channel = try #require(await fake.channel(named: Self.channel))
                #expect(channel.type == "P")
                #expect(channel.header == "P1 · Declared · IC: unassigned · INC-1 API response time degraded")
                #expect(channel.memberIDs.contains("uidalice") && channel.memberIDs.contains("uidbob"))
                #expect(!channel.memberIDs.contains("uidcarol"))
                #expect(await fake.posts(in: Self.channel).contains { $0.message.hasPrefix("🚨 [P1 INCIDENT]") })

                let ack = try await MattermostTests.command("ack", user: "bob", channel: Self.channel, fake: fake, client: client)
                #expect((ack.json?["text"] as? String)?.hasPrefix("Acknowledged INC-1") == true)
                await klaxon.drain()
                #expect(await fake.posts(in: Self.channel).contains { $0.message.hasPrefix("✅ @bob acknowledged INC-1") })
            }
            #expect(try await klaxon.store.outboxMessages(incident: IncidentID(1)).allSatisfy { $0.state == .delivered })
            try await klaxon.close()
        }
    }
}
