import Foundation

/// Where an incident is in its life. The order of the cases is the order of a normal incident.
public enum IncidentStatus: String, Sendable, Codable, CaseIterable, Comparable {
    /// `mitigating` (001-12 "Status: <investigating / mitigating / monitoring>"): a mitigation is being
    /// applied. It is a word of the status, not the mitigation itself: `/incident mitigate` sets `mitigated`
    /// and the time that MTTM counts to.
    case declared, acknowledged, investigating, identified, mitigating, monitoring, mitigated, resolved, closed

    /// Statuses that `/incident status <x>` may set directly.
    public static let settableByStatusCommand: [IncidentStatus] = [.investigating, .identified, .mitigating, .monitoring, .resolved]

    public var isOpen: Bool { self < .resolved }

    public var label: String {
        switch self {
        case .declared: "Declared"
        case .acknowledged: "Acknowledged"
        case .investigating: "Investigating"
        case .identified: "Identified"
        case .mitigating: "Mitigating"
        case .monitoring: "Monitoring"
        case .mitigated: "Mitigated"
        case .resolved: "Resolved"
        case .closed: "Closed"
        }
    }

    public static func < (lhs: IncidentStatus, rhs: IncidentStatus) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// The runbooks' incident roles.
public enum IncidentRole: String, Sendable, Codable, CaseIterable {
    case commander = "ic"
    case techLead = "lead"
    case comms
    case scribe
    /// Who writes the post-mortem (001-18 "authors: [<names>]"): named in the summary and the post-mortem,
    /// and reminded by name when the review falls due.
    case author

    public var label: String {
        switch self {
        case .commander: "Incident Commander"
        case .techLead: "Tech Lead"
        case .comms: "Communications Lead"
        case .scribe: "Scribe"
        case .author: "Post-mortem author"
        }
    }

    /// The words people type for each role.
    public static func parse(_ word: String) -> IncidentRole? {
        switch word.lowercased() {
        case "ic", "commander", "incident-commander", "incidentcommander", "lead-ic": .commander
        case "lead", "tech", "techlead", "tech-lead", "tl": .techLead
        case "comms", "comm", "communications", "communication", "comms-lead": .comms
        case "scribe", "notes", "notetaker": .scribe
        case "author", "postmortem", "post-mortem", "writer": .author
        default: nil
        }
    }
}

/// One incident, as stored. Changes go through `IncidentEngine`, which returns a new value; the store
/// refuses a write whose `revision` is stale, so two replicas cannot overwrite each other.
public struct Incident: Sendable, Codable, Hashable {
    public var id: IncidentID
    public var title: String
    public var severity: String
    public var status: IncidentStatus
    /// The platform the incident was declared on; all of its messages go there.
    public var platform: PlatformKind
    /// Where `declare` was typed.
    public var origin: Conversation
    /// The channel name Klaxon asked for (`incident-2025-11-10-001`).
    public var channelName: String
    /// The incident's own channel or thread, once the platform has created it.
    public var room: Conversation?
    public var declaredBy: ChatUser
    public var declaredAt: Date
    public var acknowledgedAt: Date?
    public var acknowledgedBy: ChatUser?
    public var mitigatedAt: Date?
    public var resolvedAt: Date?
    public var closedAt: Date?
    /// The last `update` (or the declaration): reminders count from here.
    public var lastUpdateAt: Date
    public var roles: [IncidentRole: ChatUser]
    /// The last public status text (`status identified "Root cause found"`).
    public var publicStatus: String?
    public var resolution: String?
    /// How far along the escalation chain the incident has been notified (0: the first step, paged on declare).
    public var escalationLevel: Int
    /// When on-call was first paged (at declaration, or when the severity was raised to one that pages):
    /// the acknowledgement clock runs from here. Nil in incidents stored before it was recorded.
    public var pagedAt: Date? = nil
    /// How many updates (`update`, `status`) were posted; nil in incidents stored before they were counted.
    /// Kept so "Update #n" can be numbered, and so every update is a change of the incident.
    public var updatesPosted: Int? = nil
    /// The alert group that opened or feeds the incident, with each alert's last status.
    public var alertGroup: AlertGroupState? = nil
    /// When reports (newly firing alerts, `/incident report`) came in, within the storm rule's window.
    public var recentReports: [Date]? = nil
    /// When the storm rule last raised the severity: once per window.
    public var stormRaisedAt: Date? = nil
    /// The incident type (`incidentTypes[].id`: `security`, `data-loss`), whose rules add to the severity's.
    public var type: String? = nil
    /// The issue filed for the incident (`severities[].ticket`): its target from the declaration, its
    /// number and link once the tracker answered (`IncidentStore.setTicket`).
    public var ticket: TicketLink? = nil
    /// The status-page component it affects (`/incident component api`); see `statusComponent`.
    public var component: String? = nil
    /// What was published about it, oldest first (`/incident status <state> "text"`): nil or empty for an
    /// incident never published.
    public var publicUpdates: [PublicUpdate]? = nil
    /// Follow-ups from the review (`/incident action …`), numbered from 1.
    public var actionItems: [ActionItem]? = nil
    /// When the monitoring system saw the problem start (the earliest `startsAt` of the alerts that opened
    /// the incident); see `detectionStart`.
    public var alertStartedAt: Date? = nil
    /// The structured facts (`IncidentFact` raw value → value) set with `/incident set`; nil in incidents
    /// stored before there were facts, or with none set.
    public var facts: [String: FactValue]? = nil
    /// The update cadence the IC set for this incident (`/incident cadence 10m`, 002-15), in seconds, over
    /// the severity's `updateEvery`; 0: no update reminders; nil: the severity's.
    public var updateCadenceSeconds: Int64? = nil
    /// Bumped on every write; the store compares it.
    public var revision: Int

