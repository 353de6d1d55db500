import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentCore
import KlaxonTestSupport
import NIOCore
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// Mattermost: the slash command in, `api/v4` out, over loopback against a fake server.
@Suite("Mattermost")
struct MattermostTests {
    static let channel = "incident-2025-11-10-001"

    static func command(
        _ text: String, user: String = "alice", channel: String = "incidents", token: String? = Runbook004.commandToken,
        authorization: String? = nil, triggerID: String = UUID().uuidString, fake: FakeMattermost, client: some TestClientProtocol
    ) async throws -> (status: HTTPResponse.Status, json: [String: Any]?) {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let authorization { headers[.authorization] = authorization }
        let body = await fake.slashCommandBody(text, user: user, channel: channel, token: token, triggerID: triggerID)
        let response = try await client.execute(uri: "/mattermost/commands", method: .post, headers: headers, body: body)
        return (response.status, FakeJSON.object(response.body))
    }

    @Test func declaringCreatesTheChannelPostsAndSetsTheHeader() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(mattermost: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let answer = try await Self.command("create \"API response time degraded\"", fake: fake, client: client)
                #expect(answer.status == .ok)
                #expect(answer.json?["response_type"] as? String == "in_channel")
                #expect((answer.json?["text"] as? String)?.hasPrefix("Declared INC-1 · P1 · API response time degraded") == true)

                await klaxon.drain()
                let channel = try #require(await fake.channel(named: Self.channel))
                #expect(channel.type == "O")
                #expect(channel.header == "P1 · Declared · IC: unassigned · INC-1 API response time degraded")
                #expect(channel.memberIDs.contains("uidalice") && channel.memberIDs.contains("uidbob"))
                let posts = await fake.posts(in: Self.channel)
                let alert = try #require(posts.first)
                #expect(alert.message.hasPrefix("🚨 [P1 INCIDENT] API response time degraded"))
                #expect(alert.message.contains("Acknowledge: `/incident ack INC-1`"), "buttons become the commands to type")
                #expect(posts.contains { $0.message.hasPrefix("📟 @bob: you are paged for INC-1") })
                #expect(posts.allSatisfy { $0.props["klaxon_message_id"]?.hasPrefix("klaxon-") == true })
                let announcement = try #require(await fake.posts(in: "incidents").first)
                #expect(announcement.message.contains("Follow it in ~\(Self.channel)"))
                #expect(
                    await fake.posts.contains { post in post.message.hasPrefix("📟 @bob") && post.channelID.hasPrefix("dm") },
                    "the on-call engineer gets a direct message")

