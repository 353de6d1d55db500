import Foundation

/// What a delivered outbox message left behind on the platform.
public struct Delivery: Sendable, Hashable {
    /// The platform's id of the posted message (Slack `ts`, Rocket.Chat `_id`), kept so it is never sent twice.
    public var platformMessageID: String?
    /// For `openRoom`: the incident's channel or thread, now that it exists.
    public var room: Conversation?
    /// For a ticket's opening: the issue, now that it exists.
    public var ticket: TicketLink?

    public init(platformMessageID: String? = nil, room: Conversation? = nil, ticket: TicketLink? = nil) {
        self.platformMessageID = platformMessageID
        self.room = room
        self.ticket = ticket
    }
}

/// Why a delivery failed, which decides what the outbox sender does next.
public enum DeliveryFailure: Error, Sendable, Hashable {
    /// The platform said "slow down" (HTTP 429): try again after this many seconds.
    case rateLimited(retryAfter: TimeInterval)
    /// Worth retrying with backoff: 5xx, time-outs, connection errors.
    case transient(String)
    /// The platform refuses our credentials (`invalid_auth`, `token_revoked`, HTTP 401/403): nothing
    /// of this platform can go out until an admin acts, but nothing is wrong with the message. The outbox
    /// parks the platform's whole queue and probes it, instead of throwing messages away.
    case unauthorized(String)
    /// Retrying cannot help this message (`channel_not_found`, `is_archived`): it goes to the dead letters.
    case permanent(String)
}

/// One chat platform's outbound side. Adapters translate a platform-neutral `ChatAction` into their API.
///
/// Text uses Klaxon's neutral markup: `<@ID>` mentions a user by platform id; `<#room>` links the
/// incident's room. Each adapter renders both in its own syntax.
public protocol ChatPlatform: Sendable {
    var kind: PlatformKind { get }
    /// Delivers one message. `incident` is the message's incident as stored now (its `room` is set once
    /// `openRoom` was delivered). Must be safe to call again for the same message id after a crash.
    func deliver(_ message: OutboxMessage, incident: Incident?) async throws(DeliveryFailure) -> Delivery
    /// How a post links `incident`'s room where `<#room>` cannot (a digest lists several incidents).
    func roomLink(of incident: Incident) -> String
}

extension ChatPlatform {
    /// `#incident-2026-12-07-001`: the channel's name, which most platforms link or at least show.
    public func roomLink(of incident: Incident) -> String { "#\(incident.channelName)" }
}

/// The outbox's other clients (pager and status webhooks, Discord, email): each delivers one kind of item,
/// answering as a chat platform does. The implementations live in Platforms; the outbox sender needs only this.
public protocol OutboxClient<Item>: Sendable {
    associatedtype Item: Sendable
    /// `outboxID` is the message's id, which receivers use to drop a repeat after a lost answer.
    func deliver(_ item: Item, outboxID: Int64) async throws(DeliveryFailure) -> Delivery
}

/// The ticket tracker (GitHub issues): it reads the incident's ticket for comments and closes, and looks for
/// an earlier opening when the message may have been sent before.
public protocol TicketClient: Sendable {
    func deliver(_ action: TicketAction, incident: Incident?, mayHaveBeenSentBefore: Bool) async throws(DeliveryFailure) -> Delivery
}
