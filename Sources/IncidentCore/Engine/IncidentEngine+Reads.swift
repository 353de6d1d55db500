import Foundation

/// Replies of the read-only commands, rendered from what `CommandService` read.
extension IncidentEngine {
    public func listReply(_ incidents: [Incident], includeClosed: Bool, now: Date) -> CommandReply {
        guard !incidents.isEmpty else {
            return CommandReply(text: includeClosed ? "No incidents yet." : "No open incidents. 🎉")
        }
        let lines = incidents.map { incident in
            let age = Formatting.span(from: incident.declaredAt, to: incident.resolvedAt ?? now)
            let commander = incident.roles[.commander].map { " · IC \(mention($0))" } ?? ""
            // A ticket-only incident has no channel to name; its issue (once opened) is where it lives.
            let ticket = incident.ticket.map { " · ticket " + ($0.url ?? "requested in \($0.target)") } ?? ""
            let place = config.severity(id: incident.severity)?.openAs == .ticket ? "" : " · #\(incident.channelName)"
            return "• \(incident.id) · \(severityAndType(incident)) · \(incident.status.label) · \(incident.title)\(place) · \(age)\(commander)\(ticket)"
        }
        let header = includeClosed ? "Incidents (newest first):" : "Open incidents:"
        return CommandReply(text: ([header] + lines).joined(separator: "\n"))
    }

    public func timelineReply(_ incident: Incident, entries: [TimelineEntry]) -> CommandReply {
        let lines = entries.map { "\(format.clock($0.at)) · \($0.text)" }
        let header = "Timeline of \(incident.id) · \(severityAndType(incident)) · \(incident.status.label) · \(incident.title)"
        return CommandReply(text: ([header] + lines).joined(separator: "\n"), incidentID: incident.id)
    }

    /// A blameless post-mortem draft (runbook 003's template) filled from the timeline.
    public func postmortemReply(_ incident: Incident, entries: [TimelineEntry], now: Date) -> CommandReply {
        var values = summaryValues(incident, endedAt: incident.closedAt ?? incident.resolvedAt ?? now)
        values["date"] = format.day(incident.declaredAt)
        values["timeline"] = entries.map { ["time": format.clock($0.at), "text": $0.text] }
        return CommandReply(text: render("postmortem", values, for: incident), incidentID: incident.id)
    }

    /// `postmortem` also leaves a line in the timeline, so the review shows it was drafted.
    public func postmortemDrafted(_ incident: Incident, by user: ChatUser, now: Date) -> TimelineEntry {
        TimelineEntry(incidentID: incident.id, at: now, kind: .postmortem, actor: user, text: "Post-mortem draft requested by \(mention(user))")
    }
}

/// The text of `/incident help`.
enum Help {
    static func text(for verb: String?, config: KlaxonConfig) -> String {
        if let verb, let command = CommandVerb.named(verb) {
            var lines = ["\(command.usage)", command.summary]
            if command.aliases.count > 1 { lines.append("Also: " + command.aliases.dropFirst().joined(separator: ", ")) }
            // 000-01: declaring means choosing a level, so its help says what each one means.
            if command == .declare { lines += severityLines(config) + typeLines(config) }
            return lines.joined(separator: "\n")
        }
        let lines = CommandVerb.allCases.map { "• \($0.usage)\n    \($0.summary)" }
        return (["Klaxon: incident commands. In an incident channel [INC-n] may be left out."] + lines + severityLines(config) + typeLines(config))
            .joined(separator: "\n")
    }

    /// `Severities:` then `• SEV1 (p0, critical) · Critical: Complete outage, all users affected`, worst first.
    static func severityLines(_ config: KlaxonConfig) -> [String] {
        guard !config.severities.isEmpty else { return [] }
        let fallback = config.incidents.defaultSeverity ?? config.severities.last?.id
        return ["Severities (worst first):"]
            + config.severities.map { policy in
                "• \(policy.helpLine)" + (policy.id == fallback ? " · the default when none is given" : "")
            }
    }

    /// `Types (--type):` and each configured incident type with its description.
    static func typeLines(_ config: KlaxonConfig) -> [String] {
        guard !config.incidentTypes.isEmpty else { return [] }
        return ["Types (--type <type>):"]
            + config.incidentTypes.map { type in
                "• \(type.id) · \(type.name)" + (type.description.map { $0.isEmpty ? "" : ": \($0)" } ?? "")
            }
    }
}
