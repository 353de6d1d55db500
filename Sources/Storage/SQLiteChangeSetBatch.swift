import IncidentCore
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A `ChangeSet` as rows of bind values (`ChangeSetRows`, shared with the PostgreSQL store), computed in
/// the caller's task and not while the write connection waits.
typealias PreparedChangeSet = ChangeSetRows<SQLiteData>

/// Written by the SQLite store as its bind values: text, INTEGER and NULL.
extension SQLiteData: ChangeSetCell {
    public static func cell(text: String) -> SQLiteData { .text(text) }
    public static func cell(integer: Int64) -> SQLiteData { .int64(integer) }
    public static var nullCell: SQLiteData { .null }
}

extension PreparedChangeSet {
    /// Rows of one kind only, few enough for one statement, and nothing to check: one INSERT (a console
    /// line the sender writes, say).
    var isSingleInsert: Bool {
        guard inboundKey == nil, handoff == nil, completeTimer == nil, incidents.isEmpty, timerChanges.isEmpty else { return false }
        let tables = [timeline, outbox, overrides, console, alertGroups, audit].filter { !$0.isEmpty }
        guard tables.count == 1, let rows = tables.first, let columns = rows.first?.count, columns > 0 else { return false }
        return rows.count <= ChangeSetBatch.maximumBinds / columns
    }
}

/// A statement the batch writes, with the check of what it returned.
private struct BatchStatement {
    let sql: String
    let binds: [SQLiteData]
    /// How many rows `RETURNING` must give back (nil: no check).
    let expectedRows: Int?
}

/// The batch's checks disagree with what the database did: a bug, not a refusal. The writer then rolls
/// the group back and writes each change set alone, where the check and the write cannot disagree.
struct ChangeSetBatchInconsistency: Error, CustomStringConvertible {
    let description: String
}

/// Writes the change sets of a group with a number of statements that does not grow with the group:
/// one query for what they depend on (inbound keys, incident revisions, the timers they complete, the
/// rotations' hand-offs), a decision per change set in Swift, and then one statement per table for all
/// the change sets accepted.
///
/// The decisions are those of writing the change sets one after the other, in order, each in its own
/// transaction: each is checked against the database as the ones accepted before it leave it (an
/// incident updated by an earlier change set of the group has its new revision, an inbound key recorded
/// by one is a duplicate for the next, a timer replaced by one is lost to the next's completion). A
/// refused change set is not written at all, so no savepoint is needed; the merged statements cannot
/// fail for a logical reason, and their `RETURNING` counts are checked anyway.
///
/// A statement costs more than SQLite's own work on its rows (a multi-row statement's text changes with
/// its row count, so it is often parsed afresh). Merging the statements is what lets one transaction (and
/// its fsync) carry dozens of commands cheaply.
enum ChangeSetBatch {
    /// SQLite's historical default limit of bind parameters per statement (SQLITE_MAX_VARIABLE_NUMBER).
    /// sqlite-nio's bundled SQLite has a higher one, but staying under the old one costs one more statement per few
    /// hundred rows and keeps the store correct on any SQLite build.
    static let maximumBinds = 999

    /// Writes what the database allows of `chains`, in order. A chain is change sets one caller wants
    /// written in order, each only if the one before it was (one incident's queued commands; a lone
    /// change set is a chain of one): the first refusal ends its chain. Returns, per chain, how many were
    /// written and the refusal that stopped it. Throws on anything else, and then the caller must roll
    /// the transaction back.
    static func write(_ chains: [[PreparedChangeSet]], in session: SQLiteSession) throws -> [OrderedCommitResult] {
        var state = try BatchState(facts: readFacts(of: chains.flatMap { $0 }, in: session))
        var accepted: [PreparedChangeSet] = []
        var results: [OrderedCommitResult] = []
        for chain in chains {
            var result = OrderedCommitResult(written: 0, refusal: nil)
            for changes in chain {
                // Checked against a copy, so that a refusal half-way through leaves nothing of it behind.
                var trial = state
                if let refusal = trial.accept(changes) {
                    result.refusal = refusal
                    break
                }
                state = trial
                accepted.append(changes)
                result.written += 1
            }
            results.append(result)
        }
        for statement in statements(for: accepted, state: state) {
            let rows = try session.run(statement.sql, statement.binds)
            if let expected = statement.expectedRows, rows.count != expected {
                throw ChangeSetBatchInconsistency(
                    description: "expected \(expected) rows back, got \(rows.count), from: \(statement.sql.prefix(80))")
            }
        }
        return results
    }

