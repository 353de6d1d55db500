import Foundation

/// One value of a row a store writes: text, a whole number or NULL. Both schemas keep dates as whole
/// milliseconds since 1970, so these three are all a row needs. Each store's driver value conforms.
public protocol ChangeSetCell: Sendable {
    static func cell(text: String) -> Self
    static func cell(integer: Int64) -> Self
    static var nullCell: Self { get }
}

extension ChangeSetCell {
    static func cell(integer: Int) -> Self { cell(integer: Int64(integer)) }
    static func cell(date: Date) -> Self { cell(integer: date.millisecondsSince1970()) }
    static func cell(optionalText value: String?) -> Self { value.map { cell(text: $0) } ?? nullCell }
    static func cell(optionalInteger value: Int64?) -> Self { value.map { cell(integer: $0) } ?? nullCell }
}

/// A `ChangeSet` as the rows the stores write, with everything computed that needs no database (cells,
/// JSON bodies), so that the work happens before a store takes its connection. The SQLite and PostgreSQL
/// schemas have the same tables and columns, so the mapping is written once, here; each store decides
/// only how the rows reach its database.
public struct ChangeSetRows<Cell: ChangeSetCell>: Sendable {
    /// Where a pending timer lives: each incident has at most one pending timer of each kind and rule
    /// (the rule is empty but for policy rules).
    public struct TimerSlot: Hashable, Sendable {
        public let incident: Int
        public let kind: String
        public var rule: String = ""

        public init(incident: Int, kind: String, rule: String = "") {
            self.incident = incident
            self.kind = kind
            self.rule = rule
        }
    }

    public enum TimerChange: Sendable {
        case cancel(TimerSlot)
        /// The row's values: incident_id, kind, due_at, step, rule.
        case replace(TimerSlot, [Cell])

        public var slot: TimerSlot {
            switch self {
            case .cancel(let slot), .replace(let slot, _): slot
            }
        }
    }

    public struct IncidentRow: Sendable {
        public let id: IncidentID
        /// nil: an insert.
        public let expectedRevision: Int?
        /// The revision the row gets: 1 for an insert, one more than expected for an update.
        public var storedRevision: Int { (expectedRevision ?? 0) + 1 }
        /// severity, status, declared_at, room_platform, room_channel_id, room_thread_id, body, incident_type.
        public let columns: [Cell]
    }

    public let inboundKey: String?
    /// Milliseconds since 1970: the outbox rows' `created_at`, the alert groups' `linked_at`, the inbound
    /// key's `processed_at`.
    public let committedAt: Int64
    public let handoff: (rotationID: String, at: Int64)?
    public let completeTimer: (id: Int64, owner: String)?
    public let incidents: [IncidentRow]
    /// Rows of the tables that only grow, in the change set's order.
    public let timeline: [[Cell]]
    public let outbox: [[Cell]]
    public let overrides: [[Cell]]
    public let console: [[Cell]]
    /// source, group_key, incident_id, linked_at: every link, in the change set's order.
    public let alertGroups: [[Cell]]
    /// at, platform, user_id, user_name, person_id, channel, text, outcome, reason, incident_id, remote_address.
    public let audit: [[Cell]]
    /// Cancellations first, then the timers, as the change set's order says: a kind both cancelled and
    /// written ends up with the new timer; of two timers of one kind the later wins.
    public let timerChanges: [TimerChange]

    public var isEmpty: Bool {
        inboundKey == nil && handoff == nil && completeTimer == nil && incidents.isEmpty && timeline.isEmpty && outbox.isEmpty
            && overrides.isEmpty && console.isEmpty && timerChanges.isEmpty && alertGroups.isEmpty && audit.isEmpty
    }

    public init(_ changes: ChangeSet, committedAt date: Date, encoder: JSONEncoder) throws {
        let committedAt = date.millisecondsSince1970()
        self.committedAt = committedAt
        inboundKey = changes.inboundKey
        handoff = changes.handoff.map { ($0.rotationID, $0.at.millisecondsSince1970()) }
        completeTimer = changes.completeTimer
        incidents = try changes.incidents.map { write in
            let stored = write.stored
            let body = String(decoding: try encoder.encode(stored), as: UTF8.self)
            return IncidentRow(
                id: stored.id, expectedRevision: write.expectedRevision,
                columns: [
                    .cell(text: stored.severity), .cell(text: stored.status.rawValue), .cell(date: stored.declaredAt),
                    .cell(optionalText: stored.room?.platform.rawValue), .cell(optionalText: stored.room?.channelID),
                    .cell(optionalText: stored.room?.threadID), .cell(text: body), .cell(optionalText: stored.type),
                ])
        }
        timeline = changes.timeline.map { entry in
            [
                .cell(integer: entry.incidentID.number), .cell(date: entry.at), .cell(text: entry.kind.rawValue),
                .cell(optionalText: entry.actor?.id), .cell(optionalText: entry.actor?.name), .cell(text: entry.text),
            ]
        }
        // A message without `notBefore` is due at once, whatever clock the caller uses: it is stored as due
        // at the epoch rather than at this machine's "now", which also puts it after messages due again
        // after a failure.
        outbox = try changes.outbox.map { message in
            [
                .cell(text: message.platform.rawValue), message.incidentID.map { .cell(integer: $0.number) } ?? .nullCell,
                .cell(text: String(decoding: try encoder.encode(message.action), as: UTF8.self)), .cell(integer: committedAt),
                .cell(integer: message.notBefore?.millisecondsSince1970() ?? 0), .cell(optionalText: message.queue),
            ]
        }
        overrides = changes.overrides.map { override in
            [
                .cell(text: override.rotationID), .cell(text: override.personID), .cell(date: override.start), .cell(date: override.end),
                .cell(text: override.createdBy),
            ]
        }
        console = changes.consoleMessages.map(Self.consoleRow)
        audit = changes.audit.map { entry in
            [
                .cell(date: entry.at), .cell(text: entry.platform.rawValue), .cell(text: entry.userID), .cell(optionalText: entry.userName),
                .cell(optionalText: entry.personID), .cell(optionalText: entry.channel), .cell(text: entry.text), .cell(text: entry.outcome),
                .cell(optionalText: entry.reason), entry.incidentID.map { .cell(integer: $0.number) } ?? .nullCell,
                .cell(optionalText: entry.remoteAddress),
            ]
        }
        alertGroups = changes.alertGroups.map { link in
            [.cell(text: link.source), .cell(text: link.groupKey), .cell(integer: link.incidentID.number), .cell(integer: committedAt)]
        }
        timerChanges =
            changes.cancelTimers.map { .cancel(TimerSlot(incident: $0.0.number, kind: $0.1.rawValue)) }
            + changes.cancelRuleTimers.map { .cancel(TimerSlot(incident: $0.0.number, kind: TimerKind.policyRule.rawValue, rule: $0.1)) }
            + changes.timers.map { timer in
                .replace(
                    TimerSlot(incident: timer.incidentID.number, kind: timer.kind.rawValue, rule: timer.rule),
                    [
                        .cell(integer: timer.incidentID.number), .cell(text: timer.kind.rawValue), .cell(date: timer.dueAt),
                        .cell(integer: timer.step), .cell(text: timer.rule),
                    ])
            }
    }

    /// A console line's row: at, channel, thread, text, kind, outbox_id.
    public static func consoleRow(_ message: ConsoleMessage) -> [Cell] {
        [
            .cell(date: message.at), .cell(text: message.channel), .cell(optionalText: message.thread), .cell(text: message.text),
            .cell(text: message.kind), .cell(optionalInteger: message.outboxID),
        ]
    }
}
