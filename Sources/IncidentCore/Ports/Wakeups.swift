/// What the daemon's parts tell each other so a waiting worker wakes at once instead of on its next
/// recheck. One value, built where the daemon is wired, is shared by the command service, the platform
/// adapters and their inbound workers; each says what happened, and the wiring decides whom it wakes.
public struct Wakeups: Sendable {
    public enum Event: Sendable {
        /// A change set was committed through the command service.
        case committed(ChangeSet)
        /// Outbox messages were committed outside the command service (a reply an adapter wrote itself).
        case outboxQueued
        /// A command changed who is on call (`oncall override`).
        case onCallChanged
        /// A page reached someone directly, so whoever follows the on-call (Slack's user group) may look again.
        case pageDelivered
    }

    private let handler: @Sendable (Event) -> Void

    public init(_ handler: @escaping @Sendable (Event) -> Void) {
        self.handler = handler
    }

    /// Tells nobody: for parts run alone (tests, tools).
    public static let none = Wakeups { _ in }

    public func send(_ event: Event) {
        handler(event)
    }
}
