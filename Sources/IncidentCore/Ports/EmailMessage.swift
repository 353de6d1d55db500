import Foundation

/// An email waiting in the outbox: what was decided when the incident changed. Headers that depend on the
/// delivery (Date, Message-ID, From) are set by the sender, from `email.smtp` as configured at delivery, so
/// a corrected sender address applies to mail still waiting.
public struct EmailMessage: Sendable, Hashable, Codable {
    /// Bare addresses, each once.
    public var to: [String]
    public var subject: String
    public var text: String
    public var html: String
    /// For logs and the Message-ID; the message itself is not tied to the incident's chat queue.
    public var incidentID: String?
    /// Why it was sent: `page`, `escalation`.
    public var reason: String

    public init(to: [String], subject: String, text: String, html: String, incidentID: String? = nil, reason: String) {
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.incidentID = incidentID
        self.reason = reason
    }
}
