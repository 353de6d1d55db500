import Foundation

/// The kinds of durable timer. Each incident has at most one pending timer of each kind.
public enum TimerKind: String, Sendable, Codable, CaseIterable {
    /// No update for the severity's `updateEvery`.
    case updateReminder = "update_reminder"
    /// Nobody acknowledged within `ackWithin`: walk the escalation chain.
    case ackTimeout = "ack_timeout"
    /// Open longer than the severity's `escalateAfter`.
    case longRunning = "long_running"
    /// Resolved: close after the monitoring window.
    case monitoringWindow = "monitoring_window"
    /// Resolved: the post-incident review is due.
    case reviewReminder = "review_reminder"
    /// Alert news held back by `alerts.postEvery` is due to be posted, as one summary.
    case alertDigest = "alert_digest"
}

/// A timer to write, or to replace the pending one of the same kind for that incident.
public struct NewTimer: Sendable, Hashable {
    public var incidentID: IncidentID
    public var kind: TimerKind
    public var dueAt: Date
    /// Which step of a walk this is (escalation step, reminder count).
    public var step: Int

    public init(incidentID: IncidentID, kind: TimerKind, dueAt: Date, step: Int = 0) {
        self.incidentID = incidentID
        self.kind = kind
        self.dueAt = dueAt
        self.step = step
    }
}

/// A stored timer, as the scheduler claims it.
public struct ScheduledTimer: Sendable, Hashable {
    public var id: Int64
    public var incidentID: IncidentID
    public var kind: TimerKind
    public var dueAt: Date
    public var step: Int
    /// Set while a scheduler holds the timer; another may take it once the lease expires.
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?

    public init(id: Int64, incidentID: IncidentID, kind: TimerKind, dueAt: Date, step: Int, leaseOwner: String? = nil, leaseExpiresAt: Date? = nil) {
        self.id = id
        self.incidentID = incidentID
        self.kind = kind
        self.dueAt = dueAt
        self.step = step
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
    }
}
