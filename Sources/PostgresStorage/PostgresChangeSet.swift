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

/// One value of a change set's parameters: the statements read them from one `jsonb` array (`$1`), as
/// `$1->>n` (a scalar) or `$1->n` (a table's rows, a list of ids).
enum Bind: Encodable, Sendable {
    case cell(Cell)
    case rows([[Cell]])
    case ids([Int64])

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .cell(let cell): try cell.encode(to: encoder)
        case .rows(let rows): try rows.encode(to: encoder)
        case .ids(let ids): try ids.encode(to: encoder)
        }
    }
}

/// One change set as `klaxon_write_change_sets` (migration 19) runs it: its check statement, its rows
/// statement, and their parameters. Encoded for the function; `checks` stays here to read a refusal.
struct ChangeSetStatements: Encodable, Sendable {
    /// Returns NULL when every check passed, else what each check found (see `PostgresChangeSetWriter`).
    let check: String?
    let rows: String?
    let binds: [Bind]
    let checks: [PostgresChangeSetWriter.Check]

    private enum CodingKeys: String, CodingKey {
        case check, rows, binds
    }
}

/// Change sets written server-side, in one round trip for any number of them (group commit).
///
/// Each change set becomes two statements, run one after the other by the function
/// `klaxon_write_change_sets` (migration 19), which the store calls once for every change set queued
/// meanwhile (`PostgresGroupCommit`): one round trip and one transaction for the lot, where a change set
/// alone used to cost four (BEGIN, the two statements, COMMIT).
///
/// 1. The checks, in one statement of data-modifying CTEs whose effects are also the write: the inbound
///    key (an insert that may find the key there), the hand-off and the timer lease (compare-and-set),
///    each incident (an insert of a new id, a compare-and-set update of the expected revision), then the
///    per-incident outbox queue locks. A concurrent transaction touching the same row makes PostgreSQL
///    wait for it and then re-check against what it committed, so two replicas never both pass. The
///    statement returns NULL when every check passed, else what each check found; the function then
///    rolls the change set back (its own subtransaction) and the first refusal in the order the SQLite
///    store checks (inbound key, hand-off, timer lease, incidents in order) is the caller's answer.
/// 2. Every table's rows in one statement (one CTE per table), ending with `pg_notify`.
///
/// They cannot be one statement: the timer completion and a new timer of the same slot would update one
/// row twice in a statement (PostgreSQL then keeps one of the two, unpredictably), and the queue locks
/// must be held before the outbox rows take their ids.
enum PostgresChangeSetWriter {
    /// What one job (a change set, or a chain of them) came to.
    enum Outcome: Sendable {
        /// The first `written` change sets were written; the next one, if any, was refused.
        case written(Int, refusal: StoreError?)
        /// Something other than a refusal (a constraint the checks do not cover): nothing of the job was
        /// written. The server's SQLSTATE and message.
        case failed(String)
    }

    /// Writes `jobs` (each a chain: a change set is written only if the one before it was) with one
    /// statement, `run`: on the pool it is a transaction of its own, inside a transaction part of it. One
    /// outcome per job, in order. A deadlock or serialisation failure is thrown (nothing was written).
    static func write(_ jobs: [[ChangeSetStatements]], run: (PostgresQuery) async throws -> PostgresRowSequence) async throws -> [Outcome] {
        var binds = PostgresBindings()
        binds.append(String(decoding: try JSONEncoder().encode(jobs), as: UTF8.self))
        let rows = try await run(PostgresQuery(unsafeSQL: "SELECT klaxon_write_change_sets($1::jsonb)::text", binds: binds))
        var text: String?
        for try await value in rows.decode(String.self) { text = value }
        guard let text else { throw MalformedRow(column: "klaxon_write_change_sets", problem: "the function returned nothing") }
        let found = try JSONDecoder().decode([FunctionOutcome].self, from: Data(text.utf8))
        guard found.count == jobs.count else {
            throw MalformedRow(column: "klaxon_write_change_sets", problem: "\(found.count) outcomes for \(jobs.count) jobs")
        }
        return try zip(jobs, found).map { job, outcome in
            if let error = outcome.error { return .failed(error) }
            let written = outcome.written ?? 0
            guard let refusal = outcome.refusal else { return .written(written, refusal: nil) }
            guard written < job.count else { throw MalformedRow(column: "klaxon_write_change_sets", problem: "a refusal after the last change set") }
            return .written(written, refusal: try Self.refusal(refusal, of: job[written].checks))
        }
    }

    /// One element of the function's answer.
    private struct FunctionOutcome: Decodable {
        let written: Int?
        let refusal: [[Int64]]?
        let error: String?
    }

