import Foundation

extension IncidentEngine {
    /// The hidden line that marks an issue as this incident's, so a retried open finds the issue an
    /// earlier attempt may have created instead of filing a second one.
    public static func ticketMarker(_ id: IncidentID) -> String { "<!-- klaxon:\(id) -->" }

    /// Records the ticket's target on the incident and queues the issue's opening, with the severity's labels.
    func fileTicket(_ policy: TicketPolicy, in transition: inout Transition) {
        let incident = transition.incident
        transition.incident.ticket = TicketLink(target: policy.to)
        let values = emailValues(incident, now: transition.now)
        let body = templates.render("ticketBody", values) + "\n\n" + Self.ticketMarker(incident.id)
        transition.send(.ticket(TicketAction(
            target: policy.to, incidentID: incident.id, operation: .open(title: templates.render("ticketTitle", values), body: body, labels: policy.labels))))
        transition.log(.note, "Ticket requested in \(policy.to)" + (policy.labels.isEmpty ? "" : " (labels: \(policy.labels.joined(separator: ", ")))"))
    }

    /// At resolution: a comment with the resolution, then the issue is closed (two messages, in order, so
    /// a retried close never repeats the comment).
    func closeTicket(in transition: inout Transition) {
        guard let ticket = transition.incident.ticket else { return }
        var values = emailValues(transition.incident, now: transition.now)
        values["text"] = transition.incident.resolution
        values["duration"] = Formatting.span(from: transition.incident.declaredAt, to: transition.now)
        let id = transition.incident.id
        transition.send(.ticket(TicketAction(target: ticket.target, incidentID: id, operation: .comment(body: templates.render("ticketResolved", values)))))
        transition.send(.ticket(TicketAction(target: ticket.target, incidentID: id, operation: .close)))
    }
}