                // Commands typed in the incident channel act on it; the header follows the status.
                let ack = try await Self.command("ack", user: "bob", channel: Self.channel, fake: fake, client: client)
                #expect((ack.json?["text"] as? String)?.hasPrefix("Acknowledged INC-1") == true)
                let close = try await Self.command("close \"Resolved by scaling DB connections\"", channel: Self.channel, fake: fake, client: client)
                #expect(close.json?["text"] as? String == "Closed INC-1. Summary posted.")
                await klaxon.drain()
                #expect(await fake.posts(in: Self.channel).contains { $0.message.hasPrefix("INCIDENT SUMMARY · INC-1") })
                #expect(await fake.channel(named: Self.channel)?.header.hasPrefix("P1 · Closed") == true)
            }
            try await klaxon.close()
        }
    }

    @Test func theTokenMayComeInTheAuthorizationHeader() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(mattermost: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let list = try await Self.command("list", token: nil, authorization: "Token \(Runbook004.commandToken)", fake: fake, client: client)
                #expect(list.status == .ok)
                #expect(list.json?["response_type"] as? String == "ephemeral")
            }
            try await klaxon.close()
        }
    }

    @Test func aWrongTokenIsRefusedAndChangesNothing() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(mattermost: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let wrong = try await Self.command("create \"API response time degraded\"", token: "guess", fake: fake, client: client)
                #expect(wrong.status == .unauthorized)
                let missing = try await Self.command("create \"API response time degraded\"", token: nil, fake: fake, client: client)
                #expect(missing.status == .unauthorized)
                let wrongHeader = try await Self.command("create \"x\"", token: nil, authorization: "Token guess", fake: fake, client: client)
                #expect(wrongHeader.status == .unauthorized)
            }
            #expect(try await klaxon.store.incidents(includeClosed: true, limit: 10).isEmpty)
            #expect(try await klaxon.store.outboxDepth() == 0)
            try await klaxon.close()
        }
    }

    @Test func threadModeUsesRootID() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mode: .thread), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                _ = try await Self.command("create \"API response time degraded\"", fake: fake, client: client)
                await klaxon.drain()
                #expect(await fake.channel(named: Self.channel) == nil)
                let posts = await fake.posts(in: "incidents")
                let root = try #require(posts.first)
                #expect(root.rootID == nil && root.message.contains("Follow it in this thread"))
                #expect(posts.count > 1)
                #expect(posts.dropFirst().allSatisfy { $0.rootID == root.id })
                #expect(posts.dropFirst().contains { $0.message.hasPrefix("🚨 [P1 INCIDENT]") })
            }
            try await klaxon.close()
        }
    }

    @Test func a429IsWaitedOutAndARetryDoesNotPostTwice() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(mattermost: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            let context = CommandContext(
                platform: .mattermost, conversation: Conversation(platform: .mattermost, channelID: "cidincidents"),
                user: ChatUser(id: "alice", name: "alice"))
            _ = await klaxon.daemon.gateway.handle(text: "create \"API response time degraded\"", context: context)
            await fake.throttle(afterCalls: 6, window: 20)
            await klaxon.drain()
            #expect(await fake.tooManyRequestsAnswers() == 1)
            let pending = try await klaxon.store.outboxMessages(incident: IncidentID(1)).filter { $0.state == .pending }
            #expect(pending.first?.notBefore == clock.now().addingTimeInterval(20), "X-Ratelimit-Reset is seconds")
            clock.advance(by: 20)
            await klaxon.drain()
            let messages = try await klaxon.store.outboxMessages(incident: IncidentID(1))
            #expect(messages.allSatisfy { $0.state == .delivered })
            let markers = await fake.posts.compactMap { $0.props["klaxon_message_id"] }
            #expect(Set(markers).count == markers.count, "nothing posted twice")
            #expect(await fake.tooManyRequestsAnswers() == 1)
            try await klaxon.close()
        }
    }

    /// Issue 12, item 8: a squatted incident channel name is left to its owner; the next free one is taken.
    @Test func aSquattedChannelIsLeftAloneAndTheNextFreeNameTaken() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        await fake.addChannel(named: Self.channel, creatorID: "uidalice", createdAt: clock.now().addingTimeInterval(-3600))
        let directory = try TemporaryDirectory("klaxon-mm")
        defer { directory.remove() }
        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(mattermost: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let answer = try await Self.command("create \"API response time degraded\"", fake: fake, client: client)
                #expect(answer.status == .ok)
                await klaxon.drain()
                let made = try #require(await fake.channel(named: Self.channel + "-2"))
                #expect(try await klaxon.store.incident(IncidentID(1))?.room?.channelID == made.id)
                #expect(made.header.hasPrefix("P1 · Declared"))
                #expect(await fake.posts(in: Self.channel).isEmpty, "nothing is posted into the squatted channel")
                #expect(await fake.channel(named: Self.channel)?.header == "")
                #expect(await fake.posts(in: Self.channel + "-2").first?.message.hasPrefix("🚨 [P1 INCIDENT]") == true)
                let announcement = try #require(await fake.posts(in: "incidents").first)
                #expect(announcement.message.contains("~\(Self.channel)-2"), "\(announcement.message)")
            }
            try await klaxon.close()
        }
    }

    /// The rotation hand-off topic (`oncall.topicChannels`) names a channel the bot may never have been
    /// added to; only members may change an open channel's header, so the adapter joins it first.
    @Test func aTopicChannelTheBotIsNotInIsJoinedThenItsHeaderSet() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        await fake.addChannel(named: "devops", creatorID: "uidalice", createdAt: clock.now().addingTimeInterval(-3600))
        await fake.addChannel(named: "secret", creatorID: "uidalice", createdAt: clock.now().addingTimeInterval(-3600), isPrivate: true)
        try await withLiveServer(fake.router()) { url in
            let client = MattermostClient(serverURL: url, botToken: Secret("mm-bot-access-token"), httpClient: .shared, clock: clock, logger: quietLogger)
            let platform = MattermostPlatform(
                client: client, teamID: "teamklaxon0000000000000000", announceChannel: "incidents", mode: .channel, clock: clock, logger: quietLogger)
            func handOff(_ channel: String, _ topic: String) -> OutboxMessage {
                OutboxMessage(
                    id: 5, platform: .mattermost, incidentID: nil, action: .setChannelTopic(channel: channel, topic: topic),
                    createdAt: clock.now(), notBefore: clock.now(), attempts: 0, state: .pending, platformMessageID: nil, lastError: nil)
            }
            _ = try await platform.deliver(handOff("devops", "On call: @alice"), incident: nil)
            let devops = try #require(await fake.channel(named: "devops"))
            #expect(devops.header == "On call: @alice")
            #expect(devops.memberIDs.contains(fake.bot.id))

            // A private channel the bot is not in cannot be joined: the delivery fails, the header stays.
            await #expect(throws: DeliveryFailure.self) { try await platform.deliver(handOff("secret", "On call: @bob"), incident: nil) }
            #expect(await fake.channel(named: "secret")?.header == "")
        }
    }

    @Test func aRepeatedDeliveryFindsItsEarlierPost() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        try await withLiveServer(fake.router()) { url in
            let client = MattermostClient(serverURL: url, botToken: Secret("mm-bot-access-token"), httpClient: .shared, clock: clock, logger: quietLogger)
            let platform = MattermostPlatform(
                client: client, teamID: "teamklaxon0000000000000000", announceChannel: "incidents", mode: .channel, clock: clock, logger: quietLogger)
            var message = OutboxMessage(
                id: 3, platform: .mattermost, incidentID: nil, action: .post(to: .announce, text: "Heads up <@bob>", buttons: []),
                createdAt: clock.now(), notBefore: clock.now(), attempts: 0, state: .pending, platformMessageID: nil, lastError: nil)
            let first = try await platform.deliver(message, incident: nil)
            // The sender died before recording the delivery; the lease ran out and another claim took it.
            // A crash leaves `attempts` as it was: the outbox's claim count is what tells.
            clock.advance(by: 90)
            message.previousClaims = 1
            let second = try await platform.deliver(message, incident: nil)
            #expect(first == second)
            // A failed attempt counts too.
            message.previousClaims = 0
            message.attempts = 1
            #expect(try await platform.deliver(message, incident: nil) == first)
            #expect(await fake.posts.map(\.message) == ["Heads up @bob"])

            let unauthorized = MattermostPlatform(
                client: MattermostClient(serverURL: url, botToken: Secret("revoked"), httpClient: .shared, clock: clock, logger: quietLogger),
                teamID: "teamklaxon0000000000000000", announceChannel: "incidents", mode: .channel, clock: clock, logger: quietLogger)
            await #expect(
                throws: DeliveryFailure.unauthorized(
                    "unauthorized: /teams/teamklaxon0000000000000000/channels/name/incidents: Invalid or expired session, please login again.")
            ) {
                try await unauthorized.deliver(message, incident: nil)
            }
        }
    }

    @Test func rocketChatAndMattermostInOneDaemonKeepTheirIncidentsApart() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let mattermost = FakeMattermost(clock: clock)
        let rocketChat = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-both")
        defer { directory.remove() }

        try await withLiveServer(mattermost.router()) { mattermostURL in
            try await withLiveServer(rocketChat.router()) { rocketChatURL in
                let config = Runbook004.config(rocketChat: rocketChatURL, mattermost: mattermostURL)
                let klaxon = try await TestDaemon.open(config, clock: clock, databasePath: directory.file("klaxon.sqlite"))
                try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                    let onMattermost = try await Self.command("create \"Checkout errors\"", fake: mattermost, client: client)
                    #expect((onMattermost.json?["text"] as? String)?.hasPrefix("Declared INC-1") == true)
                    let message = await rocketChat.post(as: "alice", in: "incidents", "!incident create \"API response time degraded\"")
                    let onRocketChat = try await RocketChatWebhookTests.deliver(message, from: rocketChat, to: client)
                    #expect(onRocketChat.text?.contains("Channel: #incident-2025-11-10-002") == true)

                    // `ack` without a number, typed in Mattermost's incident channel, is about Mattermost's incident.
                    await klaxon.drain()
                    let ack = try await Self.command("ack", user: "bob", channel: "incident-2025-11-10-001", fake: mattermost, client: client)
                    #expect((ack.json?["text"] as? String)?.hasPrefix("Acknowledged INC-1") == true)
                }
                await klaxon.drain()
                #expect(await mattermost.channel(named: "incident-2025-11-10-001") != nil)
                #expect(await mattermost.channel(named: "incident-2025-11-10-002") == nil)
                #expect(await rocketChat.room(named: "incident-2025-11-10-002") != nil)
                #expect(await rocketChat.room(named: "incident-2025-11-10-001") == nil)
                #expect(await rocketChat.directMessages(to: "bob").count == 1, "bob is paged on each platform for its own incident")
                #expect(try await klaxon.store.incident(IncidentID(1))?.acknowledgedBy?.id == "bob")
                #expect(try await klaxon.store.incident(IncidentID(2))?.acknowledgedAt == nil)
                try await klaxon.close()
            }
        }
    }

    @Test func formBodiesAndTokens() throws {
        let form = try MattermostSlashCommand.Form(
            body:
                "channel_id=jux16pkewjrkfj3ehep1psxyxc&channel_name=town-square&command=%2Ftest&text=declare+p1+%22DB+down%22&token=okwexkjpe7ygb8eq1ww58t483w&user_id=aoa1agao6t8fmx3ikt1j9w5ybw&user_name=somename"
        )
        #expect(form.text == "declare p1 \"DB down\"")
        #expect(form.command == "/test")
        let command = MattermostSlashCommand(form: form)
        #expect(command?.user == ChatUser(id: "somename", name: "somename"))
        #expect(command?.inboundKey == nil)
        #expect(MattermostSlashCommand.presentedToken(form: .init(), authorization: "Token okwexkjpe7ygb8eq1ww58t483w") == "okwexkjpe7ygb8eq1ww58t483w")
        #expect(MattermostSlashCommand.presentedToken(form: .init(), authorization: "Bearer x") == nil)
    }
}
