import Foundation

/// A row of one of the store's tables, read by column name. The SQLite and PostgreSQL stores share one
/// schema (the same tables, columns and conventions: dates as integer milliseconds since 1970, JSON as
/// text), so turning a row into the model is written once, here, over what each driver's row gives.
public protocol StoreRow {
    func int64(_ column: String) throws -> Int64
    /// nil: NULL.
    func optionalInt64(_ column: String) throws -> Int64?
    func text(_ column: String) throws -> String
    /// nil: NULL.
    func optionalText(_ column: String) throws -> String?
}

/// A row that does not hold what the schema promises: a bug or a database edited by hand.
public struct MalformedRow: Error, CustomStringConvertible {
    public let column: String
    public let problem: String

    public init(column: String, problem: String) {
        self.column = column
        self.problem = problem
    }

    public var description: String { "column \(column): \(problem)" }
}

extension Date {
    /// The inverse of `millisecondsSince1970()`: how the stores read their integer dates.
    public init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

extension StoreRow {
    public func int(_ column: String) throws -> Int {
        Int(try int64(column))
    }

    public func date(_ column: String) throws -> Date {
        Date(millisecondsSince1970: try int64(column))
    }

    public func optionalDate(_ column: String) throws -> Date? {
        try optionalInt64(column).map(Date.init(millisecondsSince1970:))
    }

    /// A column holding the raw value of a string enum.
    public func enumeration<Value: RawRepresentable>(_ column: String, as type: Value.Type) throws -> Value where Value.RawValue == String {
        let raw = try text(column)
        guard let value = Value(rawValue: raw) else {
            throw MalformedRow(column: column, problem: "unknown value \"\(raw)\"")
        }
        return value
    }

    // MARK: The model, table by table

    /// `incidents`: the JSON body holds the incident; the `revision` column is the one updates compare, so it wins.
    public func incident(decoder: JSONDecoder) throws -> Incident {
        var incident = try decoder.decode(Incident.self, from: Data(try text("body").utf8))
        incident.revision = try int("revision")
        return incident
    }

    /// `timeline`.
    public func timelineEntry() throws -> TimelineEntry {
        let actor = try optionalText("actor_id").map { ChatUser(id: $0, name: try optionalText("actor_name")) }
        return TimelineEntry(
            incidentID: IncidentID(try int("incident_id")), at: try date("at"), kind: try enumeration("kind", as: TimelineKind.self),
            actor: actor, text: try text("text"))
    }

    /// `outbox`: `claims` counts this claim too, `previousClaims` the ones before it.
    public func outboxMessage(decoder: JSONDecoder) throws -> OutboxMessage {
        OutboxMessage(
            id: try int64("id"),
            platform: try enumeration("platform", as: PlatformKind.self),
            incidentID: try optionalInt64("incident_id").map { IncidentID(Int($0)) },
            action: try decoder.decode(ChatAction.self, from: Data(try text("action").utf8)),
            createdAt: try date("created_at"),
            notBefore: try date("not_before"),
            attempts: try int("attempts"),
            state: try enumeration("state", as: OutboxState.self),
            platformMessageID: try optionalText("platform_message_id"),
            lastError: try optionalText("last_error"),
            previousClaims: max(0, try int("claims") - 1),
            failingSince: try optionalDate("failing_since"),
            queue: try optionalText("queue"),
            digestOf: try optionalInt64("digest_of"))
    }

    /// What can be read of an `outbox` row whatever state its action is in (a damaged row, or one a newer
    /// build wrote): for listing dead letters and setting aside what cannot be decoded.
    public func outboxEntry(decoder: JSONDecoder) -> OutboxEntry {
        let platform: String = (try? text("platform")) ?? "?"
        let action: ChatAction? = (try? text("action")).flatMap { try? decoder.decode(ChatAction.self, from: Data($0.utf8)) }
        let epoch = Date(timeIntervalSince1970: 0)
        return OutboxEntry(
            id: (try? int64("id")) ?? 0,
            lane: (try? text("lane")) ?? platform,
            platform: platform,
            incidentID: ((try? optionalInt64("incident_id")) ?? nil).map { IncidentID(Int($0)) },
            kind: action?.kind ?? "undecodable",
            state: (try? enumeration("state", as: OutboxState.self)) ?? .dead,
            attempts: (try? int("attempts")) ?? 0,
            createdAt: (try? date("created_at")) ?? epoch,
            notBefore: (try? date("not_before")) ?? epoch,
            lastError: (try? optionalText("last_error")) ?? nil)
    }

    /// `timers`.
    public func scheduledTimer() throws -> ScheduledTimer {
        ScheduledTimer(
            id: try int64("id"),
            incidentID: IncidentID(try int("incident_id")),
            kind: try enumeration("kind", as: TimerKind.self),
            dueAt: try date("due_at"),
            step: try int("step"),
            rule: try text("rule"),
            leaseOwner: try optionalText("lease_owner"),
            leaseExpiresAt: try optionalDate("lease_expires_at"))
    }

    /// `oncall_overrides`.
    public func onCallOverride() throws -> OnCallOverride {
        OnCallOverride(
            rotationID: try text("rotation_id"), personID: try text("person_id"),
            start: try date("starts_at"), end: try date("ends_at"), createdBy: try text("created_by"))
    }

    /// `console_messages`.
    public func consoleMessage() throws -> ConsoleMessage {
        ConsoleMessage(
            id: try int64("id"), at: try date("at"), channel: try text("channel"), thread: try optionalText("thread"),
            text: try text("text"), kind: try text("kind"), outboxID: try optionalInt64("outbox_id"))
    }

    /// `audit_log`.
    public func auditEntry() throws -> AuditEntry {
        AuditEntry(
            id: try int64("id"), at: try date("at"), platform: try enumeration("platform", as: PlatformKind.self),
            userID: try text("user_id"), userName: try optionalText("user_name"), personID: try optionalText("person_id"),
            channel: try optionalText("channel"), text: try text("text"), outcome: try text("outcome"),
            reason: try optionalText("reason"), incidentID: try optionalInt64("incident_id").map { IncidentID(Int($0)) },
            remoteAddress: try optionalText("remote_address"))
    }
}
