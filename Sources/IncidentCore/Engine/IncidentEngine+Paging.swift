import Foundation

/// Who a page reaches: the configured people behind it (pager webhooks call them whatever platform the
/// incident is on) and those of them who are users of the incident's platform (mentions, DMs, invites).
struct Recipients {
    var personIDs: [String]
    var users: [ChatUser]
    /// Mailboxes the targets name (`email:` targets), each once.
    var emails: [String] = []
    /// The same targets as chat may show them: a person's or group's name, never their address
    /// (contact details stay out of chat, as for pager webhooks).
    var emailLabels: [String] = []

    static let nobody = Recipients(personIDs: [], users: [])
}

extension IncidentEngine {
    /// Who the first step of the severity's escalation chain names: the people paged when it is declared.
    func firstEscalationTargets(severity: String) -> [NotifyTarget] {
        config.escalationChain(for: severity).first?.notify ?? config.oncall.rotations.prefix(1).map { .rotation($0.id) }
    }

    /// How long the first page waits for an acknowledgement before the chain's second step: the
    /// severity's `ackWithin`, else (with a chain of its own) that step's `after`. nil: no walk.
    func firstAcknowledgementWait(_ policy: SeverityPolicy) -> TimeSpan? {
        if let ackWithin = policy.ackWithin { return ackWithin }
        guard let chain = policy.escalation, chain.count > 1 else { return nil }
        return chain[1].after
    }

    /// The people behind escalation targets, and their chat users on one platform. People without an
    /// identity on that platform have no chat user (the console platform uses person ids as names).
    func recipients(for targets: [NotifyTarget], on platform: PlatformKind, at date: Date, overrides: [String: [OnCallOverride]]) -> Recipients {
        let personIDs = EscalationResolver.people(
            for: targets, config: config.oncall, schedules: schedules, groups: config.groups, at: date, overrides: overrides)
        return Recipients(
            personIDs: personIDs, users: personIDs.compactMap { chatUser(person: $0, on: platform) }, emails: emailAddresses(for: targets),
            emailLabels: emailLabels(for: targets))
    }

    /// A chat user paged by hand (`/incident page @bob`), with the person they are, if configured.
    func recipients(user: ChatUser, on platform: PlatformKind) -> Recipients {
        Recipients(personIDs: config.personID(for: user, on: platform).map { [$0] } ?? [], users: [user])
    }

    /// A configured person as a user of `platform`.
    public func chatUser(person id: String, on platform: PlatformKind) -> ChatUser? {
        let person = config.people[id]
        guard let identity = person?.identity(on: platform) ?? (platform == .console ? id : nil) else { return nil }
        return ChatUser(id: identity, name: person?.name ?? id)
    }

    /// Mentions in the room, a direct message to each, a pager webhook notice, and a timeline line.
    func page(_ recipients: Recipients, reason: String, in transition: inout Transition) {
        let users = recipients.users
        notifyPagers(.page, people: recipients.personIDs, reason: reason, in: &transition)
        notifyByEmail(recipients, template: "page", reason: reason, in: &transition)
        // Mail alone is a page too: the warning is for a page that reached no one at all.
        if users.isEmpty, !recipients.emails.isEmpty { return }
        guard !users.isEmpty else {
            transition.log(.page, "Nobody could be paged on \(transition.incident.platform) (\(reason))")
            transition.post(
                .incidentRoom,
                "⚠️ Nobody could be paged for \(transition.incident.id) on \(transition.incident.platform): check `people` and `oncall` in bot-config.json.")
            return
        }
        var values = self.values(transition.incident, now: transition.now)
        values["mentions"] = users.map(mention).joined(separator: ", ")
        let text = render("page", values, for: transition.incident)
        transition.log(.page, "Paged \(users.map(mention).joined(separator: ", ")) (\(reason))")
        transition.post(.incidentRoom, text)
        for user in users {
            transition.post(.direct(userID: user.id), text)
        }
    }

    /// Notifies one escalation step: room, announce channel, direct messages and pager webhooks.
    func escalate(to recipients: Recipients, level: Int, reason: String, in transition: inout Transition) {
        let users = recipients.users
        var values = self.values(transition.incident, now: transition.now)
        let reached = users.map(mention) + recipients.emailLabels.map { "\($0) (email)" }
        values["mentions"] = reached.isEmpty ? "nobody reachable" : reached.joined(separator: ", ")
        values["reason"] = reason
        let text = render("escalation", values, for: transition.incident)
        transition.log(.escalation, "Escalation step \(level + 1): \(values["mentions"]!) (\(reason))")
        transition.post(.incidentRoom, text)
        transition.post(.announce, text)
        for user in users {
            transition.post(.direct(userID: user.id), text)
        }
        if !users.isEmpty { transition.send(.invite(userIDs: users.map(\.id))) }
        notifyPagers(.escalation, people: recipients.personIDs, reason: reason, escalationStep: level + 1, in: &transition)
        notifyByEmail(recipients, template: "escalation", reason: reason, in: &transition)
    }

