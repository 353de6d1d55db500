import Foundation

/// The incident record of runbook 002 ("Incident Template"): `incident: {id, severity, title, started_at,
/// detected_by, resolved_at, impact, timeline, action_items}`, extended with what Klaxon knows besides
/// (status, component, roles, the lifecycle times, public updates). One Codable value, encoded as JSON or
/// YAML by the caller, so the two exports cannot drift apart. Times are ISO 8601 in UTC.
public struct IncidentRecord: Sendable, Codable, Hashable {
    public var incident: Body

    public struct Body: Sendable, Codable, Hashable {
        public var id: String
        public var severity: String
        public var title: String
        public var status: String
        public var startedAt: String
        /// `monitoring_alert` (opened by an alert source) or `person`.
        public var detectedBy: String
        /// When monitoring saw the problem start, where known.
        public var detectedAt: String?
        public var declaredBy: String
        public var acknowledgedAt: String?
        public var mitigatedAt: String?
        public var resolvedAt: String?
        public var closedAt: String?
        public var component: String?
        /// The `service` fact, where set.
        public var service: String?
        public var roles: [String: String]
        public var impact: Impact
        public var metrics: Metrics
        public var resolution: String?
        /// The `rootCause` and `fix` facts (`/incident set`), where set.
        public var rootCause: String?
        public var fix: String?
        public var lastKnownGood: String?
        public var timeline: [Line]
        public var publicUpdates: [Published]
        public var actionItems: [Action]

        enum CodingKeys: String, CodingKey {
            case id, severity, title, status
            case startedAt = "started_at"
            case detectedBy = "detected_by"
            case detectedAt = "detected_at"
            case declaredBy = "declared_by"
            case acknowledgedAt = "acknowledged_at"
            case mitigatedAt = "mitigated_at"
            case resolvedAt = "resolved_at"
            case closedAt = "closed_at"
            case component, service, roles, impact, metrics, resolution, timeline
            case rootCause = "root_cause"
            case fix
            case lastKnownGood = "last_known_good"
            case publicUpdates = "public_updates"
            case actionItems = "action_items"
        }
    }

    public struct Impact: Sendable, Codable, Hashable {
        public var durationMinutes: Int?
        /// The `impact` fact: what was broken for whom.
        public var description: String?
        /// The `usersAffected` fact.
        public var usersAffected: String?
        /// The last published status text: what customers were told.
        public var publicSummary: String?
        /// The `revenueLost` fact (002-22 "Revenue impact", 002-23 `revenue_lost`).
        public var revenueLost: String? = nil

        enum CodingKeys: String, CodingKey {
            case durationMinutes = "duration_minutes"
            case description
            case usersAffected = "users_affected"
            case publicSummary = "public_summary"
            case revenueLost = "revenue_lost"
        }
    }

    public struct Metrics: Sendable, Codable, Hashable {
        public var timeToAcknowledgeSeconds: Int?
        public var timeToMitigateSeconds: Int?
        public var timeToResolveSeconds: Int?
        public var timeToDetectSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case timeToAcknowledgeSeconds = "time_to_acknowledge_seconds"
            case timeToMitigateSeconds = "time_to_mitigate_seconds"
            case timeToResolveSeconds = "time_to_resolve_seconds"
            case timeToDetectSeconds = "time_to_detect_seconds"
        }
    }

    public struct Line: Sendable, Codable, Hashable {
        public var time: String
        public var kind: String
        public var event: String
    }

    public struct Published: Sendable, Codable, Hashable {
        public var time: String
        public var state: String
        public var text: String?
    }

    public struct Action: Sendable, Codable, Hashable {
        public var number: Int
        public var item: String
        public var owner: String?
        public var due: String?
        public var done: Bool
        /// The item's own issue, once the tracker opened it (an incident with a ticket target).
        public var issue: String?
    }

    public init(incident: Incident, timeline: [TimelineEntry]) {
        let stamp: (Date) -> String = { $0.formatted(.iso8601) }
        let durations = IncidentDurations(incident)
        let seconds: (TimeInterval?) -> Int? = { $0.map { Int($0.rounded()) } }
        self.incident = Body(
            id: incident.id.description, severity: incident.severity.uppercased(), title: incident.title, status: incident.status.rawValue,
            // The facts people set (`/incident set startedAt 14:05`) win over what Klaxon saw itself.
            startedAt: stamp(incident.fact(.startedAt)?.time ?? incident.declaredAt),
            detectedBy: incident.fact(.detectedBy)?.text ?? (incident.declaredBy.isAlertSource ? "monitoring_alert" : "person"),
            detectedAt: (incident.fact(.detectedAt)?.time ?? incident.detectionStart).map(stamp),
            declaredBy: incident.declaredBy.displayName,
            acknowledgedAt: incident.acknowledgedAt.map(stamp), mitigatedAt: incident.mitigatedAt.map(stamp),
            resolvedAt: incident.resolvedAt.map(stamp), closedAt: incident.closedAt.map(stamp),
            component: incident.statusComponent,
            service: incident.service,
            roles: Dictionary(uniqueKeysWithValues: incident.roles.map { ($0.key.rawValue, $0.value.displayName) }),
            impact: Impact(
                durationMinutes: incident.resolvedAt.map { Int(($0.timeIntervalSince(incident.declaredAt) / 60).rounded()) },
                description: incident.fact(.impact)?.text, usersAffected: incident.fact(.usersAffected)?.text,
                publicSummary: incident.publicUpdates?.last(where: { $0.text != nil })?.text,
                revenueLost: incident.fact(.revenueLost)?.text),
            metrics: Metrics(
                timeToAcknowledgeSeconds: seconds(durations.acknowledge), timeToMitigateSeconds: seconds(durations.mitigate),
                timeToResolveSeconds: seconds(durations.resolve), timeToDetectSeconds: seconds(durations.detect)),
            resolution: incident.resolution,
            rootCause: incident.fact(.rootCause)?.text, fix: incident.fact(.fix)?.text,
            lastKnownGood: incident.fact(.lastKnownGood).map { $0.time.map(stamp) ?? $0.text },
            timeline: timeline.map { Line(time: stamp($0.at), kind: $0.kind.rawValue, event: PlainText.fromMarkup($0.text)) },
            publicUpdates: (incident.publicUpdates ?? []).map { Published(time: stamp($0.at), state: $0.state.rawValue, text: $0.text) },
            actionItems: (incident.actionItems ?? []).map {
                Action(number: $0.number, item: $0.text, owner: $0.owner.map { "@" + ($0.name ?? $0.id) }, due: $0.due, done: $0.isDone, issue: $0.ticket?.url)
            })
    }
}

/// Timeline text carries the platforms' mention markup (`<@alice>`); documents read `@alice`.
enum PlainText {
    static func fromMarkup(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "<@") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: ">") else {
                rest = rest[open.lowerBound...]
                break
            }
            result += "@" + rest[open.upperBound..<close]
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
