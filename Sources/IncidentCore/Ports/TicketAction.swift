import Foundation

/// A change to an incident's issue, waiting in the outbox's `tickets` lane. An incident's ticket actions
/// go out in order (open, then comments, then close); comment and close find the number on the
/// incident at delivery, recorded when the open was delivered.
public struct TicketAction: Sendable, Hashable, Codable {
    public enum Operation: Sendable, Hashable, Codable {
        case open(title: String, body: String, labels: [String])
        case comment(body: String)
        case close
    }

    public var target: TicketTarget
    public var incidentID: IncidentID
    public var operation: Operation

    public init(target: TicketTarget, incidentID: IncidentID, operation: Operation) {
        self.target = target
        self.incidentID = incidentID
        self.operation = operation
    }

    public var kind: String {
        switch operation {
        case .open: "ticket_open"
        case .comment: "ticket_comment"
        case .close: "ticket_close"
        }
    }
}
