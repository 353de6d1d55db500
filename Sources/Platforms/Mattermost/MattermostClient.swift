import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1

/// A Mattermost user (`/api/v4/users/...`).
public struct MattermostUser: Sendable, Hashable, Codable {
    /// The user's `timezone` object. Mattermost stores it as a map of strings, `useAutomaticTimezone`
    /// included (`"true"`); a boolean is accepted too.
    public struct Timezone: Sendable, Hashable, Codable {
        public var useAutomaticTimezone: Bool
        public var automaticTimezone: String?
        public var manualTimezone: String?

        public init(useAutomaticTimezone: Bool, automaticTimezone: String? = nil, manualTimezone: String? = nil) {
            self.useAutomaticTimezone = useAutomaticTimezone
            self.automaticTimezone = automaticTimezone
            self.manualTimezone = manualTimezone
        }

        enum CodingKeys: String, CodingKey { case useAutomaticTimezone, automaticTimezone, manualTimezone }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // Mattermost sends the flag as a boolean or as the string "true"/"false", depending on version.
            if let flag = try? container.decode(Bool.self, forKey: .useAutomaticTimezone) {
                useAutomaticTimezone = flag
            } else {
                useAutomaticTimezone = (try? container.decode(String.self, forKey: .useAutomaticTimezone))?.lowercased() == "true"
            }
            automaticTimezone = try? container.decodeIfPresent(String.self, forKey: .automaticTimezone)
            manualTimezone = try? container.decodeIfPresent(String.self, forKey: .manualTimezone)
        }

        /// The zone the user sees times in: the browser's when automatic, else the one they chose; nil
        /// when that is empty or not an IANA zone this system knows.
        public var identifier: String? {
            let chosen = useAutomaticTimezone ? automaticTimezone : manualTimezone
            guard let chosen, !chosen.isEmpty, TimeZone(identifier: chosen) != nil else { return nil }
            return chosen
        }
    }

    public var id: String
    public var username: String
    public var timezone: Timezone?

    public init(id: String, username: String, timezone: Timezone? = nil) {
        self.id = id
        self.username = username
        self.timezone = timezone
    }

    enum CodingKeys: String, CodingKey { case id, username, timezone }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        username = try container.decode(String.self, forKey: .username)
        // A malformed zone must not make the user unreadable: the zone is a nicety.
        timezone = try? container.decodeIfPresent(Timezone.self, forKey: .timezone)
    }
}

/// A message attachment carrying interactive buttons (`props.attachments[].actions[]`). Clicking one makes
/// the Mattermost server POST `integration.context` to `integration.url`; the context never reaches
/// clients, since the server strips `integration` from posts it sends them.
public struct MattermostAttachment: Sendable, Hashable, Codable {
    public struct Action: Sendable, Hashable, Codable {
        public struct Integration: Sendable, Hashable, Codable {
            public var url: String
            public var context: [String: String]

            public init(url: String, context: [String: String]) {
                self.url = url
                self.context = context
            }
        }

        /// Letters and digits only: the server routes a click as `/posts/{post_id}/actions/{action_id}`
        /// and accepts nothing else there.
        public var id: String
        public var type = "button"
        public var name: String
        /// `default`, `primary`, `success`, `good`, `warning` or `danger`.
        public var style: String?
        public var integration: Integration

        public init(id: String, name: String, style: String?, integration: Integration) {
            self.id = id
            self.name = name
            self.style = style
            self.integration = integration
        }
    }

    public var text: String?
    public var actions: [Action]

    public init(text: String? = nil, actions: [Action]) {
        self.text = text
        self.actions = actions
    }
}

/// A Mattermost channel (`/api/v4/channels/...`).
public struct MattermostChannel: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    /// `O` open, `P` private, `D` direct, `G` group.
    public var type: String
    /// Who created the channel and when (milliseconds since 1970): what tells the bot's own incident
    /// channel from someone else's with the same name.
    public var creatorID: String?
    public var createAt: Int64?

    public init(id: String, name: String, type: String, creatorID: String? = nil, createAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.type = type
        self.creatorID = creatorID
        self.createAt = createAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, type
        case creatorID = "creator_id"
        case createAt = "create_at"
    }

    public var createdAt: Date? { createAt.map { Date(timeIntervalSince1970: TimeInterval($0) / 1000) } }
}

/// A post as `POST /api/v4/posts` and `GET /api/v4/channels/{id}/posts` return it.
public struct MattermostPost: Sendable, Hashable, Codable {
    public var id: String
    public var channelID: String
    public var message: String
    public var rootID: String?
    /// Klaxon's own marker (`klaxon_message_id`) lives here.
    public var props: [String: String]?

    public init(id: String, channelID: String, message: String, rootID: String? = nil, props: [String: String]? = nil) {
        self.id = id
        self.channelID = channelID
        self.message = message
        self.rootID = rootID
        self.props = props
    }