    // MARK: - What the change sets depend on

    /// What the database holds for the keys, incidents, timers and rotations the change sets name.
    struct Facts {
        var seenKeys: Set<String> = []
        var revisions: [Int: Int] = [:]
        var timers: [Int64: (slot: PreparedChangeSet.TimerSlot, state: String, owner: String?)] = [:]
        var handoffs: [String: Int64] = [:]
    }

    /// One query in the usual case (several only past the bind limit): a UNION ALL of a lookup per kind,
    /// each row tagged with what it is.
    private static func readFacts(of changeSets: [PreparedChangeSet], in session: SQLiteSession) throws -> Facts {
        let keys = Array(Set(changeSets.compactMap(\.inboundKey)))
        let incidents = Array(Set(changeSets.flatMap { $0.incidents.map(\.id.number) }))
        let timers = Array(Set(changeSets.compactMap { $0.completeTimer?.id }))
        let rotations = Array(Set(changeSets.compactMap { $0.handoff?.rotationID }))

        // Every lookup gives the same columns (UNION ALL names them after the first one's): fact (what
        // the row is), name, number, value, owner, state.
        var parts: [(sql: String, binds: [SQLiteData])] = []
        for chunk in chunks(keys) {
            parts.append(
                (
                    "SELECT 'key' AS fact, key AS name, NULL AS number, NULL AS value, NULL AS owner, NULL AS state FROM processed_inbound WHERE key IN (\(placeholders(chunk.count)))",
                    chunk.map { .text($0) }
                ))
        }
        for chunk in chunks(incidents) {
            parts.append(
                (
                    "SELECT 'incident' AS fact, NULL AS name, id AS number, revision AS value, NULL AS owner, NULL AS state FROM incidents WHERE id IN (\(placeholders(chunk.count)))",
                    chunk.map { .integer($0) }
                ))
        }
        for chunk in chunks(timers) {
            // `name` is `kind/rule`: kinds have no "/".
            parts.append(
                (
                    "SELECT 'timer' AS fact, kind || '/' || rule AS name, id AS number, incident_id AS value, lease_owner AS owner, state FROM timers WHERE id IN (\(placeholders(chunk.count)))",
                    chunk.map { .int64($0) }
                ))
        }
        for chunk in chunks(rotations) {
            parts.append(
                (
                    "SELECT 'handoff' AS fact, rotation_id AS name, NULL AS number, handoff_at AS value, NULL AS owner, NULL AS state FROM rotation_handoffs WHERE rotation_id IN (\(placeholders(chunk.count)))",
                    chunk.map { .text($0) }
                ))
        }

        var facts = Facts()
        var pending = parts[...]
        while !pending.isEmpty {
            // As many lookups per query as the bind limit allows.
            var sql: [String] = []
            var binds: [SQLiteData] = []
            while let part = pending.first, sql.isEmpty || binds.count + part.binds.count <= maximumBinds {
                sql.append(part.sql)
                binds += part.binds
                pending = pending.dropFirst()
            }
            for row in try session.run(sql.joined(separator: " UNION ALL "), binds) {
                try facts.add(row)
            }
        }
        return facts
    }

    // MARK: - Deciding

    /// The database as the change sets accepted so far leave it, for what the checks look at.
    private struct BatchState {
        var facts: Facts
        /// Timers completed by accepted change sets.
        var completed: Set<Int64> = []
        /// Slots whose pending timer an accepted change set deleted or replaced.
        var replacedSlots: Set<PreparedChangeSet.TimerSlot> = []

        init(facts: Facts) {
            self.facts = facts
        }

