import Foundation
import IncidentCore

/// JSON shapes of the HTTP API. Kept apart from the core types so the API stays stable when they change.
struct IncidentView: Codable, Sendable {
    var id: String
    var number: Int
    var title: String
    var severity: String
    var status: String
    var platform: String
    var channelName: String
    var room: RoomView?
    var declaredBy: String
    var declaredAt: Date
    var acknowledgedAt: Date?
    var acknowledgedBy: String?
    var mitigatedAt: Date?
    var resolvedAt: Date?
    var closedAt: Date?
    var lastUpdateAt: Date
    var roles: [String: String]
    var resolution: String?
    /// The issue filed for it (`severities[].ticket`): `github:acme/api`, and its number and link once opened.
    var ticket: TicketView?
    /// `/incident set` facts by name (`impact`, `startedAt`…): text as shown; times also as `factTimes`.
    var facts: [String: String]?
    var factTimes: [String: Date]?
    var updatesPosted: Int
    var timeline: [TimelineView]?

    init(_ incident: Incident, timeline: [TimelineEntry]? = nil) {
        id = incident.id.description
        number = incident.id.number
        title = incident.title
        severity = incident.severity
        status = incident.status.rawValue
        platform = incident.platform.rawValue
        channelName = incident.channelName
        room = incident.room.map { RoomView(channelID: $0.channelID, threadID: $0.threadID) }
        declaredBy = incident.declaredBy.displayName
        declaredAt = incident.declaredAt
        acknowledgedAt = incident.acknowledgedAt
        acknowledgedBy = incident.acknowledgedBy?.displayName
        mitigatedAt = incident.mitigatedAt
        resolvedAt = incident.resolvedAt
        closedAt = incident.closedAt
        lastUpdateAt = incident.lastUpdateAt
        roles = Dictionary(uniqueKeysWithValues: incident.roles.map { ($0.key.rawValue, $0.value.displayName) })
        resolution = incident.resolution
        ticket = incident.ticket.map { TicketView(target: $0.target.description, number: $0.number, url: $0.url) }
        facts = incident.facts?.mapValues(\.text)
        let times = incident.facts?.compactMapValues(\.time) ?? [:]
        factTimes = times.isEmpty ? nil : times
        updatesPosted = incident.updateNumber
        self.timeline = timeline?.map(TimelineView.init)
    }
}

struct TicketView: Codable, Sendable {
    var target: String
    var number: Int?
    var url: String?
}

struct RoomView: Codable, Sendable {
    var channelID: String
    var threadID: String?
}

struct TimelineView: Codable, Sendable {
    var at: Date
    var kind: String
    var actor: String?
    var text: String

    init(_ entry: TimelineEntry) {
        at = entry.at
        kind = entry.kind.rawValue
        actor = entry.actor?.displayName
        text = entry.text
    }
}

struct MessageView: Codable, Sendable {
    var id: Int64
    var at: Date
    var channel: String
    var thread: String?
    var kind: String
    var text: String
}

/// `POST /api/commands`: a console command.
struct ConsoleCommandRequest: Codable, Sendable {
    /// What follows `/incident`.
    var text: String
    var user: String?
    var channel: String?
    var thread: String?
    /// A client-chosen key: the same request sent twice is processed once.
    var requestID: String?
}

struct ConsoleCommandResponse: Codable, Sendable {
    var reply: String
    var visibility: String
    var outcome: String
    var incident: String?
}

/// One audit line as `GET /api/audit` shows it (and `klaxon audit` reads it).
public struct AuditView: Codable, Sendable {
    public var id: Int64
    public var at: Date
    public var platform: String
    public var user: String
    public var userName: String?
    public var person: String?
    public var channel: String?
    public var text: String
    public var outcome: String
    public var reason: String?
    public var incident: String?
    public var remoteAddress: String?

    init(_ entry: AuditEntry) {
        id = entry.id ?? 0
        at = entry.at
        platform = entry.platform.rawValue
        user = entry.userID
        userName = entry.userName
        person = entry.personID
        channel = entry.channel
        text = entry.text
        outcome = entry.outcome
        reason = entry.reason
        incident = entry.incidentID?.description
        remoteAddress = entry.remoteAddress
    }
}
