import Foundation

/// One line of the audit log: a command or an alert notification, allowed or not, as it was received
/// and how it ended. Append-only: the store never changes or deletes one (retention aside).
public struct AuditEntry: Sendable, Hashable, Codable {
    public var id: Int64?
    public var at: Date
    public var platform: PlatformKind
    /// The platform's user id (an alert source's `alert:<id>`), its name, and the configured person.
    public var userID: String
    public var userName: String?
    public var personID: String?
    /// Where it was typed (the channel id), or the route an alert came to.
    public var channel: String?
    /// The command as typed after `/incident`, or a description of the notification.
    public var text: String
    /// `applied`, `answered`, `rejected`, `denied`, `invalid`, `duplicate`, `failed`; `refused` for an alert
    /// call turned away before it was read (`CommandService.auditRefusedAlertCall`).
    public var outcome: String
    /// Klaxon's answer, for everything that did not apply: why it was refused.
    public var reason: String?
    public var incidentID: IncidentID?
    /// The address an API call came from (`127.0.0.1`); nil for what came through a chat platform.
    public var remoteAddress: String?

    public init(
        id: Int64? = nil, at: Date, platform: PlatformKind, userID: String, userName: String?, personID: String?, channel: String?,
        text: String, outcome: String, reason: String?, incidentID: IncidentID?, remoteAddress: String? = nil
    ) {
        self.id = id
        self.at = at
        self.platform = platform
        self.userID = userID
        self.userName = userName
        self.personID = personID
        self.channel = channel
        self.text = text
        self.outcome = outcome
        self.reason = reason
        self.incidentID = incidentID
        self.remoteAddress = remoteAddress
    }
}

/// Which audit lines to read.
public struct AuditQuery: Sendable, Hashable {
    public var incidentID: IncidentID?
    public var since: Date?
    /// A platform user id, a user name or a person id.
    public var user: String?
    public var limit: Int

    public init(incidentID: IncidentID? = nil, since: Date? = nil, user: String? = nil, limit: Int = 500) {
        self.incidentID = incidentID
        self.since = since
        self.user = user
        self.limit = limit
    }
}
