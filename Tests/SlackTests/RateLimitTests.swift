import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Server
import Storage
import Testing

@Suite("Slack Web API: rate limits, errors and retries")
struct RateLimitTests {
    @Test func a429StormDelaysButLosesAndDoublesNothing() async throws {
        try await SlackHarness.run { slack in
            let start = slack.clock.now()
            slack.fake.inject(
                "chat.postMessage", .rateLimited(retryAfter: 1), .rateLimited(retryAfter: 1), .rateLimited(retryAfter: 1), .rateLimited(retryAfter: 1))
            slack.fake.inject("conversations.invite", .rateLimited(retryAfter: 2))
            slack.fake.inject("conversations.setTopic", .rateLimited(retryAfter: 1), .rateLimited(retryAfter: 1))
            let (id, channel) = try await slack.declare()
            let ack = try await slack.slash("ack", channel: channel)
            #expect(ack.text.hasPrefix("Acknowledged"))
            try await slack.deliverAll()

            // One channel, despite the rate-limited steps of opening it.
            #expect(slack.fake.calls("conversations.create").count == 1)
            // Every message posted exactly once, in order.
            let outbox = try await slack.store.outboxMessages(incident: id)
            #expect(outbox.allSatisfy { $0.state == .delivered })
            let posts = outbox.filter { if case .post = $0.action { true } else { false } }
            #expect(slack.fake.messages.count == posts.count + 1)  // + the status card (the announcement is a post of its own)
            #expect(Set(slack.fake.messages.map(\.ts)).count == slack.fake.messages.count)
            // Each 429 cost one call: while a method cools down, nothing else calls it.
            #expect(slack.fake.calls("chat.postMessage").count == slack.fake.messages.count + 4)
            // Two topics (declared, then acknowledged), and the two 429s cost one call each.
            #expect(slack.fake.calls("conversations.setTopic").count == 4)
            #expect(slack.clock.now().timeIntervalSince(start) >= 4)
            let room = slack.fake.messages(in: channel).map(\.text)
            #expect(room.first?.hasPrefix("📌 Incident status:") == true)
            #expect(room.dropFirst().first?.hasPrefix("🚨 [SEV1 INCIDENT]") == true)
            #expect(room.last?.hasPrefix("✅ <@U0ALICE> acknowledged") == true)
        }
    }

    @Test func serverErrorsAndSlowAnswersAreRetried() async throws {
        try await SlackHarness.run { slack in
            slack.fake.inject("chat.postMessage", .serverError, .slow(seconds: 0.3), .serverError)
            slack.fake.inject("conversations.create", .serverError)
            let (id, channel) = try await slack.declare()
            let outbox = try await slack.store.outboxMessages(incident: id)
            #expect(outbox.allSatisfy { $0.state == .delivered })
            #expect(slack.fake.calls("conversations.create").count == 2)
            #expect(slack.fake.channel(named: "incident-2025-12-01-001")?.id == channel)
            #expect(slack.fake.messages(in: channel).dropFirst().first?.text.hasPrefix("🚨") == true)
            for channel in Set(slack.fake.messages.map(\.channel)) {
                let texts = slack.fake.messages(in: channel).map(\.text)
                #expect(Set(texts).count == texts.count, "a message was posted twice in \(channel)")
            }
        }
    }

    @Test func aPostWhoseAnswerWasLostIsNotPostedAgain() async throws {
        let clock = ManualClock(now: Fixture.monday)
        try await FakeSlack.run(clock: clock) { fake in
            // Slack posts the message, but its answer comes after we stopped waiting.
            // 2 s: long enough for every other call on a loaded machine, well short of the 6 s answer.
            let api = SlackWebAPI(
                baseURL: fake.apiBaseURL, botToken: Secret(FakeSlack.botToken), httpClient: fake.client, clock: clock, settings: .init(timeout: 2),
                logger: testLogger)
            let slack = SlackPlatform(api: api, announceChannel: FakeSlack.announceChannelName, mode: .channel, clock: clock, logger: testLogger)
            fake.inject("chat.postMessage", .slowAfterWork(seconds: 6))
            var message = OutboxMessage(
                id: 42, platform: .slack, incidentID: nil, action: .post(to: .announce, text: "Heads up", buttons: []),
                createdAt: clock.now(), notBefore: clock.now(), attempts: 0, state: .pending, platformMessageID: nil, lastError: nil)
            await #expect(throws: DeliveryFailure.transient("chat.postMessage: timed out")) { try await slack.deliver(message, incident: nil) }
            #expect(await eventually { fake.messages.count == 1 })

            // The outbox tries again: the earlier post is found by its metadata, and not made twice.
            message.attempts = 1
            let delivery = try await slack.deliver(message, incident: nil)
            #expect(delivery.platformMessageID == fake.messages.first?.ts)
            #expect(fake.messages.count == 1)
            #expect(fake.calls("conversations.history").first?["include_all_metadata"] == "true")

            // After a restart only the outbox's count of failed attempts is left; it is enough (the error's
            // text is not read).
            fake.inject("chat.postMessage", .slowAfterWork(seconds: 6))
            var other = message
            other.id = 43
            other.attempts = 0
            await #expect(throws: DeliveryFailure.self) { try await slack.deliver(other, incident: nil) }
            let restarted = SlackPlatform(api: api, announceChannel: FakeSlack.announceChannelName, mode: .channel, clock: clock, logger: testLogger)
            other.attempts = 1
            other.lastError = nil
            #expect(await eventually { fake.messages.count == 2 })
            #expect(try await restarted.deliver(other, incident: nil).platformMessageID == fake.messages.last?.ts)
            #expect(fake.messages.count == 2)
        }
    }

