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
    /// A channel by name (`security`), for policy rules that cross-post (`channel:slack:security`).
    case channel(name: String)
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

/// What the bot wants done on a chat platform (or, for `pagerWebhook`, beside it). Stored as JSON in the
/// outbox; delivered by the sender.
public enum ChatAction: Sendable, Hashable, Codable {
    /// Create the incident's channel (channel mode) or the announcement that roots its thread (thread mode).
    /// In channel mode an empty `announcement` means it was written as a message of its own, in the announce
    /// channel's queue (`OutboxQueue.announcements`), so the incident's room never waits behind that channel's
    /// pacing; rows written before that still carry the text and are announced as before.
    case openRoom(name: String, topic: String, announcement: String, invite: [String])
    case post(to: MessageTarget, text: String, buttons: [MessageButton])
    case setTopic(topic: String)
    /// The topic (Mattermost: header) of a channel that is not an incident's, by its configured name
    /// (Slack: its id): `oncall.topicChannels`. Setting the same topic twice is harmless.
    case setChannelTopic(channel: String, topic: String)
    case invite(userIDs: [String])
    /// A POST to a configured pager webhook. The outbox sender hands these to the pager webhook client,
    /// never to a chat platform; the row's platform is the incident's, for the record.
    case pagerWebhook(PagerNotice)
    /// A message to a Discord channel through its incoming webhook (`discord.webhooks`). The outbox
    /// sender hands these to the Discord webhook client; they queue in the incident platform's lane.
    case discordWebhook(DiscordPost)
    /// An email, handed to the SMTP sender (`email.smtp`), never to a chat platform.
    case email(EmailMessage)
    /// Open, comment on or close an incident's issue (`severities[].ticket`), handed to the ticket client.
    case ticket(TicketAction)
    /// A POST to a `statusPage.webhooks` entry after a published change; never to a chat platform.
    case statusWebhook(StatusNotice)

    /// A short name for logs and metrics.
    public var kind: String {
        switch self {
        case .openRoom: "open_room"
        case .post: "post"
        case .setTopic: "set_topic"
        case .setChannelTopic: "set_channel_topic"
        case .invite: "invite"
        case .pagerWebhook: "pager_webhook"
        case .discordWebhook: "discord_webhook"
        case .email: "email"
        case .ticket(let action): action.kind
        case .statusWebhook: "status_webhook"
        }
    }
}

extension ChatAction {
    /// Pager notices go to the gateways and emails to the SMTP server, whatever the incident's platform: a
    /// slow or refusing gateway must not hold up chat, nor a parked chat platform hold up pages or mail.
    public func lane(platform: PlatformKind) -> OutboxLane {
        switch self {
        case .pagerWebhook: return .pager
        case .email: return .email
        case .ticket: return .tickets
        case .statusWebhook: return .statusPage
        default: return OutboxLane(platform.rawValue)
        }
    }
}

/// One independent delivery queue of the outbox: each chat platform's, and the pager webhooks'. The
/// sender claims and delivers each lane on its own, so one platform that is slow, rate limited or
/// parked (refusing our credentials) never delays another.
public struct OutboxLane: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var name: String
    public init(_ name: String) { self.name = name }
    public static let pager = OutboxLane("pager")
    /// Mail: an SMTP server that is slow or refuses us holds up neither chat nor pages.
    public static let email = OutboxLane("email")
    /// Issue trackers: GitHub rate limits and outages stay out of chat's way.
    public static let tickets = OutboxLane("tickets")
    /// Status webhooks: an external status page that is down must not hold up chat or pages.
    public static let statusPage = OutboxLane("status")
    public var description: String { name }
    public static func < (lhs: OutboxLane, rhs: OutboxLane) -> Bool { lhs.name < rhs.name }
}