    enum CodingKeys: String, CodingKey {
        case id, message, props
        case channelID = "channel_id"
        case rootID = "root_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        channelID = try container.decode(String.self, forKey: .channelID)
        message = try container.decodeIfPresent(String.self, forKey: .message) ?? ""
        rootID = try container.decodeIfPresent(String.self, forKey: .rootID).flatMap { $0.isEmpty ? nil : $0 }
        // Other integrations put objects in props; only string values matter here.
        let values = (try? container.decodeIfPresent([String: LenientString].self, forKey: .props)) ?? nil
        props = values?.compactMapValues(\.value)
    }
}

/// A JSON value read as a string when it is one, ignored otherwise.
struct LenientString: Decodable {
    var value: String?
    init(from decoder: any Decoder) throws {
        value = try? decoder.singleValueContainer().decode(String.self)
    }
}

/// Mattermost's REST API (`/api/v4`), the calls Klaxon makes, with the bot account's access token as a
/// bearer token.
///
/// Mattermost's limiter counts all of a client's calls together and answers 429 with `Retry-After`
/// and `X-Ratelimit-Reset` (seconds until the window resets); both are honoured, through the injected
/// clock, and an exhausted window stops further calls until it resets.
public struct MattermostClient: Sendable {
    private let http: ChatServerHTTP
    private let clock: any WallClock
    private let gate = CooldownGate()
    private let logger: Logger

    /// The limiter is per client, not per route: one key for everything.
    private static let limiterKey = "api"
    /// The error id Mattermost gives a channel name that is taken in the team.
    public static let channelExistsError = "store.sql_channel.save_channel.exists.app_error"

    public init(serverURL: String, botToken: Secret, httpClient: HTTPClient, clock: any WallClock, logger: Logger) {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(botToken.exposedValue)")
        self.http = ChatServerHTTP(httpClient: httpClient, baseURL: serverURL, headers: headers, logger: logger)
        self.clock = clock
        self.logger = logger
    }

    // MARK: Users

    /// The bot itself (`GET /api/v4/users/me`).
    public func me() async throws(ChatServerFailure) -> MattermostUser {
        try await call(.GET, "/users/me", as: MattermostUser.self)
    }

    /// `GET /api/v4/users/username/{username}`.
    public func user(username: String) async throws(ChatServerFailure) -> MattermostUser {
        try await call(.GET, "/users/username/\(ChatServerHTTP.percentEncode(username))", as: MattermostUser.self)
    }

    /// `GET /api/v4/users/{user_id}`, with its `timezone`. `timeout` shortens the deadline when someone
    /// is waiting for the answer.
    public func user(id: String, timeout: TimeAmount? = nil) async throws(ChatServerFailure) -> MattermostUser {
        try await send(.GET, "/users/\(ChatServerHTTP.percentEncode(id))", query: [], body: nil, timeout: timeout, as: MattermostUser.self)
    }

    // MARK: Channels

    /// `POST /api/v4/channels`: an open channel in the team (`type: "O"`), or a private one (`"P"`).
    public func createChannel(teamID: String, name: String, displayName: String, header: String, private isPrivate: Bool = false)
        async throws(ChatServerFailure) -> MattermostChannel
    {
        struct Request: Encodable {
            var team_id: String
            var name: String
            var display_name: String
            var type: String
            var header: String
        }
        let body = Request(
            team_id: teamID, name: name, display_name: String(displayName.prefix(64)), type: isPrivate ? "P" : "O", header: String(header.prefix(1024)))
        return try await call(.POST, "/channels", body: body, as: MattermostChannel.self)
    }

    /// `GET /api/v4/teams/{team_id}/channels/name/{channel_name}`.
    public func channel(teamID: String, name: String) async throws(ChatServerFailure) -> MattermostChannel {
        try await call(.GET, "/teams/\(ChatServerHTTP.percentEncode(teamID))/channels/name/\(ChatServerHTTP.percentEncode(name))", as: MattermostChannel.self)
    }

    /// `POST /api/v4/channels/{channel_id}/members`: adding someone who is a member already is fine.
    public func addMember(userID: String, to channelID: String) async throws(ChatServerFailure) {
        struct Request: Encodable { var user_id: String }
        _ = try await call(.POST, "/channels/\(ChatServerHTTP.percentEncode(channelID))/members", body: Request(user_id: userID), as: Ignored.self)
    }

    /// `PUT /api/v4/channels/{channel_id}/patch` with a new header (Mattermost's channel topic).
    public func setHeader(_ header: String, of channelID: String) async throws(ChatServerFailure) {
        struct Request: Encodable { var header: String }
        _ = try await call(
            .PUT, "/channels/\(ChatServerHTTP.percentEncode(channelID))/patch", body: Request(header: String(header.prefix(1024))), as: Ignored.self)
    }

    /// `POST /api/v4/channels/direct` with the two user ids: the existing direct channel if there is one.
    public func directChannel(between first: String, and second: String) async throws(ChatServerFailure) -> MattermostChannel {
        try await call(.POST, "/channels/direct", body: [first, second], as: MattermostChannel.self)
    }

    // MARK: Posts

