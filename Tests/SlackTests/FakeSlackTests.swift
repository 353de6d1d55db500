import AsyncHTTPClient
import Foundation
import KlaxonTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// The shared fake Slack behaves as Slack does by default (#10 §6), so the tests that use it meet Slack's
/// limits and refusals; these check the fake itself against the documented behaviour.
@Suite("Fake Slack: strict like Slack")
struct FakeSlackTests {
    struct Answer {
        var status: Int
        var retryAfter: String?
        var json: [String: Any]

        var ok: Bool { json["ok"] as? Bool == true }
        var error: String? { json["error"] as? String }
    }

    static func call(
        _ fake: FakeSlack, _ method: String, _ fields: [String: String], body: String? = nil, contentType: String = "application/x-www-form-urlencoded"
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: "\(fake.apiBaseURL)/\(method)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(FakeSlack.botToken)")
        request.headers.add(name: "Content-Type", value: contentType)
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let form = fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: body ?? form))
        let response = try await fake.client.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let json = bytes.readableBytes == 0 ? [:] : try #require(FakeJSON.object(bytes))
        return Answer(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), json: json)
    }

    @Test func postsGoAtAboutOnePerSecondPerChannelAfterAShortBurst() async throws {
        let clock = ManualClock()
        try await FakeSlack.run(clock: clock) { fake in
            for number in 1...5 {
                #expect(try await Self.call(fake, "chat.postMessage", ["channel": "C0GENERAL", "text": "burst \(number)"]).ok)
            }
            let refused = try await Self.call(fake, "chat.postMessage", ["channel": "C0GENERAL", "text": "one too many"])
            #expect(refused.status == 429)
            #expect(refused.retryAfter == "1")
            // Another channel has its own pace.
            #expect(try await Self.call(fake, "chat.postMessage", ["channel": FakeSlack.announceChannelID, "text": "elsewhere"]).ok)
            clock.advance(by: 1)
            #expect(try await Self.call(fake, "chat.postMessage", ["channel": "C0GENERAL", "text": "a second later"]).ok)
            #expect(fake.messages(in: "C0GENERAL").count == 6)
        }
    }

    @Test func aTierTwoMethodTakesTwentyCallsAMinuteAndSomeRefusalsNameNoWait() async throws {
        let clock = ManualClock()
        try await FakeSlack.run(clock: clock) { fake in
            for number in 1...20 {
                #expect(try await Self.call(fake, "conversations.setTopic", ["channel": "C0GENERAL", "topic": "t\(number)"]).ok)
            }
            var refusals: [Answer] = []
            for _ in 1...3 {
                refusals.append(try await Self.call(fake, "conversations.setTopic", ["channel": "C0GENERAL", "topic": "late"]))
            }
            #expect(refusals.map(\.status) == [429, 429, 429])
            #expect(refusals[0].retryAfter == "60" && refusals[1].retryAfter == "60")
            #expect(refusals[2].retryAfter == nil, "some of Slack's 429s come without Retry-After")
            clock.advance(by: 60)
            #expect(try await Self.call(fake, "conversations.setTopic", ["channel": "C0GENERAL", "topic": "next minute"]).ok)
        }
    }

    @Test func withoutStrictnessABurstAllGoesThrough() async throws {
        // The opt-out a test takes when it posts a burst on purpose.
        try await FakeSlack.run(strict: false, clock: ManualClock()) { fake in
            for number in 1...30 {
                let answer = try await Self.call(fake, "chat.postMessage", ["channel": "C0GENERAL", "text": "burst \(number)"])
                #expect(answer.ok)
            }
            #expect(fake.messages(in: "C0GENERAL").count == 30)
        }
    }

    @Test func theBotPostsOnlyWhereItIsAndSeesOnlyThePrivateChannelsItIsIn() async throws {
        try await FakeSlack.run(clock: ManualClock()) { fake in
            fake.addChannel(id: "C0OTHER", name: "other", botIsMember: false)
            fake.addChannel(id: "C0SECRET", name: "secret", isPrivate: true, botIsMember: false)
            #expect(try await Self.call(fake, "chat.postMessage", ["channel": "C0OTHER", "text": "hi"]).error == "not_in_channel")
            #expect(try await Self.call(fake, "conversations.history", ["channel": "C0OTHER"]).error == "not_in_channel")
            #expect(try await Self.call(fake, "conversations.join", ["channel": "C0OTHER"]).ok)
            #expect(try await Self.call(fake, "chat.postMessage", ["channel": "C0OTHER", "text": "hi"]).ok)

            #expect(try await Self.call(fake, "chat.postMessage", ["channel": "C0SECRET", "text": "hi"]).error == "channel_not_found")
            #expect(try await Self.call(fake, "conversations.join", ["channel": "secret"]).error == "channel_not_found")
            let listed = try await Self.call(fake, "users.conversations", ["types": "public_channel,private_channel"])
            let ids = (listed.json["channels"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids.contains("C0OTHER") && !ids.contains("C0SECRET"))
        }
    }

    @Test func malformedJSONIsRefusedInSlacksEnvelope() async throws {
        try await FakeSlack.run(clock: ManualClock()) { fake in
            let body = try await Self.call(fake, "chat.postMessage", [:], body: #"{"channel": "C0GENERAL", "text": "#, contentType: "application/json")
            #expect(body.status == 200 && body.error == "invalid_json")
            let blocks = try await Self.call(fake, "chat.postMessage", ["channel": "C0GENERAL", "text": "x", "blocks": "[{"])
            #expect(blocks.error == "invalid_blocks")
            let metadata = try await Self.call(fake, "chat.postMessage", ["channel": "C0GENERAL", "text": "x", "metadata": "{"])
            #expect(metadata.error == "invalid_metadata_format")
            let json = try await Self.call(fake, "chat.postMessage", [:], body: #"{"channel": "C0GENERAL", "text": "fine"}"#, contentType: "application/json")
            #expect(json.ok)
            #expect(fake.messages(in: "C0GENERAL").map(\.text) == ["fine"])
        }
    }

    @Test func historyIsPagedByCursorAndWindowedByOldest() async throws {
        let clock = ManualClock()
        try await FakeSlack.run(clock: clock) { fake in
            var stamps: [String] = []
            for number in 1...5 {
                let posted = try await Self.call(fake, "chat.postMessage", ["channel": "C0GENERAL", "text": "m\(number)"])
                stamps.append(try #require(posted.json["ts"] as? String))
                clock.advance(by: 1)
            }
            var texts: [String] = []
            var cursor = ""
            var pages = 0
            repeat {
                var fields = ["channel": "C0GENERAL", "limit": "2"]
                if !cursor.isEmpty { fields["cursor"] = cursor }
                let page = try await Self.call(fake, "conversations.history", fields)
                let messages = page.json["messages"] as? [[String: Any]] ?? []
                texts += messages.compactMap { $0["text"] as? String }
                cursor = (page.json["response_metadata"] as? [String: Any])?["next_cursor"] as? String ?? ""
                #expect((page.json["has_more"] as? Bool) == !cursor.isEmpty)
                pages += 1
            } while !cursor.isEmpty && pages < 10
            #expect(pages == 3)
            #expect(texts == ["m5", "m4", "m3", "m2", "m1"], "newest first")
            let newer = try await Self.call(fake, "conversations.history", ["channel": "C0GENERAL", "oldest": stamps[2]])
            #expect((newer.json["messages"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String } == ["m5", "m4"])
            let inclusive = try await Self.call(fake, "conversations.history", ["channel": "C0GENERAL", "oldest": stamps[2], "inclusive": "true"])
            #expect((inclusive.json["messages"] as? [[String: Any]])?.count == 3)
        }
    }

    /// The benchmarks' retention: calls counted, not kept; per channel the recent posts, and pinned posts and
    /// thread parents however old, so the status card and thread roots can still be updated.
    @Test func aBoundedFakeCountsCallsAndKeepsRecentPostsPinnedOnesAndThreadParents() async throws {
        try await FakeSlack.run(strict: false, clock: ManualClock(), retention: .bounded(messagesPerChannel: 4)) { fake in
            func post(_ text: String, thread: String? = nil) async throws -> String {
                var fields = ["channel": "C0GENERAL", "text": text]
                if let thread { fields["thread_ts"] = thread }
                return try #require(try await Self.call(fake, "chat.postMessage", fields).json["ts"] as? String)
            }
            let card = try await post("card")
            #expect(try await Self.call(fake, "pins.add", ["channel": "C0GENERAL", "timestamp": card]).ok)
            let root = try await post("root")
            let reply = try await post("reply", thread: root)
            for number in 1...10 { _ = try await post("later \(number)") }

            let kept = fake.messages(in: "C0GENERAL").map(\.text)
            #expect(kept.prefix(2) == ["card", "root"])
            #expect(kept.suffix(4) == ["later 7", "later 8", "later 9", "later 10"])
            #expect(kept.count <= 2 + 5, "at most a quarter over the window before the oldest go")
            #expect(!kept.contains("reply") && !kept.contains("later 1"))
            #expect(fake.messages.map(\.text) == kept, "every post still kept, in the order they came")
            #expect(try await Self.call(fake, "chat.update", ["channel": "C0GENERAL", "ts": card, "text": "card v2"]).ok)
            #expect(try await Self.call(fake, "conversations.replies", ["channel": "C0GENERAL", "ts": root]).ok)
            #expect(try await Self.call(fake, "chat.update", ["channel": "C0GENERAL", "ts": reply, "text": "gone"]).error == "message_not_found")
            #expect(fake.pinned(in: "C0GENERAL").map(\.text) == ["card v2"])

            #expect(fake.calls.isEmpty)
            #expect(fake.callCounts.calls == ["chat.postMessage": 13, "pins.add": 1, "chat.update": 2, "conversations.replies": 1])
            let stats = try await fake.client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(fake.port)/stats"), timeout: .seconds(10))
            let object = try #require(FakeJSON.object(try await stats.body.collect(upTo: 1 << 16)))
            #expect((object["calls"] as? [String: Int])?["chat.postMessage"] == 13)
            #expect((object["rate_limited"] as? [String: Int]) == [:])
        }
    }

    @Test func channelsAreFoundByNameAfterBeingReplaced() async throws {
        try await FakeSlack.run(strict: false, clock: ManualClock()) { fake in
            #expect(try await Self.call(fake, "conversations.create", ["name": "inc-1-db"]).ok)
            #expect(try await Self.call(fake, "conversations.create", ["name": "inc-1-db"]).error == "name_taken")
            // Someone renamed the channel in Slack: the old name is free again, the new one taken.
            let id = try #require(fake.channel(named: "inc-1-db")?.id)
            fake.addChannel(id: id, name: "inc-1-db-resolved")
            #expect(fake.channel(named: "inc-1-db-resolved")?.id == id)
            #expect(try await Self.call(fake, "chat.postMessage", ["channel": "#inc-1-db-resolved", "text": "by name"]).json["channel"] as? String == id)
            #expect(try await Self.call(fake, "conversations.create", ["name": "inc-1-db"]).ok)
            #expect(try await Self.call(fake, "conversations.create", ["name": "inc-1-db-resolved"]).error == "name_taken")
        }
    }
}
