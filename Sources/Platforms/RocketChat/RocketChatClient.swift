import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1

/// Rocket.Chat's REST API (`/api/v1`), the calls Klaxon makes, authenticated as the bot user with a
/// personal access token (`X-Auth-Token` + `X-User-Id`).
///
/// Every call reports failures as `ChatServerFailure`. Rocket.Chat's rate limiter answers 429 without
/// `Retry-After`; its `X-RateLimit-Reset` header is the epoch time in milliseconds when the route opens
/// again, read against the injected clock. A route whose `X-RateLimit-Remaining` reached 0 is not called
/// again before that time.
public struct RocketChatClient: Sendable {
    public let userID: String
    private let http: ChatServerHTTP
    private let clock: any WallClock
    private let gate = CooldownGate()
    private let logger: Logger

    public init(serverURL: String, userID: String, authToken: Secret, httpClient: HTTPClient, clock: any WallClock, logger: Logger) {
        var headers = HTTPHeaders()
        headers.add(name: "X-Auth-Token", value: authToken.exposedValue)
        headers.add(name: "X-User-Id", value: userID)
        self.userID = userID
        self.http = ChatServerHTTP(httpClient: httpClient, baseURL: serverURL, headers: headers, logger: logger)
        self.clock = clock
        self.logger = logger
    }

    // MARK: Rooms

    /// A channel or private group by name (`rooms.info?roomName=`).
    public func room(named name: String) async throws(ChatServerFailure) -> RocketChatRoom {
        struct Answer: Decodable { var room: RocketChatRoom }
        return try await get("rooms.info", query: [("roomName", name)], as: Answer.self).room
    }

    /// A room by id (`rooms.info?roomId=`): how a room's kind is learnt when only its id was kept, since
    /// the `channels.*` calls refuse a private group and the `groups.*` calls a public channel.
    public func room(id: String) async throws(ChatServerFailure) -> RocketChatRoom {
        struct Answer: Decodable { var room: RocketChatRoom }
        return try await get("rooms.info", query: [("roomId", id)], as: Answer.self).room
    }

    /// Creates a public channel (`channels.create`) or a private group (`groups.create`).
    public func createRoom(named name: String, private isPrivate: Bool = false, members: [String] = []) async throws(ChatServerFailure) -> RocketChatRoom {
        struct Request: Encodable { var name: String; var members: [String] }
        struct ChannelAnswer: Decodable { var channel: RocketChatRoom }
        struct GroupAnswer: Decodable { var group: RocketChatRoom }
        let body = Request(name: name, members: members)
        if isPrivate {
            return try await post("groups.create", body, as: GroupAnswer.self).group
        }
        return try await post("channels.create", body, as: ChannelAnswer.self).channel
    }

    /// Adds a user, by user id, to a channel or group (`channels.invite` / `groups.invite`).
    public func invite(userID: String, to room: RocketChatRoom) async throws(ChatServerFailure) {
        struct Request: Encodable { var roomId: String; var userId: String }
        try await post(room.isPrivate ? "groups.invite" : "channels.invite", Request(roomId: room.id, userId: userID), as: Ignored.self)
    }

    /// `channels.setTopic` / `groups.setTopic`.
    public func setTopic(_ topic: String, of room: RocketChatRoom) async throws(ChatServerFailure) {
        struct Request: Encodable { var roomId: String; var topic: String }
        try await post(room.isPrivate ? "groups.setTopic" : "channels.setTopic", Request(roomId: room.id, topic: topic), as: Ignored.self)
    }

    /// The direct-message room with a user (`dm.create`; it returns the existing one if there is one).
    public func directRoom(with username: String) async throws(ChatServerFailure) -> RocketChatRoom {
        struct Request: Encodable { var username: String }
        struct Answer: Decodable { var room: RocketChatRoom }
        return try await post("dm.create", Request(username: username), as: Answer.self).room
    }

    /// A user's id from their username (`users.info?username=`).
    public func userID(username: String) async throws(ChatServerFailure) -> String {
        struct Answer: Decodable {
            struct User: Decodable { var _id: String }
            var user: User
        }
        return try await get("users.info", query: [("username", username)], as: Answer.self).user._id
    }

    /// A user by id with their `utcOffset` (`users.info?userId=`). `timeout` shortens the deadline when
    /// someone is waiting for the answer.
    public func user(id: String, timeout: TimeAmount? = nil) async throws(ChatServerFailure) -> RocketChatUser {
        struct Answer: Decodable { var user: RocketChatUser }
        return try await get("users.info", query: [("userId", id)], timeout: timeout, as: Answer.self).user
    }

    // MARK: Messages

    /// Sends a message with a client-chosen `_id` (`chat.sendMessage`). The server never stores a second
    /// message with an existing `_id`: depending on its version it answers success without a message or
    /// a 400 (a duplicate-key error). On a 400 the id is looked up (`chat.getMessage`): if the message is
    /// there, an earlier attempt sent it, and the retry counts as success. Returns the message id.
    @discardableResult
    public func sendMessage(_ message: RocketChatOutgoingMessage) async throws(ChatServerFailure) -> String {
        struct Request: Encodable { var message: RocketChatOutgoingMessage }
        struct Answer: Decodable {
            struct Sent: Decodable { var _id: String }
            var message: Sent?
        }
        do {
            let answer = try await post("chat.sendMessage", Request(message: message), as: Answer.self)
            return answer.message?._id ?? message.id
        } catch .refused(let status, let code, let text) {
            if try await self.message(id: message.id) != nil {
                logger.debug("message was already sent", metadata: ["id": "\(message.id)"])
                return message.id
            }
            throw .refused(status: status, code: code, message: text)
        }
    }