    /// The first check that found nothing (in the order the SQLite store checks).
    private static func refusal(_ found: [[Int64]], of checks: [Check]) throws -> StoreError {
        guard found.count == checks.count else { throw MalformedRow(column: "checks", problem: "\(found.count) results for \(checks.count) checks") }
        for (values, check) in zip(found, checks) {
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
        throw MalformedRow(column: "checks", problem: "refused, but every check passed")
    }

    /// The first key of the two-key advisory locks of outbox queues ("KX").
    static let outboxQueueLock: Int32 = 0x4B58

    private static let incidentColumns = BulkColumns([
        ("id", "bigint"), ("revision", "bigint"), ("severity", "text"), ("status", "text"), ("declared_at", "bigint"),
        ("room_platform", "text"), ("room_channel_id", "text"), ("room_thread_id", "text"), ("body", "text"), ("incident_type", "text"),
    ])

    /// What each check of statement 1 stands for, in the order of its results.
    enum Check: Sendable {
        case inboundKey(String)
        case handoff(String)
        case timerLease(Int64)
        case incident(IncidentID)
        /// New incidents written by one insert: the ids it returned are those written.
        case newIncidents([IncidentID])
        case queueLocks
    }

    /// The parameters being gathered for one change set's two statements.
    private struct Parameters {
        var binds: [Bind] = []

        /// A scalar, as SQL of `type`.
        mutating func scalar(_ cell: Cell, _ type: String = "text") -> String {
            binds.append(.cell(cell))
            return type == "text" ? "($1->>\(binds.count - 1))" : "($1->>\(binds.count - 1))::\(type)"
        }

        /// A jsonb value (rows, ids), as SQL.
        mutating func json(_ bind: Bind) -> String {
            binds.append(bind)
            return "($1->\(binds.count - 1))"
        }
    }

    /// Both statements of `changes` and their parameters (a statement is nil when it has nothing to do).
    static func statements(_ changes: PostgresChangeSet) -> ChangeSetStatements {
        var parameters = Parameters()
        let (check, checks) = checkStatement(changes, &parameters)
        let rows = rowsStatement(changes, &parameters)
        return ChangeSetStatements(check: check, rows: rows, binds: parameters.binds, checks: checks)
    }

    /// Statement 1; nil when there is nothing to check.
    private static func checkStatement(_ changes: PostgresChangeSet, _ parameters: inout Parameters) -> (String?, [Check]) {
        var parts: [String] = []
        var checks: [Check] = []
        if let key = changes.inboundKey {
            parts.append(
                """
                INSERT INTO processed_inbound (key, processed_at) VALUES (\(parameters.scalar(.text(key))), \(parameters.scalar(.int(changes.committedAt), "bigint")))
                ON CONFLICT (key) DO NOTHING RETURNING 1
                """)
            checks.append(.inboundKey(key))
        }
        // Compare-and-set: only a hand-off later than the recorded one.
        if let handoff = changes.handoff {
            parts.append(
                """
                INSERT INTO rotation_handoffs (rotation_id, handoff_at) VALUES (\(parameters.scalar(.text(handoff.rotationID))), \(parameters.scalar(.int(handoff.at), "bigint")))
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
                """
                UPDATE timers SET state = 'done'
                WHERE id = \(parameters.scalar(.int(completion.id), "bigint")) AND state = 'pending' AND lease_owner = \(parameters.scalar(.text(completion.owner)))
                RETURNING 1
                """)
            checks.append(.timerLease(completion.id))
        }
        let rows = changes.incidents
        if rows.count > 1, rows.allSatisfy({ $0.expectedRevision == nil }), Set(rows.map(\.id)).count == rows.count {
            // Only new incidents, all different (a batch of declarations, an import): one insert.
            parts.append(
                incidentColumns.insert(into: "incidents", rows: parameters.json(.rows(rows.map(\.cells))), suffix: "ON CONFLICT (id) DO NOTHING RETURNING id"))
            checks.append(.newIncidents(rows.map(\.id)))
        } else {
            for row in rows {
                let values = parameters.json(.rows([row.cells]))
                if let expected = row.expectedRevision {
                    parts.append(
                        """
                        UPDATE incidents AS i
                        SET revision = v.revision, severity = v.severity, status = v.status, declared_at = v.declared_at,
                            room_platform = v.room_platform, room_channel_id = v.room_channel_id, room_thread_id = v.room_thread_id, body = v.body,
                            incident_type = v.incident_type
                        FROM (\(incidentColumns.select(rows: values))) AS v (\(incidentColumns.names.joined(separator: ", ")))
                        WHERE i.id = v.id AND i.revision = \(parameters.scalar(.int(Int64(expected)), "bigint"))
                        RETURNING i.id
                        """)
                } else {
                    parts.append(incidentColumns.insert(into: "incidents", rows: values, suffix: "ON CONFLICT (id) DO NOTHING RETURNING id"))
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
                SELECT pg_advisory_xact_lock(\(outboxQueueLock), id::integer)
                FROM (SELECT id FROM (SELECT jsonb_array_elements_text(\(parameters.json(.ids(changes.outboxIncidents))))::bigint AS id) AS q ORDER BY id) AS queues
                """)
            checks.append(.queueLocks)
        }
        guard !parts.isEmpty else { return (nil, []) }
        // What each check found, as arrays (its rows counted, or the ids of the new incidents), evaluated
        // once in this order (a materialised CTE computes every element; the queue locks come last, after
        // the row checks). The statement returns them only when some check refused.
        var results: [String] = []
        var refusals: [String] = []
        for (index, check) in checks.enumerated() {
            switch check {
            case .newIncidents(let ids):
                results.append("to_jsonb(ARRAY(SELECT id FROM c\(index)))")
                refusals.append("jsonb_array_length(f->\(index)) < \(ids.count)")
            case .queueLocks:
                results.append("to_jsonb(ARRAY[(SELECT count(*) FROM c\(index))])")
            case .inboundKey, .handoff, .timerLease, .incident:
                results.append("to_jsonb(ARRAY[(SELECT count(*) FROM c\(index))])")
                refusals.append("(f->\(index)->>0)::bigint = 0")
            }
        }
        let sql =
            "WITH " + parts.enumerated().map { "c\($0.offset) AS (\($0.element))" }.joined(separator: ", ")
            + ", found AS MATERIALIZED (SELECT jsonb_build_array(\(results.joined(separator: ", "))) AS f)"
            + " SELECT f FROM found WHERE \(refusals.isEmpty ? "false" : refusals.joined(separator: " OR "))"
        return (sql, checks)
    }

    /// Statement 2: every table's rows (one CTE per table that has any); nil when there are none. The parts
    /// touch different tables, or different timer slots (each slot's final state is either a cancellation
    /// or a timer), so that they share one snapshot changes nothing.
    private static func rowsStatement(_ changes: PostgresChangeSet, _ parameters: inout Parameters) -> String? {
        var parts: [String] = []
        func add(_ rows: [[Cell]], _ statement: (String) -> String) {
            guard !rows.isEmpty else { return }
            parts.append(statement(parameters.json(.rows(rows))))
        }
        add(changes.timeline) { timelineColumns.insert(into: "timeline", rows: $0) }
        add(changes.cancelledSlots) { rows in
            """
            DELETE FROM timers AS t USING jsonb_array_elements(\(rows)) AS e(r)
            WHERE t.state = 'pending' AND t.incident_id = (r->>0)::bigint AND t.kind = r->>1 AND t.rule = r->>2
            """
        }
        // A pending timer of the slot is replaced by a new row: the upsert gives it the new row's id, so a
        // scheduler still holding the old timer loses its lease, as after DELETE + INSERT.
        add(changes.replacedTimers) { rows in
            timerColumns.insert(
                into: "timers", rows: rows,
                suffix: """
                    ON CONFLICT (incident_id, kind, rule) WHERE state = 'pending' DO UPDATE
                    SET id = excluded.id, due_at = excluded.due_at, step = excluded.step, lease_owner = NULL, lease_expires_at = NULL
                    """)
        }
        add(changes.outbox) { outboxColumns.insert(into: "outbox", rows: $0) }
        add(changes.overrides) { overrideColumns.insert(into: "oncall_overrides", rows: $0) }
        // One line per outbox message: a redelivery (also within one statement) does nothing.
        add(changes.console) { consoleColumns.insert(into: "console_messages", rows: $0, suffix: "ON CONFLICT (outbox_id) DO NOTHING") }
        add(changes.audit) { auditColumns.insert(into: "audit_log", rows: $0) }
        add(changes.alertGroups) { rows in
            alertGroupColumns.insert(
                into: "alert_groups", rows: rows,
                suffix: "ON CONFLICT (source, group_key) DO UPDATE SET incident_id = excluded.incident_id, linked_at = excluded.linked_at")
        }
        guard !parts.isEmpty else { return nil }
        // Delivered to every listening replica when (and only if) the transaction commits, so one that did
        // not write this wakes its sender or scheduler at once rather than at its next recheck. The main
        // query of the statement, so it runs (a CTE nothing reads would not).
        var last = "SELECT 1"
        if let wake = changes.wake {
            last = "SELECT pg_notify(\(parameters.scalar(.text(PostgresWakeListener.channel))), \(parameters.scalar(.text(wake))))"
        }
        return "WITH " + parts.enumerated().map { "w\($0.offset) AS (\($0.element))" }.joined(separator: ", ") + " " + last
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
