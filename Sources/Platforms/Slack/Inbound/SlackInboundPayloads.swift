import Foundation
import Hummingbird

/// A slash command invocation (docs.slack.dev/interactivity/implementing-slash-commands). Over HTTP it is a
/// form (`init(form:)`); over Socket Mode the same fields come as a JSON object, decoded by the same
/// `init(from:)`.
public struct SlackSlashCommand: Sendable, Hashable, Decodable {
    public var command: String
    /// Everything after the command word.
    public var text: String
    public var userID: String
    public var userName: String?
    public var channelID: String
    public var channelName: String?
    public var teamID: String?
    /// Unique per invocation: the key that makes a replayed request harmless, and the handle for `views.open`.
    public var triggerID: String?
    public var responseURL: String?

    enum CodingKeys: String, CodingKey {
        case command, text
        case userID = "user_id"
        case userName = "user_name"
        case channelID = "channel_id"
        case channelName = "channel_name"
        case teamID = "team_id"
        case triggerID = "trigger_id"
        case responseURL = "response_url"
    }

    /// Fails when the fields that say who typed it where are missing or empty.
    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        func field(_ key: CodingKeys) throws -> String? { try fields.decodeIfPresent(String.self, forKey: key) }
        guard let userID = try field(.userID), !userID.isEmpty, let channelID = try field(.channelID), !channelID.isEmpty else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a slash command names a non-empty user_id and channel_id"))
        }
        self.command = try field(.command) ?? "/incident"
        self.text = try field(.text) ?? ""
        self.userID = userID
        self.userName = try field(.userName).flatMap { $0.isEmpty ? nil : $0 }
        self.channelID = channelID
        self.channelName = try field(.channelName)
        self.teamID = try field(.teamID)
        self.triggerID = try field(.triggerID).flatMap { $0.isEmpty ? nil : $0 }
        self.responseURL = try field(.responseURL)
    }

    /// The `application/x-www-form-urlencoded` body Slack posts to the command's request URL.
    public init(form: String) throws {
        self = try FormDecoder.decode(Self.self, from: form)
    }
}

/// Slack's certificate check of a distributed app's command URL: a form with `ssl_check=1` and no command.
public struct SlackCertificateCheck: Sendable, Decodable {
    public var sslCheck: String?

    enum CodingKeys: String, CodingKey {
        case sslCheck = "ssl_check"
    }

    /// Whether `form` is the check; a body that is not a form is not one.
    public static func isCheck(form: String) -> Bool {
        do {
            return try FormDecoder.decode(Self.self, from: form).sslCheck == "1"
        } catch {
            return false
        }
    }
}

/// What `POST /slack/events` (or an `events_api` Socket Mode envelope) carries: `url_verification` or
/// an `event_callback` (docs.slack.dev/apis/events-api). Unknown fields are ignored.
public struct SlackEventEnvelope: Decodable, Sendable {
    public var type: String
    public var challenge: String?
    public var teamID: String?
    /// Unique per event, the same on every retry: the deduplication key.
    public var eventID: String?
    public var event: SlackEvent?
    public var authorizations: [Authorization]?

    public struct Authorization: Decodable, Sendable {
        public var userID: String?
        public var isBot: Bool?
        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
            case isBot = "is_bot"
        }
    }

    enum CodingKeys: String, CodingKey {
        case type, challenge, event, authorizations
        case teamID = "team_id"
        case eventID = "event_id"
    }
}

/// The inner event of an `event_callback`; only what Klaxon reads.
public struct SlackEvent: Decodable, Sendable {
    public var type: String
    public var subtype: String?
    public var user: String?
    /// Set on messages posted by bots, Klaxon's own included.
    public var botID: String?
    public var text: String?
    public var channel: String?
    public var channelType: String?
    public var ts: String?
    /// Set when the message is a reply in a thread: the parent's `ts`.
    public var threadTS: String?

    enum CodingKeys: String, CodingKey {
        case type, subtype, user, text, channel, ts
        case botID = "bot_id"
        case channelType = "channel_type"
        case threadTS = "thread_ts"
    }
}

/// The `payload` of an interaction (docs.slack.dev/interactivity/handling-user-interaction):
/// `block_actions` from buttons, `view_submission` from modals. Unknown fields are ignored.
public struct SlackInteraction: Decodable, Sendable {
    public var type: String
    public var user: User
    public var triggerID: String?
    public var responseURL: String?
    public var channel: Channel?
    public var container: Container?
    public var actions: [Action]?
    public var view: View?

    public struct User: Decodable, Sendable {
        public var id: String
        public var username: String?
        public var name: String?
    }

    public struct Channel: Decodable, Sendable {
        public var id: String
        public var name: String?
    }

    public struct Container: Decodable, Sendable {
        public var type: String?
        public var channelID: String?
        public var messageTS: String?
        public var threadTS: String?
        enum CodingKeys: String, CodingKey {
            case type
            case channelID = "channel_id"
            case messageTS = "message_ts"
            case threadTS = "thread_ts"
        }
    }

    public struct Action: Decodable, Sendable {
        public var actionID: String
        public var blockID: String?
        public var value: String?
        public var actionTS: String?
        enum CodingKeys: String, CodingKey {
            case value
            case actionID = "action_id"
            case blockID = "block_id"
            case actionTS = "action_ts"
        }
    }

    public struct View: Decodable, Sendable {
        public var id: String
        public var callbackID: String?
        public var privateMetadata: String?
        public var hash: String?
        public var state: State?

        public struct State: Decodable, Sendable {
            /// block_id → action_id → the element's value.
            public var values: [String: [String: Value]]
        }

        public struct Value: Decodable, Sendable {
            public var type: String?
            public var value: String?
        }

        enum CodingKeys: String, CodingKey {
            case id, hash, state
            case callbackID = "callback_id"
            case privateMetadata = "private_metadata"
        }
    }

    enum CodingKeys: String, CodingKey {
        case type, user, channel, container, actions, view
        case triggerID = "trigger_id"
        case responseURL = "response_url"
    }

    /// The form Slack posts to the interactivity request URL: one field, `payload`, holding the JSON.
    public init(form: String) throws {
        struct Form: Decodable { var payload: String }
        let payload = try FormDecoder.decode(Form.self, from: form).payload
        self = try JSONDecoder().decode(Self.self, from: Data(payload.utf8))
    }
}

/// A Socket Mode frame (docs.slack.dev/apis/events-api/using-socket-mode): `hello`, `disconnect`, or an
/// envelope of type `events_api`, `interactive` or `slash_commands` to acknowledge by `envelope_id`.
public struct SlackSocketFrame: Decodable, Sendable {
    public var type: String
    public var envelopeID: String?
    /// For `disconnect`: `warning`, `refresh_requested`, `link_disabled`, `too_many_websockets`.
    public var reason: String?
    public var acceptsResponsePayload: Bool?
    /// For `events_api`: how many times Slack sent this event before (0 the first time).
    public var retryAttempt: Int?

    enum CodingKeys: String, CodingKey {
        case type, reason
        case envelopeID = "envelope_id"
        case acceptsResponsePayload = "accepts_response_payload"
        case retryAttempt = "retry_attempt"
    }
}

/// The same frame read again with its payload typed, once `type` says what the payload is.
public struct SlackSocketEnvelope<Payload: Decodable & Sendable>: Decodable, Sendable {
    public var payload: Payload
}