        /// Applies `changes` if the database (as the earlier change sets leave it) allows it; otherwise
        /// returns the refusal, in the order a lone transaction would meet them, and `self` is to be
        /// thrown away.
        mutating func accept(_ changes: PreparedChangeSet) -> StoreError? {
            // The duplicate check first: a redelivered event is refused whatever else is wrong with it.
            if let key = changes.inboundKey {
                if facts.seenKeys.contains(key) { return .duplicate(key) }
                facts.seenKeys.insert(key)
            }
            // Compare-and-set: only a hand-off later than the recorded one.
            if let handoff = changes.handoff {
                if let recorded = facts.handoffs[handoff.rotationID], recorded >= handoff.at {
                    return .duplicate("handoff:\(handoff.rotationID)@\(handoff.at)")
                }
                facts.handoffs[handoff.rotationID] = handoff.at
            }
            // The timer must still be pending and leased to `owner` (a lease that expired but that nobody
            // else took still counts: nobody else fired the timer), and not replaced meanwhile. Before the
            // timers: completing it frees its slot for the next step's timer of the same change set.
            if let completion = changes.completeTimer {
                guard let timer = facts.timers[completion.id], timer.state == "pending", timer.owner == completion.owner,
                    !completed.contains(completion.id), !replacedSlots.contains(timer.slot)
                else { return .leaseLost(completion.id) }
                completed.insert(completion.id)
            }
            // Inserts of an existing id and updates of another revision are conflicts, in order.
            for row in changes.incidents {
                let current = facts.revisions[row.id.number]
                if let expected = row.expectedRevision {
                    guard current == expected else { return .conflict(row.id) }
                } else {
                    guard current == nil else { return .conflict(row.id) }
                }
                facts.revisions[row.id.number] = row.storedRevision
            }
            for change in changes.timerChanges {
                replacedSlots.insert(change.slot)
            }
            return nil
        }
    }

    // MARK: - Writing

    /// One statement per table (more only past the bind limit), in the order a lone change set writes.
    private static func statements(for accepted: [PreparedChangeSet], state: BatchState) -> [BatchStatement] {
        var statements: [BatchStatement] = []

        let keys = accepted.compactMap { changes in changes.inboundKey.map { [SQLiteData.text($0), .int64(changes.committedAt)] } }
        statements += insert(
            "INSERT INTO processed_inbound (key, processed_at) VALUES", rows: keys,
            suffix: "ON CONFLICT (key) DO NOTHING RETURNING key", checked: true)

        // Several hand-offs of one rotation: each later than the one before (checked), so the last wins.
        let handoffs = accepted.compactMap { changes in changes.handoff.map { [SQLiteData.text($0.rotationID), .int64($0.at)] } }
        statements += insert(
            "INSERT INTO rotation_handoffs (rotation_id, handoff_at) VALUES", rows: handoffs,
            suffix: """
                ON CONFLICT (rotation_id) DO UPDATE SET handoff_at = excluded.handoff_at
                WHERE rotation_handoffs.handoff_at < excluded.handoff_at
                RETURNING rotation_id
                """,
            checked: true)

        let completions = accepted.compactMap { $0.completeTimer?.id }
        for chunk in chunks(completions) {
            statements.append(
                BatchStatement(
                    sql: "UPDATE timers SET state = 'done' WHERE state = 'pending' AND id IN (\(placeholders(chunk.count))) RETURNING id",
                    binds: chunk.map { .int64($0) }, expectedRows: chunk.count))
        }

        statements += incidentStatements(accepted.flatMap(\.incidents), state: state)
        statements += insert("INSERT INTO timeline (incident_id, at, kind, actor_id, actor_name, text) VALUES", rows: accepted.flatMap(\.timeline))
        statements += timerStatements(accepted.flatMap(\.timerChanges))
        statements += insert("INSERT INTO outbox (platform, incident_id, action, created_at, not_before, queue) VALUES", rows: accepted.flatMap(\.outbox))
        statements += insert(
            "INSERT INTO oncall_overrides (rotation_id, person_id, starts_at, ends_at, created_by) VALUES", rows: accepted.flatMap(\.overrides))
        statements += consoleStatements(accepted.flatMap(\.console))
        statements += insert(
            "INSERT INTO audit_log (at, platform, user_id, user_name, person_id, channel, text, outcome, reason, incident_id, remote_address) VALUES",
            rows: accepted.flatMap(\.audit))
        statements += insert(
            "INSERT INTO alert_groups (source, group_key, incident_id, linked_at) VALUES", rows: lastLinkOfEachGroup(accepted.flatMap(\.alertGroups)),
            suffix: "ON CONFLICT (source, group_key) DO UPDATE SET incident_id = excluded.incident_id, linked_at = excluded.linked_at")
        return statements
    }

