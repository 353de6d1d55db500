import Foundation

/// Turns who an escalation step names into the people to notify.
public enum EscalationResolver {
    /// Turns escalation targets into person ids: a rotation becomes whoever is on call for it at `date`
    /// (overrides applied), a person stays themself. Each person appears once, where they first appear.
    ///
    /// `overrides` maps rotation id → the overrides the store returns for that rotation, in creation
    /// order. `schedules`: the rotations' schedules made beforehand (`RotationSchedule.all`), by id. A
    /// rotation the config does not define is skipped: the config loader rejects such targets, so one can
    /// only appear if the config and the targets were built separately.
    public static func people(
        for targets: [NotifyTarget], config: OnCallConfig, schedules: [String: RotationSchedule] = [:], groups: [String: [String]] = [:], at date: Date,
        overrides: [String: [OnCallOverride]]
    ) -> [String] {
        var people: [String] = []
        var seen: Set<String> = []
        for target in targets {
            let personIDs: [String]
            switch target {
            case .person(let id):
                personIDs = [id]
            case .rotation(let id):
                guard let rotation = config.rotation(id: id) else { continue }
                personIDs = [RotationSchedule.of(rotation, in: schedules).onCall(at: date, overrides: overrides[id] ?? []).personID]
            case .group(let name):
                personIDs = groups[name] ?? []
            case .channel, .webhook, .discord:
                // Places, not people: delivered by the policy rules that name them.
                continue
            case .email:
                // Mailboxes, not people to page: `IncidentEngine.emailAddresses(for:)` reads these.
                continue
            }
            for personID in personIDs where seen.insert(personID).inserted { people.append(personID) }
        }
        return people
    }
}
