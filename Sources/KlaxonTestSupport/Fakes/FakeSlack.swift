import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import IncidentCore
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// A Slack-shaped server on 127.0.0.1 (port 0) for the tests and the benchmarks: the Web API methods
/// Klaxon calls, answering like Slack (`{"ok":false,"error":…}` with HTTP 200), interaction
/// `response_url`s, and Socket Mode WebSockets. It records every call, and a test can make any method fail
/// the next few times: HTTP 429 with or without `Retry-After`, HTTP 500, a slow answer, or a Slack error
/// such as `name_taken`.
///
/// Strict by default, as Slack is: each method's tier budget per minute and about one post per second per
/// channel (`FakeSlackRateLimits`; every third 429 comes without `Retry-After`, as some of Slack's do),
/// `not_in_channel` for a channel the bot has not joined, private channels invisible to non-members,
/// malformed JSON refused (`invalid_json`, `invalid_blocks`, `invalid_metadata_format`), and history paged
/// by `oldest`/`latest`/`limit`/`cursor` with `has_more`. A test that needs none of the limits runs with
/// `strict: false` and says why.
///
/// The limits count on `clock` (a test's `ManualClock`, so its minutes pass when the test says); times Slack
/// stamps itself (a channel's `created`) come from the real clock, as Slack's would.
///
/// The benchmarks serve it for hours (`klaxon-fake-slack`, `serve`): channels are found by id and by name
/// through an index, posts per channel, and with `Retention.bounded` the fake counts calls per method
/// instead of keeping them and keeps each channel's recent posts only, so its memory and its answers do not
/// grow with the posts it has taken. `GET /stats` answers those counts.
public final class FakeSlack: Sendable {
    public static let botToken = "xoxb-fake"
    public static let appToken = "xapp-fake"
    public static let botUserID = "UKLAXON"
    /// Whoever made the channels that were there before the test.
    public static let adminUserID = "U0ADMIN"
    public static let announceChannelID = "C0ANNOUNCE"
    public static let announceChannelName = "incidents"

    public struct Call: Sendable {
        public var method: String
        public var arguments: [String: String]
        public var authorization: String?
        public var index: Int

        public subscript(_ name: String) -> String? { arguments[name] }
    }

    public struct Message: Sendable {
        public var channel: String
        public var ts: String
        public var text: String
        public var threadTS: String?
        public var blocks: String?
        public var metadata: String?
        /// Its place among every channel's posts, which `messages` lists in the order they came.
        var sequence = 0
    }

    /// What the fake remembers of the calls and posts it answered.
    public enum Retention: Sendable {
        /// Every call and every post, for a test to read (`calls`, `messages`).
        case everything
        /// For a long run: calls only counted per method (`calls` stays empty), and per channel the newest
        /// `messagesPerChannel` posts plus those Slack's answers still need however old (pinned ones, the
        /// parents of threads). Older posts are gone, as if deleted: `chat.update` of one is `message_not_found`.
        case bounded(messagesPerChannel: Int)
    }

    public struct Channel: Sendable {
        public var id: String
        public var name: String
        public var topic = ""
        public var members: Set<String> = [FakeSlack.botUserID]
        /// A private channel exists, for the bot, only while it is a member.
        public var isPrivate = false
        /// Who created it, and when (Unix seconds), as `conversations.create` and `users.conversations` say.
        public var creator = FakeSlack.adminUserID
        public var created = Int(Date().timeIntervalSince1970) - 86_400 * 365
    }

    /// What a method does instead of answering normally, the next time it is called.
    public enum Fault: Sendable {
        /// HTTP 429, with `Retry-After` unless nil.
        case rateLimited(retryAfter: Int?)
        case serverError
        /// Answers normally, after this many seconds.
        case slow(seconds: Double)
        /// Does the work, then answers only after this many seconds (the caller may have given up).
        case slowAfterWork(seconds: Double)
        case slackError(String)
    }

    public enum SocketCommand: Sendable {
        case send(String)
        case close
    }

