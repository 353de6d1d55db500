import Foundation
import IncidentCore
import Logging
import PostgresNIO

/// A `ChangeSet` with everything computed that does not need the database (rows, JSON bodies), so that
/// this work happens before a connection is taken from the pool.
struct PostgresChangeSet: Sendable {
    struct IncidentRow: Sendable {
        let id: IncidentID
        /// nil: an insert.
        let expectedRevision: Int?
        /// id, revision, severity, status, declared_at, room ×3, body, incident_type.
        let cells: [Cell]
    }

    let inboundKey: String?
    let committedAt: Int64
    let handoff: (rotationID: String, at: Int64)?
    let completeTimer: (id: Int64, owner: String)?
    let incidents: [IncidentRow]
    let timeline: [[Cell]]
    let outbox: [[Cell]]
    /// The incidents the outbox rows belong to, ascending (the order their queue locks are taken in).
    let outboxIncidents: [Int64]
    let overrides: [[Cell]]
    let console: [[Cell]]
    let audit: [[Cell]]
    /// source, group_key, incident_id, linked_at: the last link of each group (an upsert may not touch a
    /// row twice in one statement).
    let alertGroups: [[Cell]]
    /// Each timer slot's final state, cancellations first, then the timers, in the change set's order:
    /// a kind both cancelled and written keeps the new timer; of two timers of one kind the later wins.
    let cancelledSlots: [[Cell]]
    let replacedTimers: [[Cell]]

    /// The `pg_notify` payload for this change set: what other replicas should look at again.
    var wake: String? {
        var what: [String] = []
        if !outbox.isEmpty { what.append(PostgresWakeListener.Wake.outbox.rawValue) }
        if !replacedTimers.isEmpty || !cancelledSlots.isEmpty { what.append(PostgresWakeListener.Wake.timers.rawValue) }
        return what.isEmpty ? nil : what.joined(separator: ",")
    }

    var isEmpty: Bool {
        inboundKey == nil && handoff == nil && completeTimer == nil && incidents.isEmpty && timeline.isEmpty && outbox.isEmpty
            && overrides.isEmpty && console.isEmpty && audit.isEmpty && alertGroups.isEmpty && cancelledSlots.isEmpty && replacedTimers.isEmpty
    }

    init(_ changes: ChangeSet, committedAt date: Date, encoder: JSONEncoder) throws {
        // The rows are those of the SQLite store (`ChangeSetRows`); what is PostgreSQL's own follows.
        let rows = try ChangeSetRows<Cell>(changes, committedAt: date, encoder: encoder)
        committedAt = rows.committedAt
        inboundKey = rows.inboundKey
        handoff = rows.handoff
        completeTimer = rows.completeTimer
        incidents = rows.incidents.map { row in
            IncidentRow(id: row.id, expectedRevision: row.expectedRevision, cells: [.int(row.id.number), .int(row.storedRevision)] + row.columns)
        }
        timeline = rows.timeline
        outbox = rows.outbox
        outboxIncidents = Set(changes.outbox.compactMap { $0.incidentID.map { Int64($0.number) } }).sorted()
        overrides = rows.overrides
        console = rows.console
        audit = rows.audit
        var lastLink: [AlertGroupKey: AlertGroupLink] = [:]
        var linkOrder: [AlertGroupKey] = []
        for link in changes.alertGroups {
            let key = AlertGroupKey(source: link.source, groupKey: link.groupKey)
            if lastLink.updateValue(link, forKey: key) == nil { linkOrder.append(key) }
        }
        alertGroups = linkOrder.compactMap { lastLink[$0] }.map { link in
            [.text(link.source), .text(link.groupKey), .int(link.incidentID.number), .int(rows.committedAt)]
        }
        var finalTimer: [ChangeSetRows<Cell>.TimerSlot: [Cell]?] = [:]
        var slotOrder: [ChangeSetRows<Cell>.TimerSlot] = []
        for change in rows.timerChanges {
            let row: [Cell]?
            switch change {
            case .cancel: row = nil
            case .replace(_, let values): row = values
            }
            if finalTimer.updateValue(row, forKey: change.slot) == nil { slotOrder.append(change.slot) }
        }
        var cancelled: [[Cell]] = []
        var replaced: [[Cell]] = []
        for slot in slotOrder {
            if let row = finalTimer[slot] ?? nil {
                replaced.append(row)
            } else {
                cancelled.append([.int(slot.incident), .text(slot.kind), .text(slot.rule)])
            }
        }
        cancelledSlots = cancelled
        replacedTimers = replaced
    }

