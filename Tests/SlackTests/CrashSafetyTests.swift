import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Server
import Storage
import Testing

/// A delivery that a dying process left half done is finished by the next one without doubling anything:
/// no second channel, no second post. The next process remembers nothing, so only the outbox and Slack
/// can tell it what happened.
///
/// These tests run on a manual clock started at the real time: the store stamps a message's `createdAt`
/// with the real clock, and the fake stamps a channel's `created` with it too, as Slack would.
@Suite("Slack: deliveries that outlive a crash")
struct CrashSafetyTests {
    /// The outbox lease (`OutboxSender.Settings.lease`): a dead sender's message is claimed again after it.
    static let lease: TimeInterval = 60

    // MARK: - Channels

    @Test func aChannelWhoseAnswerWasLostBeforeARestartIsAdopted() async throws {
        try await SlackHarness.run(clock: ManualClock(now: Date())) { slack in
            _ = try await slack.slash("declare sev1 Payment processing down")
            // The process that claims the declaration: Slack creates the channel, but its answer comes
            // after this process stopped waiting. The outbox records the failure; then the process dies.
            let crashed = platform(slack.fake, clock: slack.clock, timeout: 0.3)
            slack.fake.inject("conversations.create", .slowAfterWork(seconds: 1))
            let open = try await claimAsADyingSender(slack)
            #expect(open.action.kind == "open_room")
            await #expect(throws: DeliveryFailure.self) { try await crashed.deliver(open, incident: try await slack.incident(IncidentID(1))) }
            try await slack.store.markRetry(open.id, notBefore: slack.clock.now(), error: "transient(\"conversations.create: timed out\")")
            let name = try await slack.incident(IncidentID(1)).channelName
            #expect(await eventually { slack.fake.channel(named: name) != nil })

            // The daemon's own adapter knows nothing of that attempt; the outbox says there was one.
            try await slack.deliverAll()
            let channel = try #require(slack.fake.channel(named: name))
            #expect(try await slack.incident(IncidentID(1)).room == Conversation(platform: .slack, channelID: channel.id))
            #expect(slack.fake.channel(named: name + "-2") == nil)
            #expect(slack.fake.calls("conversations.create").map { $0["name"] } == [name, name])
            #expect(slack.fake.calls("users.conversations").count == 1)
            #expect(slack.fake.calls("auth.test").count == 1)
            // The room was finished in that channel.
            #expect(slack.fake.channel(channel.id)?.topic.hasPrefix("SEV1 · Declared") == true)
            #expect(slack.fake.messages(in: channel.id).first?.text.hasPrefix("📌 Incident status:") == true)
            #expect(slack.fake.messages(in: FakeSlack.announceChannelID).count == 1)
        }
    }

    @Test func aChannelCreatedJustBeforeACrashIsAdopted() async throws {
        try await SlackHarness.run(clock: ManualClock(now: Date())) { slack in
            _ = try await slack.slash("declare sev1 Payment processing down")
            // This time the channel is created and answered, but the process dies before anything is
            // recorded: the message keeps `attempts` 0 and is claimed again once its lease ran out.
            let crashed = platform(slack.fake, clock: slack.clock)
            slack.fake.inject("conversations.invite", .serverError)
            let open = try await claimAsADyingSender(slack)
            #expect(open.action.kind == "open_room")
            await #expect(throws: DeliveryFailure.self) { try await crashed.deliver(open, incident: try await slack.incident(IncidentID(1))) }
            let name = try await slack.incident(IncidentID(1)).channelName
            let channel = try #require(slack.fake.channel(named: name))

            slack.clock.advance(by: Self.lease + 1)
            try await slack.deliverAll()
            #expect(try await slack.incident(IncidentID(1)).room?.channelID == channel.id)
            #expect(slack.fake.channel(named: name + "-2") == nil)
            #expect(slack.fake.calls("conversations.create").count == 2)
            let outbox = try await slack.store.outboxMessages(incident: IncidentID(1))
            #expect(outbox.first { $0.id == open.id }?.attempts == 0)
            #expect(outbox.allSatisfy { $0.state == .delivered })
        }
    }