/// Which lanes a claim takes from.
public enum OutboxLaneFilter: Sendable, Hashable {
    case all
    case only(OutboxLane)
    /// Every lane but these: messages of lanes no sender serves (a platform not enabled, a row whose
    /// platform is unreadable) still reach a sender, which gives them a reason and sets them aside.
    case excluding([OutboxLane])
}

/// What a claim took: the messages to deliver, and the rows set aside because they could not be read
/// (each now dead with its decode error; they never block the others).
public struct OutboxClaim: Sendable {
    public var messages: [OutboxMessage]
    public var setAside: [OutboxEntry]
    public init(messages: [OutboxMessage], setAside: [OutboxEntry] = []) {
        self.messages = messages
        self.setAside = setAside
    }
}

/// An outbox row as listings show it (`GET /api/outbox`, `klaxon outbox list`): readable even when its
/// action is not (a row from a newer build, or damaged).
public struct OutboxEntry: Sendable, Hashable, Codable {
    public var id: Int64
    public var lane: String
    public var platform: String
    public var incidentID: IncidentID?
    /// `post`, `open_room`, … (`ChatAction.kind`); `undecodable` when the action cannot be read.
    public var kind: String
    public var state: OutboxState
    public var attempts: Int
    public var createdAt: Date
    public var notBefore: Date
    public var lastError: String?

    public init(
        id: Int64, lane: String, platform: String, incidentID: IncidentID?, kind: String, state: OutboxState, attempts: Int, createdAt: Date,
        notBefore: Date, lastError: String?
    ) {
        self.id = id
        self.lane = lane
        self.platform = platform
        self.incidentID = incidentID
        self.kind = kind
        self.state = state
        self.attempts = attempts
        self.createdAt = createdAt
        self.notBefore = notBefore
        self.lastError = lastError
    }
}

/// A message to be written to the outbox in the same transaction as the change that caused it.
public struct NewOutboxMessage: Sendable, Hashable {
    public var platform: PlatformKind
    /// Messages for one incident are delivered one at a time, in the order they were written.
    public var incidentID: IncidentID?
    public var action: ChatAction
    public var notBefore: Date?
    /// nil: the message queues with its incident's others (per lane). Set: it queues with the other messages
    /// of this key instead (in its lane), one at a time in the order written, apart from its incident's.
    public var queue: String?

    public init(platform: PlatformKind, incidentID: IncidentID?, action: ChatAction, notBefore: Date? = nil, queue: String? = nil) {
        self.platform = platform
        self.incidentID = incidentID
        self.action = action
        self.notBefore = notBefore
        self.queue = queue
    }
}

/// Outbox queue keys (`NewOutboxMessage.queue`) of messages that queue apart from their incident's.
public enum OutboxQueue {
    /// New incidents' announcements to one announce channel (of the message's platform: queues are per lane).
    /// Slack lets a channel be posted to about once a second: with many incidents declared at once, their
    /// announcements wait here for the channel, while each incident's own room, posts and pages go ahead.
    public static func announcements(channel: String) -> String {
        "announce:" + (channel.hasPrefix("#") ? String(channel.dropFirst()) : channel)
    }

    /// An incident's other posts to its announce channel (escalations, raises, resolutions, summaries): they
    /// wait for the incident's earlier messages and for each other, never the other way round, and never
    /// join a digest (only new incidents' announcements do).
    public static func announcePosts(channel: String) -> String {
        "announce-posts:" + (channel.hasPrefix("#") ? String(channel.dropFirst()) : channel)
    }

