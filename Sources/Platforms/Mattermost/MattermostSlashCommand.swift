import Foundation
import Hummingbird
import IncidentCore

/// A Mattermost slash command request: `application/x-www-form-urlencoded` with `channel_id`,
/// `channel_name`, `command`, `response_url`, `team_domain`, `team_id`, `text`, `token`, `trigger_id`,
/// `user_id`, `user_name` (and, on newer servers, `root_id` when typed in a thread).
public struct MattermostSlashCommand: Sendable, Hashable {
    public var token: String?
    public var teamID: String?
    public var channelID: String
    public var channelName: String?
    public var userID: String
    public var username: String
    public var command: String?
    /// What followed the command word: `declare sev1 "Checkout down"`.
    public var text: String
    public var triggerID: String?
    public var rootID: String?

    /// The request's fields as posted, every one optional: the token is checked before the rest is.
    public struct Form: Sendable, Hashable, Decodable {
        public var token: String?
        public var teamID: String?
        public var channelID: String?
        public var channelName: String?
        public var userID: String?
        public var userName: String?
        public var command: String?
        public var text: String?
        public var triggerID: String?
        public var rootID: String?

        enum CodingKeys: String, CodingKey {
            case token, command, text
            case teamID = "team_id"
            case channelID = "channel_id"
            case channelName = "channel_name"
            case userID = "user_id"
            case userName = "user_name"
            case triggerID = "trigger_id"
            case rootID = "root_id"
        }

        /// No field at all: what a body that does not decode is read as.
        public init() {}

        /// Decodes the `application/x-www-form-urlencoded` body Mattermost posts.
        public init(body: String) throws {
            self = try FormDecoder.decode(Self.self, from: body)
        }
    }

    /// Nil when a field every command has is missing.
    public init?(form: Form) {
        guard let channelID = form.channelID, !channelID.isEmpty,
            let userID = form.userID, !userID.isEmpty,
            let username = form.userName, !username.isEmpty
        else { return nil }
        self.token = form.token
        self.teamID = form.teamID
        self.channelID = channelID
        self.channelName = form.channelName
        self.userID = userID
        self.username = username
        self.command = form.command
        self.text = form.text ?? ""
        self.triggerID = form.triggerID.flatMap { $0.isEmpty ? nil : $0 }
        self.rootID = form.rootID.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whoever typed it, as Klaxon names Mattermost users: by username, which `<@…>` mentions render.
    public var user: ChatUser { ChatUser(id: username, name: username) }

    public var conversation: Conversation { Conversation(platform: .mattermost, channelID: channelID, threadID: rootID) }

    /// Mattermost does not retry slash commands, but a proxy might; `trigger_id` is unique per invocation.
    public var inboundKey: String? { triggerID.map { "mattermost:cmd:\($0)" } }

    /// `oncall …` (or an alias): the one command whose reply shows clock times, and whose `until` is read,
    /// in the sender's zone, so the only one worth a user lookup before answering.
    public var isOnCall: Bool {
        var words = text.split(whereSeparator: \.isWhitespace).map { $0.lowercased() }
        if let first = words.first, first == "/incident" || first == "!incident" { words.removeFirst() }
        return words.first.map(CommandVerb.oncall.aliases.contains) ?? false
    }

    /// The command token, from the `token` field or the `Authorization: Token <token>` header.
    public static func presentedToken(form: Form, authorization: String?) -> String? {
        if let token = form.token, !token.isEmpty { return token }
        return SharedToken.credentials(inAuthorization: authorization, scheme: "Token")
    }
}

/// What Mattermost shows in answer to a slash command.
public struct MattermostCommandResponse: Sendable, Hashable, Codable {
    /// `in_channel` (everyone sees it and the command) or `ephemeral` (only the sender).
    public var responseType: String
    public var text: String

    public init(responseType: String, text: String) {
        self.responseType = responseType
        self.text = text
    }

    enum CodingKeys: String, CodingKey {
        case responseType = "response_type"
        case text
    }
}
