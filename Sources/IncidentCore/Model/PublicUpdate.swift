import Foundation

/// What the public is told an incident is doing: the four states of a status page (runbooks 000, 001,
/// 002 and 004 all walk Investigating → Identified → Monitoring → Resolved).
public enum PublicState: String, Sendable, Codable, CaseIterable, Comparable {
    case investigating, identified, monitoring, resolved

    /// The public face of an internal status: acknowledgement and mitigation are internal steps.
    public init(_ status: IncidentStatus) {
        switch status {
        case .declared, .acknowledged, .investigating: self = .investigating
        // Mitigating: the cause is known and a fix is going out; the public is told it is identified.
        case .identified, .mitigating: self = .identified
        case .monitoring, .mitigated: self = .monitoring
        case .resolved, .closed: self = .resolved
        }
    }

    public var label: String {
        switch self {
        case .investigating: "Investigating"
        case .identified: "Identified"
        case .monitoring: "Monitoring"
        case .resolved: "Resolved"
        }
    }

    public static func < (lhs: PublicState, rhs: PublicState) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One published status change (`/incident status identified "Root cause found"`): the only text of an
/// incident that the status page, its feed and the status webhooks ever show.
public struct PublicUpdate: Sendable, Codable, Hashable {
    public var at: Date
    public var state: PublicState
    /// The public text as typed; nil when only the state was published.
    public var text: String?

    public init(at: Date, state: PublicState, text: String?) {
        self.at = at
        self.state = state
        self.text = text
    }
}

/// A follow-up from the review (`/incident action "Add connection pool alert" @bob due 2026-12-20`).
public struct ActionItem: Sendable, Codable, Hashable {
    /// 1-based within the incident: `/incident action done 2`.
    public var number: Int
    public var text: String
    public var owner: ChatUser?
    /// A calendar day, `YYYY-MM-DD`, as typed (a due date has no time zone).
    public var due: String?
    public var createdAt: Date
    public var doneAt: Date?
    /// Its own issue, when the incident has a ticket target: the target at once, the number and link once
    /// the tracker answered (`IncidentStore.setTicket(_:forActionItem:of:)`).
    public var ticket: TicketLink?

    public init(number: Int, text: String, owner: ChatUser?, due: String?, createdAt: Date, doneAt: Date? = nil, ticket: TicketLink? = nil) {
        self.number = number
        self.text = text
        self.owner = owner
        self.due = due
        self.createdAt = createdAt
        self.doneAt = doneAt
        self.ticket = ticket
    }

    public var isDone: Bool { doneAt != nil }
}

extension Incident {
    /// Whether anything of this incident was published: an incident nobody ran `/incident status` for
    /// stays off the status page (a private incident, or one not worth telling customers about).
    public var isPublished: Bool { !(publicUpdates ?? []).isEmpty }

    /// The status-page component the incident affects.
    ///
    /// Today: what `/incident component <name>` set. Incidents that name their `service` (a structured
    /// fact, issue 14) will default to it here: this is the one place that choice belongs.
    public var statusComponent: String? { component }

    /// When the problem began, as far as Klaxon knows: the alerts' start. A `detectedAt` fact set by hand
    /// (issue 14) belongs here too; time to detection counts from this to the declaration.
    public var detectionStart: Date? { alertStartedAt }
}
