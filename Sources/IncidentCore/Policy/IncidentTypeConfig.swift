import Foundation

/// `incidentTypes[]`: a kind of incident (`security`, `data-loss`, `payments`) that adds its own rules and
/// checkpoints to those of the severity.
public struct IncidentTypeConfig: Sendable, Hashable, Decodable {
    public var id: String
    /// Defaults to the id (`ConfigLoader.fillContextualDefaults`).
    public var name: String
    public var description: String?
    public var notify: [PolicyRule] = []
    public var checkpoints: [PolicyRule] = []
    /// Template name → mustache source for incidents of this type, over the severity's and the global ones
    /// (a security incident's announcement that says "do not discuss outside #security").
    public var templates: [String: String] = [:]
    /// The review meeting's link for incidents of this type, over the severity's (`SeverityPolicy.meeting`).
    public var meeting: String? = nil

    public init(id: String, name: String, description: String? = nil, notify: [PolicyRule] = [], checkpoints: [PolicyRule] = []) {
        self.id = id
        self.name = name
        self.description = description
        self.notify = notify
        self.checkpoints = checkpoints
    }
}