    @Test func aChannelCreatedWithoutAnAnswerIsNotCreatedAgain() async throws {
        let clock = ManualClock(now: Fixture.monday)
        try await FakeSlack.run(clock: clock) { fake in
            // 2 s: long enough for every other call on a loaded machine, well short of the 6 s answer.
            let api = SlackWebAPI(
                baseURL: fake.apiBaseURL, botToken: Secret(FakeSlack.botToken), httpClient: fake.client, clock: clock, settings: .init(timeout: 2),
                logger: testLogger)
            let slack = SlackPlatform(api: api, announceChannel: FakeSlack.announceChannelName, mode: .channel, clock: clock, logger: testLogger)
            fake.inject("conversations.create", .slowAfterWork(seconds: 6))
            let message = OutboxMessage(
                id: 7, platform: .slack, incidentID: IncidentID(1),
                action: .openRoom(name: "incident-2025-12-01-001", topic: "SEV1 · Declared", announcement: "In <#room>", invite: ["U0ALICE"]),
                createdAt: clock.now(), notBefore: clock.now(), attempts: 0, state: .pending, platformMessageID: nil, lastError: nil)
            await #expect(throws: DeliveryFailure.self) { try await slack.deliver(message, incident: nil) }
            #expect(await eventually { fake.channel(named: "incident-2025-12-01-001") != nil })

            let delivery = try await slack.deliver(message, incident: nil)
            let channel = try #require(fake.channel(named: "incident-2025-12-01-001"))
            #expect(delivery.room?.channelID == channel.id)
            #expect(fake.channel(named: "incident-2025-12-01-001-2") == nil)
            #expect(fake.calls("users.conversations").count == 1)
        }
    }

    @Test func notInChannelJoinsAndPostsOnce() async throws {
        try await SlackHarness.run { slack in
            let (_, channel) = try await slack.declare()
            slack.fake.inject("chat.postMessage", .slackError("not_in_channel"))
            _ = try await slack.slash("update Still digging", channel: channel)
            try await slack.deliverAll()
            #expect(slack.fake.calls("conversations.join").map { $0["channel"] } == [channel])
            #expect(slack.fake.messages(in: channel).filter { $0.text.contains("Still digging") }.count == 1)
        }
    }

    @Test func postsToOneChannelArePaced() async throws {
        try await SlackHarness.run { slack in
            let (_, channel) = try await slack.declare("sev3", "Slow dashboards")
            let start = slack.clock.now()
            for number in 1...8 {
                _ = try await slack.slash("update step \(number)", channel: channel)
            }
            try await slack.deliverAll()
            let updates = slack.fake.messages(in: channel).filter { $0.text.contains("step ") }
            #expect(updates.count == 8)
            #expect(updates.enumerated().allSatisfy { $1.text.contains("step \($0 + 1)") })
            // Paced, not refused: no 429 was needed, and the clock had to move.
            #expect(slack.fake.calls("chat.postMessage").count == slack.fake.messages.count)
            #expect(slack.clock.now() > start)
        }
    }

