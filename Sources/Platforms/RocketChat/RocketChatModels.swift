import Foundation

/// A room as Rocket.Chat's REST API describes it (`channels.create`, `rooms.info`, `dm.create`).
public struct RocketChatRoom: Sendable, Hashable, Codable {
    public var id: String
    public var name: String?
    /// `c` public channel, `p` private group, `d` direct messages.
    public var type: String
    /// Who created the room (`u._id`) and when (`ts`), as `rooms.info` and `*.create` say: what tells the
    /// bot's own incident channel from someone else's with the same name.
    public var creatorID: String?
    public var createdAt: Date?

    public init(id: String, name: String?, type: String, creatorID: String? = nil, createdAt: Date? = nil) {
        self.id = id
        self.name = name
        self.type = type
        self.creatorID = creatorID
        self.createdAt = createdAt
    }

    public var isPrivate: Bool { type == "p" }

    enum CodingKeys: String, CodingKey {
        case id = "_id"
        case rid
        case name
        case type = "t"
        case creator = "u"
        case createdAt = "ts"
    }

    private struct Creator: Codable, Hashable {
        var id: String?
        enum CodingKeys: String, CodingKey { case id = "_id" }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // `dm.create` answers with `rid` (newer servers send both).
        guard let id = try container.decodeIfPresent(String.self, forKey: .id) ?? container.decodeIfPresent(String.self, forKey: .rid) else {
            throw DecodingError.keyNotFound(CodingKeys.id, .init(codingPath: container.codingPath, debugDescription: "a room needs _id or rid"))
        }
        self.id = id
        name = try container.decodeIfPresent(String.self, forKey: .name)
        type = try container.decodeIfPresent(String.self, forKey: .type) ?? "c"
        // Read leniently: a room without them is simply not known to be ours.
        creatorID = (try? container.decodeIfPresent(Creator.self, forKey: .creator))?.id
        createdAt = (try? container.decodeIfPresent(String.self, forKey: .createdAt)).flatMap(Self.date)
    }

    /// Rocket.Chat's REST dates: ISO 8601, with or without milliseconds.
    static func date(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) ?? (try? Date(text, strategy: .iso8601))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encode(type, forKey: .type)
        try container.encodeIfPresent(creatorID.map { Creator(id: $0) }, forKey: .creator)
        try container.encodeIfPresent(createdAt.map { $0.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }, forKey: .createdAt)
    }
}

/// A user as `users.info` returns it: the few fields Klaxon reads.
public struct RocketChatUser: Sendable, Hashable, Decodable {
    public var id: String
    public var username: String?
    /// Hours east of UTC (`5.5` for India, `-5` for New York in winter), as the user's client reported it
    /// when they last logged in. The OpenAPI file calls it an integer, but the server stores the client's
    /// `utcOffset() / 60`, so half and quarter hours come as fractions. Absent for a user who never logged
    /// in from a client that reports it.
    public var utcOffset: Double?

    public init(id: String, username: String?, utcOffset: Double? = nil) {
        self.id = id
        self.username = username
        self.utcOffset = utcOffset
    }

    enum CodingKeys: String, CodingKey {
        case id = "_id"
        case username, utcOffset
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        // Read leniently: an odd username leaves the id to go by.
        username = try? container.decodeIfPresent(String.self, forKey: .username)
        // The offset is a nicety: a value of another type must not make the user unreadable.
        utcOffset = try? container.decodeIfPresent(Double.self, forKey: .utcOffset)
    }

    /// A fixed-offset zone for `utcOffset`, as `TimeZone(identifier:)` accepts it, nil when unknown or odd.
    public var timeZoneIdentifier: String? { utcOffset.flatMap(Self.zoneIdentifier(utcOffset:)) }

