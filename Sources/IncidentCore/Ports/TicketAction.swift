import Foundation

/// A change to an incident's issue, or to one of its action items' issues, waiting in the outbox's
/// `tickets` lane. An incident's ticket actions go out in order (open, then comments, then close); comment,
/// close and reopen find the number on the incident (or its action item) at delivery, recorded
/// when the open was delivered.
public struct TicketAction: Sendable, Hashable, Codable {
    public enum Operation: Sendable, Hashable, Codable {
        case open(title: String, body: String, labels: [String])
        case comment(body: String)
        case close
        /// Back to open: the incident was reopened.
        case reopen
    }

    public var target: TicketTarget
    public var incidentID: IncidentID
    /// The action item whose own issue this changes (`/incident action …`); nil: the incident's issue.
    /// Optional in the stored JSON, so rows queued before action items had issues still read.
    public var actionItem: Int?
    public var operation: Operation

    public init(target: TicketTarget, incidentID: IncidentID, actionItem: Int? = nil, operation: Operation) {
        self.target = target
        self.incidentID = incidentID
        self.actionItem = actionItem
        self.operation = operation
    }

    public var kind: String {
        switch operation {
        case .open: "ticket_open"
        case .comment: "ticket_comment"
        case .close: "ticket_close"
        case .reopen: "ticket_reopen"
        }
    }
}