    enum TakenBy: String, CaseIterable, Sendable {
        /// Someone made a channel of that name minutes ago, and invited the bot.
        case aPerson
        /// The bot made it, but a day before this incident was declared.
        case theBotEarlier
    }

    @Test(arguments: TakenBy.allCases)
    func aTakenNameThatIsNotOursGetsASuffix(_ takenBy: TakenBy) async throws {
        let clock = ManualClock(now: Date())
        try await FakeSlack.run(clock: clock) { fake in
            let name = "incident-2025-12-01-001"
            switch takenBy {
            case .aPerson: fake.addChannel(id: "C0TAKEN", name: name, creator: "U0HUMAN", created: clock.now())
            case .theBotEarlier: fake.addChannel(id: "C0TAKEN", name: name, creator: FakeSlack.botUserID, created: clock.now().addingTimeInterval(-86_400))
            }
            // A retry in a fresh process: exactly when a taken name is looked into.
            var message = openRoom(name: name, createdAt: clock.now())
            message.attempts = 1
            let delivery = try await platform(fake, clock: clock).deliver(message, incident: nil)

            let created = try #require(fake.channel(named: name + "-2"))
            #expect(delivery.room?.channelID == created.id)
            #expect(fake.calls("users.conversations").count == 1)
            #expect(fake.channel("C0TAKEN")?.topic == "")
            #expect(fake.messages(in: "C0TAKEN").isEmpty)
        }
    }

    @Test func aFirstAttemptDoesNotLookForAnEarlierChannel() async throws {
        let clock = ManualClock(now: Date())
        try await FakeSlack.run(clock: clock) { fake in
            let name = "incident-2025-12-01-001"
            // Even one the bot made moments ago: a first attempt cannot have made it.
            fake.addChannel(id: "C0TAKEN", name: name, creator: FakeSlack.botUserID, created: clock.now())
            let delivery = try await platform(fake, clock: clock).deliver(openRoom(name: name, createdAt: clock.now()), incident: nil)
            #expect(delivery.room?.channelID == fake.channel(named: name + "-2")?.id)
            #expect(fake.calls("users.conversations").isEmpty)
            #expect(fake.calls("auth.test").isEmpty)
        }
    }

    // MARK: - Posts

    @Test func aPostMadeJustBeforeACrashIsNotMadeAgain() async throws {
        try await SlackHarness.run(clock: ManualClock(now: Date())) { slack in
            let (_, channel) = try await slack.declare()
            _ = try await slack.slash("update Still digging", channel: channel)
            // The dying process posts the update, and is gone before the outbox records the delivery.
            let update = try await claimAsADyingSender(slack)
            #expect(update.action.kind == "post")
            let posted = try await platform(slack.fake, clock: slack.clock).deliver(update, incident: try await slack.incident(IncidentID(1)))
            #expect(slack.fake.messages(in: channel).filter { $0.text.contains("Still digging") }.count == 1)

            slack.clock.advance(by: Self.lease + 1)
            try await slack.deliverAll()
            let stored = try #require(try await slack.store.outboxMessages(incident: IncidentID(1)).first { $0.id == update.id })
            #expect(stored.state == .delivered)
            #expect(stored.attempts == 0)
            #expect(stored.platformMessageID == posted.platformMessageID)
            #expect(slack.fake.messages(in: channel).filter { $0.text.contains("Still digging") }.count == 1)
            #expect(slack.fake.calls("conversations.history").count == 1)
        }
    }

    enum Where: String, CaseIterable, Sendable {
        case channel, thread, directMessage
    }

