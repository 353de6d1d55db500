import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KlaxonTestSupport
import NIOCore
import Testing

/// The shared fake Rocket.Chat and Mattermost behave as the servers do by default (#10 §6); these check
/// the fakes themselves against the servers' documented behaviour.
@Suite("Fake Rocket.Chat and Mattermost: strict like the servers")
struct FakeServerTests {
    static func rocketChatHeaders(_ fake: FakeRocketChat) -> HTTPFields {
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Auth-Token")!] = fake.authToken
        headers[HTTPField.Name("X-User-Id")!] = fake.bot.id
        headers[.contentType] = "application/json"
        return headers
    }

    @Test func rocketChatsDefaultLimiterAllowsTenCallsAMinutePerRoute() async throws {
        let clock = ManualClock()
        let fake = FakeRocketChat(clock: clock)
        let headers = Self.rocketChatHeaders(fake)
        try await Application(router: fake.router()).test(.router) { client in
            for number in 1...10 {
                let answer = try await client.execute(uri: "/api/v1/rooms.info?roomName=incidents", method: .get, headers: headers)
                #expect(answer.status == .ok)
                #expect(answer.headers[HTTPField.Name("X-RateLimit-Remaining")!] == "\(10 - number)")
            }
            let refused = try await client.execute(uri: "/api/v1/rooms.info?roomName=incidents", method: .get, headers: headers)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == nil, "Rocket.Chat names no Retry-After")
            let reset = clock.now().addingTimeInterval(60)
            #expect(refused.headers[HTTPField.Name("X-RateLimit-Reset")!] == "\(FakeRocketChat.epochMilliseconds(reset))")
            let json = try #require(FakeJSON.object(refused.body))
            #expect(json["success"] as? Bool == false)
            #expect((json["error"] as? String)?.hasSuffix("[error-too-many-requests]") == true)
            // Per route: another one is not spent.
            #expect(try await client.execute(uri: "/api/v1/users.info?username=alice", method: .get, headers: headers).status == .ok)
            clock.advance(by: 60)
            #expect(try await client.execute(uri: "/api/v1/rooms.info?roomName=incidents", method: .get, headers: headers).status == .ok)
        }
    }

    @Test func withoutStrictnessRocketChatHasNoLimiter() async throws {
        let fake = FakeRocketChat(clock: ManualClock(), strict: false)
        let headers = Self.rocketChatHeaders(fake)
        try await Application(router: fake.router()).test(.router) { client in
            for _ in 1...15 {
                let answer = try await client.execute(uri: "/api/v1/rooms.info?roomName=incidents", method: .get, headers: headers)
                #expect(answer.status == .ok)
            }
            #expect(await fake.tooManyRequestsAnswers() == 0)
        }
    }

    @Test func rocketChatRefusesABodyThatIsNotJSON() async throws {
        let fake = FakeRocketChat(clock: ManualClock())
        try await Application(router: fake.router()).test(.router) { client in
            let answer = try await client.execute(
                uri: "/api/v1/chat.sendMessage", method: .post, headers: Self.rocketChatHeaders(fake), body: ByteBuffer(string: #"{"message": "#))
            #expect(answer.status == .badRequest)
            let json = try #require(FakeJSON.object(answer.body))
            #expect(json["success"] as? Bool == false && json["error"] is String)
            #expect(await fake.messages.isEmpty)
        }
    }

    @Test func mattermostRefusesABodyThatIsNotJSONInItsEnvelope() async throws {
        let fake = FakeMattermost(clock: ManualClock())
        try await Application(router: fake.router()).test(.router) { client in
            let answer = try await client.execute(
                uri: "/api/v4/posts", method: .post, headers: [.authorization: "Bearer \(fake.botToken)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"channel_id": "#))
            #expect(answer.status == .badRequest)
            let json = try #require(FakeJSON.object(answer.body))
            #expect(json["id"] as? String == "api.context.invalid_body_param.app_error")
            #expect(json["message"] is String && json["status_code"] as? Int == 400)
            #expect(await fake.posts.isEmpty)
        }
    }
}