    /// One row per alert group, the last one: an upsert may not touch a row twice in one statement.
    private static func lastLinkOfEachGroup(_ rows: [[SQLiteData]]) -> [[SQLiteData]] {
        var seen: Set<String> = []
        return rows.reversed().filter { row in seen.insert(row.prefix(2).map(\.description).joined(separator: "\u{1F}")).inserted }.reversed()
    }

    /// A console line that delivers an outbox message is written once per outbox id; a redelivery is
    /// ignored (also within one statement: the second row with the same id does nothing).
    static func consoleInserts(_ rows: [[SQLiteData]]) -> [(sql: String, binds: [SQLiteData])] {
        consoleStatements(rows).map { ($0.sql, $0.binds) }
    }

    private static func consoleStatements(_ rows: [[SQLiteData]]) -> [BatchStatement] {
        insert("INSERT INTO console_messages (at, channel, thread, text, kind, outbox_id) VALUES", rows: rows, suffix: "ON CONFLICT (outbox_id) DO NOTHING")
    }

    /// Each incident's last write: new ones inserted, existing ones updated only from the revision the
    /// checks saw (the guard makes a wrong check an inconsistency rather than a lost update).
    private static func incidentStatements(_ writes: [PreparedChangeSet.IncidentRow], state: BatchState) -> [BatchStatement] {
        var firstSeen: [Int: PreparedChangeSet.IncidentRow] = [:]
        var last: [Int: PreparedChangeSet.IncidentRow] = [:]
        var order: [Int] = []
        for write in writes {
            if firstSeen[write.id.number] == nil {
                firstSeen[write.id.number] = write
                order.append(write.id.number)
            }
            last[write.id.number] = write
        }
        var inserts: [[SQLiteData]] = []
        var updates: [[SQLiteData]] = []
        for id in order {
            guard let first = firstSeen[id], let final = last[id] else { continue }
            let values = [SQLiteData.integer(id), .integer(final.storedRevision)] + final.columns
            if let base = first.expectedRevision {
                updates.append([.integer(id), .integer(base)] + values.dropFirst())
            } else {
                inserts.append(values)
            }
        }
        var statements = insert(
            "INSERT INTO incidents (id, revision, severity, status, declared_at, room_platform, room_channel_id, room_thread_id, body, incident_type) VALUES",
            rows: inserts, suffix: "ON CONFLICT (id) DO NOTHING RETURNING id", checked: true)
        // The usual case, one incident, as a plain UPDATE: cheaper for SQLite to parse and plan than a join.
        if updates.count == 1 {
            let update = updates[0]
            statements.append(
                BatchStatement(
                    sql: """
                        UPDATE incidents
                        SET revision = ?, severity = ?, status = ?, declared_at = ?,
                            room_platform = ?, room_channel_id = ?, room_thread_id = ?, body = ?, incident_type = ?
                        WHERE id = ? AND revision = ?
                        RETURNING id
                        """,
                    binds: Array(update[2...]) + [update[0], update[1]], expectedRows: 1))
            return statements
        }
        // VALUES columns: id, expected revision, new revision, severity, status, declared_at, room ×3, body, type.
        for (sql, binds, count) in multiRow(updates) {
            statements.append(
                BatchStatement(
                    sql: """
                        UPDATE incidents
                        SET revision = new.column3, severity = new.column4, status = new.column5, declared_at = new.column6,
                            room_platform = new.column7, room_channel_id = new.column8, room_thread_id = new.column9, body = new.column10,
                            incident_type = new.column11
                        FROM (VALUES \(sql)) AS new
                        WHERE incidents.id = new.column1 AND incidents.revision = new.column2
                        RETURNING incidents.id
                        """,
                    binds: binds, expectedRows: count))
        }
        return statements
    }

