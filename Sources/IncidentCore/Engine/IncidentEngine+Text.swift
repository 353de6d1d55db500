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

    /// What templates can use: `{{id}}`, `{{title}}`, `{{severity}}`, `{{severityName}}`, `{{status}}`,
    /// `{{declaredAt}}`, `{{declaredBy}}`, `{{commander}}`, `{{updateEvery}}`, `{{channel}}`, `{{now}}`,
    /// `{{type}}` and `{{typeName}}` (the incident type, when set).
    func values(_ incident: Incident, now: Date) -> [String: Any] {
        let policy = config.severity(id: incident.severity)
        var values: [String: Any] = [
            "id": incident.id.description,
            "title": incident.title,
            "severity": severityLabel(incident),
            "severityName": policy?.name ?? incident.severity,
            "status": incident.status.label,
            "declaredAt": format.stamp(incident.declaredAt),
            "declaredBy": mention(incident.declaredBy),
            "channel": "#" + incident.channelName,
            "now": format.stamp(now),
        ]
        if let commander = incident.roles[.commander] { values["commander"] = mention(commander) }
        if let every = policy?.updateEvery { values["updateEvery"] = every.description }
        if let type = incident.type {
            values["type"] = type
            values["typeName"] = config.incidentType(id: type)?.name ?? type
        }
        return values
    }

    /// `SEV1 · Investigating · IC: <@U1> · INC-7 Payment processing down`
    public func topic(_ incident: Incident) -> String {
        let commander = incident.roles[.commander].map(mention) ?? "unassigned"
        return "\(severityAndType(incident)) · \(incident.status.label) · IC: \(commander) · \(incident.id) \(incident.title)"
    }

    /// Acknowledge, Post update, Resolve, I'm the IC.
    func buttons(for incident: Incident) -> [MessageButton] {
        let id = incident.id
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
            return line
        }
        if !items.isEmpty { values["actionItems"] = items }
        return values
    }

    /// Where `postmortems.directory` keeps this incident's draft; nil when drafts are not written to files.
    public func postmortemFile(_ incident: Incident) -> String? {
        config.postmortems.directory.map { ($0 as NSString).appendingPathComponent(PostmortemDocument.fileName(incident)) }
    }
}
