import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentCore
import KlaxonTestSupport
import NIOCore
import Scheduler
import Server
import Storage
import Testing

/// Runbook 004 on Rocket.Chat through the outgoing webhook, over loopback: a fake Rocket.Chat server,
/// the daemon's HTTP server, a real SQLite file.
@Suite("Rocket.Chat webhook")
struct RocketChatWebhookTests {
    static let channel = "incident-2025-11-10-001"

    /// Posts `message` to the daemon as Rocket.Chat's outgoing webhook would.
    static func deliver(
        _ message: FakeRocketChat.Message, from fake: FakeRocketChat, to client: some TestClientProtocol,
        token: String = Runbook004.webhookToken, bot: Bool = false, edited: Bool = false
    ) async throws -> (status: HTTPResponse.Status, text: String?) {
        let body = await fake.webhookBody(for: message, token: token, bot: bot, edited: edited)
        let response = try await client.execute(uri: "/rocketchat/webhook", method: .post, headers: [.contentType: "application/json"], body: body)
        let reply = FakeJSON.object(response.body)?["text"] as? String
        return (response.status, reply)
    }

    @Test func runbook004FromCreateToClose() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(rocketChat: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                // 2. Acknowledge: create the incident from #incidents.
                let create = await fake.post(as: "alice", in: "incidents", "/incident create \"API response time degraded\"")
                let declared = try await Self.deliver(create, from: fake, to: client)
                #expect(declared.status == .ok)
                #expect(declared.text?.contains("Declared INC-1 · P1 · API response time degraded") == true)
                #expect(declared.text?.contains("Channel: #\(Self.channel)") == true)
                #expect(declared.text?.contains("Paged: @bob") == true)

                await klaxon.drain()
                let room = try #require(await fake.room(named: Self.channel), "the bot creates #incident-2025-11-10-001")
                #expect(room.type == "c")
                #expect(room.topic == "P1 · Declared · IC: unassigned · INC-1 API response time degraded")
                #expect(room.memberIDs.contains("uid-alice") && room.memberIDs.contains("uid-bob"))

                let inChannel = await fake.messages(in: Self.channel)
                let alert = try #require(inChannel.first)
                #expect(alert.text.hasPrefix("🚨 [P1 INCIDENT] API response time degraded"))
                #expect(alert.text.contains("Declared by @alice"))
                #expect(alert.buttons.map(\.text) == ["Acknowledge", "Post update", "Resolve", "I'm the IC"])
                #expect(alert.buttons.first == FakeRocketChat.Button(text: "Acknowledge", msg: "!incident ack INC-1", inChatWindow: true))
                #expect(inChannel.contains { $0.text.hasPrefix("📟 @bob: you are paged for INC-1 (P1)") }, "@oncall is mentioned in the incident channel")
                #expect(await fake.directMessages(to: "bob").map(\.text).contains { $0.hasPrefix("📟 @bob: you are paged") }, "and paged directly")

                let announcements = await fake.messages(in: "incidents").filter { $0.author.username == "klaxon.bot" }
                #expect(announcements.count == 1)
                #expect(announcements.first?.text.contains("INC-1 declared by @alice") == true)
                #expect(announcements.first?.text.contains("Follow it in #\(Self.channel)") == true)

                // The on-call engineer clicks Acknowledge: Rocket.Chat sends the button's message as theirs.
                clock.advance(by: 180)
                let ack = await fake.post(as: "bob", in: Self.channel, alert.buttons[0].msg)
                let acknowledged = try await Self.deliver(ack, from: fake, to: client)
                #expect(acknowledged.text == "Acknowledged INC-1 after 3 min.")

                // 4. Communicate: updates in the incident channel.
                clock.advance(by: 300)
                let update = await fake.post(as: "bob", in: Self.channel, "/incident update Root cause: database connection pool exhausted")
                #expect(try await Self.deliver(update, from: fake, to: client).text?.hasPrefix("Update posted to INC-1.") == true)

                // 5. Resolve and close.
                clock.advance(by: 1_800)
                let close = await fake.post(as: "alice", in: Self.channel, "/incident close \"Resolved by scaling DB connections\"")
                #expect(try await Self.deliver(close, from: fake, to: client).text == "Closed INC-1. Summary posted.")
                await klaxon.drain()

                let channelTexts = await fake.messages(in: Self.channel).filter { $0.author.username == "klaxon.bot" }.map(\.text)
                #expect(channelTexts.contains { $0.hasPrefix("✅ @bob acknowledged INC-1 after 3 min.") })
                #expect(
                    channelTexts.contains {
                        $0.hasPrefix("UPDATE [") && $0.contains("INC-1 · P1 · Acknowledged") && $0.contains("Root cause: database connection pool exhausted")
                    })
                let summary = try #require(channelTexts.first { $0.hasPrefix("INCIDENT SUMMARY · INC-1 · P1") })
                #expect(summary.contains("Fix: Resolved by scaling DB connections"))
                #expect(summary.contains("Time to acknowledge: 3 min"))
                #expect(await fake.messages(in: "incidents").contains { $0.text.hasPrefix("INCIDENT SUMMARY · INC-1") })
                #expect(await fake.room(named: Self.channel)?.topic?.hasPrefix("P1 · Closed") == true)

