import Foundation

/// The lifecycle event a rule's `at` is counted from.
public enum PolicyAnchor: String, Sendable, Hashable, CaseIterable {
    case declared, acknowledged, lastUpdate, mitigated, resolved

    /// When it happened to `incident`, if it has.
    public func time(in incident: Incident) -> Date? {
        switch self {
        case .declared: incident.declaredAt
        case .acknowledged: incident.acknowledgedAt
        case .lastUpdate: incident.lastUpdateAt
        case .mitigated: incident.mitigatedAt
        case .resolved: incident.resolvedAt
        }
    }
}

/// What keeps a due rule quiet (`unless`) or lets it act (`if`).
public indirect enum PolicyCondition: Sendable, Hashable, CustomStringConvertible {
    case acknowledged
    case mitigated
    case resolved
    /// An update (`update`, `status`) was posted after the event the rule counts from.
    case updated
    /// `role:ic assigned`: someone holds the role.
    case roleAssigned(IncidentRole)
    /// `public-facing`: the public sees the incident (000-04 "if public-facing"): its `publicFacing` fact
    /// says yes, or, that fact unset, it was published on the status page.
    case publicFacing
    /// `severity:p0`: the incident is of this severity (004-25 "if major outage").
    case severity(String)
    /// `type:security`: the incident is of this type (004-25 "or security").
    case type(String)
    /// `{"anyOf": [...]}`: one of them holds (004-25 "if major outage or security").
    case anyOf([PolicyCondition])
    /// `{"allOf": [...]}`: all of them hold.
    case allOf([PolicyCondition])

    /// `acknowledged`, `mitigated`, `resolved`, `updated`, `public-facing`, `role:<ic|lead|comms|scribe|author>
    /// assigned`, `severity:<id>`, `type:<id>`. The groups (`anyOf`, `allOf`) are JSON objects, read by the
    /// config loader.
    public init?(parsing text: String) {
        let words = text.lowercased().split(separator: " ").map(String.init)
        switch words.count {
        case 1 where words[0].hasPrefix("severity:") && words[0].count > 9:
            self = .severity(String(words[0].dropFirst(9)))
        case 1 where words[0].hasPrefix("type:") && words[0].count > 5:
            self = .type(String(words[0].dropFirst(5)))
        case 1:
            switch words[0] {
            case "acknowledged", "acked": self = .acknowledged
            case "mitigated": self = .mitigated
            case "resolved": self = .resolved
            case "updated": self = .updated
            case "public-facing", "public", "publicfacing", "user-facing", "customer-facing": self = .publicFacing
            default: return nil
            }
        case 1 where words[0].hasPrefix("severity:") && words[0].count > 9:
            self = .severity(String(words[0].dropFirst(9)))
        case 1 where words[0].hasPrefix("type:") && words[0].count > 5:
            self = .type(String(words[0].dropFirst(5)))
        case 2 where words[0].hasPrefix("role:") && words[1] == "assigned":
            guard let role = IncidentRole.parse(String(words[0].dropFirst(5))) else { return nil }
            self = .roleAssigned(role)
        default:
            return nil
        }
    }

    public var description: String {
        switch self {
        case .acknowledged: "acknowledged"
        case .mitigated: "mitigated"
        case .resolved: "resolved"
        case .updated: "updated"
        case .roleAssigned(let role): "role:\(role.rawValue) assigned"
        case .publicFacing: "public-facing"
        case .severity(let id): "severity:\(id)"
        case .type(let id): "type:\(id)"
        case .anyOf(let conditions): "any of (\(conditions.map(\.description).joined(separator: ", ")))"
        case .allOf(let conditions): "all of (\(conditions.map(\.description).joined(separator: ", ")))"
        }
    }

    /// The plain conditions it is made of: itself, or those inside its groups.
    public var leaves: [PolicyCondition] {
        switch self {
        case .anyOf(let conditions), .allOf(let conditions): conditions.flatMap(\.leaves)
        default: [self]
        }
    }

    /// Whether it holds for `incident`; `since` is when the rule's event happened.
    public func holds(for incident: Incident, since: Date) -> Bool {
        switch self {
        case .acknowledged: incident.acknowledgedAt != nil
        case .mitigated: incident.mitigatedAt != nil
        case .resolved: incident.resolvedAt != nil
        case .updated: incident.lastUpdateAt > since
        case .roleAssigned(let role): incident.roles[role] != nil
        case .publicFacing: incident.isPublicFacing
        case .severity(let id): incident.severity == id
        case .type(let id): incident.type == id
        case .anyOf(let conditions): conditions.contains { $0.holds(for: incident, since: since) }
        case .allOf(let conditions): conditions.allSatisfy { $0.holds(for: incident, since: since) }
        }
    }
}

/// One timed rule of the policy: `at` after `from`, notify `notify` and/or post `say`, unless one of
/// `unless` holds; again every `repeat` while it still applies. Notification rules, checkpoints and the
/// response clock are all rules, each with its own durable timer.
public struct PolicyRule: Sendable, Hashable, Decodable {
    /// Unique within its list; names the rule's timer (`PolicyRule.Key`) and appears in the timeline.
    public var id: String
    public var at: Deadline
    public var from: PolicyAnchor
    public var notify: [NotifyTarget]
    public var unless: [PolicyCondition]
    /// `if`: the rule acts only while all of these hold at its due time (000-04: P2 updates "if
    /// public-facing"). Unlike `unless`, a rule kept quiet by `if` keeps repeating, so it speaks once its
    /// condition comes true.
    /// Optional rather than defaulted: the loader finds defaults by JSON key, and `if` is no Swift name.
    public var onlyIf: [PolicyCondition]? = nil
    public var repeatEvery: TimeSpan?
    /// Posted in the incident room (a mustache template with the incident's values); also the body of the
    /// email its `email:` targets get.
    public var say: String?
    /// The subject of that email (mustache); by default `[SEV1] INC-7 <title>`.
    public var subject: String? = nil

    public init(
        id: String, at: Deadline, from: PolicyAnchor = .declared, notify: [NotifyTarget] = [], unless: [PolicyCondition] = [],
        onlyIf: [PolicyCondition]? = nil, repeatEvery: TimeSpan? = nil, say: String? = nil, subject: String? = nil
    ) {
        self.id = id
        self.at = at
        self.from = from
        self.notify = notify
        self.unless = unless
        self.onlyIf = onlyIf
        self.repeatEvery = repeatEvery
        self.say = say
        self.subject = subject
    }

    /// The keys of `notify[]` and `checkpoints[]` entries (`repeat` is a Swift keyword).
    enum CodingKeys: String, CodingKey {
        case id, at, from, notify, unless, onlyIf = "if", repeatEvery = "repeat", say, subject
    }
}