    /// One channel's posts in the order they came: `kept` (older than the window, kept because Slack's
    /// answers still need them) then `recent`.
    private struct ChannelPosts {
        var kept: [Message] = []
        var recent: [Message] = []
        /// Timestamps of pinned posts, in pinning order.
        var pins: [String] = []
        /// Timestamps of posts that have replies.
        var threadParents: Set<String> = []

        var all: [Message] { kept + recent }

        /// Where the post `ts` is, newest first: recent posts are the ones updated and pinned.
        func find(_ ts: String?) -> WritableKeyPath<ChannelPosts, Message>? {
            guard let ts else { return nil }
            if let index = recent.lastIndex(where: { $0.ts == ts }) { return \.recent[index] }
            if let index = kept.lastIndex(where: { $0.ts == ts }) { return \.kept[index] }
            return nil
        }

        /// Lets the oldest recent posts go once there are a quarter more than `window` (so the cost is spread
        /// over many posts), keeping pinned ones and thread parents.
        mutating func trim(to window: Int) {
            guard recent.count > window + max(window / 4, 1) else { return }
            let gone = recent.count - window
            kept += recent.prefix(gone).filter { pins.contains($0.ts) || threadParents.contains($0.ts) }
            recent.removeFirst(gone)
        }
    }

    private struct State {
        var calls: [Call] = []
        /// Calls per method, and those answered 429 by the rate limits; kept whatever the retention.
        var callCounts: [String: Int] = [:]
        var limitedCounts: [String: Int] = [:]
        var channels: [String: Channel] = [:]
        /// Channel name → id, for the methods that take a name (`conversations.create`, `chat.postMessage`).
        var channelIDsByName: [String: String] = [:]
        var posts: [String: ChannelPosts] = [:]
        var nextSequence = 0
        var faults: [String: [Fault]] = [:]
        /// While set, every Web API call gets this (a revoked token, an outage), whatever `faults` hold.
        var outage: Fault?
        var nextNumber = 1
        var responses: [String] = []
        var sockets: [Int: AsyncStream<SocketCommand>.Continuation] = [:]
        var socketsOpened = 0
        var socketsConnected = 0
        var acks: [String] = []
        /// User id → the IANA zone `users.info` reports (nil: Slack knows the user but no zone).
        var users: [String: String?] = [:]
        var port = 0
        var limits = FakeSlackRateLimits()
        /// 429s answered because of `limits`; every third leaves `Retry-After` out.
        var limitedAnswers = 0

        init() {
            add(Channel(id: FakeSlack.announceChannelID, name: FakeSlack.announceChannelName))
            add(Channel(id: "C0GENERAL", name: "general"))
        }

        /// Adds or replaces a channel, keeping the name index right.
        mutating func add(_ channel: Channel) {
            if let old = channels[channel.id], channelIDsByName[old.name] == channel.id { channelIDsByName[old.name] = nil }
            channels[channel.id] = channel
            channelIDsByName[channel.name] = channel.id
        }

        mutating func record(_ call: Call, retention: Retention) {
            callCounts[call.method, default: 0] += 1
            if case .everything = retention { calls.append(call) }
        }

        mutating func post(_ message: Message, retention: Retention) {
            var message = message
            message.sequence = nextSequence
            nextSequence += 1
            posts[message.channel, default: ChannelPosts()].recent.append(message)
            if let parent = message.threadTS { posts[message.channel]?.threadParents.insert(parent) }
            if case .bounded(let window) = retention { posts[message.channel]?.trim(to: window) }
        }
    }

    private let state = Mutex(State())
    public let logger = Logger(label: "fake-slack", factory: { _ in SwiftLogNoOpLogHandler() })
    /// The HTTP client of everything in one test (the daemon's outbound calls and the test's requests):
    /// one per test, so no connection outlives its test or is shared with another.
    public let client: HTTPClient
    /// Whether Slack's rate limits apply (see the type's comment).
    public let strict: Bool
    public let retention: Retention
    /// The bot token the Web API takes (`botToken` unless a benchmark's daemon uses its own).
    public let acceptedBotToken: String
    private let clock: any WallClock

