import Foundation

extension IncidentEngine {
    /// Mention markup every platform adapter renders in its own syntax.
    /// An alert source is no chat user: it is named, not mentioned.
    func mention(_ user: ChatUser) -> String { user.isAlertSource ? plainName(user) : "<@\(user.id)>" }

    /// A user's name for text that is not chat (an SMS): the configured name, else the platform's.
    func plainName(_ user: ChatUser) -> String {
        user.name ?? user.id
    }

    func severityLabel(_ incident: Incident) -> String {
        config.severity(id: incident.severity)?.label ?? incident.severity.uppercased()
    }

    /// `SEV1`, or `SEV1 · Security` for an incident with a type.
    func severityAndType(_ incident: Incident) -> String {
        severityLabel(incident) + (incident.type.map { " · \(config.incidentType(id: $0)?.name ?? $0)" } ?? "")
    }

    /// The scopes an incident's templates are looked up in, most specific first (`TemplateScope`): its
    /// type's, then its severity's.
    func templateScopes(for incident: Incident) -> [TemplateScope] {
        (incident.type.map { [TemplateScope.type($0)] } ?? []) + [.severity(incident.severity)]
    }

    /// `name` rendered for `incident`: its type's override, else its severity's, else the global template.
    func render(_ name: String, _ values: [String: Any], for incident: Incident) -> String {
        templates.render(name, values, scopes: templateScopes(for: incident))
    }

    /// What every template can use; docs/templates.md lists each variable. Messages add their own
    /// (`text`, `time`, `mentions`…) on top.
    func values(_ incident: Incident, now: Date) -> [String: Any] {
        let policy = config.severity(id: incident.severity)
        var values: [String: Any] = [
            "id": incident.id.description,
            "title": incident.title,
            "severity": severityLabel(incident),
            "severityId": incident.severity,
            "severityName": policy?.name ?? incident.severity,
            "status": incident.status.label,
            "phase": Self.phase(of: incident.status),
            "declaredAt": format.stamp(incident.declaredAt),
            "declaredAtClock": format.clock(incident.declaredAt),
            "declaredBy": mention(incident.declaredBy),
            "channel": "#" + incident.channelName,
            "now": format.stamp(now),
            "updateNumber": String(incident.updateNumber),
            "elapsed": Formatting.span(from: incident.declaredAt, to: incident.resolvedAt ?? now),
        ]
        // One flag per severity id, so a global template can still say `{{#sev1}}@channel{{/sev1}}`.
        values["is_" + incident.severity] = true
        if let description = policy?.description, !description.isEmpty { values["severityDescription"] = description }
        for role in IncidentRole.allCases {
            if let holder = incident.roles[role] { values[Self.roleVariable(role)] = mention(holder) }
        }
        if let every = updateCadence(incident) { values["updateEvery"] = every.description }
        if let type = incident.type {
            values["type"] = type
            values["typeName"] = config.incidentType(id: type)?.name ?? type
        }
        if let acknowledgedAt = incident.acknowledgedAt {
            values["acknowledgedAt"] = format.stamp(acknowledgedAt)
            if let by = incident.acknowledgedBy { values["acknowledgedBy"] = mention(by) }
        }
        if let publicStatus = incident.publicStatus { values["publicStatus"] = publicStatus }
        if !config.incidents.links.isEmpty { values["links"] = config.incidents.links }
        values.merge(factValues(incident, now: now)) { _, fact in fact }
        // 000-19: the incident's own review meeting (`/incident meeting <url>`), else its type's or severity's.
        if values["meeting"] == nil, let meeting = incident.type.flatMap({ config.incidentType(id: $0)?.meeting }) ?? policy?.meeting {
            values["meeting"] = meeting
        }
        return values
    }

