import Foundation

/// The kinds of durable timer. Each incident has at most one pending timer of each kind and `rule`: one
/// for each built-in kind, one per policy rule for `policyRule`.
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
    /// One policy rule (a notification rule, a checkpoint, the response clock) is due; `rule` says which.
    case policyRule = "policy_rule"
}

/// A timer to write, or to replace the pending one of the same kind for that incident.
public struct NewTimer: Sendable, Hashable {
    public var incidentID: IncidentID
    public var kind: TimerKind
    public var dueAt: Date
    /// Which step of a walk this is (escalation step, reminder count, repetition of a rule).
    public var step: Int
    /// Which policy rule (`PolicyRules.Armed.key`) a `policyRule` timer is for; empty for the other kinds.
    public var rule: String

    public init(incidentID: IncidentID, kind: TimerKind, dueAt: Date, step: Int = 0, rule: String = "") {
        self.incidentID = incidentID
        self.kind = kind
        self.dueAt = dueAt
        self.step = step
        self.rule = rule
    }
}

/// A stored timer, as the scheduler claims it.
public struct ScheduledTimer: Sendable, Hashable {
    public var id: Int64
    public var incidentID: IncidentID
    public var kind: TimerKind
    public var dueAt: Date
    public var step: Int
    /// See `NewTimer.rule`.
    public var rule: String
    /// Set while a scheduler holds the timer; another may take it once the lease expires.
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?

    public init(
        id: Int64, incidentID: IncidentID, kind: TimerKind, dueAt: Date, step: Int, rule: String = "", leaseOwner: String? = nil, leaseExpiresAt: Date? = nil
    ) {
        self.id = id
        self.incidentID = incidentID
        self.kind = kind
        self.dueAt = dueAt
        self.step = step
        self.rule = rule
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
    }
}
