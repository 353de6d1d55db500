import Foundation

extension IncidentEngine {
    /// The hidden line that marks an issue as this incident's, so a retried open finds the issue an
    /// earlier attempt may have created instead of filing a second one.
    public static func ticketMarker(_ id: IncidentID, actionItem: Int? = nil) -> String {
        "<!-- klaxon:\(id)\(actionItem.map { " action \($0)" } ?? "") -->"
    }

    /// Records the ticket's target on the incident and queues the issue's opening, with the severity's labels.
    func fileTicket(_ policy: TicketPolicy, in transition: inout Transition) {
        let incident = transition.incident
        transition.incident.ticket = TicketLink(target: policy.to)
        let values = emailValues(incident, now: transition.now)
        let body = templates.render("ticketBody", values) + "\n\n" + Self.ticketMarker(incident.id)
        transition.send(
            .ticket(
                TicketAction(
                    target: policy.to, incidentID: incident.id,
                    operation: .open(title: templates.render("ticketTitle", values), body: body, labels: policy.labels))))
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

    /// A reopened incident reopens its issue, and a comment says who reopened it and when.
    func reopenTicket(by who: String, in transition: inout Transition) {
        guard let ticket = transition.incident.ticket else { return }
        var values = emailValues(transition.incident, now: transition.now)
        values["reopenedBy"] = who
        let id = transition.incident.id
        transition.send(.ticket(TicketAction(target: ticket.target, incidentID: id, operation: .reopen)))
        transition.send(.ticket(TicketAction(target: ticket.target, incidentID: id, operation: .comment(body: templates.render("ticketReopened", values)))))
    }

    /// An action item of an incident with a ticket target becomes an issue in the same repository; its
    /// link goes on the item once GitHub answers. Returns the item with its target recorded.
    func fileActionItem(_ item: ActionItem, in transition: inout Transition) -> ActionItem {
        guard let ticket = transition.incident.ticket else { return item }
        var values = emailValues(transition.incident, now: transition.now)
        values["number"] = String(item.number)
        values["text"] = item.text
        if let owner = item.owner { values["owner"] = mailName(owner, on: transition.incident.platform) }
        if let due = item.due { values["due"] = due }
        let body = templates.render("actionItemBody", values) + "\n\n" + Self.ticketMarker(transition.incident.id, actionItem: item.number)
        transition.send(
            .ticket(
                TicketAction(
                    target: ticket.target, incidentID: transition.incident.id, actionItem: item.number,
                    operation: .open(title: templates.render("actionItemTitle", values), body: body, labels: []))))
        var filed = item
        filed.ticket = TicketLink(target: ticket.target)
        return filed
    }

    /// `/incident action done N` closes the item's issue, when it has one.
    func closeActionItemTicket(_ item: ActionItem, in transition: inout Transition) {
        guard let ticket = item.ticket else { return }
        transition.send(.ticket(TicketAction(target: ticket.target, incidentID: transition.incident.id, actionItem: item.number, operation: .close)))
    }
}