    @Test(arguments: Where.allCases)
    func aRetryAfterARestartFindsItsPost(_ place: Where) async throws {
        let clock = ManualClock(now: Date())
        try await FakeSlack.run(clock: clock) { fake in
            let general = Conversation(platform: .slack, channelID: "C0GENERAL")
            let target: MessageTarget
            switch place {
            case .channel: target = .conversation(general)
            case .thread:
                let root = try await platform(fake, clock: clock).deliver(post(id: 1, to: .conversation(general), createdAt: clock.now()), incident: nil)
                target = .conversation(Conversation(platform: .slack, channelID: "C0GENERAL", threadID: root.platformMessageID))
            case .directMessage: target = .direct(userID: "U0BOB")
            }
            // Posted; then the process died, or failed to record the delivery (attempts 1).
            var message = post(id: 42, to: target, createdAt: clock.now())
            let first = try await platform(fake, clock: clock).deliver(message, incident: nil)
            let before = fake.calls("chat.postMessage").count
            message.attempts = 1
            let again = try await platform(fake, clock: clock).deliver(message, incident: nil)
            #expect(again.platformMessageID == first.platformMessageID)
            #expect(fake.calls("chat.postMessage").count == before)
            let lookedIn = place == .thread ? "conversations.replies" : "conversations.history"
            #expect(fake.calls(lookedIn).count == 1)
        }
    }

    @Test func aFreshPostAndARetryThatCertainlyPostedNothingSkipTheHistory() async throws {
        let clock = ManualClock(now: Date())
        try await FakeSlack.run(clock: clock) { fake in
            let slack = platform(fake, clock: clock)
            _ = try await slack.deliver(post(id: 1, to: .announce, createdAt: clock.now()), incident: nil)
            #expect(fake.calls("conversations.history").isEmpty)

            // Slack refused the first attempt with a 429: nothing was posted, and this process saw it.
            fake.inject("chat.postMessage", .rateLimited(retryAfter: 1))
            var message = post(id: 2, to: .announce, createdAt: clock.now())
            await #expect(throws: DeliveryFailure.rateLimited(retryAfter: 1)) { try await slack.deliver(message, incident: nil) }
            clock.advance(by: 1.5)
            message.attempts = 1
            _ = try await slack.deliver(message, incident: nil)
            #expect(fake.calls("conversations.history").isEmpty)
            #expect(fake.messages.count == 2)

            // A process that did not see that attempt cannot know it posted nothing, so it looks.
            var other = post(id: 3, to: .announce, createdAt: clock.now())
            other.attempts = 1
            _ = try await platform(fake, clock: clock).deliver(other, incident: nil)
            #expect(fake.calls("conversations.history").count == 1)
            #expect(fake.messages.count == 3)
        }
    }

    // MARK: - Helpers

    func platform(_ fake: FakeSlack, clock: ManualClock, timeout: TimeInterval = 10) -> SlackPlatform {
        let api = SlackWebAPI(
            baseURL: fake.apiBaseURL, botToken: Secret(FakeSlack.botToken), httpClient: fake.client, clock: clock, settings: .init(timeout: timeout),
            logger: testLogger)
        return SlackPlatform(api: api, announceChannel: FakeSlack.announceChannelName, mode: .channel, clock: clock, logger: testLogger)
    }

    /// Claims the next due message as another sender would, which then dies holding the lease.
    func claimAsADyingSender(_ slack: SlackHarness, sourceLocation: SourceLocation = #_sourceLocation) async throws -> OutboxMessage {
        let claimed = try await slack.store.claimOutbox(
            now: slack.clock.now(), owner: "dying-sender", leaseUntil: slack.clock.now().addingTimeInterval(Self.lease), limit: 1)
        return try #require(claimed.first, sourceLocation: sourceLocation)
    }

    func openRoom(name: String, createdAt: Date) -> OutboxMessage {
        OutboxMessage(
            id: 7, platform: .slack, incidentID: IncidentID(1),
            action: .openRoom(name: name, topic: "SEV1 · Declared", announcement: "In <#room>", invite: ["U0ALICE"]),
            createdAt: createdAt, notBefore: createdAt, attempts: 0, state: .pending, platformMessageID: nil, lastError: nil)
    }

    func post(id: Int64, to target: MessageTarget, createdAt: Date) -> OutboxMessage {
        OutboxMessage(
            id: id, platform: .slack, incidentID: nil, action: .post(to: target, text: "Heads up \(id)", buttons: []),
            createdAt: createdAt, notBefore: createdAt, attempts: 0, state: .pending, platformMessageID: nil, lastError: nil)
    }
}