    @Test func pacerAllowsABurstThenOnePerSecondPerChannel() {
        let pacer = SlackChannelPacer(settings: .init(interval: 1, burst: 4))
        let now = Fixture.monday
        for ticket in 1...4 { #expect(pacer.admit(channel: "C1", ticket: Int64(ticket), now: now) == nil) }
        #expect(pacer.admit(channel: "C1", ticket: 5, now: now) == 1)
        #expect(pacer.admit(channel: "C1", ticket: 6, now: now) == 2)
        // Another channel has its own allowance.
        #expect(pacer.admit(channel: "C2", ticket: 7, now: now) == nil)
        // A message that waited keeps its slot: early it waits again, on time it goes.
        #expect(pacer.admit(channel: "C1", ticket: 5, now: now.addingTimeInterval(0.5)) == 0.5)
        #expect(pacer.admit(channel: "C1", ticket: 5, now: now.addingTimeInterval(1)) == nil)
        #expect(pacer.admit(channel: "C1", ticket: 6, now: now.addingTimeInterval(2)) == nil)
        // Later arrivals queue behind the booked slots.
        #expect(pacer.admit(channel: "C1", ticket: 8, now: now.addingTimeInterval(2)) == 1)
        // After a quiet spell the burst is back.
        let later = now.addingTimeInterval(60)
        for ticket in 10...13 { #expect(pacer.admit(channel: "C1", ticket: Int64(ticket), now: later) == nil) }
    }

    @Test func errorsMapToWhatTheOutboxDoes() async throws {
        let clock = ManualClock(now: Fixture.monday)
        try await FakeSlack.run(clock: clock) { fake in
            // A generous deadline: on a loaded machine a loopback answer may take a second; the timeout case
            // below uses a client of its own with a short one.
            let api = SlackWebAPI(
                baseURL: fake.apiBaseURL, botToken: Secret(FakeSlack.botToken), httpClient: fake.client, clock: clock, settings: .init(timeout: 30),
                logger: testLogger)
            let impatient = SlackWebAPI(
                baseURL: fake.apiBaseURL, botToken: Secret(FakeSlack.botToken), httpClient: fake.client, clock: clock, settings: .init(timeout: 0.5),
                logger: testLogger)
            let topic: [(String, String)] = [("channel", FakeSlack.announceChannelID), ("topic", "t")]

            fake.inject("conversations.setTopic", .rateLimited(retryAfter: 7))
            await #expect(throws: SlackAPIError.rateLimited(method: "conversations.setTopic", retryAfter: 7)) {
                try await api.call("conversations.setTopic", topic)
            }
            // The method cools down for every caller, without asking Slack again.
            clock.advance(by: 3)
            await #expect(throws: SlackAPIError.rateLimited(method: "conversations.setTopic", retryAfter: 4)) {
                try await api.call("conversations.setTopic", topic)
            }
            #expect(fake.calls("conversations.setTopic").count == 1)
            // Other methods are not held up.
            try await api.call("conversations.join", [("channel", FakeSlack.announceChannelID)])
            clock.advance(by: 4)
            try await api.call("conversations.setTopic", topic)
            #expect(fake.calls("conversations.setTopic").count == 2)

            fake.inject("chat.postMessage", .serverError, .slackError("invalid_auth"), .slackError("internal_error"), .slow(seconds: 2))
            let post: [(String, String)] = [("channel", FakeSlack.announceChannelID), ("text", "hi")]
            for (index, expected) in ["transient", "unauthorized", "transient", "transient"].enumerated() {
                do throws(SlackAPIError) {
                    // The last answer is 2 s slow: a timeout, which is transient.
                    try await (index == 3 ? impatient : api).call("chat.postMessage", post)
                    Issue.record("expected a failure")
                } catch {
                    switch error.deliveryFailure {
                    case .transient: #expect(expected == "transient", "\(error)")
                    case .permanent: #expect(expected == "permanent", "\(error)")
                    case .unauthorized: #expect(expected == "unauthorized", "\(error)")
                    case .rateLimited: Issue.record("unexpected \(error)")
                    }
                }
            }

            // A wrong token is Slack's invalid_auth, never retried.
            let wrong = SlackWebAPI(baseURL: fake.apiBaseURL, botToken: Secret("xoxb-wrong"), httpClient: fake.client, clock: clock, logger: testLogger)
            await #expect(throws: SlackAPIError.refused(method: "auth.test", error: "invalid_auth")) { try await wrong.call("auth.test") }
            // Nobody listening.
            let nowhere = SlackWebAPI(
                baseURL: "http://127.0.0.1:1/api", botToken: Secret(FakeSlack.botToken), httpClient: fake.client, clock: clock, settings: .init(timeout: 0.5),
                logger: testLogger)
            do throws(SlackAPIError) {
                try await nowhere.call("auth.test")
                Issue.record("expected a failure")
            } catch {
                #expect(error.deliveryFailure == .transient(error.description))
            }
        }
    }
}