    private struct AlertGroupKey: Hashable {
        let source: String
        let groupKey: String
    }
}

/// Writes one change set inside the caller's transaction, or finds it refused, in at most two statements
/// (two round trips between the caller's BEGIN and COMMIT, whatever the change set holds; one when it
/// has nothing to check, as a console line).
///
/// 1. The checks, in one statement of data-modifying CTEs whose effects are also the write: the inbound
///    key (an insert that may find the key there), the hand-off and the timer lease (compare-and-set),
///    each incident (an insert of a new id, a compare-and-set update of the expected revision), then the
///    per-incident outbox queue locks. A concurrent transaction touching the same row makes PostgreSQL
///    wait for it and then re-check against what it committed, so two replicas never both pass. The
///    statement returns what each check found; the first refusal in the order the SQLite store checks
///    (inbound key, hand-off, timer lease, incidents in order) is the answer, and the caller rolls back.
/// 2. Every table's rows in one statement (one CTE per table), ending with `pg_notify`.
///
/// They cannot be one statement: the timer completion and a new timer of the same slot would update one
/// row twice in a statement (PostgreSQL then keeps one of the two, unpredictably), and the queue locks
/// must be held before the outbox rows take their ids. Before this, a change set cost one round trip per
/// check, per incident, for the locks, the rows and the notification: six for a command, seven for a
/// timer firing. PostgreSQL already shares one WAL flush among transactions committing together, so
/// the SQLite store's group commit (several change sets in one transaction) would save no fsyncs here,
/// only hold row locks longer across replicas.
enum PostgresChangeSetWriter {
    /// nil: written. A refusal (`StoreError`) means some of it may have been written already: the caller
    /// rolls back the transaction or to a savepoint taken before.
    static func write(_ changes: PostgresChangeSet, on connection: PostgresConnection, logger: Logger) async throws -> StoreError? {
        if let refusal = try await check(changes, on: connection, logger: logger) {
            return refusal
        }
        try await writeRows(changes, on: connection, logger: logger)
        return nil
    }

    /// The first key of the two-key advisory locks of outbox queues ("KX").
    static let outboxQueueLock: Int32 = 0x4B58

    private static let incidentColumns = BulkColumns([
        ("id", "bigint"), ("revision", "bigint"), ("severity", "text"), ("status", "text"), ("declared_at", "bigint"),
        ("room_platform", "text"), ("room_channel_id", "text"), ("room_thread_id", "text"), ("body", "text"), ("incident_type", "text"),
    ])

    /// What each check of statement 1 stands for, in the order of its results.
    private enum Check {
        case inboundKey(String)
        case handoff(String)
        case timerLease(Int64)
        case incident(IncidentID)
        /// New incidents written by one insert: the ids it returned are those written.
        case newIncidents([IncidentID])
        case queueLocks
    }