    /// `{{oncall}}`: whoever is on call now, in every rotation (001-10 "On-call: <@you>"); `{{oncall_<rotation>}}`
    /// for one rotation. Only where the caller knows the overrides (the declaration).
    func onCallValues(on platform: PlatformKind, at date: Date, overrides: [String: [OnCallOverride]]) -> [String: Any] {
        var values: [String: Any] = [:]
        var everyone: [String] = []
        for rotation in config.oncall.rotations {
            let person = schedule(of: rotation).onCall(at: date, overrides: overrides[rotation.id] ?? []).personID
            let name = chatUser(person: person, on: platform).map(mention) ?? config.people[person]?.name ?? person
            values["oncall_" + rotation.id] = name
            if !everyone.contains(name) { everyone.append(name) }
        }
        if !everyone.isEmpty { values["oncall"] = everyone.joined(separator: ", ") }
        return values
    }

    /// `commander`, `techLead`, `comms`, `scribe`.
    static func roleVariable(_ role: IncidentRole) -> String {
        switch role {
        case .commander: "commander"
        case .techLead: "techLead"
        case .comms: "comms"
        case .scribe: "scribe"
        case .author: "author"
        }
    }

    /// The word customers read (001-10 "Status: investigating", 001-14): a new or acknowledged incident is
    /// being investigated, a mitigated one is being monitored.
    static func phase(of status: IncidentStatus) -> String {
        switch status {
        case .declared, .acknowledged, .investigating: "investigating"
        case .identified: "identified"
        case .mitigating: "mitigating"
        case .monitoring, .mitigated: "monitoring"
        case .resolved, .closed: "resolved"
        }
    }

    /// `SEV1 · Investigating · IC: <@U1> · INC-7 Payment processing down`
    public func topic(_ incident: Incident) -> String {
        let commander = incident.roles[.commander].map(mention) ?? "unassigned"
        return "\(severityAndType(incident)) · \(incident.status.label) · IC: \(commander) · \(incident.id) \(incident.title)"
    }

    /// Acknowledge, Post update, Resolve, I'm the IC.
    func buttons(for incident: Incident) -> [MessageButton] {
        // The number, not the label: platforms read it back from the button without the store.
        let id = incident.id.reference
        return [
            MessageButton(action: "ack", label: "Acknowledge", command: "ack \(id)", style: "primary"),
            MessageButton(action: "update", label: "Post update", command: "update \(id)"),
            MessageButton(action: "resolve", label: "Resolve", command: "resolve \(id)", style: "danger"),
            MessageButton(action: "take-ic", label: "I'm the IC", command: "role \(id) ic"),
        ]
    }

    func summaryValues(_ incident: Incident, endedAt: Date) -> [String: Any] {
        var values = self.values(incident, now: endedAt)
        // The incident ended when it was resolved (closing may come after a monitoring window), so the
        // summary's "declaredAt to endedAt = duration" adds up.
        let end = incident.resolvedAt ?? endedAt
        values["endedAt"] = format.stamp(end)
        values["duration"] = Formatting.span(from: incident.declaredAt, to: end)
        values["timeToAcknowledge"] = Formatting.span(from: incident.declaredAt, to: incident.acknowledgedAt)
        values["timeToMitigate"] = Formatting.span(from: incident.declaredAt, to: incident.mitigatedAt)
        values["timeToResolve"] = Formatting.span(from: incident.declaredAt, to: incident.resolvedAt)
        if let resolution = incident.resolution { values["resolution"] = resolution }
        let items = (incident.actionItems ?? []).map { item -> [String: Any] in
            var line: [String: Any] = ["number": String(item.number), "text": item.text, "status": item.isDone ? "done" : "open", "done": item.isDone]
            if let owner = item.owner { line["owner"] = mention(owner) }
            if let due = item.due { line["due"] = due }
            if let issue = item.ticket?.url { line["issue"] = issue }
            return line
        }
        if !items.isEmpty { values["actionItems"] = items }
        // The review's date belongs in the summary (000-32 "Post-incident review: Date").
        if let resolvedAt = incident.resolvedAt, let within = config.severity(id: incident.severity)?.reviewWithin {
            values["reviewDue"] = format.stamp(resolvedAt.addingTimeInterval(within.timeInterval))
        }
        return values
    }

    /// Where `postmortems.directory` keeps this incident's draft; nil when drafts are not written to files.
    public func postmortemFile(_ incident: Incident) -> String? {
        config.postmortems.directory.map { ($0 as NSString).appendingPathComponent(PostmortemDocument.fileName(incident)) }
    }
}