    /// `POST /api/v4/posts`; `rootID` makes it a reply in that post's thread; `attachments` go into
    /// `props.attachments` beside the string `props`.
    public func createPost(channelID: String, message: String, rootID: String?, props: [String: String], attachments: [MattermostAttachment] = [])
        async throws(ChatServerFailure) -> MattermostPost
    {
        struct Props: Encodable {
            var strings: [String: String]
            var attachments: [MattermostAttachment]

            struct Key: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                for (key, value) in strings { try container.encode(value, forKey: Key(stringValue: key)) }
                if !attachments.isEmpty { try container.encode(attachments, forKey: Key(stringValue: "attachments")) }
            }
        }
        struct Request: Encodable {
            var channel_id: String
            var message: String
            var root_id: String?
            var props: Props
        }
        let body = Request(channel_id: channelID, message: message, root_id: rootID, props: Props(strings: props, attachments: attachments))
        return try await call(.POST, "/posts", body: body, as: MattermostPost.self)
    }

    /// Posts of a channel created or changed since `since` (`GET /api/v4/channels/{id}/posts?since=`, ms).
    public func posts(in channelID: String, since: Date) async throws(ChatServerFailure) -> [MattermostPost] {
        struct Answer: Decodable { var posts: [String: MattermostPost]? }
        let millis = String(since.millisecondsSince1970(rounding: .down))
        let answer = try await call(.GET, "/channels/\(ChatServerHTTP.percentEncode(channelID))/posts", query: [("since", millis)], as: Answer.self)
        return Array((answer.posts ?? [:]).values)
    }

    // MARK: Dialogs

    /// `POST /api/v4/actions/dialogs/open`: shows the form to the user whose click made the trigger id.
    /// The server answers `{"status": "OK"}`, or 400 for a trigger id that is missing, forged or expired
    /// (3 s after the click on older servers, `OutgoingIntegrationRequestsTimeout` on newer ones), hence
    /// the `timeout`.
    public func openDialog(_ request: MattermostOpenDialogRequest, timeout: TimeAmount? = nil) async throws(ChatServerFailure) {
        _ = try await send(.POST, "/actions/dialogs/open", query: [], body: ChatServerJSON.encode(request), timeout: timeout, as: Ignored.self)
    }

    // MARK: Calls

    private struct Ignored: Decodable {}

    /// Mattermost's error envelope: `{id, message, detailed_error, request_id, status_code}`.
    private struct ErrorBody: Decodable {
        var id: String?
        var message: String?
    }

    private func call<Answer: Decodable>(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], as type: Answer.Type)
        async throws(ChatServerFailure) -> Answer
    {
        try await send(method, path, query: query, body: nil, timeout: nil, as: type)
    }

    private func call<Answer: Decodable>(_ method: HTTPMethod, _ path: String, body: some Encodable, as type: Answer.Type) async throws(ChatServerFailure)
        -> Answer
    {
        try await send(method, path, query: [], body: ChatServerJSON.encode(body), timeout: nil, as: type)
    }

    private func send<Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, query: [(String, String)], body: Data?, timeout: TimeAmount?, as type: Answer.Type
    ) async throws(ChatServerFailure) -> Answer {
        if let wait = gate.remaining(Self.limiterKey, now: clock.now()) { throw .rateLimited(retryAfter: wait) }
        let response = try await http.send(method, "/api/v4" + path, query: query, json: body, timeout: timeout)
        noteRateLimit(response.headers)
        switch response.status {
        case 200..<300:
            return try ChatServerJSON.decode(type, from: response, call: path)
        case 429:
            throw .rateLimited(retryAfter: retryAfter(response.headers) ?? 1)
        case 401, 403:
            // A body that is not Mattermost's error JSON (a proxy's page) leaves the status to go by.
            let envelope = try? ChatServerJSON.decoder.decode(ErrorBody.self, from: response.body)
            throw .unauthorized("\(path): \(envelope?.message ?? "HTTP \(response.status)")")
        case 400..<500:
            // Not Mattermost's error JSON: the status decides.
            let envelope = try? ChatServerJSON.decoder.decode(ErrorBody.self, from: response.body)
            throw .refused(status: response.status, code: envelope?.id ?? "HTTP \(response.status)", message: envelope?.message ?? "")
        default:
            throw .unreachable("\(path): HTTP \(response.status)")
        }
    }

    private func noteRateLimit(_ headers: HTTPHeaders) {
        guard let remaining = headers.first(name: "X-Ratelimit-Remaining").flatMap({ Int($0) }) else { return }
        if remaining <= 0, let wait = retryAfter(headers) {
            gate.close(Self.limiterKey, until: clock.now().addingTimeInterval(wait))
        } else {
            gate.open(Self.limiterKey)
        }
    }

    /// `Retry-After` (seconds) if given, else `X-Ratelimit-Reset`: seconds until the reset, or, if a
    /// proxy rewrote it to an epoch time, that time.
    private func retryAfter(_ headers: HTTPHeaders) -> TimeInterval? {
        if let seconds = RateLimitHeader.number(headers, "Retry-After") {
            return max(seconds, 0)
        }
        guard let reset = RateLimitHeader.number(headers, "X-Ratelimit-Reset") else { return nil }
        if reset > 1_000_000_000 {
            return max(Date(timeIntervalSince1970: reset).timeIntervalSince(clock.now()), 0)
        }
        return max(reset, 0)
    }
}