    public init(
        id: IncidentID, title: String, severity: String, status: IncidentStatus = .declared,
        platform: PlatformKind, origin: Conversation, channelName: String, room: Conversation? = nil,
        declaredBy: ChatUser, declaredAt: Date, acknowledgedAt: Date? = nil, acknowledgedBy: ChatUser? = nil,
        mitigatedAt: Date? = nil, resolvedAt: Date? = nil, closedAt: Date? = nil, lastUpdateAt: Date? = nil,
        roles: [IncidentRole: ChatUser] = [:], publicStatus: String? = nil, resolution: String? = nil,
        escalationLevel: Int = 0, revision: Int = 0
    ) {
        self.id = id
        self.title = title
        self.severity = severity
        self.status = status
        self.platform = platform
        self.origin = origin
        self.channelName = channelName
        self.room = room
        self.declaredBy = declaredBy
        self.declaredAt = declaredAt
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
        self.mitigatedAt = mitigatedAt
        self.resolvedAt = resolvedAt
        self.closedAt = closedAt
        self.lastUpdateAt = lastUpdateAt ?? declaredAt
        self.roles = roles
        self.publicStatus = publicStatus
        self.resolution = resolution
        self.escalationLevel = escalationLevel
        self.revision = revision
    }

    public var isOpen: Bool { status.isOpen }

    /// The number of the last update posted (0: none yet).
    public var updateNumber: Int { updatesPosted ?? 0 }

    /// Who a reminder speaks to: the IC, else the declarer.
    public var owner: ChatUser { roles[.commander] ?? declaredBy }
}

/// What kind of line a timeline entry is.
public enum TimelineKind: String, Sendable, Codable, CaseIterable {
    case declared, acknowledged, update, status, severity, role, note, mitigated, resolved, closed, reopened
    case page, escalation, reminder, postmortem, alert, report
    /// The incident type was set (`/incident type security`).
    case type
    /// A structured fact was set (`/incident set impact …`).
    case fact
}

/// One dated line of an incident's timeline.
public struct TimelineEntry: Sendable, Codable, Hashable {
    public var incidentID: IncidentID
    public var at: Date
    public var kind: TimelineKind
    public var actor: ChatUser?
    public var text: String

    public init(incidentID: IncidentID, at: Date, kind: TimelineKind, actor: ChatUser?, text: String) {
        self.incidentID = incidentID
        self.at = at
        self.kind = kind
        self.actor = actor
        self.text = text
    }
}