    /// One message by id (`chat.getMessage`), nil when the server does not know it.
    public func message(id: String) async throws(ChatServerFailure) -> RocketChatMessage? {
        struct Answer: Decodable { var message: RocketChatMessage? }
        do {
            return try await get("chat.getMessage", query: [("msgId", id)], as: Answer.self).message
        } catch .refused {
            return nil
        }
    }

    /// A page of a room's messages, newest first (`channels.history` / `groups.history`): those at or
    /// after `oldest` (ISO 8601), skipping `offset`, at most `count`. Thread replies included.
    public func history(of room: RocketChatRoom, oldest: String?, count: Int, offset: Int = 0) async throws(ChatServerFailure) -> [RocketChatMessage] {
        struct Answer: Decodable { var messages: [RocketChatMessage] }
        var query = [("roomId", room.id), ("count", String(count)), ("offset", String(offset)), ("showThreadMessages", "true")]
        if let oldest {
            query += [("oldest", oldest), ("inclusive", "true")]
        }
        return try await get(room.isPrivate ? "groups.history" : "channels.history", query: query, as: Answer.self).messages
    }

    // MARK: Calls

    private struct Ignored: Decodable {}

    private func get<Answer: Decodable>(_ method: String, query: [(String, String)], timeout: TimeAmount? = nil, as type: Answer.Type)
        async throws(ChatServerFailure) -> Answer
    {
        try await call(.GET, method, query: query, body: nil, timeout: timeout, as: type)
    }

    @discardableResult
    private func post<Answer: Decodable>(_ method: String, _ body: some Encodable, as type: Answer.Type) async throws(ChatServerFailure) -> Answer {
        try await call(.POST, method, query: [], body: ChatServerJSON.encode(body), as: type)
    }

    private func call<Answer: Decodable>(
        _ verb: HTTPMethod, _ method: String, query: [(String, String)], body: Data?, timeout: TimeAmount? = nil, as type: Answer.Type
    ) async throws(ChatServerFailure) -> Answer {
        if let wait = gate.remaining(method, now: clock.now()) { throw .rateLimited(retryAfter: wait) }
        let response = try await http.send(verb, "/api/v1/" + method, query: query, json: body, timeout: timeout)
        noteRateLimit(of: method, response.headers)
        switch response.status {
        case 200..<300:
            // Any body may come back; one that is not Rocket.Chat's envelope leaves the status to go by.
            let envelope = try? ChatServerJSON.decoder.decode(RocketChatErrorBody.self, from: response.body)
            if envelope?.success == false {
                throw .refused(status: response.status, code: envelope?.errorType ?? "error", message: envelope?.error ?? "success: false")
            }
            return try ChatServerJSON.decode(type, from: response, call: method)
        case 429:
            throw .rateLimited(retryAfter: retryAfter(response.headers))
        case 401, 403:
            // Not an envelope (a proxy's page): the status decides.
            let envelope = try? ChatServerJSON.decoder.decode(RocketChatErrorBody.self, from: response.body)
            throw .unauthorized("\(method): \(envelope?.error ?? envelope?.message ?? "HTTP \(response.status)")")
        case 400..<500:
            // Not an envelope (a proxy's page): the status decides.
            let envelope = try? ChatServerJSON.decoder.decode(RocketChatErrorBody.self, from: response.body)
            throw .refused(
                status: response.status, code: envelope?.errorType ?? envelope?.error ?? "HTTP \(response.status)",
                message: envelope?.error ?? envelope?.message ?? String(decoding: response.body.prefix(200), as: UTF8.self))
        default:
            throw .unreachable("\(method): HTTP \(response.status)")
        }
    }

    /// The limiter's headers come with every answer of a limited route; an exhausted route is closed
    /// until its reset time, so the next call waits rather than collecting a 429.
    private func noteRateLimit(of method: String, _ headers: HTTPHeaders) {
        guard let remaining = headers.first(name: "X-RateLimit-Remaining").flatMap({ Int($0) }) else { return }
        if remaining <= 0, let reset = resetDate(headers) {
            gate.close(method, until: reset)
        } else {
            gate.open(method)
        }
    }

    /// Seconds until the route opens again; a minute when the server gives no reset time (its default
    /// window is 60 s).
    private func retryAfter(_ headers: HTTPHeaders) -> TimeInterval {
        guard let reset = resetDate(headers) else { return 60 }
        return max(reset.timeIntervalSince(clock.now()), 0)
    }

    /// `X-RateLimit-Reset`: epoch milliseconds.
    private func resetDate(_ headers: HTTPHeaders) -> Date? {
        guard let value = RateLimitHeader.number(headers, "X-RateLimit-Reset") else { return nil }
        return Date(timeIntervalSince1970: value / 1000)
    }
}
