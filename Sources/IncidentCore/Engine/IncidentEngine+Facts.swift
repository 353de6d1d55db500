import Foundation

/// `/incident set <fact> <value>` and the replies that show facts (`/incident set`, `/incident status`).
extension IncidentEngine {
    /// Records one fact. Times are resolved here, against the engine's clock and zone; one that lies in
    /// the future, or out of order with the incident's other times, is refused and nothing changes.
    func setFact(_ assignment: FactAssignment, in transition: inout Transition, by user: ChatUser) -> Decision? {
        let incident = transition.incident
        let fact = assignment.fact
        let now = transition.now
        let value: FactValue
        switch assignment.input {
        case .text(let text):
            value = FactValue(text: text, setAt: now, setBy: user)
        case .time(let time):
            guard let at = time.resolve(now: now, zone: format.zone) else {
                return .rejected("That time does not exist in \(format.zone.identifier). Nothing changed.", incident: incident.id)
            }
            // A minute of slack for clocks that disagree a little.
            guard at <= now.addingTimeInterval(60) else {
                return .rejected("\(fact.rawValue) \(format.stamp(at)) is in the future. Nothing changed.", incident: incident.id)
            }
            if let problem = orderProblem(fact, at: at, in: incident) {
                return .rejected(problem + " Nothing changed.", incident: incident.id)
            }
            value = FactValue(text: format.stamp(at), time: at, setAt: now, setBy: user)
        }
        let previous = incident.fact(fact)
        if let previous, previous.text == value.text, previous.time == value.time {
            return .rejected("\(fact.label) of \(incident.id) is already \(value.text).", incident: incident.id)
        }
        var facts = incident.facts ?? [:]
        facts[fact.rawValue] = value
        transition.incident.facts = facts
        let was = previous.map { " (was: \($0.text))" } ?? ""
        transition.log(.fact, "\(fact.label): \(value.text)\(was) · set by \(mention(user))")
        return nil
    }

    /// Last known good ≤ started ≤ detected: the runbooks' times tell a story in that order (000-08, 002-22).
    private func orderProblem(_ fact: IncidentFact, at date: Date, in incident: Incident) -> String? {
        let order: [IncidentFact] = [.lastKnownGood, .startedAt, .detectedAt]
        guard let position = order.firstIndex(of: fact) else { return nil }
        for (index, other) in order.enumerated() where index != position {
            guard let otherTime = incident.fact(other)?.time else { continue }
            if index < position, otherTime > date {
                return "\(fact.rawValue) \(format.stamp(date)) is before \(other.rawValue) \(format.stamp(otherTime))."
            }
            if index > position, otherTime < date {
                return "\(fact.rawValue) \(format.stamp(date)) is after \(other.rawValue) \(format.stamp(otherTime))."
            }
        }
        return nil
    }

    /// `/incident set` alone: every fact with its value on this incident (when there is one) or an example.
    public func factsReply(_ incident: Incident?) -> CommandReply {
        var lines = [incident.map { "Facts of \($0.id) · set one with /incident set <fact> <value>" } ?? "Facts: /incident set [INC-n] <fact> <value>"]
        for fact in IncidentFact.allCases {
            if let value = incident?.fact(fact) {
                lines.append("• \(fact.rawValue) (\(fact.label)): \(value.text)")
            } else {
                lines.append("• \(fact.rawValue) (\(fact.label)): not set · e.g. \(fact.example)")
            }
        }
        return CommandReply(text: lines.joined(separator: "\n"), incidentID: incident?.id)
    }

    /// `/incident status` alone: where the incident stands, who holds which role, its facts.
    public func statusCardReply(_ incident: Incident, now: Date) -> CommandReply {
        let end = incident.resolvedAt ?? now
        var lines = [
            "\(incident.id) · \(severityLabel(incident)) · \(incident.status.label) · \(incident.title)",
            "Declared \(format.stamp(incident.declaredAt)) by \(mention(incident.declaredBy)) · "
                + (incident.isOpen ? "open for " : "lasted ") + Formatting.span(from: incident.declaredAt, to: end)
                + " · updates posted: \(incident.updateNumber)",
        ]
        let roles = IncidentRole.allCases.map { role in "\(role.label): \(incident.roles[role].map(mention) ?? "unassigned")" }
        lines.append(roles.joined(separator: " · "))
        if let status = incident.publicStatus { lines.append("Public status: \(status)") }
        let set = IncidentFact.allCases.compactMap { fact in incident.fact(fact).map { "\(fact.label): \($0.text)" } }
        if set.isEmpty {
            lines.append("No facts yet: /incident set impact \"…\" (see /incident set)")
        } else {
            lines.append(contentsOf: set)
        }
        return CommandReply(text: lines.joined(separator: "\n"), incidentID: incident.id)
    }

    /// Each fact under its own name (`{{impact}}`, `{{startedAt}}`…), the set ones as a list
    /// (`{{#facts}}{{label}}: {{value}}{{/facts}}`), and the durations they make possible.
    func factValues(_ incident: Incident, now: Date) -> [String: Any] {
        var values: [String: Any] = [:]
        var list: [[String: String]] = []
        for fact in IncidentFact.allCases {
            guard let value = incident.fact(fact) else { continue }
            values[fact.rawValue] = value.text
            list.append(["name": fact.rawValue, "label": fact.label, "value": value.text])
        }
        if !list.isEmpty { values["facts"] = list }
        let started = incident.fact(.startedAt)?.time
        let detected = incident.fact(.detectedAt)?.time ?? incident.declaredAt
        if let started {
            values["timeToDetect"] = Formatting.span(from: started, to: detected)
            values["impactDuration"] = Formatting.span(from: started, to: incident.resolvedAt ?? now)
        }
        return values
    }
}

/// `payments: Payment processing down` → service `payments`, title `Payment processing down` (runbook
/// 002-10 names channels after the service). Only one word before the colon and a space after it, so
/// `Errors since 14:05` stays a title. A title such as `Outage: EU and US` does read as service `Outage`:
/// the declaration's reply says so, and `/incident set service …` corrects it.
enum ServicePrefix {
    static func split(_ title: String) -> (service: String?, title: String) {
        guard let colon = title.firstIndex(of: ":") else { return (nil, title) }
        let word = title[..<colon]
        let rest = title[title.index(after: colon)...]
        guard !word.isEmpty, word.count <= 40, rest.first?.isWhitespace == true,
            word.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        else { return (nil, title) }
        let remainder = rest.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !remainder.isEmpty else { return (nil, title) }
        return (String(word), remainder)
    }
}
