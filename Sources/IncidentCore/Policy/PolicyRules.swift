import Foundation

/// A rule in force for one incident, with the key its durable timer is stored under.
public struct ArmedRule: Sendable, Hashable {
    /// `respond`, `severity:notify.ceo`, `severity:checkpoint.2`, `type.security:notify.legal`. Severity
    /// rules are not keyed by severity, so after a severity change the new level's rule of the same id
    /// takes over the old one's timer.
    public var key: String
    public var rule: PolicyRule
    public var kind: Kind
    /// Where the rule comes from, for people: `SEV1`, `type security`.
    public var origin: String

    public enum Kind: Sendable, Hashable {
        case responseClock, notification, checkpoint
    }
}

extension KlaxonConfig {
    /// The rules in force for an incident of `severity` and `type`: the response clock, the severity's
    /// notification rules and checkpoints, then the type's.
    public func policyRules(severity: String, type: String?) -> [ArmedRule] {
        var rules: [ArmedRule] = []
        if let policy = self.severity(id: severity) {
            if let within = policy.respondWithin {
                rules.append(
                    ArmedRule(
                        key: "respond", rule: PolicyRule(id: "respond", at: within, from: .declared, unless: [.acknowledged]),
                        kind: .responseClock, origin: policy.label))
            }
            rules += policy.notify.map { ArmedRule(key: "severity:notify.\($0.id)", rule: $0, kind: .notification, origin: policy.label) }
            rules += policy.checkpoints.map { ArmedRule(key: "severity:checkpoint.\($0.id)", rule: $0, kind: .checkpoint, origin: policy.label) }
        }
        if let type, let config = incidentType(id: type) {
            rules += config.notify.map { ArmedRule(key: "type.\(type):notify.\($0.id)", rule: $0, kind: .notification, origin: "type \(type)") }
            rules += config.checkpoints.map { ArmedRule(key: "type.\(type):checkpoint.\($0.id)", rule: $0, kind: .checkpoint, origin: "type \(type)") }
        }
        return rules
    }
}

extension ArmedRule {
    /// When the rule first falls due for `incident`, or nil while the event it counts from has not happened.
    public func firstDue(in incident: Incident, calendar: BusinessCalendar) -> Date? {
        rule.from.time(in: incident).map { rule.at.due(from: $0, calendar: calendar) }
    }

    /// Whether the rule may still act on `incident`: rules counted from the resolution run after it (a
    /// review deadline outlives the monitoring window); all others only while the incident is open.
    public func applies(to incident: Incident) -> Bool {
        rule.from == .resolved ? incident.resolvedAt != nil : incident.isOpen
    }

    /// The condition of `unless` that keeps the rule quiet now, if any.
    public func suppression(in incident: Incident) -> PolicyCondition? {
        guard let since = rule.from.time(in: incident) else { return nil }
        return rule.unless.first { $0.holds(for: incident, since: since) }
    }

    /// The condition of `if` that does not hold now, if any: the rule waits for it.
    public func unmetCondition(in incident: Incident) -> PolicyCondition? {
        guard let since = rule.from.time(in: incident) else { return nil }
        return (rule.onlyIf ?? []).first { !$0.holds(for: incident, since: since) }
    }

    /// `30 min after declaration`, `1 business day after the last update`.
    public var when: String {
        let event =
            switch rule.from {
            case .declared: "declaration"
            case .acknowledged: "acknowledgement"
            case .lastUpdate: "the last update"
            case .mitigated: "mitigation"
            case .resolved: "resolution"
            }
        if case .span(let span) = rule.at, span.seconds == 0 { return "at \(event)" }
        if rule.at.isClockTime { return "\(rule.at.spoken), after \(event)" }
        return "\(rule.at.spoken) after \(event)"
    }
}

extension KlaxonConfig {
    /// The receivers that rules name by URL (`webhook:https://…`), as signed webhooks the pager client
    /// knows by that URL: `paging.signingSecret` signs them, and they hear only their rules' notices.
    public var ruleWebhookReceivers: [PagerWebhook] {
        let rules = severities.flatMap { $0.notify + $0.checkpoints } + incidentTypes.flatMap { $0.notify + $0.checkpoints }
        var urls: [String] = []
        for case .webhook(let id) in rules.flatMap(\.notify) where NotifyTarget.isWebhookURL(id) && !urls.contains(id) {
            urls.append(id)
        }
        return urls.map { PagerWebhook(id: $0, url: $0, secret: paging.signingSecret ?? Secret(""), events: [.page]) }
    }
}