    /// Each slot's last change: one DELETE for the slots that end up cancelled, one INSERT OR REPLACE for
    /// those that end up with a new timer. The partial unique index `timers_one_pending_per_rule` makes
    /// REPLACE delete the slot's pending timer (never a `done` one) before inserting; the new row gets a
    /// new id, as with DELETE + INSERT, so a scheduler still holding the old timer loses its lease.
    private static func timerStatements(_ changes: [PreparedChangeSet.TimerChange]) -> [BatchStatement] {
        var final: [PreparedChangeSet.TimerSlot: PreparedChangeSet.TimerChange] = [:]
        var order: [PreparedChangeSet.TimerSlot] = []
        for change in changes {
            if final[change.slot] == nil { order.append(change.slot) }
            final[change.slot] = change
        }
        var cancelled: [[SQLiteData]] = []
        var replaced: [[SQLiteData]] = []
        for slot in order {
            switch final[slot] {
            case .cancel: cancelled.append([.integer(slot.incident), .text(slot.kind), .text(slot.rule)])
            case .replace(_, let values): replaced.append(values)
            case nil: break
            }
        }
        var statements: [BatchStatement] = []
        // A join from the slots to the partial unique index: an OR of `(incident_id = ? AND kind = ?)`
        // terms makes SQLite scan every pending timer.
        for (sql, binds, _) in multiRow(cancelled) {
            statements.append(
                BatchStatement(
                    sql: """
                        DELETE FROM timers WHERE id IN (
                            SELECT pending.id FROM (VALUES \(sql)) AS cancelled
                            JOIN timers AS pending
                                ON pending.incident_id = cancelled.column1 AND pending.kind = cancelled.column2 AND pending.rule = cancelled.column3
                            WHERE pending.state = 'pending')
                        """,
                    binds: binds, expectedRows: nil))
        }
        statements += insert("INSERT OR REPLACE INTO timers (incident_id, kind, due_at, step, rule) VALUES", rows: replaced)
        return statements
    }

    // MARK: - Building statements

    /// `head (?, …), (?, …) suffix` for the rows, as many statements as the bind limit needs (none for no
    /// rows); `checked`: `RETURNING` must give one row per row inserted.
    private static func insert(_ head: String, rows: [[SQLiteData]], suffix: String = "", checked: Bool = false) -> [BatchStatement] {
        multiRow(rows).map { values, binds, count in
            BatchStatement(sql: "\(head) \(values) \(suffix)", binds: binds, expectedRows: checked ? count : nil)
        }
    }

    /// The rows as `(?, …), (?, …)` groups within the bind limit: each group's placeholders, binds and row count.
    static func multiRow(_ rows: [[SQLiteData]]) -> [(String, [SQLiteData], Int)] {
        guard let columns = rows.first?.count, columns > 0 else { return [] }
        let row = "(" + placeholders(columns) + ")"
        return chunks(rows, size: max(1, maximumBinds / columns)).map { chunk in
            (Array(repeating: row, count: chunk.count).joined(separator: ", "), chunk.flatMap { $0 }, chunk.count)
        }
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    private static func chunks<Element>(_ elements: [Element], size: Int = maximumBinds) -> [ArraySlice<Element>] {
        stride(from: 0, to: elements.count, by: size).map { elements[$0..<min($0 + size, elements.count)] }
    }
}

extension ChangeSetBatch.Facts {
    fileprivate mutating func add(_ row: SQLiteResultRow) throws {
        let fact = try row.text("fact")
        switch fact {
        case "key":
            seenKeys.insert(try row.text("name"))
        case "incident":
            revisions[try row.int("number")] = try row.int("value")
        case "timer":
            let name = try row.text("name")
            let kind = name.prefix { $0 != "/" }
            let slot = PreparedChangeSet.TimerSlot(incident: try row.int("value"), kind: String(kind), rule: String(name.dropFirst(kind.count + 1)))
            timers[try row.int64("number")] = (slot, try row.text("state"), try row.optionalText("owner"))
        case "handoff":
            handoffs[try row.text("name")] = try row.int64("value")
        default:
            throw MalformedRow(column: "fact", problem: "unknown kind \(fact)")
        }
    }
}