    /// `5.5` → `GMT+0530`, `-5` → `GMT-0500`, `0` → `GMT`. Rocket.Chat keeps an offset, not a zone, so the
    /// answer is a fixed offset: right for today, an hour off across a daylight-saving change until the
    /// user logs in again. Anything no real zone has (not whole minutes, not a quarter hour, beyond
    /// UTC−12…UTC+14, not a number) is nil, so the caller falls back to the configured zone.
    public static func zoneIdentifier(utcOffset hours: Double) -> String? {
        guard hours.isFinite, abs(hours) <= 24 else { return nil }
        let minutes = (hours * 60).rounded()
        // Binary fractions of an hour (0.5, 0.75) are exact; tolerate the float noise of anything else.
        guard abs(hours * 60 - minutes) < 0.001 else { return nil }
        let total = Int(minutes)
        guard (-12 * 60)...(14 * 60) ~= total, total.isMultiple(of: 15) else { return nil }
        let sign = total < 0 ? "-" : "+"
        let written = "GMT" + sign + String(format: "%02d%02d", abs(total) / 60, abs(total) % 60)
        // Foundation names the zero offset `GMT` and the others as written; checking the offset it
        // parsed guards against a platform that reads the identifier differently.
        guard let zone = TimeZone(identifier: written), zone.secondsFromGMT() == total * 60 else { return nil }
        return zone.identifier
    }
}

/// A message as `channels.history`, `groups.history` and `chat.getMessage` return it.
public struct RocketChatMessage: Sendable, Hashable, Codable {
    public struct Author: Sendable, Hashable, Codable {
        public var id: String
        public var username: String?
        public var name: String?

        public init(id: String, username: String?, name: String? = nil) {
            self.id = id
            self.username = username
            self.name = name
        }

        enum CodingKeys: String, CodingKey {
            case id = "_id"
            case username, name
        }
    }

    public var id: String
    public var roomID: String
    public var text: String?
    /// ISO 8601 with milliseconds, as the server wrote it (`2016-12-09T12:50:51.555Z`).
    public var timestamp: String
    public var author: Author
    /// The thread's root message, for a reply in a thread.
    public var threadID: String?
    /// Set for system messages (`uj` user joined, `au` user added, …), which are not commands.
    public var systemType: String?
    /// Present (`{"i": integrationId}`) when an integration or bot posted it.
    public var botMarker: JSONObjectMarker?
    public var editedAt: String?

    public init(
        id: String, roomID: String, text: String?, timestamp: String, author: Author, threadID: String? = nil, systemType: String? = nil,
        botMarker: JSONObjectMarker? = nil, editedAt: String? = nil
    ) {
        self.id = id
        self.roomID = roomID
        self.text = text
        self.timestamp = timestamp
        self.author = author
        self.threadID = threadID
        self.systemType = systemType
        self.botMarker = botMarker
        self.editedAt = editedAt
    }

    enum CodingKeys: String, CodingKey {
        case id = "_id"
        case roomID = "rid"
        case text = "msg"
        case timestamp = "ts"
        case author = "u"
        case threadID = "tmid"
        case systemType = "t"
        case botMarker = "bot"
        case editedAt
    }
}

/// The presence of a JSON value whose content does not matter to Klaxon (a message's `bot` object).
public struct JSONObjectMarker: Sendable, Hashable, Codable {
    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode([String: String]())
    }
}

/// What Rocket.Chat's outgoing webhook POSTs for a message (the `sendMessage` event).
public struct RocketChatWebhookPayload: Sendable, Hashable, Codable {
    public var token: String?
    public var bot: Bool?
    public var channelID: String?
    public var channelName: String?
    public var messageID: String?
    public var timestamp: String?
    public var userID: String?
    public var userName: String?
    public var text: String?
    public var triggerWord: String?
    public var isEdited: Bool?
    public var threadID: String?
    public var siteURL: String?

    public init(
        token: String?, bot: Bool? = false, channelID: String?, channelName: String?, messageID: String?, timestamp: String? = nil, userID: String?,
        userName: String?, text: String?, triggerWord: String? = nil, isEdited: Bool? = nil, threadID: String? = nil, siteURL: String? = nil
    ) {
        self.token = token
        self.bot = bot
        self.channelID = channelID
        self.channelName = channelName
        self.messageID = messageID
        self.timestamp = timestamp
        self.userID = userID
        self.userName = userName
        self.text = text
        self.triggerWord = triggerWord
        self.isEdited = isEdited
        self.threadID = threadID
        self.siteURL = siteURL
    }

