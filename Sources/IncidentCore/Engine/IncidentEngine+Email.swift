import Foundation

extension IncidentEngine {
    /// The mailboxes `email:` targets name, in order, each once. A person without an address (or a group
    /// member without one) is skipped: the config loader refuses such targets, so one only appears when a
    /// config was built by hand.
    /// `email:customers` reads the addresses of `incident`'s `customers` fact.
    func emailAddresses(for targets: [NotifyTarget], incident: Incident? = nil) -> [String] {
        var addresses: [String] = []
        var seen: Set<String> = []
        func add(_ address: String?) {
            guard let address, EmailAddress.isPlausible(address), seen.insert(address.lowercased()).inserted else { return }
            addresses.append(address)
        }
        for case .email(let addressee) in targets {
            switch addressee {
            case .address(let address): add(address)
            case .person(let id): add(config.people[id]?.email)
            case .group(let name): for id in config.groups[name] ?? [] { add(config.people[id]?.email) }
            case .customers: for address in incident?.customerAddresses ?? [] { add(address) }
            }
        }
        return addresses
    }

    /// One outbox message to `addresses`, rendered from the `email*` templates with the values of `template`'s
    /// chat message (`page`, `escalation`). It carries no incident id, so a slow mail server never holds up
    /// the incident's chat messages; the email lane retries it on its own.
    func notifyByEmail(_ recipients: Recipients, template: String, reason: String, in transition: inout Transition) {
        let addresses = recipients.emails
        guard !addresses.isEmpty else { return }
        let incident = transition.incident
        var values = emailValues(incident, now: transition.now)
        values["reason"] = reason
        values["event"] = template == "page" ? "Paged" : "Escalated"
        values["isEscalation"] = template == "escalation"
        let message = EmailMessage(
            to: addresses, subject: templates.render("emailSubject", values), text: templates.render("emailText", values),
            html: templates.render("emailHTML", values), incidentID: incident.id.description, reason: template)
        transition.changes.outbox.append(NewOutboxMessage(platform: incident.platform, incidentID: nil, action: .email(message)))
        transition.log(.page, "Emailed \(recipients.emailLabels.joined(separator: ", ")) (\(reason))")
    }

    /// A notification rule's own email (000-13 "Email to affected users", 004-21 "Email affected customers",
    /// 000-14 the internal email): its `say` as the body and its `subject`, not the page email, so what
    /// customers read is what the runbook wrote for them.
    func emailRuleText(_ rule: PolicyRule, to recipients: Recipients, reason: String, in transition: inout Transition) {
        guard !recipients.emails.isEmpty, let say = rule.say else { return }
        let incident = transition.incident
        var values = emailValues(incident, now: transition.now)
        values["owner"] = incident.roles[.commander].map(plainName) ?? plainName(incident.declaredBy)
        let subject = renderText(rule.subject ?? "[{{severity}}] {{id}} {{title}}", values)
        let text = renderText(say, values)
        let html = "<p>" + HTMLText.escape(text).replacingOccurrences(of: "\n", with: "<br>\n") + "</p>"
        let message = EmailMessage(
            to: recipients.emails, subject: subject.replacingOccurrences(of: "\n", with: " "), text: text, html: html,
            incidentID: incident.id.description, reason: "rule \(rule.id)")
        transition.changes.outbox.append(NewOutboxMessage(platform: incident.platform, incidentID: nil, action: .email(message)))
        transition.log(.page, "Emailed \(recipients.emailLabels.joined(separator: ", ")) (\(reason))")
    }

    /// How chat names `email:` targets: an address written in the config as is (a list such as
    /// `incidents@example.com`), a person by name, a group by its name; never a person's own address.
    func emailLabels(for targets: [NotifyTarget]) -> [String] {
        var labels: [String] = []
        for case .email(let addressee) in targets {
            let label: String
            switch addressee {
            case .address(let address): label = address
            case .person(let id): label = config.people[id]?.name ?? id
            case .group(let name): label = "group \(name)"
            case .customers: label = "the affected customers"
            }
            if !labels.contains(label) { labels.append(label) }
        }
        return labels
    }

    /// The chat values with people as names, not chat mentions: `<@U123>` means nothing in a mailbox.
    func emailValues(_ incident: Incident, now: Date) -> [String: Any] {
        var values = self.values(incident, now: now)
        values["declaredBy"] = mailName(incident.declaredBy, on: incident.platform)
        // Every role, so a stakeholder email can name the IC and the tech lead (002-13).
        for (role, holder) in incident.roles { values[Self.roleVariable(role)] = mailName(holder, on: incident.platform) }
        values["severityLabel"] = severityLabel(incident)
        return values
    }

    /// A person as a mailbox reader knows them: the name in `people` when the chat user is configured
    /// (a role given as `<@U123>` carries no name), else the platform's name, else the id.
    func mailName(_ user: ChatUser, on platform: PlatformKind) -> String {
        if let person = config.personID(for: user, on: platform), let name = config.people[person]?.name { return name }
        return plainName(user)
    }
}