    /// The step after `level` of the severity's chain, staying on the last step once the chain is walked.
    func nextEscalation(after level: Int, severity: String, platform: PlatformKind, at date: Date, overrides: [String: [OnCallOverride]]) -> (Int, Recipients)?
    {
        let chain = config.escalationChain(for: severity)
        guard !chain.isEmpty else { return nil }
        let next = min(level + 1, chain.count - 1)
        return (next, recipients(for: chain[next].notify, on: platform, at: date, overrides: overrides))
    }

    /// One outbox message per pager webhook that wants `event` for this incident's severity. Pages and
    /// escalations with nobody to reach are not sent: a gateway cannot call nobody. The messages carry no
    /// incident id, so that a slow gateway never holds up the incident's chat messages (and vice versa).
    ///
    /// `only`: the webhooks a policy rule names (`webhook:<id>`), told whatever their filters say and even
    /// with nobody to call (a gateway that posts to a status page or a team phone).
    /// `except`: webhooks told separately (a rule naming them), so they are not told twice.
    func notifyPagers(
        _ event: PagerEvent, people personIDs: [String], reason: String, escalationStep: Int? = nil, only named: [String]? = nil,
        except excluded: [String] = [], in transition: inout Transition
    ) {
        let incident = transition.incident
        let webhooks =
            (named.map { ids in (config.paging.webhooks + config.ruleWebhookReceivers).filter { ids.contains($0.id) } }
            ?? config.paging.webhooks(for: event, severity: incident.severity))
            .filter { !excluded.contains($0.id) }
        guard !webhooks.isEmpty else { return }
        if named == nil, event == .page || event == .escalation, personIDs.isEmpty { return }
        let people = personIDs.map { id in
            let person = config.people[id]
            return PagerNotice.PagedPerson(id: id, name: person?.name, phone: person?.phone, email: person?.email, timezone: person?.timezone)
        }
        let summary = PagerNotice.IncidentSummary(
            id: incident.id.description, title: incident.title, severity: incident.severity, status: incident.status.rawValue,
            platform: incident.platform.rawValue, declaredAt: incident.declaredAt)
        let text = pagerText(event, incident: incident, reason: reason)
        var notified: [String] = []
        for webhook in webhooks {
            var called = people
            // Pages and escalations call people; a person called too recently through this webhook is
            // left out, and the room is told (they were still paged in chat).
            if event == .page || event == .escalation {
                var throttled: [String] = []
                called = people.filter { person in
                    guard let refusal = pageThrottle.refusal(webhook: webhook.id, person: person.id, at: transition.now) else { return true }
                    throttled.append("\(person.name ?? person.id): \(refusal)")
                    return false
                }
                if !throttled.isEmpty {
                    let line = "Pager webhook \(webhook.id) throttled for \(throttled.joined(separator: "; "))"
                    transition.log(.page, line)
                    transition.post(.incidentRoom, "⏳ \(line). Paged in chat only.")
                }
                if called.isEmpty { continue }
            }
            let notice = PagerNotice(
                webhook: webhook.id, event: event, incident: summary, people: called, reason: reason,
                escalationStep: escalationStep, text: text, at: transition.now)
            transition.changes.outbox.append(NewOutboxMessage(platform: incident.platform, incidentID: nil, action: .pagerWebhook(notice)))
            notified.append(webhook.id)
        }
        if !notified.isEmpty {
            transition.log(.page, "Pager webhook \(notified.joined(separator: ", ")) notified: \(event.rawValue)")
        }
    }

    /// Short, plain and complete: it may be read aloud or arrive as an SMS.
    private func pagerText(_ event: PagerEvent, incident: Incident, reason: String) -> String {
        let head = "\(incident.id) \(severityLabel(incident)): \(incident.title)"
        switch event {
        case .page: return "\(head). You are paged (\(reason))."
        case .escalation: return "\(head). Escalated to you: the incident \(reason)."
        case .acknowledged: return "\(head). Acknowledged (\(reason))."
        case .resolved: return "\(head). Resolved (\(reason))."
        }
    }
}
