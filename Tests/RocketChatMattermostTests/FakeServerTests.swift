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

    static func mattermostHeaders(_ fake: FakeMattermost) -> HTTPFields {
        [.authorization: "Bearer \(fake.botToken)", .contentType: "application/json"]
    }

    /// `create_post` is a channel member's permission: an open channel the bot was never added to refuses
    /// its posts as Mattermost does, in its error envelope, until the bot joins.
    @Test func mattermostRefusesAPostIntoAnOpenChannelTheBotIsNotIn() async throws {
        let clock = ManualClock()
        let fake = FakeMattermost(clock: clock)
        await fake.addChannel(named: "elsewhere", creatorID: "uidalice", createdAt: clock.now())
        let channel = try #require(await fake.channel(named: "elsewhere"))
        #expect(channel.type == "O")
        let headers = Self.mattermostHeaders(fake)
        let post = ByteBuffer(string: #"{"channel_id": "\#(channel.id)", "message": "hello"}"#)
        try await Application(router: fake.router()).test(.router) { client in
            let refused = try await client.execute(uri: "/api/v4/posts", method: .post, headers: headers, body: post)
            #expect(refused.status == .forbidden)
            let json = try #require(FakeJSON.object(refused.body))
            #expect(json["id"] as? String == "api.context.permissions.app_error")
            #expect(json["message"] as? String == "You do not have the appropriate permissions.")
            #expect(json["detailed_error"] as? String == "" && json["status_code"] as? Int == 403)
            #expect((json["request_id"] as? String)?.isEmpty == false)
            #expect(await fake.posts.isEmpty, "nothing posted")

            // Reading an open channel's posts needs no membership (`read_public_channel`).
            let read = try await client.execute(uri: "/api/v4/channels/\(channel.id)/posts", method: .get, headers: headers)
            #expect(read.status == .ok)

            // Joining is adding oneself; then the same post goes through.
            let join = try await client.execute(
                uri: "/api/v4/channels/\(channel.id)/members", method: .post, headers: headers, body: ByteBuffer(string: #"{"user_id": "\#(fake.bot.id)"}"#))
            #expect(join.status == .created)
            let accepted = try await client.execute(uri: "/api/v4/posts", method: .post, headers: headers, body: post)
            #expect(accepted.status == .created)
            #expect(await fake.posts(in: "elsewhere").map(\.message) == ["hello"])
        }
    }

    /// Adding others and patching are channel permissions of its members (`manage_public_channel_members`,
    /// `manage_public_channel_properties`): outside an open channel the bot is refused in Mattermost's
    /// envelope and nothing changes; joining it first is what lets both through.
    @Test func mattermostRefusesAddingOthersToOrPatchingAnOpenChannelTheBotIsNotIn() async throws {
        let clock = ManualClock()
        let fake = FakeMattermost(clock: clock, usernames: ["alice", "bob"])
        await fake.addChannel(named: "elsewhere", creatorID: "uidalice", createdAt: clock.now())
        let channel = try #require(await fake.channel(named: "elsewhere"))
        let headers = Self.mattermostHeaders(fake)
        let addBob = ByteBuffer(string: #"{"user_id": "uidbob"}"#)
        let patch = ByteBuffer(string: #"{"header": "SEV1: database down"}"#)
        try await Application(router: fake.router()).test(.router) { client in
            let added = try await client.execute(uri: "/api/v4/channels/\(channel.id)/members", method: .post, headers: headers, body: addBob)
            #expect(added.status == .forbidden)
            #expect(try #require(FakeJSON.object(added.body))["id"] as? String == "api.context.permissions.app_error")
            let patched = try await client.execute(uri: "/api/v4/channels/\(channel.id)/patch", method: .put, headers: headers, body: patch)
            #expect(patched.status == .forbidden)
            let json = try #require(FakeJSON.object(patched.body))
            #expect(json["id"] as? String == "api.context.permissions.app_error" && json["status_code"] as? Int == 403)
            #expect(await fake.channel(named: "elsewhere")?.memberIDs == ["uidalice"], "nobody added")
            #expect(await fake.channel(named: "elsewhere")?.header == "", "header unchanged")

            let join = try await client.execute(
                uri: "/api/v4/channels/\(channel.id)/members", method: .post, headers: headers, body: ByteBuffer(string: #"{"user_id": "\#(fake.bot.id)"}"#))
            #expect(join.status == .created)
            #expect(try await client.execute(uri: "/api/v4/channels/\(channel.id)/members", method: .post, headers: headers, body: addBob).status == .created)
            #expect(try await client.execute(uri: "/api/v4/channels/\(channel.id)/patch", method: .put, headers: headers, body: patch).status == .ok)
            #expect(await fake.channel(named: "elsewhere")?.memberIDs == ["uidalice", fake.bot.id, "uidbob"])
            #expect(await fake.channel(named: "elsewhere")?.header == "SEV1: database down")
        }
    }

    @Test func mattermostHidesAPrivateChannelFromNonMembers() async throws {
        let clock = ManualClock()
        let fake = FakeMattermost(clock: clock)
        await fake.addChannel(named: "secret", creatorID: "uidalice", createdAt: clock.now(), isPrivate: true)
        let channel = try #require(await fake.channel(named: "secret"))
        let headers = Self.mattermostHeaders(fake)
        try await Application(router: fake.router()).test(.router) { client in
            let lookup = try await client.execute(uri: "/api/v4/teams/\(fake.teamID)/channels/name/secret", method: .get, headers: headers)
            #expect(lookup.status == .notFound)
            let join = try await client.execute(
                uri: "/api/v4/channels/\(channel.id)/members", method: .post, headers: headers, body: ByteBuffer(string: #"{"user_id": "\#(fake.bot.id)"}"#))
            #expect(join.status == .notFound, "a private channel cannot be joined by someone outside it")
            let post = try await client.execute(
                uri: "/api/v4/posts", method: .post, headers: headers, body: ByteBuffer(string: #"{"channel_id": "\#(channel.id)", "message": "hi"}"#))
            #expect(post.status == .forbidden)
            let read = try await client.execute(uri: "/api/v4/channels/\(channel.id)/posts", method: .get, headers: headers)
            #expect(read.status == .forbidden)
            #expect(await fake.channel(named: "secret")?.memberIDs == ["uidalice"])

            // Once someone adds the bot, it sees the channel.
            await fake.addMember(fake.bot.id, toChannelNamed: "secret")
            #expect(try await client.execute(uri: "/api/v4/teams/\(fake.teamID)/channels/name/secret", method: .get, headers: headers).status == .ok)
        }
    }

    @Test func mattermostMakesTheCreatorOfAChannelAMember() async throws {
        let fake = FakeMattermost(clock: ManualClock())
        let headers = Self.mattermostHeaders(fake)
        try await Application(router: fake.router()).test(.router) { client in
            let made = try await client.execute(
                uri: "/api/v4/channels", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"team_id": "\#(fake.teamID)", "name": "incident-1", "display_name": "incident-1", "type": "O"}"#))
            #expect(made.status == .created)
            let id = try #require(FakeJSON.object(made.body)?["id"] as? String)
            let post = try await client.execute(
                uri: "/api/v4/posts", method: .post, headers: headers, body: ByteBuffer(string: #"{"channel_id": "\#(id)", "message": "first"}"#))
            #expect(post.status == .created)
        }
    }

    /// Without `since`, `GET /channels/{id}/posts` hands out pages, newest first, as the server does.
    @Test func mattermostPagesAChannelsPostsNewestFirst() async throws {
        let clock = ManualClock()
        let fake = FakeMattermost(clock: clock)
        var ids: [String] = []
        for number in 1...7 {
            ids.append(try #require(await fake.addPost("post \(number)", toChannelNamed: "incidents")))
            clock.advance(by: 1)
        }
        let newestFirst = Array(ids.reversed())
        let channelID = try #require(await fake.channel(named: "incidents")).id
        let headers = Self.mattermostHeaders(fake)
        try await Application(router: fake.router()).test(.router) { client in
            func page(_ query: String) async throws -> (order: [String], posts: Int, next: String?, previous: String?) {
                let answer = try await client.execute(uri: "/api/v4/channels/\(channelID)/posts\(query)", method: .get, headers: headers)
                #expect(answer.status == .ok)
                let json = try #require(FakeJSON.object(answer.body))
                return (
                    json["order"] as? [String] ?? [], (json["posts"] as? [String: Any])?.count ?? -1, json["next_post_id"] as? String,
                    json["prev_post_id"] as? String
                )
            }
            let first = try await page("?page=0&per_page=3")
            #expect(first.order == Array(newestFirst[0..<3]) && first.posts == 3)
            #expect(first.next == "" && first.previous == newestFirst[3])
            let second = try await page("?page=1&per_page=3")
            #expect(second.order == Array(newestFirst[3..<6]))
            #expect(second.next == newestFirst[2] && second.previous == newestFirst[6])
            let last = try await page("?page=2&per_page=3")
            #expect(last.order == [newestFirst[6]] && last.next == newestFirst[5] && last.previous == "")
            let beyond = try await page("?page=3&per_page=3")
            #expect(beyond.order.isEmpty && beyond.posts == 0)
            // Defaults: page 0 of 60, so all seven here; a `per_page` over 200 is cut to 200.
            #expect(try await page("").order == newestFirst)
            #expect(try await page("?per_page=1000").order == newestFirst)
            // `since` (milliseconds) gives every post after it, whatever the page, and no cursors.
            let since = Int64(clock.now().addingTimeInterval(-3.5).timeIntervalSince1970 * 1000)
            let recent = try await page("?since=\(since)&per_page=1")
            #expect(recent.order == Array(newestFirst[0..<3]))
            #expect(recent.next == "" && recent.previous == "")
        }
    }

    @Test func mattermostServesAtMostTwoHundredPostsAPage() async throws {
        let clock = ManualClock()
        let fake = FakeMattermost(clock: clock)
        for number in 1...(FakeMattermost.maximumPerPage + 5) {
            await fake.addPost("post \(number)", toChannelNamed: "incidents")
            clock.advance(by: 1)
        }
        let channelID = try #require(await fake.channel(named: "incidents")).id
        try await Application(router: fake.router()).test(.router) { client in
            let answer = try await client.execute(
                uri: "/api/v4/channels/\(channelID)/posts?per_page=500", method: .get, headers: Self.mattermostHeaders(fake))
            let json = try #require(FakeJSON.object(answer.body))
            #expect((json["order"] as? [String])?.count == 200)
            #expect((json["prev_post_id"] as? String)?.isEmpty == false, "older posts remain")
            let defaulted = try await client.execute(uri: "/api/v4/channels/\(channelID)/posts", method: .get, headers: Self.mattermostHeaders(fake))
            #expect((FakeJSON.object(defaulted.body)?["order"] as? [String])?.count == 60)
        }
    }
}
