import Foundation

extension IncidentEngine {
    /// Who the first step of the escalation chain names: the people paged when an incident is declared.
    var firstEscalationTargets: [NotifyTarget] {
        config.oncall.escalation.first?.notify ?? config.oncall.rotations.prefix(1).map { .rotation($0.id) }
    }

    /// The chat users behind escalation targets on one platform. People without an identity on that
    /// platform are left out (the console platform uses person ids as names).
    func people(for targets: [NotifyTarget], on platform: PlatformKind, at date: Date, overrides: [String: [OnCallOverride]]) -> [ChatUser] {
        EscalationResolver.people(for: targets, config: config.oncall, at: date, overrides: overrides)
            .compactMap { chatUser(person: $0, on: platform) }
    }

    /// A configured person as a user of `platform`.
    public func chatUser(person id: String, on platform: PlatformKind) -> ChatUser? {
        let person = config.people[id]
        guard let identity = person?.identity(on: platform) ?? (platform == .console ? id : nil) else { return nil }
        return ChatUser(id: identity, name: person?.name ?? id)
    }

    /// Mentions in the room, a direct message to each, and a timeline line.
    func page(_ users: [ChatUser], reason: String, in transition: inout Transition) {
        guard !users.isEmpty else {
            transition.log(.page, "Nobody could be paged on \(transition.incident.platform) (\(reason))")
            transition.post(.incidentRoom, "⚠️ Nobody could be paged for \(transition.incident.id) on \(transition.incident.platform): check `people` and `oncall` in bot-config.json.")
            return
        }
        var values = self.values(transition.incident, now: transition.now)
        values["mentions"] = users.map(mention).joined(separator: ", ")
        let text = templates.render("page", values)
        transition.log(.page, "Paged \(users.map(mention).joined(separator: ", ")) (\(reason))")
        transition.post(.incidentRoom, text)
        for user in users {
            transition.post(.direct(userID: user.id), text)
        }
    }

    /// Notifies one escalation step: room, announce channel and direct messages.
    func escalate(to users: [ChatUser], level: Int, reason: String, in transition: inout Transition) {
        var values = self.values(transition.incident, now: transition.now)
        values["mentions"] = users.isEmpty ? "nobody reachable" : users.map(mention).joined(separator: ", ")
        values["reason"] = reason
        let text = templates.render("escalation", values)
        transition.log(.escalation, "Escalation step \(level + 1): \(values["mentions"]!) (\(reason))")
        transition.post(.incidentRoom, text)
        transition.post(.announce, text)
        for user in users {
            transition.post(.direct(userID: user.id), text)
        }
        if !users.isEmpty { transition.send(.invite(userIDs: users.map(\.id))) }
    }

    /// The step after `level`, staying on the last step once the chain is walked.
    func nextEscalation(after level: Int, platform: PlatformKind, at date: Date, overrides: [String: [OnCallOverride]]) -> (Int, [ChatUser])? {
        let chain = config.oncall.escalation
        guard !chain.isEmpty else { return nil }
        let next = min(level + 1, chain.count - 1)
        return (next, people(for: chain[next].notify, on: platform, at: date, overrides: overrides))
    }
}
