import Foundation

/// A slash command invocation (docs.slack.dev/interactivity/implementing-slash-commands). Over HTTP it is a
/// form; over Socket Mode the same fields come as a JSON object.
public struct SlackSlashCommand: Sendable, Hashable {
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

    /// nil when the fields that say who typed it where are missing.
    public init?(fields: [String: String]) {
        guard let userID = fields["user_id"], !userID.isEmpty, let channelID = fields["channel_id"], !channelID.isEmpty else {
            return nil
        }
        self.command = fields["command"] ?? "/incident"
        self.text = fields["text"] ?? ""
        self.userID = userID
        self.userName = fields["user_name"].flatMap { $0.isEmpty ? nil : $0 }
        self.channelID = channelID
        self.channelName = fields["channel_name"]
        self.teamID = fields["team_id"]
        self.triggerID = fields["trigger_id"].flatMap { $0.isEmpty ? nil : $0 }
        self.responseURL = fields["response_url"]
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

/// A JSON scalar in a Socket Mode `slash_commands` payload, which carries the form fields as an object.
/// Anything that is not a string is kept in its JSON spelling; nested values are dropped.
public struct SlackFieldValue: Decodable, Sendable {
    public var text: String?

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            text = string
        } else if let bool = try? container.decode(Bool.self) {
            text = bool ? "true" : "false"
        } else if let number = try? container.decode(Double.self) {
            text = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        } else {
            text = nil
        }
    }

    /// The string fields of a decoded payload object.
    public static func fields(_ object: [String: SlackFieldValue]) -> [String: String] {
        object.compactMapValues(\.text)
    }
}
