import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A Rocket.Chat server as far as Klaxon uses it, written from the REST API's OpenAPI files
/// (`shared/specs/rocketchat/openapi`) and the server's behaviour notes in `PROTOCOLS.md`:
/// - `X-Auth-Token` + `X-User-Id` on every call, else 401 `{status: "error", message}`;
/// - errors as 400 `{success: false, error, errorType}`;
/// - `chat.sendMessage` with a client-chosen `_id`: a second send of the same id posts nothing and fails;
/// - the rate limiter: 429 `{success: false, error: "…[error-too-many-requests]"}` with
///   `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch milliseconds) and no `Retry-After`;
/// - `channels.history` / `groups.history`: newest first, `oldest`/`inclusive`, `count`/`offset`;
/// - `channels.*` act on public channels (`t: "c"`) only and `groups.*` on private groups (`t: "p"`) only,
///   anything else is `error-room-not-found` (the server's `findChannelByIdOrName` /
///   `findPrivateGroupByIdOrName`); a private group is visible (`rooms.info`, `groups.history`,
///   `groups.setTopic`) only to its members;
/// - `users.info` by `userId` or `username`, with `utcOffset` (hours, fractional for half-hour zones) once
///   the user has logged in from a client, absent before; an unknown user is 400 `User not found.`.
///
/// - a body that is not JSON: 400 `{success: false, error}`;
/// - `chat.sendMessage` into a private group only for its members.
///
/// Strict by default: the limiter is on for every route as a server's default settings have it
/// (`API_Enable_Rate_Limiter`, 10 calls per 60 s per route); `strict: false` turns it off for a test that
/// makes more calls on purpose and says why. `limit(_:to:per:)` and `throttle` set a route's own.
///
/// Its clock is the test's `ManualClock`, so message timestamps and reset times agree with the daemon's.
public actor FakeRocketChat {
    /// The server's default limiter settings.
    public static let defaultLimit = 10
    public static let defaultWindow: TimeInterval = 60

    public struct User: Sendable {
        public var id: String
        public var username: String
        /// What the server stores at login from the client's clock; nil: never logged in.
        public var utcOffset: Double?
    }

    public struct Room: Sendable {
        public var id: String
        public var name: String
        /// `c`, `p` or `d`.
        public var type: String
        public var topic: String?
        public var memberIDs: [String]
        /// Who made the room, and when (`u` and `ts` in the server's answers).
        public var creatorID = "uid-admin"
        public var createdAt = Date(timeIntervalSince1970: 0)
    }

    public struct Button: Sendable, Hashable {
        public var text: String
        public var msg: String
        public var inChatWindow: Bool

        public init(text: String, msg: String, inChatWindow: Bool) {
            self.text = text
            self.msg = msg
            self.inChatWindow = inChatWindow
        }
    }

    public struct Message: Sendable {
        public var id: String
        public var roomID: String
        public var text: String
        public var timestamp: Date
        public var author: User
        public var threadID: String?
        public var buttons: [Button]
    }

    public struct Call: Sendable, Hashable {
        public var method: String
        public var route: String
        public var status: Int
    }

    /// A route that answers 429 from its `afterCalls + 1`-th call on, until `window` seconds have passed
    /// since the first 429: as when other clients from the same address used up the quota.
    public struct Throttle: Sendable {
        public var afterCalls: Int
        public var window: TimeInterval
        public var resetAt: Date?
    }

    /// A route limited like Rocket.Chat's own limiter: `limit` calls per `window`, with the headers on
    /// every answer.
    public struct Quota: Sendable {
        public var limit: Int
        public var window: TimeInterval
        public var used = 0
        public var windowStart: Date?
    }

    public nonisolated let clock: ManualClock
    /// Whether the default limiter applies to routes without a `limit` of their own.
    public nonisolated let strict: Bool
    public nonisolated let bot = User(id: "KlaxonBotUserId1", username: "klaxon.bot")
    public nonisolated let authToken = "rc-personal-access-token"

    public private(set) var users: [User]
    public private(set) var rooms: [Room] = []
    public private(set) var messages: [Message] = []
    public private(set) var calls: [Call] = []
    private var throttles: [String: Throttle] = [:]
    private var quotas: [String: Quota] = [:]
    private var nextNumber = 0
    /// While set, `users.info` waits for `releaseUserLookups()`: a server too slow to answer.
    private var stalledLookups: [CheckedContinuation<Void, Never>]?
    public private(set) var userLookups = 0

    public init(clock: ManualClock, usernames: [String] = ["alice", "bob", "carol"], rooms roomNames: [String] = ["incidents"], strict: Bool = true) {
        self.clock = clock
        self.strict = strict
        self.users = usernames.map { User(id: "uid-\($0)", username: $0, utcOffset: nil) }
        self.users.append(bot)
        for name in roomNames {
            rooms.append(Room(id: "rid-\(name)", name: name, type: "c", topic: nil, memberIDs: users.map(\.id)))
        }
    }

    // MARK: What tests set up and read

    public func throttle(_ route: String, afterCalls: Int, window: TimeInterval) {
        throttles[route] = Throttle(afterCalls: afterCalls, window: window)
    }

    public func limit(_ route: String, to limit: Int, per window: TimeInterval) {
        quotas[route] = Quota(limit: limit, window: window)
    }

    public func room(named name: String) -> Room? { rooms.first { $0.name == name } }

    /// A public channel someone made, as if by hand in Rocket.Chat.
    public func addRoom(named name: String, creatorID: String, createdAt: Date) {
        rooms.append(Room(id: newID("room"), name: name, type: "c", topic: nil, memberIDs: [creatorID], creatorID: creatorID, createdAt: createdAt))
    }

    /// As when the user logs in from a client whose clock is `hours` east of UTC.
    public func setUTCOffset(of username: String, _ hours: Double?) {
        guard let index = users.firstIndex(where: { $0.username == username }) else { return }
        users[index].utcOffset = hours
    }

    public func stallUserLookups() { stalledLookups = [] }

    public func releaseUserLookups() {
        for waiting in stalledLookups ?? [] { waiting.resume() }
        stalledLookups = nil
    }

    public func messages(in roomName: String) -> [Message] {
        guard let room = room(named: roomName) else { return [] }
        return messages.filter { $0.roomID == room.id }
    }

    public func directMessages(to username: String) -> [Message] {
        let dmRooms = rooms.filter { $0.type == "d" && $0.name.split(separator: "+").contains(Substring(username)) }.map(\.id)
        return messages.filter { dmRooms.contains($0.roomID) }
    }

    public func tooManyRequestsAnswers() -> Int { calls.filter { $0.status == 429 }.count }

    public func calls(to route: String) -> [Call] { calls.filter { $0.route == route } }

    /// A person typing in a room (what polling picks up).
    @discardableResult
    public func post(as username: String, in roomName: String, _ text: String, threadID: String? = nil) -> Message {
        let author = users.first { $0.username == username }!
        let room = room(named: roomName)!
        let message = Message(id: newID("msg"), roomID: room.id, text: text, timestamp: now(), author: author, threadID: threadID, buttons: [])
        messages.append(message)
        return message
    }

    /// The outgoing webhook's body for a message (`triggerHandler.ts`, event `sendMessage`).
    public func webhookBody(for message: Message, token: String, triggerWord: String? = nil, bot: Bool = false, edited: Bool = false) -> ByteBuffer {
        let room = rooms.first { $0.id == message.roomID }!
        var body: [String: Any] = [
            "token": token, "bot": bot, "channel_id": room.id, "channel_name": room.name, "message_id": message.id,
            "timestamp": isoMilliseconds(message.timestamp), "user_id": message.author.id, "user_name": message.author.username,
            "text": message.text, "siteUrl": "https://chat.example.com",
        ]
        if let triggerWord { body["trigger_word"] = triggerWord }
        if let threadID = message.threadID { body["tmid"] = threadID }
        if edited { body["isEdited"] = true }
        let data = try! JSONSerialization.data(withJSONObject: body)
        return ByteBuffer(bytes: data)
    }

    // MARK: The HTTP side

    public nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        let routes: [(HTTPRequest.Method, String)] = [
            (.get, "rooms.info"), (.post, "channels.create"), (.post, "groups.create"), (.post, "channels.invite"),
            (.post, "groups.invite"), (.post, "channels.setTopic"), (.post, "groups.setTopic"), (.get, "users.info"),
            (.post, "dm.create"), (.post, "chat.sendMessage"), (.get, "chat.getMessage"), (.get, "channels.history"),
            (.get, "groups.history"),
        ]
        for (method, route) in routes {
            router.on(RouterPath("api/v1/\(route)"), method: method) { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                return await self.answer(route: route, request: request, body: body)
            }
        }
        return router
    }

    private func answer(route: String, request: Request, body: ByteBuffer) async -> Response {
        if route == "users.info" {
            userLookups += 1
            if stalledLookups != nil { await withCheckedContinuation { stalledLookups?.append($0) } }
        }
        let response = respond(route: route, request: request, body: body)
        calls.append(Call(method: request.method.rawValue, route: route, status: Int(response.status.code)))
        return response
    }

    private func respond(route: String, request: Request, body: ByteBuffer) -> Response {
        guard request.headers[HTTPField.Name("X-Auth-Token")!] == authToken,
            request.headers[HTTPField.Name("X-User-Id")!] == bot.id
        else {
            return FakeJSON.response(["status": "error", "message": "You must be logged in to do this."], status: .unauthorized)
        }
        var limitHeaders: HTTPFields = [:]
        if let refusal = applyLimits(route, headers: &limitHeaders) { return refusal }

        let query = request.uri.queryParameters
        var json: [String: Any] = [:]
        if request.method == .post {
            guard let object = FakeJSON.object(body) else {
                var refusal = FakeJSON.response(["success": false, "error": "The request body is not valid JSON."], status: .badRequest)
                for field in limitHeaders { refusal.headers[field.name] = field.value }
                return refusal
            }
            json = object
        }
        var answer: Response
        switch route {
        case "rooms.info":
            answer = roomsInfo(id: query.get("roomId"), name: query.get("roomName"))
        case "channels.create", "groups.create":
            answer = create(json, type: route == "groups.create" ? "p" : "c")
        case "channels.invite", "groups.invite":
            answer = invite(json, family: route.hasPrefix("groups") ? .groups : .channels)
        case "channels.setTopic", "groups.setTopic":
            answer = setTopic(json, family: route.hasPrefix("groups") ? .groups : .channels)
        case "users.info":
            answer = usersInfo(id: query.get("userId"), username: query.get("username"))
        case "dm.create":
            answer = dmCreate(json)
        case "chat.sendMessage":
            answer = sendMessage(json)
        case "chat.getMessage":
            answer = getMessage(query.get("msgId"))
        case "channels.history", "groups.history":
            answer = history(
                family: route.hasPrefix("groups") ? .groups : .channels, roomID: query.get("roomId"), oldest: query.get("oldest"),
                inclusive: query.get("inclusive") == "true", count: query.get("count", as: Int.self) ?? 20,
                offset: query.get("offset", as: Int.self) ?? 0, threads: query.get("showThreadMessages") != "false")
        default:
            answer = failure("Method not found", type: "error-invalid-method")
        }
        for field in limitHeaders { answer.headers[field.name] = field.value }
        return answer
    }

    /// Throttles and quotas, with the limiter's headers (`api.ts` sets them on every limited route).
    private func applyLimits(_ route: String, headers: inout HTTPFields) -> Response? {
        let now = now()
        if var throttle = throttles[route] {
            if let resetAt = throttle.resetAt, now >= resetAt {
                throttles[route] = nil
                return nil
            }
            if throttle.afterCalls > 0 {
                throttle.afterCalls -= 1
                throttles[route] = throttle
                return nil
            }
            let resetAt = throttle.resetAt ?? now.addingTimeInterval(throttle.window)
            throttle.resetAt = resetAt
            throttles[route] = throttle
            return tooManyRequests(limit: 10, resetAt: resetAt)
        }
        if var quota = quotas[route] ?? (strict ? Quota(limit: Self.defaultLimit, window: Self.defaultWindow) : nil) {
            defer { quotas[route] = quota }
            if let start = quota.windowStart, now >= start.addingTimeInterval(quota.window) {
                quota.used = 0
                quota.windowStart = nil
            }
            let start = quota.windowStart ?? now
            quota.windowStart = start
            let resetAt = start.addingTimeInterval(quota.window)
            if quota.used >= quota.limit {
                return tooManyRequests(limit: quota.limit, resetAt: resetAt)
            }
            quota.used += 1
            headers[HTTPField.Name("X-RateLimit-Limit")!] = "\(quota.limit)"
            headers[HTTPField.Name("X-RateLimit-Remaining")!] = "\(quota.limit - quota.used)"
            headers[HTTPField.Name("X-RateLimit-Reset")!] = "\(Self.epochMilliseconds(resetAt))"
        }
        return nil
    }

    private func tooManyRequests(limit: Int, resetAt: Date) -> Response {
        let seconds = Int(resetAt.timeIntervalSince(now()).rounded(.up))
        var headers = HTTPFields()
        headers[HTTPField.Name("X-RateLimit-Limit")!] = "\(limit)"
        headers[HTTPField.Name("X-RateLimit-Remaining")!] = "0"
        headers[HTTPField.Name("X-RateLimit-Reset")!] = "\(Self.epochMilliseconds(resetAt))"
        return FakeJSON.response(
            [
                "success": false,
                "error":
                    "Error, too many requests. Please slow down. You must wait \(seconds) seconds before trying this endpoint again. [error-too-many-requests]",
            ],
            status: .tooManyRequests, headers: headers)
    }

    // MARK: Endpoints

    private func roomsInfo(id: String?, name: String?) -> Response {
        let room = id.map { id in rooms.first { $0.id == id } } ?? name.map { name in rooms.first { $0.name == name } } ?? nil
        guard let room, room.type != "p" || room.memberIDs.contains(bot.id) else {
            return failure(
                "The required \"roomId\" or \"roomName\" param provided does not match any channel [error-room-not-found]", type: "error-room-not-found")
        }
        return success(["room": roomJSON(room)])
    }

    /// Which family of routes a call came in on: each refuses the other's rooms.
    public enum Family {
        case channels, groups

        public var roomType: String { self == .groups ? "p" : "c" }
        public var noun: String { self == .groups ? "group" : "channel" }
    }

    /// The index of the room a `channels.*` or `groups.*` call names, or the server's refusal.
    private func roomIndex(_ roomID: String?, family: Family, memberOnly: Bool) -> Result<Int, RoomNotFound> {
        guard let roomID, let index = rooms.firstIndex(where: { $0.id == roomID }), rooms[index].type == family.roomType,
            !memberOnly || family == .channels || rooms[index].memberIDs.contains(bot.id)
        else {
            return .failure(RoomNotFound(noun: family.noun))
        }
        return .success(index)
    }

    public struct RoomNotFound: Error {
        public var noun: String
        public var message: String { "The required \"roomId\" or \"roomName\" param provided does not match any \(noun) [error-room-not-found]" }
    }

    private func create(_ json: [String: Any], type: String) -> Response {
        guard let name = json["name"] as? String, !name.isEmpty else {
            return failure("Body param \"name\" is required", type: "error-invalid-param")
        }
        // The default `UTF8_Channel_Names_Validation`.
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            return failure("\(name) is not a valid room name. [error-invalid-room-name]", type: "error-invalid-room-name")
        }
        guard !rooms.contains(where: { $0.name == name }) else {
            return failure("A channel with name '\(name)' exists [error-duplicate-channel-name]", type: "error-duplicate-channel-name")
        }
        let memberNames = json["members"] as? [String] ?? []
        let memberIDs = [bot.id] + users.filter { memberNames.contains($0.username) }.map(\.id)
        let room = Room(id: newID("room"), name: name, type: type, topic: nil, memberIDs: memberIDs, creatorID: bot.id, createdAt: clock.now())
        rooms.append(room)
        return success([type == "p" ? "group" : "channel": roomJSON(room)])
    }

    private func invite(_ json: [String: Any], family: Family) -> Response {
        let index: Int
        switch roomIndex(json["roomId"] as? String, family: family, memberOnly: false) {
        case .success(let found): index = found
        case .failure(let notFound): return failure(notFound.message, type: "error-room-not-found")
        }
        let ids = (json["userIds"] as? [String]) ?? [json["userId"] as? String].compactMap { $0 }
        guard !ids.isEmpty, ids.allSatisfy({ id in users.contains { $0.id == id } }) else {
            return failure("Invalid user [error-invalid-user]", type: "error-invalid-user")
        }
        for id in ids where !rooms[index].memberIDs.contains(id) {
            rooms[index].memberIDs.append(id)
        }
        return success([family.noun: roomJSON(rooms[index])])
    }

    private func setTopic(_ json: [String: Any], family: Family) -> Response {
        let index: Int
        switch roomIndex(json["roomId"] as? String, family: family, memberOnly: true) {
        case .success(let found): index = found
        case .failure(let notFound): return failure(notFound.message, type: "error-room-not-found")
        }
        guard let topic = json["topic"] as? String else {
            return failure("The bodyParam \"topic\" is required", type: "error-invalid-param")
        }
        rooms[index].topic = topic
        return success(["topic": topic])
    }

    private func usersInfo(id: String?, username: String?) -> Response {
        guard id != nil || username != nil else {
            return failure("must have required property 'userId'\n must have required property 'username' [invalid-params]", type: "invalid-params")
        }
        let user = id.map { id in users.first { $0.id == id } } ?? username.map { name in users.first { $0.username == name } } ?? nil
        guard let user else {
            // The OpenAPI example of this answer has no `errorType`.
            return FakeJSON.response(["success": false, "error": "User not found."], status: .badRequest)
        }
        var json: [String: Any] = ["_id": user.id, "username": user.username, "type": "user", "active": true, "status": "online"]
        if let offset = user.utcOffset { json["utcOffset"] = offset }
        return success(["user": json])
    }

    private func dmCreate(_ json: [String: Any]) -> Response {
        guard let username = json["username"] as? String, let user = users.first(where: { $0.username == username }) else {
            return failure("Invalid user [error-invalid-user]", type: "error-invalid-user")
        }
        let name = [bot.username, user.username].sorted().joined(separator: "+")
        let room: Room
        if let existing = rooms.first(where: { $0.type == "d" && $0.name == name }) {
            room = existing
        } else {
            room = Room(id: bot.id + user.id, name: name, type: "d", topic: nil, memberIDs: [bot.id, user.id])
            rooms.append(room)
        }
        return success(["room": ["_id": room.id, "rid": room.id, "t": "d", "usernames": [bot.username, user.username]]])
    }

    private func sendMessage(_ json: [String: Any]) -> Response {
        guard let message = json["message"] as? [String: Any] else {
            return failure("The \"message\" parameter must be provided.", type: "error-invalid-params")
        }
        guard let roomID = message["rid"] as? String, let room = rooms.first(where: { $0.id == roomID }) else {
            return failure("[invalid-channel]", type: "invalid-channel")
        }
        // `canSendMessage`: a private group takes messages from its members only.
        guard room.type != "p" || room.memberIDs.contains(bot.id) else {
            return failure("error-not-allowed [error-not-allowed]", type: "error-not-allowed")
        }
        let id = message["_id"] as? String ?? newID("msg")
        if messages.contains(where: { $0.id == id }) {
            // `sendMessage` does not insert a message whose `_id` exists; the REST answer is an error.
            return failure(
                "E11000 duplicate key error collection: rocketchat.rocketchat_message index: _id_ dup key: { _id: \"\(id)\" }", type: "MongoServerError")
        }
        var threadID = message["tmid"] as? String
        if let tmid = threadID {
            guard let parent = messages.first(where: { $0.id == tmid }) else {
                return failure("Invalid thread parent [error-invalid-message]", type: "error-invalid-message")
            }
            threadID = parent.threadID ?? parent.id
        }
        var buttons: [Button] = []
        for attachment in message["attachments"] as? [[String: Any]] ?? [] {
            for action in attachment["actions"] as? [[String: Any]] ?? [] where action["type"] as? String == "button" {
                buttons.append(
                    Button(
                        text: action["text"] as? String ?? "", msg: action["msg"] as? String ?? "", inChatWindow: action["msg_in_chat_window"] as? Bool ?? false
                    ))
            }
        }
        let stored = Message(id: id, roomID: roomID, text: message["msg"] as? String ?? "", timestamp: now(), author: bot, threadID: threadID, buttons: buttons)
        messages.append(stored)
        return success(["message": messageJSON(stored)])
    }

    private func getMessage(_ id: String?) -> Response {
        guard let id, let message = messages.first(where: { $0.id == id }) else {
            return failure("Message not found [error-not-allowed]", type: "error-not-allowed")
        }
        return success(["message": messageJSON(message)])
    }

    private func history(family: Family, roomID: String?, oldest: String?, inclusive: Bool, count: Int, offset: Int, threads: Bool) -> Response {
        guard case .success(let index) = roomIndex(roomID, family: family, memberOnly: true) else {
            return failure(RoomNotFound(noun: family.noun).message, type: "error-room-not-found")
        }
        let roomID = rooms[index].id
        var since: Date?
        if let oldest {
            do {
                since = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(oldest)
            } catch {
                // The server refuses a date it cannot read rather than ignoring it.
                return failure("The \"oldest\" query parameter must be a valid date. [error-invalid-params]", type: "error-invalid-params")
            }
        }
        let matching = messages.enumerated()
            .filter { $0.element.roomID == roomID && (threads || $0.element.threadID == nil) }
            .filter { entry in
                guard let since else { return true }
                return inclusive ? entry.element.timestamp >= since : entry.element.timestamp > since
            }
            // Newest first; the same millisecond in reverse insertion order.
            .sorted { ($0.element.timestamp, $0.offset) > ($1.element.timestamp, $1.offset) }
            .map(\.element)
        let page = Array(matching.dropFirst(offset).prefix(count))
        return success(["messages": page.map(messageJSON), "count": page.count, "offset": offset, "total": matching.count])
    }

    // MARK: JSON

    private func roomJSON(_ room: Room) -> [String: Any] {
        let creator = users.first { $0.id == room.creatorID }?.username ?? "admin"
        var json: [String: Any] = [
            "_id": room.id, "name": room.name, "fname": room.name, "t": room.type, "usersCount": room.memberIDs.count, "ro": false,
            "u": ["_id": room.creatorID, "username": creator], "ts": isoMilliseconds(room.createdAt),
        ]
        if let topic = room.topic { json["topic"] = topic }
        return json
    }

    private func messageJSON(_ message: Message) -> [String: Any] {
        var json: [String: Any] = [
            "_id": message.id, "rid": message.roomID, "msg": message.text, "ts": isoMilliseconds(message.timestamp),
            "u": ["_id": message.author.id, "username": message.author.username], "_updatedAt": isoMilliseconds(message.timestamp),
        ]
        if let threadID = message.threadID { json["tmid"] = threadID }
        return json
    }

    private func success(_ fields: [String: Any]) -> Response {
        var body = fields
        body["success"] = true
        return FakeJSON.response(body)
    }

    private func failure(_ error: String, type: String) -> Response {
        FakeJSON.response(["success": false, "error": error, "errorType": type], status: .badRequest)
    }

    private func newID(_ prefix: String) -> String {
        nextNumber += 1
        return "\(prefix)\(nextNumber)"
    }

    /// Whole milliseconds, as MongoDB stores dates.
    private func now() -> Date {
        Date(timeIntervalSince1970: (clock.now().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    public static func epochMilliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