                // Every outbox message went out exactly once (ids are chosen by Klaxon).
                let sent = await fake.messages(in: Self.channel) + fake.messages(in: "incidents")
                let ids = sent.filter { $0.author.username == "klaxon.bot" }.map(\.id)
                #expect(Set(ids).count == ids.count)
                #expect(ids.allSatisfy { $0.hasPrefix("klaxon-") })
                #expect(try await klaxon.store.incident(IncidentID(1))?.status == .closed)
            }
            try await klaxon.close()
        }
    }

    @Test func aWrongTokenIsRefusedAndChangesNothing() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(rocketChat: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let create = await fake.post(as: "alice", in: "incidents", "/incident create \"API response time degraded\"")
                #expect(try await Self.deliver(create, from: fake, to: client, token: "wrong").status == .unauthorized)
                #expect(try await Self.deliver(create, from: fake, to: client, token: "").status == .unauthorized)
                let unsigned = try await client.execute(
                    uri: "/rocketchat/webhook", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(
                        string: #"{"channel_id":"rid-incidents","message_id":"m1","user_id":"uid-alice","user_name":"alice","text":"/incident create x"}"#))
                #expect(unsigned.status == .unauthorized)
            }
            #expect(try await klaxon.store.incidents(includeClosed: true, limit: 10).isEmpty)
            #expect(try await klaxon.store.outboxDepth() == 0)
            try await klaxon.close()
        }
    }

    @Test func aRedeliveredMessageIsHandledOnce() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(rocketChat: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let create = await fake.post(as: "alice", in: "incidents", "!incident create \"API response time degraded\"")
                let first = try await Self.deliver(create, from: fake, to: client)
                #expect(first.text?.hasPrefix("Declared INC-1") == true, "the !incident trigger works like /incident")
                // Rocket.Chat retries when it did not get our answer: same message_id.
                let again = try await Self.deliver(create, from: fake, to: client)
                #expect(again.status == .ok)
                #expect(again.text == nil, "nothing is posted for a delivery handled before")
            }
            #expect(try await klaxon.store.incidents(includeClosed: true, limit: 10).count == 1)
            await klaxon.drain()
            #expect(await fake.calls(to: "channels.create").count == 1)
            try await klaxon.close()
        }
    }

    @Test func botsEditsOwnMessagesAndChatterAreIgnored() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(rocketChat: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let command = await fake.post(as: "alice", in: "incidents", "/incident create \"Disk full\"")
                let fromABot = try await Self.deliver(command, from: fake, to: client, bot: true)
                #expect(fromABot.status == .ok && fromABot.text == nil)
                let anEdit = try await Self.deliver(command, from: fake, to: client, edited: true)
                #expect(anEdit.text == nil)
                let own = await fake.post(as: "klaxon.bot", in: "incidents", "/incident create \"Echo\"")
                let ownAnswer = try await Self.deliver(own, from: fake, to: client)
                #expect(ownAnswer.text == nil)
                let chatter = await fake.post(as: "alice", in: "incidents", "@oncall acknowledging - investigating now")
                let chatterAnswer = try await Self.deliver(chatter, from: fake, to: client)
                #expect(chatterAnswer.text == nil)
                let lookalike = await fake.post(as: "alice", in: "incidents", "/incidents are fun")
                let lookalikeAnswer = try await Self.deliver(lookalike, from: fake, to: client)
                #expect(lookalikeAnswer.text == nil)
                let help = await fake.post(as: "alice", in: "incidents", "!incident")
                let helpAnswer = try await Self.deliver(help, from: fake, to: client)
                #expect(helpAnswer.text?.isEmpty == false, "a bare trigger answers with help")
            }
            #expect(try await klaxon.store.incidents(includeClosed: true, limit: 10).isEmpty)
            try await klaxon.close()
        }
    }

    @Test func threadModeKeepsTheIncidentUnderItsAnnouncement() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(rocketChat: url, mode: .thread), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let create = await fake.post(as: "alice", in: "incidents", "/incident create \"API response time degraded\"")
                _ = try await Self.deliver(create, from: fake, to: client)
                await klaxon.drain()
                #expect(await fake.room(named: Self.channel) == nil, "no channel in thread mode")
                let posted = await fake.messages(in: "incidents").filter { $0.author.username == "klaxon.bot" }
                let root = try #require(posted.first)
                #expect(root.threadID == nil && root.text.contains("Follow it in this thread"))
                #expect(posted.dropFirst().allSatisfy { $0.threadID == root.id }, "alert and page go under the announcement (tmid)")
                #expect(posted.dropFirst().contains { $0.text.hasPrefix("🚨 [P1 INCIDENT]") })

                // A reply in the thread is a command about that incident.
                let update = await fake.post(as: "bob", in: "incidents", "!incident update Investigating", threadID: root.id)
                let answer = try await Self.deliver(update, from: fake, to: client)
                #expect(answer.text?.hasPrefix("Update posted to INC-1.") == true)
                await klaxon.drain()
                #expect(await fake.messages(in: "incidents").last?.threadID == root.id)
            }
            try await klaxon.close()
        }
    }
}