    enum CodingKeys: String, CodingKey {
        case token, bot, timestamp, text, isEdited, tmid, siteUrl
        case channelID = "channel_id"
        case channelName = "channel_name"
        case messageID = "message_id"
        case userID = "user_id"
        case userName = "user_name"
        case triggerWord = "trigger_word"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        token = try container.decodeIfPresent(String.self, forKey: .token)
        // Older servers and custom scripts send `bot` as an object; what matters is that it is truthy.
        if let flag = try? container.decodeIfPresent(Bool.self, forKey: .bot) {
            bot = flag
        } else {
            bot = container.contains(.bot) && (try? container.decodeNil(forKey: .bot)) == false
        }
        channelID = try container.decodeIfPresent(String.self, forKey: .channelID)
        channelName = try container.decodeIfPresent(String.self, forKey: .channelName)
        messageID = try container.decodeIfPresent(String.self, forKey: .messageID)
        // Niceties read leniently (scripts send other types): an odd timestamp sorts first, an odd flag is unknown.
        timestamp = try? container.decodeIfPresent(String.self, forKey: .timestamp)
        userID = try container.decodeIfPresent(String.self, forKey: .userID)
        userName = try container.decodeIfPresent(String.self, forKey: .userName)
        text = try container.decodeIfPresent(String.self, forKey: .text)
        triggerWord = try container.decodeIfPresent(String.self, forKey: .triggerWord)
        isEdited = try? container.decodeIfPresent(Bool.self, forKey: .isEdited)
        threadID = try container.decodeIfPresent(String.self, forKey: .tmid)
        siteURL = try container.decodeIfPresent(String.self, forKey: .siteUrl)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(token, forKey: .token)
        try container.encodeIfPresent(bot, forKey: .bot)
        try container.encodeIfPresent(channelID, forKey: .channelID)
        try container.encodeIfPresent(channelName, forKey: .channelName)
        try container.encodeIfPresent(messageID, forKey: .messageID)
        try container.encodeIfPresent(timestamp, forKey: .timestamp)
        try container.encodeIfPresent(userID, forKey: .userID)
        try container.encodeIfPresent(userName, forKey: .userName)
        try container.encodeIfPresent(text, forKey: .text)
        try container.encodeIfPresent(triggerWord, forKey: .triggerWord)
        try container.encodeIfPresent(isEdited, forKey: .isEdited)
        try container.encodeIfPresent(threadID, forKey: .tmid)
        try container.encodeIfPresent(siteURL, forKey: .siteUrl)
    }
}

/// A message attachment: Klaxon uses it for the row of buttons under an alert.
public struct RocketChatAttachment: Sendable, Hashable, Codable {
    /// A button that, clicked, sends `msg` into the room as the person who clicked
    /// (`msg_in_chat_window`), which is then handled like a typed command.
    public struct Action: Sendable, Hashable, Codable {
        public var type = "button"
        public var text: String
        public var msg: String
        public var msgInChatWindow = true
        public var msgProcessingType = "sendMessage"

        public init(text: String, msg: String) {
            self.text = text
            self.msg = msg
        }

        enum CodingKeys: String, CodingKey {
            case type, text, msg
            case msgInChatWindow = "msg_in_chat_window"
            case msgProcessingType = "msg_processing_type"
        }
    }

    public var text: String?
    public var buttonAlignment: String?
    public var actions: [Action]?

    public init(text: String? = nil, buttonAlignment: String? = "horizontal", actions: [Action]?) {
        self.text = text
        self.buttonAlignment = buttonAlignment
        self.actions = actions
    }

    enum CodingKeys: String, CodingKey {
        case text, actions
        case buttonAlignment = "button_alignment"
    }
}

/// The `message` object of `chat.sendMessage`.
public struct RocketChatOutgoingMessage: Sendable, Hashable, Codable {
    /// Chosen by Klaxon so that sending the same outbox message twice leaves one message.
    public var id: String
    public var roomID: String
    public var text: String
    public var threadID: String?
    public var attachments: [RocketChatAttachment]?

    public init(id: String, roomID: String, text: String, threadID: String? = nil, attachments: [RocketChatAttachment]? = nil) {
        self.id = id
        self.roomID = roomID
        self.text = text
        self.threadID = threadID
        self.attachments = attachments
    }

    enum CodingKeys: String, CodingKey {
        case id = "_id"
        case roomID = "rid"
        case text = "msg"
        case threadID = "tmid"
        case attachments
    }
}

/// Rocket.Chat's two error envelopes: `{success: false, error, errorType}` and, for 401 before 8.0,
/// `{status: "error", message}`.
struct RocketChatErrorBody: Decodable {
    var success: Bool?
    var error: String?
    var errorType: String?
    var status: String?
    var message: String?
}