    /// Whether what waits in `queue` may be merged into one digest post: new incidents' announcements only.
    public static func isDigestible(_ queue: String?) -> Bool {
        queue?.hasPrefix("announce:") == true
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
    /// How many times a sender took this message before the current claim. Above zero, an earlier attempt
    /// may have reached the platform even when no failure was recorded (the sender crashed before it
    /// could record anything), so adapters look for their earlier post before posting again.
    public var previousClaims: Int
    /// When the current run of transient failures began (nil: the last attempt, if any, did not fail
    /// transiently). The sender gives up once it lasts `outbox.retryFor`.
    public var failingSince: Date?
    /// The queue key it waits in apart from its incident's (`NewOutboxMessage.queue`), if any.
    public var queue: String?
    /// The announcement whose digest post this one goes out in (its own id: it heads one). Set when the
    /// platform held an announcement back: it and what waited behind it are then posted as one digest.
    public var digestOf: Int64?

    /// Whether it heads a digest: it is posted as the digest, and its members are delivered with it.
    public var headsDigest: Bool { digestOf == id }

    /// The sender's queue this message waits in: its platform's, or the pager webhooks' own.
    public var lane: OutboxLane { action.lane(platform: platform) }

    /// Whether an earlier attempt may have reached the platform.
    public var mayHaveBeenSentBefore: Bool { previousClaims > 0 || attempts > 0 }

    public init(
        id: Int64, platform: PlatformKind, incidentID: IncidentID?, action: ChatAction, createdAt: Date, notBefore: Date, attempts: Int,
        state: OutboxState, platformMessageID: String?, lastError: String?, previousClaims: Int = 0, failingSince: Date? = nil,
        queue: String? = nil, digestOf: Int64? = nil
    ) {
        self.failingSince = failingSince
        self.queue = queue
        self.digestOf = digestOf
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
        self.previousClaims = previousClaims
    }
}

/// What a pager webhook receives (the JSON body is this value; docs/paging.md shows it). Everything the
/// gateway needs to reach people is in it, so it never has to call back into Klaxon.
public struct PagerNotice: Sendable, Hashable, Codable {
    /// Which `paging.webhooks` entry this goes to; its URL and secret are read from the config at delivery,
    /// so the outbox never holds the secret and a rotated secret applies to pending notices.
    public var webhook: String
    public var event: PagerEvent
    public var incident: IncidentSummary
    public var people: [PagedPerson]
    /// Why: "declared", "was not acknowledged within 5 min", "paged by Alice".
    public var reason: String
    /// The escalation step (1-based) for `escalation` events.
    public var escalationStep: Int?
    /// A plain-text line fit for an SMS.
    public var text: String
    public var at: Date

    public init(
        webhook: String, event: PagerEvent, incident: IncidentSummary, people: [PagedPerson], reason: String, escalationStep: Int? = nil, text: String, at: Date
    ) {
        self.webhook = webhook
        self.event = event
        self.incident = incident
        self.people = people
        self.reason = reason
        self.escalationStep = escalationStep
        self.text = text
        self.at = at
    }

    public struct IncidentSummary: Sendable, Hashable, Codable {
        public var id: String
        public var title: String
        public var severity: String
        public var status: String
        public var platform: String
        public var declaredAt: Date

        public init(id: String, title: String, severity: String, status: String, platform: String, declaredAt: Date) {
            self.id = id
            self.title = title
            self.severity = severity
            self.status = status
            self.platform = platform
            self.declaredAt = declaredAt
        }
    }

    /// A configured person, with what a gateway needs to call or text them.
    public struct PagedPerson: Sendable, Hashable, Codable {
        public var id: String
        public var name: String?
        public var phone: String?
        public var email: String?
        public var timezone: String?

        public init(id: String, name: String? = nil, phone: String? = nil, email: String? = nil, timezone: String? = nil) {
            self.id = id
            self.name = name
            self.phone = phone
            self.email = email
            self.timezone = timezone
        }
    }
}

/// What a Discord incoming webhook posts: plain text in the channel the webhook belongs to.
public struct DiscordPost: Sendable, Hashable, Codable {
    /// The `discord.webhooks[].id` whose URL (a secret: it holds the webhook's token) it goes to.
    public var webhook: String
    public var content: String

    public init(webhook: String, content: String) {
        self.webhook = webhook
        self.content = content
    }
}
