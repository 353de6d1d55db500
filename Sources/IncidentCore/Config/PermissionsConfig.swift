/// Who may be granted an action in `permissions` (docs/permissions.md).
public enum Grantee: Sendable, Hashable, CustomStringConvertible {
    case anyone
    case person(String)
    case group(String)
    /// The holder of this role in the incident acted on.
    case role(IncidentRole)
    /// Whoever is on call now in any rotation.
    case oncall
    /// The incident's people: its declarer, whoever acknowledged it and its role holders.
    case members

    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first?.lowercased(), parts.count) {
        case ("anyone", 1): self = .anyone
        case ("oncall", 1): self = .oncall
        case ("members", 1): self = .members
        case ("person", 2): self = .person(parts[1])
        case ("group", 2): self = .group(parts[1])
        case ("role", 2):
            guard let role = IncidentRole.parse(parts[1]) else { return nil }
            self = .role(role)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .anyone: "anyone"
        case .person(let id): "person:\(id)"
        case .group(let name): "group:\(name)"
        case .role(let role): "role:\(role.rawValue)"
        case .oncall: "oncall"
        case .members: "members"
        }
    }
}

/// The actions `permissions` can restrict. `declare:<severity>` (e.g. `declare:sev1`) restricts declaring
/// at that level and, when present, replaces `declare` for it.
public enum PermissionAction {
    public static let names = [
        "declare", "ack", "update", "status", "set", "severity", "role", "note", "report", "mitigate", "resolve", "close", "reopen",
        "oncall.override", "page", "escalate", "type", "component", "action", "cadence",
    ]

    /// The permission keys that decide `command`, most specific first: the first one configured applies.
    public static func keys(for command: IncidentCommand, severity: String?) -> [String] {
        switch command {
        case .declare: (severity.map { ["declare:\($0)"] } ?? []) + ["declare"]
        case .oncall(.override): ["oncall.override"]
        case .oncall(.show), .oncall(.mention), .list, .timeline, .postmortem, .stats, .help, .statusCard, .set(_, nil): []
        default: [command.verb.rawValue]
        }
    }
}