    /// Statement 1; nil when every check passed.
    private static func check(_ changes: PostgresChangeSet, on connection: PostgresConnection, logger: Logger) async throws -> StoreError? {
        var parts: [String] = []
        var checks: [Check] = []
        var binds = PostgresBindings()
        func bind(_ value: some PostgresNonThrowingEncodable) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        if let key = changes.inboundKey {
            parts.append(
                "INSERT INTO processed_inbound (key, processed_at) VALUES (\(bind(key)), \(bind(changes.committedAt))) ON CONFLICT (key) DO NOTHING RETURNING 1"
            )
            checks.append(.inboundKey(key))
        }
        // Compare-and-set: only a hand-off later than the recorded one.
        if let handoff = changes.handoff {
            parts.append(
                """
                INSERT INTO rotation_handoffs (rotation_id, handoff_at) VALUES (\(bind(handoff.rotationID)), \(bind(handoff.at)))
                ON CONFLICT (rotation_id) DO UPDATE SET handoff_at = excluded.handoff_at
                WHERE rotation_handoffs.handoff_at < excluded.handoff_at
                RETURNING 1
                """)
            checks.append(.handoff("handoff:\(handoff.rotationID)@\(handoff.at)"))
        }
        // Still pending and leased to `owner` (a lease that expired but that nobody else took still counts:
        // nobody else fired the timer); a replaced timer has a new id, so its old id finds nothing.
        if let completion = changes.completeTimer {
            parts.append(
                "UPDATE timers SET state = 'done' WHERE id = \(bind(completion.id)) AND state = 'pending' AND lease_owner = \(bind(completion.owner)) RETURNING 1"
            )
            checks.append(.timerLease(completion.id))
        }
        let rows = changes.incidents
        if rows.count > 1, rows.allSatisfy({ $0.expectedRevision == nil }), Set(rows.map(\.id)).count == rows.count {
            // Only new incidents, all different (a batch of declarations, an import): one insert.
            parts.append(incidentColumns.insert(into: "incidents", parameter: binds.count + 1, suffix: "ON CONFLICT (id) DO NOTHING RETURNING id"))
            binds.append(try BulkRows.json(rows.map(\.cells)))
            checks.append(.newIncidents(rows.map(\.id)))
        } else {
            for row in rows {
                binds.append(try BulkRows.json([row.cells]))
                let parameter = binds.count
                if let expected = row.expectedRevision {
                    parts.append(
                        """
                        UPDATE incidents AS i
                        SET revision = v.revision, severity = v.severity, status = v.status, declared_at = v.declared_at,
                            room_platform = v.room_platform, room_channel_id = v.room_channel_id, room_thread_id = v.room_thread_id, body = v.body,
                            incident_type = v.incident_type
                        FROM (\(incidentColumns.select(parameter: parameter))) AS v (\(incidentColumns.names.joined(separator: ", ")))
                        WHERE i.id = v.id AND i.revision = \(bind(Int64(expected)))
                        RETURNING i.id
                        """)
                } else {
                    parts.append(incidentColumns.insert(into: "incidents", parameter: parameter, suffix: "ON CONFLICT (id) DO NOTHING RETURNING id"))
                }
                checks.append(.incident(row.id))
            }
        }
        if !changes.outboxIncidents.isEmpty {
            // Each incident's messages must reach the queue in the order their transactions commit, or a
            // sender could claim a later message while an earlier one is still uncommitted (ids come from a
            // sequence at insert time, not at commit). A transaction-scoped lock per incident, taken in
            // ascending order (no deadlock among them), makes concurrent writers of one incident's queue
            // take their ids one after the other; statement 2 inserts the rows after this one returned.
            parts.append(
                """
                SELECT pg_advisory_xact_lock(\(bind(outboxQueueLock)), id::integer)
                FROM (SELECT id FROM unnest(\(bind(changes.outboxIncidents))::bigint[]) AS id ORDER BY id) AS queues
                """)
            checks.append(.queueLocks)
        }
        guard !parts.isEmpty else { return nil }
        // Each check's rows, counted (or, for new incidents, their ids); the scalar subqueries run in this
        // order, so the queue locks are taken after the row checks, as the statements were before.
        let results = checks.indices.map { index in
            if case .newIncidents = checks[index] {
                return "ARRAY(SELECT id FROM c\(index))"
            }
            return "ARRAY[(SELECT count(*) FROM c\(index))]"
        }
        let sql =
            "WITH " + parts.enumerated().map { "c\($0.offset) AS (\($0.element))" }.joined(separator: ", ")
            + " SELECT " + results.joined(separator: ", ")
        let found = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect()
        guard let row = found.first else { throw MalformedRow(column: "checks", problem: "the checks returned no row") }
        let cells = Array(row)
        for (index, check) in checks.enumerated() {
            let values = try cells[index].decode([Int64].self)
            switch check {
            case .inboundKey(let key): if values.first == 0 { return .duplicate(key) }
            case .handoff(let what): if values.first == 0 { return .duplicate(what) }
            case .timerLease(let id): if values.first == 0 { return .leaseLost(id) }
            case .incident(let id): if values.first == 0 { return .conflict(id) }
            case .newIncidents(let ids):
                let inserted = Set(values)
                if let first = ids.first(where: { !inserted.contains(Int64($0.number)) }) { return .conflict(first) }
            case .queueLocks: break
            }
        }
        return nil
    }

