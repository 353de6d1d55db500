import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// The outbound side against the fake server: rate limits, redelivery, and the error envelopes.
@Suite("Rocket.Chat delivery")
struct RocketChatDeliveryTests {
    static let alice = CommandContext(
        platform: .rocketchat, conversation: Conversation(platform: .rocketchat, channelID: "rid-incidents"),
        user: ChatUser(id: "alice", name: "alice"), inboundKey: "rocketchat:msg:test-declare")

    static func client(_ url: String, clock: ManualClock, token: String = "rc-personal-access-token") -> RocketChatClient {
        RocketChatClient(serverURL: url, userID: "KlaxonBotUserId1", authToken: Secret(token), httpClient: .shared, clock: clock, logger: quietLogger)
    }

    static func message(_ id: Int64, _ action: ChatAction, createdAt: Date, attempts: Int = 0) -> OutboxMessage {
        OutboxMessage(
            id: id, platform: .rocketchat, incidentID: nil, action: action, createdAt: createdAt, notBefore: createdAt, attempts: attempts, state: .pending,
            platformMessageID: nil, lastError: nil)
    }

    @Test func a429IsWaitedOutWithoutLossOrDuplicates() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(rocketChat: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            _ = await klaxon.daemon.gateway.handle(text: "create \"API response time degraded\"", context: Self.alice)
            let queued = try await klaxon.store.outboxMessages(incident: IncidentID(1)).count

            // The announcement goes out, then the limiter closes chat.sendMessage for 30 s.
            await fake.throttle("chat.sendMessage", afterCalls: 1, window: 30)
            await klaxon.drain()
            #expect(await fake.tooManyRequestsAnswers() == 1)
            let stuck = try await klaxon.store.outboxMessages(incident: IncidentID(1)).filter { $0.state == .pending }
            let retry = try #require(stuck.first)
            #expect(retry.notBefore == clock.now().addingTimeInterval(30), "waits until X-RateLimit-Reset, read with the injected clock")

            clock.advance(by: 29)
            await klaxon.drain()
            #expect(await fake.tooManyRequestsAnswers() == 1, "no call before the reset time")
            clock.advance(by: 1)
            await klaxon.drain()

            let delivered = try await klaxon.store.outboxMessages(incident: IncidentID(1))
            #expect(delivered.count == queued)
            #expect(delivered.allSatisfy { $0.state == .delivered })
            let botMessages = await fake.messages.filter { $0.author.username == "klaxon.bot" }
            #expect(Set(botMessages.map(\.id)).count == botMessages.count, "nothing posted twice")
            // Opening the room posts nothing: the announcement is a post of its own (issue 13).
            #expect(botMessages.count == queued - 1, "one message per post")
            #expect(await fake.tooManyRequestsAnswers() == 1)
            try await klaxon.close()
        }
    }

    @Test func anExhaustedRouteIsNotCalledUntilItsReset() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        try await withLiveServer(fake.router()) { url in
            await fake.limit("chat.sendMessage", to: 2, per: 60)
            let client = Self.client(url, clock: clock)
            for number in 1...2 {
                try await client.sendMessage(RocketChatOutgoingMessage(id: "m\(number)", roomID: "rid-incidents", text: "hello \(number)"))
            }
            await #expect(throws: ChatServerFailure.rateLimited(retryAfter: 60)) {
                try await client.sendMessage(RocketChatOutgoingMessage(id: "m3", roomID: "rid-incidents", text: "hello 3"))
            }
            #expect(await fake.calls(to: "chat.sendMessage").count == 2, "X-RateLimit-Remaining: 0 closes the route before a 429")
            clock.advance(by: 60)
            try await client.sendMessage(RocketChatOutgoingMessage(id: "m3", roomID: "rid-incidents", text: "hello 3"))
            #expect(await fake.messages.map(\.text) == ["hello 1", "hello 2", "hello 3"])
            #expect(await fake.tooManyRequestsAnswers() == 0)
        }
    }

    @Test func sendingTheSameOutboxMessageTwicePostsOnce() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        try await withLiveServer(fake.router()) { url in
            let platform = RocketChatPlatform(
                client: Self.client(url, clock: clock), announceChannel: "incidents", mode: .channel, triggers: ["/incident", "!incident"], logger: quietLogger)
            let message = Self.message(7, .post(to: .announce, text: "Heads up <@bob>", buttons: []), createdAt: clock.now())
            let first = try await platform.deliver(message, incident: nil)
            // The sender crashed before recording the delivery and sends it again.
            let second = try await platform.deliver(message, incident: nil)
            #expect(first == second)
            #expect(await fake.messages.map(\.text) == ["Heads up @bob"])
        }
    }

    @Test func openingARoomAgainReusesTheChannel() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        try await withLiveServer(fake.router()) { url in
            let platform = RocketChatPlatform(
                client: Self.client(url, clock: clock), announceChannel: "incidents", mode: .channel, triggers: ["/incident"], logger: quietLogger)
            let open = Self.message(
                1,
                .openRoom(
                    name: "incident-2025-11-10-001", topic: "P1 · Declared", announcement: "INC-1 declared, follow it in <#room>", invite: ["alice", "nobody"]),
                createdAt: clock.now())
            let first = try await platform.deliver(open, incident: nil)
            let again = try await platform.deliver(open, incident: nil)
            #expect(first.room == again.room)
            #expect(await fake.rooms.filter { $0.name == "incident-2025-11-10-001" }.count == 1)
            #expect(await fake.room(named: "incident-2025-11-10-001")?.memberIDs.contains("uid-alice") == true, "unknown users are skipped, the others invited")
            #expect(await fake.messages(in: "incidents").map(\.text) == ["INC-1 declared, follow it in #incident-2025-11-10-001"])
        }
    }

    /// Issue 12, item 8: a channel with the incident's predictable name that the bot did not make for
    /// this incident (someone squatting it, or an older incident's) is left alone; the next free name is
    /// taken, and the announcement links to it.
    @Test func aSquattedChannelIsLeftAloneAndTheNextFreeNameTaken() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        await fake.addRoom(named: "incident-2025-11-10-001", creatorID: "uid-alice", createdAt: clock.now().addingTimeInterval(-3600))
        // The bot's own, but from long before this message: an older incident's.
        await fake.addRoom(named: "incident-2025-11-10-001-2", creatorID: "KlaxonBotUserId1", createdAt: clock.now().addingTimeInterval(-86_400))
        try await withLiveServer(fake.router()) { url in
            let platform = RocketChatPlatform(
                client: Self.client(url, clock: clock), announceChannel: "incidents", mode: .channel, triggers: ["/incident"], logger: quietLogger)
            let open = Self.message(
                1, .openRoom(name: "incident-2025-11-10-001", topic: "P1 · Declared", announcement: "INC-1 declared, follow it in <#room>", invite: ["bob"]),
                createdAt: clock.now())
            let delivery = try await platform.deliver(open, incident: nil)
            let made = try #require(await fake.room(named: "incident-2025-11-10-001-3"))
            #expect(delivery.room?.channelID == made.id)
            #expect(made.memberIDs.contains("uid-bob"))
            #expect(await fake.room(named: "incident-2025-11-10-001")?.memberIDs == ["uid-alice"], "the squatted channel is not touched")
            #expect(await fake.room(named: "incident-2025-11-10-001")?.topic == nil)
            #expect(await fake.messages(in: "incidents").map(\.text) == ["INC-1 declared, follow it in #incident-2025-11-10-001-3"])
            // Delivered again (the answer was lost): the bot's own new channel is adopted, not a fourth made.
            var again = open
            again.attempts = 1
            #expect(try await platform.deliver(again, incident: nil).room == delivery.room)
            #expect(await fake.rooms.filter { $0.name.hasPrefix("incident-2025-11-10-001") }.count == 3)
        }
    }

    @Test func errorEnvelopesBecomeDeliveryFailures() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        try await withLiveServer(fake.router()) { url in
            let badToken = RocketChatPlatform(
                client: Self.client(url, clock: clock, token: "revoked"), announceChannel: "incidents", mode: .channel, triggers: ["/incident"],
                logger: quietLogger)
            let post = Self.message(1, .post(to: .announce, text: "hello", buttons: []), createdAt: clock.now())
            // A revoked token parks the platform (issue 12, item 6), it does not kill the message.
            await #expect(throws: DeliveryFailure.unauthorized("unauthorized: rooms.info: You must be logged in to do this.")) {
                try await badToken.deliver(post, incident: nil)
            }

            let platform = RocketChatPlatform(
                client: Self.client(url, clock: clock), announceChannel: "no-such-room", mode: .channel, triggers: ["/incident"], logger: quietLogger)
            let failure = await #expect(throws: DeliveryFailure.self) {
                try await platform.deliver(post, incident: nil)
            }
            guard case .permanent(let reason)? = failure else {
                Issue.record("a missing announce channel is a permanent failure, not \(String(describing: failure))")
                return
            }
            #expect(reason.contains("error-room-not-found"))
        }
    }

    @Test func triggersAndFiltering() {
        let filter = RocketChatCommandFilter(triggers: ["/incident", "!incident", "!inc"], ownUserID: "BOT")
        #expect(filter.commandText("/incident ack INC-7") == "ack INC-7")
        #expect(filter.commandText("  !Incident   declare p1 DB down ") == "declare p1 DB down")
        #expect(filter.commandText("!inc ack") == "ack")
        #expect(filter.commandText("!incident") == "")
        #expect(filter.commandText("/incidents") == nil)
        #expect(filter.commandText("please /incident ack") == nil)
        #expect(RocketChatPlatform.buttonTrigger(from: ["/incident", "!incident"]) == "!incident")
        #expect(RocketChatPlatform.buttonTrigger(from: ["/incident"]) == "/incident")

        let message = RocketChatInboundMessage(
            messageID: "m1", roomID: "r1", threadID: nil, userID: "BOT", username: "klaxon", text: "/incident ack", isBot: false, isEdited: false)
        #expect(filter.verdict(on: message) == .ignored(reason: "own message"))
    }

    @Test func sharedTokensCompareWholly() {
        #expect(SharedToken.matches("abc", Secret("abc")))
        #expect(!SharedToken.matches("abd", Secret("abc")))
        #expect(!SharedToken.matches("ab", Secret("abc")))
        #expect(!SharedToken.matches("abcd", Secret("abc")))
        #expect(!SharedToken.matches(nil, Secret("abc")))
        #expect(!SharedToken.matches("", Secret("")), "an unset token accepts nothing")
    }
}
