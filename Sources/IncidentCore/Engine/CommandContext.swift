import Foundation

/// Who typed a command, where, on which platform.
public struct CommandContext: Sendable, Hashable {
    public var platform: PlatformKind
    /// The channel (and thread) the command was typed in.
    public var conversation: Conversation
    public var user: ChatUser
    /// The user's zone where the platform says it (Slack's `users.info` `tz`); times in replies use it.
    public var userTimeZone: String?
    /// Deduplication key of the inbound delivery (`slack:cmd:<trigger_id>`, `rocketchat:msg:<message_id>`).
    public var inboundKey: String?
    /// What was typed after `/incident` (or what an alert notification said), for the audit log.
    public var commandText: String?
    /// Where the answer is posted, for transports that take no immediate answer (a Slack mention or
    /// direct message, a polled Rocket.Chat message). The post is queued in the same transaction as the
    /// command's change, or as its audit line when it changed nothing, under the delivery's `inboundKey`:
    /// a delivery seen twice is answered once, and an answer is never queued without its command.
    public var replyThread: Conversation?
    /// Where an API call came from (the console's `POST /api/commands`), for the audit log.
    public var remoteAddress: String?

    public init(
        platform: PlatformKind, conversation: Conversation, user: ChatUser, userTimeZone: String? = nil, inboundKey: String? = nil,
        replyThread: Conversation? = nil
    ) {
        self.platform = platform
        self.conversation = conversation
        self.user = user
        self.userTimeZone = userTimeZone
        self.inboundKey = inboundKey
        self.replyThread = replyThread
    }
}

/// The bot's immediate answer to a command.
public struct CommandReply: Sendable, Hashable {
    public enum Visibility: String, Sendable, Hashable {
        /// Only the person who typed the command sees it.
        case ephemeral
        /// Everyone in the channel sees it (and the command).
        case inChannel = "in_channel"
    }

    public var text: String
    public var visibility: Visibility
    /// The incident the command acted on, if any.
    public var incidentID: IncidentID?

    public init(text: String, visibility: Visibility = .ephemeral, incidentID: IncidentID? = nil) {
        self.text = text
        self.visibility = visibility
        self.incidentID = incidentID
    }
}

/// How a command ended, for metrics and logs.
public enum CommandOutcome: String, Sendable {
    /// The change was committed.
    case applied
    /// A read-only command (help, list, timeline, …) answered.
    case answered
    /// The command was understood but refused (wrong state, unknown incident); nothing changed.
    case rejected
    /// `permissions` does not allow its author to do it; nothing changed.
    case denied
    /// The command could not be parsed; usage help was sent.
    case invalid
    /// The same delivery was processed before.
    case duplicate
    /// The store failed; nothing changed and the user was told to retry.
    case failed
}

/// What the engine decided: what to answer and what to write.
public struct Decision: Sendable {
    public var reply: CommandReply
    public var changes: ChangeSet
    public var outcome: CommandOutcome

    public init(reply: CommandReply, changes: ChangeSet = ChangeSet(), outcome: CommandOutcome) {
        self.reply = reply
        self.changes = changes
        self.outcome = outcome
    }

    static func rejected(_ text: String, incident: IncidentID? = nil) -> Decision {
        Decision(reply: CommandReply(text: text, incidentID: incident), outcome: .rejected)
    }
}
