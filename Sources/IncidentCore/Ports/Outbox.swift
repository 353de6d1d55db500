import Foundation

/// Where a message goes, in terms the platform adapter resolves at delivery time.
public enum MessageTarget: Sendable, Hashable, Codable {
    /// The incident's own channel (or thread, in thread mode). Delivery waits until it exists.
    case incidentRoom
    /// The platform's announce channel (`#incidents`).
    case announce
    /// A conversation known at the time of writing (the channel a command came from).
    case conversation(Conversation)
    /// A direct message to a user, by platform id.
    case direct(userID: String)
}

/// A button under a message. Platforms without buttons show the command instead.
public struct MessageButton: Sendable, Hashable, Codable {
    /// `ack`, `update`, `resolve`, `take-ic`: the action id the platform sends back.
    public var action: String
    public var label: String
    /// The `/incident …` text the button stands for.
    public var command: String
    public var style: String?

    public init(action: String, label: String, command: String, style: String? = nil) {
        self.action = action
        self.label = label
        self.command = command
        self.style = style
    }
}

/// What the bot wants done on a chat platform. Stored as JSON in the outbox; delivered by the sender.
public enum ChatAction: Sendable, Hashable, Codable {
    /// Create the incident's channel (channel mode) or the announcement that roots its thread (thread mode).
    case openRoom(name: String, topic: String, announcement: String, invite: [String])
    case post(to: MessageTarget, text: String, buttons: [MessageButton])
    case setTopic(topic: String)
    case invite(userIDs: [String])

    /// A short name for logs and metrics.
    public var kind: String {
        switch self {
        case .openRoom: "open_room"
        case .post: "post"
        case .setTopic: "set_topic"
        case .invite: "invite"
        }
    }
}

/// A message to be written to the outbox in the same transaction as the change that caused it.
public struct NewOutboxMessage: Sendable, Hashable {
    public var platform: PlatformKind
    /// Messages for one incident are delivered one at a time, in the order they were written.
    public var incidentID: IncidentID?
    public var action: ChatAction
    public var notBefore: Date?

    public init(platform: PlatformKind, incidentID: IncidentID?, action: ChatAction, notBefore: Date? = nil) {
        self.platform = platform
        self.incidentID = incidentID
        self.action = action
        self.notBefore = notBefore
    }
}

public enum OutboxState: String, Sendable, Codable {
    case pending, delivered, dead
}

/// A stored outbox message.
public struct OutboxMessage: Sendable, Hashable {
    public var id: Int64
    public var platform: PlatformKind
    public var incidentID: IncidentID?
    public var action: ChatAction
    public var createdAt: Date
    public var notBefore: Date
    public var attempts: Int
    public var state: OutboxState
    /// The id the platform gave the delivered message (Slack `ts`, Rocket.Chat `_id`).
    public var platformMessageID: String?
    public var lastError: String?

    public init(id: Int64, platform: PlatformKind, incidentID: IncidentID?, action: ChatAction, createdAt: Date, notBefore: Date, attempts: Int, state: OutboxState, platformMessageID: String?, lastError: String?) {
        self.id = id
        self.platform = platform
        self.incidentID = incidentID
        self.action = action
        self.createdAt = createdAt
        self.notBefore = notBefore
        self.attempts = attempts
        self.state = state
        self.platformMessageID = platformMessageID
        self.lastError = lastError
    }
}