    /// Every table's rows in one statement (one CTE per table that has any). The parts touch different
    /// tables, or different timer slots (each slot's final state is either a cancellation or a timer),
    /// so that they share one snapshot changes nothing.
    private static func writeRows(_ changes: PostgresChangeSet, on connection: PostgresConnection, logger: Logger) async throws {
        var parts: [String] = []
        var binds = PostgresBindings()
        func add(_ rows: [[Cell]], _ statement: (Int) -> String) throws {
            guard !rows.isEmpty else { return }
            binds.append(try BulkRows.json(rows))
            parts.append(statement(binds.count))
        }
        try add(changes.timeline) { timelineColumns.insert(into: "timeline", parameter: $0) }
        try add(changes.cancelledSlots) { parameter in
            """
            DELETE FROM timers AS t USING jsonb_array_elements($\(parameter)::jsonb) AS e(r)
            WHERE t.state = 'pending' AND t.incident_id = (r->>0)::bigint AND t.kind = r->>1 AND t.rule = r->>2
            """
        }
        // A pending timer of the slot is replaced by a new row: the upsert gives it the new row's id, so a
        // scheduler still holding the old timer loses its lease, as after DELETE + INSERT.
        try add(changes.replacedTimers) { parameter in
            timerColumns.insert(
                into: "timers", parameter: parameter,
                suffix: """
                    ON CONFLICT (incident_id, kind, rule) WHERE state = 'pending' DO UPDATE
                    SET id = excluded.id, due_at = excluded.due_at, step = excluded.step, lease_owner = NULL, lease_expires_at = NULL
                    """)
        }
        try add(changes.outbox) { outboxColumns.insert(into: "outbox", parameter: $0) }
        try add(changes.overrides) { overrideColumns.insert(into: "oncall_overrides", parameter: $0) }
        // One line per outbox message: a redelivery (also within one statement) does nothing.
        try add(changes.console) { consoleColumns.insert(into: "console_messages", parameter: $0, suffix: "ON CONFLICT (outbox_id) DO NOTHING") }
        try add(changes.audit) { auditColumns.insert(into: "audit_log", parameter: $0) }
        try add(changes.alertGroups) { parameter in
            alertGroupColumns.insert(
                into: "alert_groups", parameter: parameter,
                suffix: "ON CONFLICT (source, group_key) DO UPDATE SET incident_id = excluded.incident_id, linked_at = excluded.linked_at")
        }
        guard !parts.isEmpty else { return }
        // Delivered to every listening replica when (and only if) the transaction commits, so one that did
        // not write this wakes its sender or scheduler at once rather than at its next recheck. The main
        // query of the statement, so it runs (a CTE nothing reads would not).
        var last = "SELECT 1"
        if let wake = changes.wake {
            binds.append(PostgresWakeListener.channel)
            binds.append(wake)
            last = "SELECT pg_notify($\(binds.count - 1), $\(binds.count))"
        }
        let sql =
            parts.count == 1 && changes.wake == nil
            ? parts[0]
            : "WITH " + parts.enumerated().map { "w\($0.offset) AS (\($0.element))" }.joined(separator: ", ") + " " + last
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    private static let timelineColumns = BulkColumns([
        ("incident_id", "bigint"), ("at", "bigint"), ("kind", "text"), ("actor_id", "text"), ("actor_name", "text"), ("text", "text"),
    ])
    private static let timerColumns = BulkColumns([("incident_id", "bigint"), ("kind", "text"), ("due_at", "bigint"), ("step", "integer"), ("rule", "text")])
    private static let outboxColumns = BulkColumns([
        ("platform", "text"), ("incident_id", "bigint"), ("action", "text"), ("created_at", "bigint"), ("not_before", "bigint"),
        ("queue", "text"),
    ])
    private static let overrideColumns = BulkColumns([
        ("rotation_id", "text"), ("person_id", "text"), ("starts_at", "bigint"), ("ends_at", "bigint"), ("created_by", "text"),
    ])
    static let consoleColumns = BulkColumns([
        ("at", "bigint"), ("channel", "text"), ("thread", "text"), ("text", "text"), ("kind", "text"), ("outbox_id", "bigint"),
    ])
    private static let auditColumns = BulkColumns([
        ("at", "bigint"), ("platform", "text"), ("user_id", "text"), ("user_name", "text"), ("person_id", "text"),
        ("channel", "text"), ("text", "text"), ("outcome", "text"), ("reason", "text"), ("incident_id", "bigint"),
        ("remote_address", "text"),
    ])
    private static let alertGroupColumns = BulkColumns([
        ("source", "text"), ("group_key", "text"), ("incident_id", "bigint"), ("linked_at", "bigint"),
    ])
}