    private init(client: HTTPClient, strict: Bool, clock: any WallClock, retention: Retention = .everything, botToken: String = FakeSlack.botToken) {
        self.client = client
        self.strict = strict
        self.clock = clock
        self.retention = retention
        self.acceptedBotToken = botToken
    }

    // MARK: - Running

    /// Starts a fake, runs `body` with it, and stops it. `strict: false` lifts the rate limits (a test that
    /// posts a burst on purpose); `clock` is what the limits count on; `retention` what it keeps.
    public static func run<T>(
        strict: Bool = true, clock: any WallClock = SystemClock(), retention: Retention = .everything, _ body: (FakeSlack) async throws -> T
    ) async throws -> T {
        let fake = FakeSlack(client: HTTPClient(eventLoopGroupProvider: .singleton), strict: strict, clock: clock, retention: retention)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = fake.application(port: 0) { portSink.yield($0) }
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
            do {
                try await fake.client.shutdown()
            } catch {
                fake.logger.debug("fake-slack: the test's HTTP client did not shut down cleanly", metadata: ["error": "\(error)"])
            }
            group.cancelAll()
            return try result.get()
        }
    }

    /// Serves a fake on 127.0.0.1 until the task is cancelled or the process ends (`klaxon-fake-slack`, for
    /// the benchmarks): `listening` is told the port once connections are taken.
    public static func serve(
        port: Int, botToken: String, strict: Bool, retention: Retention, listening: @escaping @Sendable (Int) -> Void
    ) async throws {
        let fake = FakeSlack(
            client: HTTPClient(eventLoopGroupProvider: .singleton), strict: strict, clock: SystemClock(), retention: retention, botToken: botToken)
        let app = fake.application(port: port) { port in
            fake.state.withLock { $0.port = port }
            listening(port)
        }
        let result: Result<Void, any Error>
        do {
            result = .success(try await app.runService(gracefulShutdownSignals: []))
        } catch {
            result = .failure(error)
        }
        try await fake.client.shutdown()
        try result.get()
    }

    private func application(port: Int, onRunning: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router(context: BasicWebSocketRequestContext.self)
        addRoutes(to: router)
        return Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "fake-slack"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    public var port: Int { state.withLock { $0.port } }
    public var apiBaseURL: String { "http://127.0.0.1:\(port)/api" }
    public var responseURL: String { "http://127.0.0.1:\(port)/response/\(UUID().uuidString)" }

    // MARK: - What tests read and arrange

    /// Every call, in order (empty with `Retention.bounded`, which only counts them).
    public var calls: [Call] { state.withLock { $0.calls } }
    public func calls(_ method: String) -> [Call] { calls.filter { $0.method == method } }
    /// Calls per method, and per method those the rate limits answered with 429, whatever the retention.
    public var callCounts: (calls: [String: Int], rateLimited: [String: Int]) { state.withLock { ($0.callCounts, $0.limitedCounts) } }
    /// Every post the fake still has, in the order they came.
    public var messages: [Message] { state.withLock { $0.posts.values.flatMap(\.all) }.sorted { $0.sequence < $1.sequence } }
    public func messages(in channel: String) -> [Message] { state.withLock { $0.posts[channel]?.all ?? [] } }
    public func channel(_ id: String) -> Channel? { state.withLock { $0.channels[id] } }
    public func channel(named name: String) -> Channel? { state.withLock { state in state.channelIDsByName[name].flatMap { state.channels[$0] } } }
    public func pinned(in channel: String) -> [Message] {
        state.withLock { state in
            guard let posts = state.posts[channel] else { return [] }
            return posts.pins.compactMap { ts in posts.find(ts).map { posts[keyPath: $0] } }
        }
    }
    /// Bodies posted to `response_url`s.
    public var responses: [String] { state.withLock { $0.responses } }

    /// Makes every Web API call fail with `fault` until called again with nil.
    public func setOutage(_ fault: Fault?) {
        state.withLock { $0.outage = fault }
    }

    /// Makes the next calls of `method` fail with `faults`, in order.
    public func inject(_ method: String, _ faults: Fault...) {
        state.withLock { $0.faults[method, default: []] += faults }
    }

    /// Creates a channel as if someone had made it in Slack: by default a public one made by a person, a
    /// year ago, with the bot among its members (so `users.conversations` lists it).
    public func addChannel(
        id: String, name: String, creator: String = FakeSlack.adminUserID, created: Date? = nil, isPrivate: Bool = false, botIsMember: Bool = true
    ) {
        state.withLock { state in
            var channel = Channel(id: id, name: name, creator: creator)
            channel.isPrivate = isPrivate
            if !botIsMember { channel.members.remove(Self.botUserID) }
            if let created { channel.created = Int(created.timeIntervalSince1970) }
            state.add(channel)
        }
    }

    /// A workspace member `users.info` knows, with the zone set in their profile.
    public func addUser(_ id: String, timeZone: String?) {
        state.withLock { $0.users[id] = .some(timeZone) }
    }

    // MARK: - Web API

    private func addRoutes(to router: Router<BasicWebSocketRequestContext>) {
        router.post("api/:method") { request, context in
            var request = request
            let method = context.parameters.get("method") ?? ""
            let body = try await request.collectBody(upTo: 1 << 22)
            let authorization = request.headers[.authorization]
            // Slack takes form bodies, and JSON bodies on the methods that write.
            guard request.headers[.contentType]?.hasPrefix("application/json") == true else {
                return try await self.answer(method, arguments: FakeFormBody.fields(body.readableBytesView), authorization: authorization)
            }
            guard let object = FakeJSON.object(body) else {
                self.state.withLock { state in
                    state.record(Call(method: method, arguments: [:], authorization: authorization, index: state.calls.count), retention: self.retention)
                }
                return Self.json(["ok": false, "error": "invalid_json"])
            }
            return try await self.answer(method, arguments: Self.arguments(object), authorization: authorization)
        }
        router.post("response/:id") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            self.state.withLock { $0.responses.append(String(buffer: body)) }
            return Response(status: .ok)
        }
        router.get("stats") { _, _ in
            let (calls, limited) = self.callCounts
            return FakeJSON.response(["calls": calls, "rate_limited": limited])
        }
        router.ws("link") { inbound, outbound, _ in
            try await self.socket(inbound: inbound, outbound: outbound)
        }
    }

    /// A JSON body's fields as the form's would be: strings as they are, anything else as its JSON text.
    private static func arguments(_ object: [String: Any]) -> [String: String] {
        object.mapValues { value in
            switch value {
            case let text as String: text
            case let flag as Bool: flag ? "true" : "false"
            case let number as NSNumber: number.stringValue
            default: String(decoding: FakeJSON.encode(value), as: UTF8.self)
            }
        }
    }

    private func answer(_ method: String, arguments: [String: String], authorization: String?) async throws -> Response {
        let now = clock.now()
        let fault: Fault? = state.withLock { state in
            state.record(Call(method: method, arguments: arguments, authorization: authorization, index: state.calls.count), retention: retention)
            if let outage = state.outage { return outage }
            if var queue = state.faults[method], !queue.isEmpty {
                let first = queue.removeFirst()
                state.faults[method] = queue
                return first
            }
            guard strict, let wait = state.limits.admit(method, channel: arguments["channel"], now: now) else { return nil }
            state.limitedAnswers += 1
            state.limitedCounts[method, default: 0] += 1
            return .rateLimited(retryAfter: state.limitedAnswers % 3 == 0 ? nil : wait)
        }
        switch fault {
        case .rateLimited(let retryAfter):
            var headers = HTTPFields()
            if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
            return Response(status: .tooManyRequests, headers: headers)
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
        // A message's `ts` is the time Slack took it (on the fake's clock, so a history window Klaxon
        // reckons from its own clock finds it), made unique by a counter.
        let seconds = Int(clock.now().timeIntervalSince1970)
        let expectedToken = method == "apps.connections.open" ? Self.appToken : acceptedBotToken
        guard authorization == "Bearer \(expectedToken)" else { return Self.json(["ok": false, "error": "invalid_auth"]) }
        return state.withLock { state -> Response in
            func fail(_ error: String) -> Response { Self.json(["ok": false, "error": error]) }
            /// The channel a reference names, by id or name, if the bot may see it: a private channel is
            /// `channel_not_found` to a non-member.
            func channelID(_ reference: String?) -> String? {
                guard let reference else { return nil }
                if reference.hasPrefix("D") { return reference }
                let name = reference.hasPrefix("#") ? String(reference.dropFirst()) : reference
                guard let channel = state.channels[reference] ?? state.channelIDsByName[name].flatMap({ state.channels[$0] }) else { return nil }
                return !channel.isPrivate || channel.members.contains(Self.botUserID) ? channel.id : nil
            }
            /// Whether the bot is in the channel (a direct message is always its own).
            func joined(_ id: String) -> Bool {
                id.hasPrefix("D") || state.channels[id]?.members.contains(Self.botUserID) == true
            }
            func isJSON(_ argument: String?, array: Bool = false) -> Bool {
                guard let argument else { return true }
                guard let value = FakeJSON.value(ByteBuffer(string: argument)) else { return false }
                return !array || value is [Any]
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
                guard state.channelIDsByName[name] == nil else { return fail("name_taken") }
                let id = String(format: "C%04d", state.nextNumber)
                state.nextNumber += 1
                // The creator is the token's user: the bot.
                var channel = Channel(id: id, name: name, creator: Self.botUserID, created: Int(Date().timeIntervalSince1970))
                channel.isPrivate = arguments["is_private"] == "true"
                state.add(channel)
                return Self.json(["ok": true, "channel": Self.channelObject(channel)])
            case "conversations.invite":
                guard let id = channelID(arguments["channel"]), var channel = state.channels[id] else { return fail("channel_not_found") }
                guard joined(id) else { return fail("not_in_channel") }
                let users = (arguments["users"] ?? "").split(separator: ",").map(String.init)
                guard !users.isEmpty else { return fail("no_user") }
                if users.allSatisfy(channel.members.contains) { return fail("already_in_channel") }
                channel.members.formUnion(users)
                state.channels[id] = channel
                return Self.json(["ok": true, "channel": ["id": id]])
            case "conversations.setTopic":
                guard let id = channelID(arguments["channel"]), var channel = state.channels[id] else { return fail("channel_not_found") }
                guard joined(id) else { return fail("not_in_channel") }
                let topic = arguments["topic"] ?? ""
                guard topic.count <= 250 else { return fail("too_long") }
                channel.topic = topic
                state.channels[id] = channel
                return Self.json(["ok": true, "channel": ["id": id]])
            case "conversations.join":
                guard let id = channelID(arguments["channel"]) else { return fail("channel_not_found") }
                // Only public channels can be joined; a private one takes an invitation.
                guard state.channels[id]?.isPrivate != true else { return fail("method_not_supported_for_channel_type") }
                state.channels[id]?.members.insert(Self.botUserID)
                return Self.json(["ok": true, "channel": ["id": id]])
            case "conversations.open":
                guard let user = arguments["users"], !user.isEmpty else { return fail("users_list_not_supplied") }
                return Self.json(["ok": true, "channel": ["id": "D" + user]])
            case "chat.postMessage":
                guard let id = channelID(arguments["channel"]) else { return fail("channel_not_found") }
                // Without `chat:write.public` (the manifest does not ask for it), a bot posts only where it is.
                guard joined(id) else { return fail("not_in_channel") }
                guard arguments["text"] != nil || arguments["blocks"] != nil else { return fail("no_text") }
                guard isJSON(arguments["blocks"], array: true) else { return fail("invalid_blocks") }
                guard isJSON(arguments["metadata"]) else { return fail("invalid_metadata_format") }
                let ts = String(format: "%d.%06d", seconds, state.nextNumber)
                state.nextNumber += 1
                state.post(
                    Message(
                        channel: id, ts: ts, text: arguments["text"] ?? "", threadTS: arguments["thread_ts"], blocks: arguments["blocks"],
                        metadata: arguments["metadata"]),
                    retention: retention)
                return Self.json(["ok": true, "channel": id, "ts": ts, "message": ["text": arguments["text"] ?? "", "ts": ts]])
            case "users.conversations":
                let types = Set((arguments["types"] ?? "public_channel").split(separator: ",").map(String.init))
                let mine = state.channels.values.filter { channel in
                    channel.members.contains(Self.botUserID) && channel.id.hasPrefix("C")
                        && types.contains(channel.isPrivate ? "private_channel" : "public_channel")
                }
                let page = Self.page(mine.sorted { $0.id < $1.id }, arguments: arguments)
                return Self.json(["ok": true, "channels": page.items.map(Self.channelObject), "response_metadata": ["next_cursor": page.nextCursor]])
            case "conversations.history", "conversations.replies":
                guard let id = channelID(arguments["channel"]), id.hasPrefix("C") || id.hasPrefix("D") else { return fail("channel_not_found") }
                guard joined(id) else { return fail("not_in_channel") }
                let thread = arguments["ts"]
                let inclusive = arguments["inclusive"] == "true" || arguments["inclusive"] == "1"
                let oldest = arguments["oldest"].flatMap(Double.init)
                let latest = arguments["latest"].flatMap(Double.init)
                let posts = state.posts[id] ?? ChannelPosts()
                let found = posts.all.filter { message in
                    let inThread = method == "conversations.history" ? message.threadTS == nil : (message.threadTS == thread || message.ts == thread)
                    guard inThread, let ts = Double(message.ts) else { return false }
                    // A thread's parent is always its first message, whatever the window.
                    if method == "conversations.replies", message.ts == thread { return true }
                    if let oldest, inclusive ? ts < oldest : ts <= oldest { return false }
                    if let latest, inclusive ? ts > latest : ts >= latest { return false }
                    return true
                }
                guard method == "conversations.history" || posts.find(thread) != nil else {
                    return fail("thread_not_found")
                }
                let withMetadata = arguments["include_all_metadata"] == "true"
                // History is newest first; a thread is its parent, then the replies in order.
                let ordered = method == "conversations.history" ? Array(found.reversed()) : found
                let page = Self.page(ordered, arguments: arguments)
                let items: [[String: Any]] = page.items.map { message in
                    var item: [String: Any] = ["type": "message", "ts": message.ts, "text": message.text, "bot_id": "BKLAXON"]
                    if let blocks = message.blocks, let object = FakeJSON.value(ByteBuffer(string: blocks)) {
                        item["blocks"] = object
                    }
                    if withMetadata, let metadata = message.metadata, let object = FakeJSON.value(ByteBuffer(string: metadata)) {
                        item["metadata"] = object
                    }
                    return item
                }
                return Self.json(["ok": true, "messages": items, "has_more": page.hasMore, "response_metadata": ["next_cursor": page.nextCursor]])
            case "chat.update":
                guard let id = channelID(arguments["channel"]) else { return fail("channel_not_found") }
                guard let path = state.posts[id]?.find(arguments["ts"]) else { return fail("message_not_found") }
                guard arguments["text"] != nil || arguments["blocks"] != nil else { return fail("no_text") }
                guard isJSON(arguments["blocks"], array: true) else { return fail("invalid_blocks") }
                guard isJSON(arguments["metadata"]) else { return fail("invalid_metadata_format") }
                // The new content replaces the old, blocks included; metadata left out is kept.
                state.posts[id]?[keyPath: path].text = arguments["text"] ?? ""
                state.posts[id]?[keyPath: path].blocks = arguments["blocks"]
                if let metadata = arguments["metadata"] { state.posts[id]?[keyPath: path].metadata = metadata }
                guard let updated = state.posts[id]?[keyPath: path] else { return fail("message_not_found") }
                return Self.json(["ok": true, "channel": id, "ts": updated.ts, "text": updated.text])
            case "pins.add":
                guard let id = channelID(arguments["channel"]), let ts = arguments["timestamp"] else { return fail("channel_not_found") }
                guard joined(id) else { return fail("not_in_channel") }
                guard state.posts[id]?.find(ts) != nil else { return fail("message_not_found") }
                guard state.posts[id]?.pins.contains(ts) != true else { return fail("already_pinned") }
                state.posts[id]?.pins.append(ts)
                return Self.json(["ok": true])
            case "pins.list":
                guard let id = channelID(arguments["channel"]) else { return fail("channel_not_found") }
                let posts = state.posts[id] ?? ChannelPosts()
                let items: [[String: Any]] = posts.pins.compactMap { ts in
                    guard let message = posts.find(ts).map({ posts[keyPath: $0] }) else { return nil }
                    return ["type": "message", "channel": id, "message": ["type": "message", "ts": message.ts, "text": message.text, "bot_id": "BKLAXON"]]
                }
                return Self.json(["ok": true, "items": items])
            case "views.open":
                guard arguments["trigger_id"] != nil else { return fail("invalid_trigger_id") }
                guard let view = arguments["view"], FakeJSON.object(ByteBuffer(string: view)) != nil else { return fail("invalid_arguments") }
                return Self.json(["ok": true, "view": ["id": "V0FAKE"]])
            case "usergroups.users.update":
                guard let group = arguments["usergroup"] else { return fail("missing_argument") }
                guard let users = arguments["users"], !users.isEmpty else { return fail("no_users_provided") }
                return Self.json(["ok": true, "usergroup": ["id": group, "users": users.split(separator: ",").map(String.init)]])
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

    /// One page of `items` as Slack's cursor paging hands it out: `limit` (default 100, at most 999) from
    /// the `cursor`'s position; the next cursor is empty on the last page. The cursor is opaque to clients.
    private static func page<Item>(_ items: [Item], arguments: [String: String]) -> (items: [Item], hasMore: Bool, nextCursor: String) {
        let limit = min(max(arguments["limit"].flatMap(Int.init) ?? 100, 1), 999)
        let start =
            arguments["cursor"].flatMap { Data(base64Encoded: $0) }.flatMap { String(decoding: $0, as: UTF8.self).split(separator: ":").last }
            .flatMap { Int($0) } ?? 0
        let end = min(items.count, start + limit)
        let slice = start < end ? Array(items[start..<end]) : []
        let hasMore = end < items.count
        return (slice, hasMore, hasMore ? Data("next:\(end)".utf8).base64EncodedString() : "")
    }

    /// A conversation object, with the fields Klaxon reads and a few it does not.
    private static func channelObject(_ channel: Channel) -> [String: Any] {
        [
            "id": channel.id, "name": channel.name, "name_normalized": channel.name, "is_channel": true, "is_private": channel.isPrivate,
            "is_archived": false, "is_member": channel.members.contains(botUserID), "created": channel.created, "creator": channel.creator,
            "topic": ["value": channel.topic, "creator": "", "last_set": 0],
        ]
    }

    private static func json(_ object: [String: Any]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: FakeJSON.encode(object))))
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

    public var openSockets: Int { state.withLock { $0.sockets.count } }
    /// `apps.connections.open` calls.
    public var socketsOpened: Int { state.withLock { $0.socketsOpened } }
    /// WebSocket connections made, and the newest one's number.
    public var socketsConnected: Int { state.withLock { $0.socketsConnected } }
    public var acks: [String] { state.withLock { $0.acks } }

    /// Sends a frame on connection number `connection`, by default the newest open one.
    public func socketSend(_ text: String, on connection: Int? = nil) {
        state.withLock { state in
            guard let number = connection ?? state.sockets.keys.max() else { return }
            state.sockets[number]?.yield(.send(text))
        }
    }

    /// Closes the newest connection from our side, like a network drop or a Slack restart.
    public func socketClose() {
        state.withLock { state in
            guard let newest = state.sockets.keys.max() else { return }
            state.sockets[newest]?.yield(.close)
        }
    }

    /// The acknowledgement of `envelopeID`, decoded, once it came.
    public func ack(for envelopeID: String) -> [String: Any]? {
        acks.lazy.compactMap { FakeJSON.object(ByteBuffer(string: $0)) }
            .first { $0["envelope_id"] as? String == envelopeID }
    }
}
