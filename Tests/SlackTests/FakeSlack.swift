import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Platforms
import Synchronization

/// A Slack-shaped server on 127.0.0.1 (port 0) for the tests: the Web API methods Klaxon calls, answering
/// like Slack (`{"ok":false,"error":…}` with HTTP 200), interaction `response_url`s, and Socket Mode
/// WebSockets. It records every call, and a test can make any method fail the next few times: HTTP 429
/// with `Retry-After`, HTTP 500, a slow answer, or a Slack error such as `name_taken`.
///
/// Times Slack stamps itself (a channel's `created`) come from the real clock, as Slack's would: the
/// daemon's manual clock is the daemon's, not the world's.
final class FakeSlack: Sendable {
    static let botToken = "xoxb-fake"
    static let appToken = "xapp-fake"
    static let botUserID = "UKLAXON"
    /// Whoever made the channels that were there before the test.
    static let adminUserID = "U0ADMIN"
    static let announceChannelID = "C0ANNOUNCE"
    static let announceChannelName = "incidents"

    struct Call: Sendable {
        var method: String
        var arguments: [String: String]
        var authorization: String?
        var index: Int

        subscript(_ name: String) -> String? { arguments[name] }
    }

    struct Message: Sendable {
        var channel: String
        var ts: String
        var text: String
        var threadTS: String?
        var blocks: String?
        var metadata: String?
    }

    struct Channel: Sendable {
        var id: String
        var name: String
        var topic = ""
        var members: Set<String> = [FakeSlack.botUserID]
        /// Who created it, and when (Unix seconds), as `conversations.create` and `users.conversations` say.
        var creator = FakeSlack.adminUserID
        var created = Int(Date().timeIntervalSince1970) - 86_400 * 365
    }

    /// What a method does instead of answering normally, the next time it is called.
    enum Fault: Sendable {
        case rateLimited(retryAfter: Int)
        case serverError
        /// Answers normally, after this many seconds.
        case slow(seconds: Double)
        /// Does the work, then answers only after this many seconds (the caller may have given up).
        case slowAfterWork(seconds: Double)
        case slackError(String)
    }

    enum SocketCommand: Sendable {
        case send(String)
        case close
    }

    private struct State {
        var calls: [Call] = []
        var channels: [String: Channel] = [
            FakeSlack.announceChannelID: Channel(id: FakeSlack.announceChannelID, name: FakeSlack.announceChannelName),
            "C0GENERAL": Channel(id: "C0GENERAL", name: "general"),
        ]
        var messages: [Message] = []
        var faults: [String: [Fault]] = [:]
        /// While set, every Web API call gets this (a revoked token, an outage), whatever `faults` hold.
        var outage: Fault?
        var nextNumber = 1
        var responses: [String] = []
        var sockets: [Int: AsyncStream<SocketCommand>.Continuation] = [:]
        var socketsOpened = 0
        var socketsConnected = 0
        var acks: [String] = []
        var pins: [(channel: String, ts: String)] = []
        /// User id → the IANA zone `users.info` reports (nil: Slack knows the user but no zone).
        var users: [String: String?] = [:]
        var port = 0
    }

    private let state = Mutex(State())
    let logger = Logger(label: "fake-slack", factory: { _ in SwiftLogNoOpLogHandler() })
    /// The HTTP client of everything in one test (the daemon's outbound calls and the test's requests):
    /// one per test, so no connection outlives its test or is shared with another.
    let client: HTTPClient

    private init(client: HTTPClient) {
        self.client = client
    }

    // MARK: - Running

