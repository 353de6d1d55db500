import Foundation

/// `permissions`: who may do what (docs/permissions.md). Checked in `decide`, on the incident as the lane
/// read it, so "the IC of this incident" means the IC now. Alert sources are authenticated at their route
/// and not checked here.
extension IncidentEngine {
    /// The refusal of `command` for its author, or nil when allowed.
    func permissionRefusal(
        _ command: IncidentCommand, context: CommandContext, incident: Incident?, now: Date, overrides: [String: [OnCallOverride]]
    ) -> Decision? {
        guard !config.permissions.isEmpty, !context.user.isAlertSource else { return nil }
        guard let (key, grantees) = permissionRule(for: command) else { return nil }
        let person = config.personID(for: context.user, on: context.platform)
        let allowed = grantees.contains { grantee in
            grants(grantee, to: context.user, person: person, incident: incident, now: now, overrides: overrides)
        }
        guard !allowed else { return nil }
        let who = grantees.isEmpty ? "nobody" : grantees.map(\.description).joined(separator: ", ")
        return Decision(
            reply: CommandReply(
                text: "🚫 You may not \(key) here: `permissions.\(key)` allows \(who). Nothing changed.", incidentID: incident?.id),
            outcome: .denied)
    }

    /// The rule that decides `command`: its most specific configured key and who it grants.
    func permissionRule(for command: IncidentCommand) -> (key: String, grantees: [Grantee])? {
        var severity: String?
        if case .declare(let token, _, _) = command { severity = config.severity(named: token)?.id }
        for key in PermissionAction.keys(for: command, severity: severity) {
            if let grantees = config.permissions[key] { return (key, grantees) }
        }
        return nil
    }

    /// Whether `decide` needs the active on-call overrides for `command`: to page, to show the rotation,
    /// or to check an `oncall` permission.
    public func needsOnCall(_ command: IncidentCommand) -> Bool {
        Self.consultsOnCall(command) || (permissionRule(for: command)?.grantees.contains(.oncall) ?? false)
    }

    private func grants(
        _ grantee: Grantee, to user: ChatUser, person: String?, incident: Incident?, now: Date, overrides: [String: [OnCallOverride]]
    ) -> Bool {
        switch grantee {
        case .anyone:
            return true
        case .person(let id):
            return person == id
        case .group(let name):
            return person.map { config.groups[name]?.contains($0) ?? false } ?? false
        case .role(let role):
            return incident?.roles[role]?.id == user.id
        case .oncall:
            guard let person else { return false }
            return config.oncall.rotations.contains { rotation in
                schedule(of: rotation).onCall(at: now, overrides: overrides[rotation.id] ?? []).personID == person
            }
        case .members:
            guard let incident else { return false }
            let members = [incident.declaredBy, incident.acknowledgedBy].compactMap { $0 } + incident.roles.values
            return members.contains { $0.id == user.id }
        }
    }
}