    /// Starts a fake, runs `body` with it, and stops it.
    static func run<T>(_ body: (FakeSlack) async throws -> T) async throws -> T {
        let fake = FakeSlack(client: HTTPClient(eventLoopGroupProvider: .singleton))
        let router = Router(context: BasicWebSocketRequestContext.self)
        fake.addRoutes(to: router)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "fake-slack"),
            onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) },
            logger: fake.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var portIterator = ports.makeAsyncIterator()
            let port = await portIterator.next() ?? 0
            fake.state.withLock { $0.port = port }
            let result: Result<T, any Error>
            do {
                result = .success(try await body(fake))
            } catch {
                result = .failure(error)
            }
            try? await fake.client.shutdown()
            group.cancelAll()
            return try result.get()
        }
    }

    var port: Int { state.withLock { $0.port } }
    var apiBaseURL: String { "http://127.0.0.1:\(port)/api" }
    var responseURL: String { "http://127.0.0.1:\(port)/response/\(UUID().uuidString)" }

    // MARK: - What tests read and arrange

    var calls: [Call] { state.withLock { $0.calls } }
    func calls(_ method: String) -> [Call] { calls.filter { $0.method == method } }
    var messages: [Message] { state.withLock { $0.messages } }
    func messages(in channel: String) -> [Message] { messages.filter { $0.channel == channel } }
    func channel(_ id: String) -> Channel? { state.withLock { $0.channels[id] } }
    func channel(named name: String) -> Channel? { state.withLock { $0.channels.values.first { $0.name == name } } }
    func pinned(in channel: String) -> [Message] {
        state.withLock { state in
            state.pins.filter { $0.channel == channel }.compactMap { pin in state.messages.first { $0.channel == channel && $0.ts == pin.ts } }
        }
    }
    /// Bodies posted to `response_url`s.
    var responses: [String] { state.withLock { $0.responses } }

    /// Makes every Web API call fail with `fault` until called again with nil.
    func setOutage(_ fault: Fault?) {
        state.withLock { $0.outage = fault }
    }

    /// Makes the next calls of `method` fail with `faults`, in order.
    func inject(_ method: String, _ faults: Fault...) {
        state.withLock { $0.faults[method, default: []] += faults }
    }

    /// Creates a channel as if someone had made it in Slack: by default a person, a year ago, with the bot
    /// among its members (so `users.conversations` lists it).
    func addChannel(id: String, name: String, creator: String = FakeSlack.adminUserID, created: Date? = nil) {
        state.withLock { state in
            var channel = Channel(id: id, name: name, creator: creator)
            if let created { channel.created = Int(created.timeIntervalSince1970) }
            state.channels[id] = channel
        }
    }

    /// A workspace member `users.info` knows, with the zone set in their profile.
    func addUser(_ id: String, timeZone: String?) {
        state.withLock { $0.users[id] = .some(timeZone) }
    }

    // MARK: - Web API

    private func addRoutes(to router: Router<BasicWebSocketRequestContext>) {
        router.post("api/:method") { request, context in
            var request = request
            let method = context.parameters.get("method") ?? ""
            let body = try await request.collectBody(upTo: 1 << 22)
            let arguments = FormBody(body.readableBytesView).fields
            return try await self.answer(method, arguments: arguments, authorization: request.headers[.authorization])
        }
        router.post("response/:id") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            self.state.withLock { $0.responses.append(String(buffer: body)) }
            return Response(status: .ok)
        }
        router.ws("link") { inbound, outbound, _ in
            try await self.socket(inbound: inbound, outbound: outbound)
        }
    }

    private func answer(_ method: String, arguments: [String: String], authorization: String?) async throws -> Response {
        let fault: Fault? = state.withLock { state in
            state.calls.append(Call(method: method, arguments: arguments, authorization: authorization, index: state.calls.count))
            if let outage = state.outage { return outage }
            guard var queue = state.faults[method], !queue.isEmpty else { return nil }
            let first = queue.removeFirst()
            state.faults[method] = queue
            return first
        }
        switch fault {
        case .rateLimited(let retryAfter):
            return Response(status: .tooManyRequests, headers: [.retryAfter: "\(retryAfter)"])
        case .serverError:
            return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "oops")))
        case .slow(let seconds):
            try await Task.sleep(for: .seconds(seconds))
        case .slackError(let error):
            return Self.json(["ok": false, "error": error])
        case .slowAfterWork(let seconds):
            let response = perform(method, arguments: arguments, authorization: authorization)
            try await Task.sleep(for: .seconds(seconds))
            return response
        case nil:
            break
        }
        return perform(method, arguments: arguments, authorization: authorization)
    }

    private func perform(_ method: String, arguments: [String: String], authorization: String?) -> Response {
        let expectedToken = method == "apps.connections.open" ? Self.appToken : Self.botToken
        guard authorization == "Bearer \(expectedToken)" else { return Self.json(["ok": false, "error": "invalid_auth"]) }
        return state.withLock { state -> Response in
            func fail(_ error: String) -> Response { Self.json(["ok": false, "error": error]) }
            func channelID(_ reference: String?) -> String? {
                guard let reference else { return nil }
                if state.channels[reference] != nil || reference.hasPrefix("D") { return reference }
                let name = reference.hasPrefix("#") ? String(reference.dropFirst()) : reference
                return state.channels.values.first { $0.name == name }?.id
            }
            switch method {
            case "auth.test":
                return Self.json(["ok": true, "user_id": Self.botUserID, "bot_id": "BKLAXON", "team_id": "T0FAKE"])
            case "conversations.create":
                let name = arguments["name"] ?? ""
                guard !name.isEmpty else { return fail("invalid_name_required") }
                guard name.count <= 80 else { return fail("invalid_name_maxlength") }
                guard name.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }) else {
                    return fail("invalid_name_specials")
                }
                guard !state.channels.values.contains(where: { $0.name == name }) else { return fail("name_taken") }
                let id = String(format: "C%04d", state.nextNumber)
                state.nextNumber += 1
                // The creator is the token's user: the bot.
                let channel = Channel(id: id, name: name, creator: Self.botUserID, created: Int(Date().timeIntervalSince1970))
                state.channels[id] = channel
                return Self.json(["ok": true, "channel": Self.channelObject(channel)])
            case "conversations.invite":
                guard let id = channelID(arguments["channel"]), var channel = state.channels[id] else { return fail("channel_not_found") }
                let users = (arguments["users"] ?? "").split(separator: ",").map(String.init)
                guard !users.isEmpty else { return fail("no_user") }
                if users.allSatisfy(channel.members.contains) { return fail("already_in_channel") }
                channel.members.formUnion(users)
                state.channels[id] = channel
                return Self.json(["ok": true, "channel": ["id": id]])
            case "conversations.setTopic":
                guard let id = channelID(arguments["channel"]), var channel = state.channels[id] else { return fail("channel_not_found") }
                let topic = arguments["topic"] ?? ""
                guard topic.count <= 250 else { return fail("too_long") }
                channel.topic = topic
                state.channels[id] = channel
                return Self.json(["ok": true, "channel": ["id": id]])
            case "conversations.join":
                guard let id = channelID(arguments["channel"]) else { return fail("channel_not_found") }
                state.channels[id]?.members.insert(Self.botUserID)
                return Self.json(["ok": true, "channel": ["id": id]])
            case "conversations.open":
                guard let user = arguments["users"], !user.isEmpty else { return fail("users_list_not_supplied") }
                return Self.json(["ok": true, "channel": ["id": "D" + user]])
            case "chat.postMessage":
                guard let id = channelID(arguments["channel"]) else { return fail("channel_not_found") }
                guard arguments["text"] != nil || arguments["blocks"] != nil else { return fail("no_text") }
                let ts = String(format: "1764000000.%06d", state.nextNumber)
                state.nextNumber += 1
                state.messages.append(
                    Message(
                        channel: id, ts: ts, text: arguments["text"] ?? "", threadTS: arguments["thread_ts"], blocks: arguments["blocks"],
                        metadata: arguments["metadata"]))
                return Self.json(["ok": true, "channel": id, "ts": ts, "message": ["text": arguments["text"] ?? "", "ts": ts]])
            case "users.conversations":
                let mine = state.channels.values.filter { $0.members.contains(Self.botUserID) && $0.id.hasPrefix("C") }.sorted { $0.id < $1.id }
                return Self.json(["ok": true, "channels": mine.map(Self.channelObject), "response_metadata": ["next_cursor": ""]])
            case "conversations.history", "conversations.replies":
                guard let id = channelID(arguments["channel"]), id.hasPrefix("C") || id.hasPrefix("D") else { return fail("channel_not_found") }
                let thread = arguments["ts"]
                let found = state.messages.filter { message in
                    message.channel == id
                        && (method == "conversations.history" ? message.threadTS == nil : (message.threadTS == thread || message.ts == thread))
                }
                guard method == "conversations.history" || !found.isEmpty else { return fail("thread_not_found") }
                let withMetadata = arguments["include_all_metadata"] == "true"
                // History is newest first; a thread is its parent, then the replies in order.
                let ordered = method == "conversations.history" ? Array(found.reversed()) : found
                let items: [[String: Any]] = ordered.map { message in
                    var item: [String: Any] = ["type": "message", "ts": message.ts, "text": message.text, "bot_id": "BKLAXON"]
                    if let blocks = message.blocks, let object = try? JSONSerialization.jsonObject(with: Data(blocks.utf8)) {
                        item["blocks"] = object
                    }
                    if withMetadata, let metadata = message.metadata, let object = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)) {
                        item["metadata"] = object
                    }
                    return item
                }
                return Self.json(["ok": true, "messages": items, "has_more": false])
            case "chat.update":
                guard let id = channelID(arguments["channel"]) else { return fail("channel_not_found") }
                guard let index = state.messages.firstIndex(where: { $0.channel == id && $0.ts == arguments["ts"] }) else { return fail("message_not_found") }
                guard arguments["text"] != nil || arguments["blocks"] != nil else { return fail("no_text") }
                // The new content replaces the old, blocks included; metadata left out is kept.
                state.messages[index].text = arguments["text"] ?? ""
                state.messages[index].blocks = arguments["blocks"]
                if let metadata = arguments["metadata"] { state.messages[index].metadata = metadata }
                return Self.json(["ok": true, "channel": id, "ts": state.messages[index].ts, "text": state.messages[index].text])
            case "pins.add":
                guard let id = channelID(arguments["channel"]), let ts = arguments["timestamp"] else { return fail("channel_not_found") }
                guard state.messages.contains(where: { $0.channel == id && $0.ts == ts }) else { return fail("message_not_found") }
                guard !state.pins.contains(where: { $0.channel == id && $0.ts == ts }) else { return fail("already_pinned") }
                state.pins.append((id, ts))
                return Self.json(["ok": true])
            case "pins.list":
                guard let id = channelID(arguments["channel"]) else { return fail("channel_not_found") }
                let items: [[String: Any]] = state.pins.filter { $0.channel == id }.compactMap { pin in
                    guard let message = state.messages.first(where: { $0.channel == id && $0.ts == pin.ts }) else { return nil }
                    return ["type": "message", "channel": id, "message": ["type": "message", "ts": message.ts, "text": message.text, "bot_id": "BKLAXON"]]
                }
                return Self.json(["ok": true, "items": items])
            case "views.open":
                guard arguments["trigger_id"] != nil else { return fail("invalid_trigger_id") }
                guard let view = arguments["view"], (try? JSONSerialization.jsonObject(with: Data(view.utf8))) != nil else { return fail("invalid_arguments") }
                return Self.json(["ok": true, "view": ["id": "V0FAKE"]])
            case "usergroups.users.update":
                guard arguments["usergroup"] != nil else { return fail("missing_argument") }
                guard let users = arguments["users"], !users.isEmpty else { return fail("no_users_provided") }
                return Self.json(["ok": true, "usergroup": ["id": arguments["usergroup"]!, "users": users.split(separator: ",").map(String.init)]])
            case "users.info":
                guard let user = arguments["user"], let known = state.users[user] else { return fail("user_not_found") }
                var profile: [String: Any] = [
                    "id": user, "team_id": "T0FAKE", "name": user.lowercased(), "deleted": false, "is_bot": false, "is_app_user": false,
                    "updated": 1_502_138_686,
                ]
                if let identifier = known, let zone = TimeZone(identifier: identifier) {
                    profile["tz"] = identifier
                    profile["tz_label"] = zone.localizedName(for: .standard, locale: Locale(identifier: "en_US")) ?? identifier
                    profile["tz_offset"] = zone.secondsFromGMT(for: Date())
                }
                return Self.json(["ok": true, "user": profile])
            case "apps.connections.open":
                state.socketsOpened += 1
                return Self.json(["ok": true, "url": "ws://127.0.0.1:\(state.port)/link?ticket=\(state.socketsOpened)"])
            default:
                return fail("unknown_method")
            }
        }
    }

    /// A conversation object, with the fields Klaxon reads and a few it does not.
    private static func channelObject(_ channel: Channel) -> [String: Any] {
        [
            "id": channel.id, "name": channel.name, "name_normalized": channel.name, "is_channel": true, "is_private": false,
            "is_archived": false, "is_member": channel.members.contains(botUserID), "created": channel.created, "creator": channel.creator,
            "topic": ["value": channel.topic, "creator": "", "last_set": 0],
        ]
    }

    private static func json(_ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: - Socket Mode

    /// One Socket Mode connection: `hello` first, then whatever the test sends; acknowledgements are recorded.
    private func socket(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let (commands, sink) = AsyncStream.makeStream(of: SocketCommand.self)
        let id = state.withLock { state -> Int in
            state.socketsConnected += 1
            state.sockets[state.socketsConnected] = sink
            return state.socketsConnected
        }
        defer { _ = state.withLock { $0.sockets.removeValue(forKey: id) } }
        try await outbound.write(.text(#"{"type":"hello","num_connections":1,"debug_info":{"host":"fake-slack"},"connection_info":{"app_id":"A0FAKE"}}"#))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    if case .text(let text) = message { self.state.withLock { $0.acks.append(text) } }
                }
            }
            group.addTask {
                for await command in commands {
                    switch command {
                    case .send(let text): try await outbound.write(.text(text))
                    case .close:
                        // A close frame ends the client's side, and so this connection's reading.
                        try await outbound.close(.normalClosure, reason: "fake-slack closed the connection")
                        return
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    var openSockets: Int { state.withLock { $0.sockets.count } }
    /// `apps.connections.open` calls.
    var socketsOpened: Int { state.withLock { $0.socketsOpened } }
    /// WebSocket connections made, and the newest one's number.
    var socketsConnected: Int { state.withLock { $0.socketsConnected } }
    var acks: [String] { state.withLock { $0.acks } }

    /// Sends a frame on connection number `connection`, by default the newest open one.
    func socketSend(_ text: String, on connection: Int? = nil) {
        state.withLock { state in
            guard let number = connection ?? state.sockets.keys.max() else { return }
            state.sockets[number]?.yield(.send(text))
        }
    }

    /// Closes the newest connection from our side, like a network drop or a Slack restart.
    func socketClose() {
        state.withLock { state in
            guard let newest = state.sockets.keys.max() else { return }
            state.sockets[newest]?.yield(.close)
        }
    }

    /// The acknowledgement of `envelopeID`, decoded, once it came.
    func ack(for envelopeID: String) -> [String: Any]? {
        acks.lazy.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .first { $0["envelope_id"] as? String == envelopeID }
    }
}
