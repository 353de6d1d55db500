import IncidentCore
import Logging
import SQLiteNIO

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `IncidentStore` in one SQLite file (WAL mode), for a single host.
///
/// Concurrency model: the store is an actor owning ONE connection, and every use of that connection —
/// reads included — runs inside `exclusively`, a first-come-first-served section that admits one caller
/// at a time. The actor alone is not enough: sqlite-nio suspends on every query, and while a transaction
/// waits for its `INSERT` another call could enter the actor (reentrancy) and run its statements inside
/// the open transaction, or read rows that are then rolled back. The section spans those suspensions, so
/// `BEGIN IMMEDIATE … COMMIT` of one change set finishes before anything else touches the connection.
/// Other processes on the same file are kept apart by SQLite's own locks (`busy_timeout`).
public actor SQLiteIncidentStore: IncidentStore {
    private let connection: SQLiteConnection
    private let logger: Logger
    private var isClosed = false

    /// The exclusive section: whether someone is inside, and who waits, in arrival order.
    private var sectionIsTaken = false
    private var sectionWaiters: [CheckedContinuation<Void, Never>] = []

    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()

    /// The statuses that count as open, as bind values for `status IN (…)`.
    private static let openStatuses: [SQLiteData] = IncidentStatus.allCases.filter(\.isOpen).map { .text($0.rawValue) }
    private static let openStatusPlaceholders = openStatuses.map { _ in "?" }.joined(separator: ", ")

    private init(connection: SQLiteConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// A store dropped without `close()` still gives its file handle back (sqlite-nio also asserts on it).
    deinit {
        if !isClosed {
            _ = connection.close()
        }
    }

    /// Opens (creating if needed, parent directories included) the database at `path` and brings its
    /// schema up to date.
    public static func open(
        path: String, logger: Logger = Logger(label: "klaxon.storage.sqlite")
    ) async throws -> SQLiteIncidentStore {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.unavailable("cannot create the directory \(directory.path): \(error)")
        }

        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw StoreError.unavailable("cannot open the SQLite database at \(path): \(error)")
        }

        do {
            let journal = try await connection.query("PRAGMA journal_mode = WAL", [])
            guard journal.first?.column("journal_mode")?.string?.lowercased() == "wal" else {
                throw StoreError.unavailable("SQLite refused WAL mode for \(path)")
            }
            // FULL: in WAL mode, NORMAL skips the fsync at each commit, so a power cut can lose the last
            // transactions. A commit here is a command we then answer ("INC-42 declared") and messages we
            // promised to send; losing them after the answer is worse than one fsync per command.
            _ = try await connection.query("PRAGMA synchronous = FULL", [])
            _ = try await connection.query("PRAGMA foreign_keys = ON", [])
            // sqlite-nio installs a busy handler that retries forever; a timeout turns another process
            // holding the write lock too long into an error instead of a hang.
            _ = try await connection.query("PRAGMA busy_timeout = 5000", [])
            try await Migrations.apply(on: connection, logger: logger)
        } catch {
            try? await connection.close()
            throw storeError(error)
        }

        logger.info("Opened the SQLite incident store", metadata: ["path": "\(path)"])
        return SQLiteIncidentStore(connection: connection, logger: logger)
    }

    /// Waits for work in progress, then closes the connection. Later calls throw `StoreError.unavailable`.
    public func close() async throws {
        try await exclusively {
            isClosed = true
            try await connection.close()
        }
    }

    /// The migration versions this file has, oldest first (diagnostics; tests check migrations with it).
    public func appliedMigrations() async throws -> [Int] {
        try await exclusively {
            try await Migrations.appliedVersions(on: connection)
        }
    }

    // MARK: - The exclusive section

    /// Runs `body` with the connection to itself (see the type's comment). Waiters are admitted in arrival
    /// order; a waiter cannot be cancelled, as the wait only lasts as long as the statements ahead of it.
    /// `body` must not call another method that enters the section: that would wait for itself.
    private func exclusively<T>(_ body: () async throws -> T) async throws -> T {
        await enterSection()
        defer { leaveSection() }
        guard !isClosed else { throw StoreError.unavailable("the SQLite store is closed") }
        do {
            return try await body()
        } catch {
            throw storeError(error)
        }
    }

    private func enterSection() async {
        if sectionIsTaken {
            await withCheckedContinuation { sectionWaiters.append($0) }
            // `leaveSection` handed the section over without ever marking it free.
        } else {
            sectionIsTaken = true
        }
    }

    private func leaveSection() {
        if sectionWaiters.isEmpty {
            sectionIsTaken = false
        } else {
            sectionWaiters.removeFirst().resume()
        }
    }

    /// `body` inside one write transaction, rolled back if anything throws (COMMIT included).
    /// `BEGIN IMMEDIATE` takes the write lock at once, so another process cannot make us fail half-way.
    private func transaction<T>(_ body: () async throws -> T) async throws -> T {
        try await exclusively {
            try await execute("BEGIN IMMEDIATE")
            do {
                let result = try await body()
                try await execute("COMMIT")
                return result
            } catch {
                do {
                    try await execute("ROLLBACK")
                } catch {
                    // Some errors (a full disk) make SQLite roll back by itself; then there is nothing left.
                    logger.debug("ROLLBACK after a failed transaction failed", metadata: ["error": "\(error)"])
                }
                throw error
            }
        }
    }

    @discardableResult
    private func execute(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await connection.query(sql, binds)
    }

    // MARK: - Incidents

    public func allocateIncidentNumber(day: String) async throws -> (id: IncidentID, daySequence: Int) {
        try await transaction {
            let global = try await execute(
                """
                INSERT INTO incident_number_counter (singleton, last_number) VALUES (1, 1)
                ON CONFLICT (singleton) DO UPDATE SET last_number = last_number + 1
                RETURNING last_number
                """
            )
            let daily = try await execute(
                """
                INSERT INTO incident_day_counters (day, last_number) VALUES (?, 1)
                ON CONFLICT (day) DO UPDATE SET last_number = last_number + 1
                RETURNING last_number
                """,
                [.text(day)]
            )
            guard let number = try global.first?.int("last_number"), let sequence = try daily.first?.int("last_number") else {
                throw StoreError.unavailable("the incident counters returned nothing")
            }
            return (IncidentID(number), sequence)
        }
    }

    public func incident(_ id: IncidentID) async throws -> Incident? {
        try await exclusively {
            try await execute("SELECT revision, body FROM incidents WHERE id = ?", [.integer(id.number)])
                .first.map(decodeIncident)
        }
    }

    /// The room's exact conversation first. A command typed in a thread of an incident's own channel
    /// (channel mode) carries that thread's id, so failing an exact match, a threaded conversation also
    /// finds the incident whose room is the whole channel.
    public func incident(in conversation: Conversation) async throws -> Incident? {
        try await exclusively {
            let lookup = """
                SELECT revision, body FROM incidents
                WHERE room_platform = ? AND room_channel_id = ? AND room_thread_id IS ?
                ORDER BY id DESC LIMIT 1
                """
            let platform = SQLiteData.text(conversation.platform.rawValue)
            let channel = SQLiteData.text(conversation.channelID)
            if let row = try await execute(lookup, [platform, channel, .optionalText(conversation.threadID)]).first {
                return try decodeIncident(row)
            }
            guard conversation.threadID != nil else { return nil }
            return try await execute(lookup, [platform, channel, .null]).first.map(decodeIncident)
        }
    }

    /// Newest declaration first; without `includeClosed`, only open incidents (declared … mitigated).
    public func incidents(includeClosed: Bool, limit: Int) async throws -> [Incident] {
        try await exclusively {
            let rows: [SQLiteRow]
            if includeClosed {
                rows = try await execute(
                    "SELECT revision, body FROM incidents ORDER BY declared_at DESC, id DESC LIMIT ?",
                    [.integer(max(limit, 0))])
            } else {
                rows = try await execute(
                    """
                    SELECT revision, body FROM incidents WHERE status IN (\(Self.openStatusPlaceholders))
                    ORDER BY declared_at DESC, id DESC LIMIT ?
                    """,
                    Self.openStatuses + [.integer(max(limit, 0))])
            }
            return try rows.map(decodeIncident)
        }
    }

    public func timeline(of id: IncidentID) async throws -> [TimelineEntry] {
        try await exclusively {
            try await execute("SELECT * FROM timeline WHERE incident_id = ? ORDER BY id", [.integer(id.number)])
                .map(decodeTimelineEntry)
        }
    }

    /// Records the room and bumps the revision, so that an engine holding the incident from before (without
    /// its room) gets a conflict and re-reads, instead of writing the room back to nil.
    public func setRoom(_ room: Conversation, for id: IncidentID) async throws {
        try await transaction {
            guard let row = try await execute("SELECT revision, body FROM incidents WHERE id = ?", [.integer(id.number)]).first else {
                throw StoreError.notFound
            }
            var incident = try decodeIncident(row)
            let storedRevision = incident.revision
            incident.room = room
            try await updateIncident(incident, expectedRevision: storedRevision)
        }
    }

    // MARK: - Commit

    public func commit(_ changes: ChangeSet) async throws {
        // Only for bookkeeping columns (created_at, processed_at); everything scheduled uses the callers'
        // clock, which tests replace.
        let committedAt = Date()
        try await transaction {
            // The duplicate check first: a redelivered event costs nothing more.
            if let key = changes.inboundKey {
                try await recordInbound(key, at: committedAt)
            }
            if let handoff = changes.handoff {
                try await recordHandoff(handoff)
            }
            // Before the timers: completing the timer that fired frees its (incident, kind) slot for the
            // next step's timer written by the same change set.
            if let completion = changes.completeTimer {
                try await completeTimer(completion.id, owner: completion.owner)
            }
            for write in changes.incidents {
                if let expectedRevision = write.expectedRevision {
                    try await updateIncident(write.incident, expectedRevision: expectedRevision)
                } else {
                    try await insertIncident(write.incident)
                }
            }
            for entry in changes.timeline {
                try await insertTimelineEntry(entry)
            }
            for (incidentID, kind) in changes.cancelTimers {
                try await deletePendingTimer(of: incidentID, kind: kind)
            }
            for timer in changes.timers {
                try await deletePendingTimer(of: timer.incidentID, kind: timer.kind)
                try await execute(
                    "INSERT INTO timers (incident_id, kind, due_at, step) VALUES (?, ?, ?, ?)",
                    [.integer(timer.incidentID.number), .text(timer.kind.rawValue), SQLiteDates.value(timer.dueAt), .integer(timer.step)])
            }
            for message in changes.outbox {
                try await insertOutboxMessage(message, createdAt: committedAt)
            }
            for override in changes.overrides {
                try await execute(
                    "INSERT INTO oncall_overrides (rotation_id, person_id, starts_at, ends_at, created_by) VALUES (?, ?, ?, ?, ?)",
                    [.text(override.rotationID), .text(override.personID), SQLiteDates.value(override.start), SQLiteDates.value(override.end), .text(override.createdBy)])
            }
            for message in changes.consoleMessages {
                try await insertConsoleMessage(message)
            }
        }
    }

    private func recordInbound(_ key: String, at date: Date) async throws {
        let inserted = try await execute(
            "INSERT INTO processed_inbound (key, processed_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key",
            [.text(key), SQLiteDates.value(date)])
        if inserted.isEmpty { throw StoreError.duplicate(key) }
    }

    /// Compare-and-set: only a hand-off later than the recorded one is written.
    private func recordHandoff(_ handoff: RotationHandoff) async throws {
        let recorded = try await execute(
            """
            INSERT INTO rotation_handoffs (rotation_id, handoff_at) VALUES (?, ?)
            ON CONFLICT (rotation_id) DO UPDATE SET handoff_at = excluded.handoff_at
            WHERE rotation_handoffs.handoff_at < excluded.handoff_at
            RETURNING rotation_id
            """,
            [.text(handoff.rotationID), SQLiteDates.value(handoff.at)])
        if recorded.isEmpty { throw StoreError.duplicate("handoff:\(handoff.rotationID)@\(SQLiteDates.milliseconds(handoff.at))") }
    }

    /// The timer must still be leased to `owner`. A lease that expired but was not taken by anyone else
    /// still counts: nobody else fired the timer.
    private func completeTimer(_ id: Int64, owner: String) async throws {
        let completed = try await execute(
            "UPDATE timers SET state = 'done' WHERE id = ? AND state = 'pending' AND lease_owner = ? RETURNING id",
            [.int64(id), .text(owner)])
        if completed.isEmpty { throw StoreError.leaseLost(id) }
    }

    /// Stored with revision 1, whatever the value says. An id that exists already is a conflict: someone
    /// else wrote that incident first.
    private func insertIncident(_ incident: Incident) async throws {
        var stored = incident
        stored.revision = 1
        let inserted = try await execute(
            """
            INSERT INTO incidents (id, revision, severity, status, declared_at, room_platform, room_channel_id, room_thread_id, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            [.integer(stored.id.number), .integer(stored.revision)] + (try incidentColumns(stored)))
        if inserted.isEmpty { throw StoreError.conflict(incident.id) }
    }

    /// Stored with `expectedRevision + 1`, only if the stored revision is still `expectedRevision`.
    private func updateIncident(_ incident: Incident, expectedRevision: Int) async throws {
        var stored = incident
        stored.revision = expectedRevision + 1
        let updated = try await execute(
            """
            UPDATE incidents
            SET revision = ?, severity = ?, status = ?, declared_at = ?,
                room_platform = ?, room_channel_id = ?, room_thread_id = ?, body = ?
            WHERE id = ? AND revision = ?
            RETURNING id
            """,
            [.integer(stored.revision)] + (try incidentColumns(stored)) + [.integer(stored.id.number), .integer(expectedRevision)])
        if updated.isEmpty { throw StoreError.conflict(incident.id) }
    }

    /// severity, status, declared_at, the room's three columns and the JSON body, in that order.
    private func incidentColumns(_ incident: Incident) throws -> [SQLiteData] {
        let body = String(decoding: try encoder.encode(incident), as: UTF8.self)
        return [
            .text(incident.severity), .text(incident.status.rawValue), SQLiteDates.value(incident.declaredAt),
            .optionalText(incident.room?.platform.rawValue), .optionalText(incident.room?.channelID), .optionalText(incident.room?.threadID),
            .text(body),
        ]
    }

    private func insertTimelineEntry(_ entry: TimelineEntry) async throws {
        try await execute(
            "INSERT INTO timeline (incident_id, at, kind, actor_id, actor_name, text) VALUES (?, ?, ?, ?, ?, ?)",
            [.integer(entry.incidentID.number), SQLiteDates.value(entry.at), .text(entry.kind.rawValue),
             .optionalText(entry.actor?.id), .optionalText(entry.actor?.name), .text(entry.text)])
    }

    private func deletePendingTimer(of incidentID: IncidentID, kind: TimerKind) async throws {
        try await execute(
            "DELETE FROM timers WHERE incident_id = ? AND kind = ? AND state = 'pending'",
            [.integer(incidentID.number), .text(kind.rawValue)])
    }

    /// A message without `notBefore` is due at once, whatever clock the caller uses: it is stored as due at
    /// the epoch rather than at this machine's "now".
    private func insertOutboxMessage(_ message: NewOutboxMessage, createdAt: Date) async throws {
        let action = String(decoding: try encoder.encode(message.action), as: UTF8.self)
        try await execute(
            "INSERT INTO outbox (platform, incident_id, action, created_at, not_before) VALUES (?, ?, ?, ?, ?)",
            [.text(message.platform.rawValue), message.incidentID.map { .integer($0.number) } ?? .null, .text(action),
             SQLiteDates.value(createdAt), .int64(message.notBefore.map(SQLiteDates.milliseconds) ?? 0)])
    }

    /// A console line that delivers an outbox message is written once per outbox id; a redelivery is ignored.
    private func insertConsoleMessage(_ message: ConsoleMessage) async throws {
        try await execute(
            """
            INSERT INTO console_messages (at, channel, thread, text, kind, outbox_id) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (outbox_id) DO NOTHING
            """,
            [SQLiteDates.value(message.at), .text(message.channel), .optionalText(message.thread), .text(message.text),
             .text(message.kind), .optionalInt64(message.outboxID)])
    }

    // MARK: - Outbox

    /// A pending message is claimable when it is due, nobody holds an unexpired lease on it, and no earlier
    /// message of the same incident is still pending (delivered or dead ones no longer hold the line).
    public func claimOutbox(now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> [OutboxMessage] {
        try await exclusively {
            try await execute(
                """
                UPDATE outbox SET lease_owner = ?1, lease_expires_at = ?2, claims = claims + 1
                WHERE id IN (
                    SELECT candidate.id FROM outbox AS candidate
                    WHERE candidate.state = 'pending'
                      AND candidate.not_before <= ?3
                      AND (candidate.lease_expires_at IS NULL OR candidate.lease_expires_at <= ?3)
                      AND (candidate.incident_id IS NULL OR NOT EXISTS (
                          SELECT 1 FROM outbox AS earlier
                          WHERE earlier.incident_id = candidate.incident_id
                            AND earlier.state = 'pending'
                            AND earlier.id < candidate.id))
                    ORDER BY candidate.id
                    LIMIT ?4)
                RETURNING *
                """,
                [.text(owner), SQLiteDates.value(leaseUntil), SQLiteDates.value(now), .integer(max(limit, 0))]
            )
            .map(decodeOutboxMessage)
            .sorted { $0.id < $1.id }
        }
    }

    public func markDelivered(_ id: Int64, platformMessageID: String?, at: Date) async throws {
        try await updateOutboxMessage(
            id,
            set: "state = 'delivered', platform_message_id = ?, delivered_at = ?, lease_owner = NULL, lease_expires_at = NULL",
            [.optionalText(platformMessageID), SQLiteDates.value(at)])
    }

    public func markRetry(_ id: Int64, notBefore: Date, error: String) async throws {
        try await updateOutboxMessage(
            id,
            set: "attempts = attempts + 1, not_before = ?, last_error = ?, lease_owner = NULL, lease_expires_at = NULL",
            [SQLiteDates.value(notBefore), .text(error)])
    }

    /// Counts the attempt that failed for good, like `markRetry` counts the ones that will be retried.
    public func markDead(_ id: Int64, error: String) async throws {
        try await updateOutboxMessage(
            id,
            set: "state = 'dead', attempts = attempts + 1, last_error = ?, lease_owner = NULL, lease_expires_at = NULL",
            [.text(error)])
    }

    private func updateOutboxMessage(_ id: Int64, set assignments: String, _ binds: [SQLiteData]) async throws {
        try await exclusively {
            let updated = try await execute("UPDATE outbox SET \(assignments) WHERE id = ? RETURNING id", binds + [.int64(id)])
            if updated.isEmpty { throw StoreError.notFound }
        }
    }

    /// Only the first pending message of each incident counts (the others wait for it, so reporting them
    /// due would wake the sender for nothing); a leased message is due again when its lease expires.
    public func nextOutboxDue() async throws -> Date? {
        try await exclusively {
            try await execute(
                """
                SELECT MIN(MAX(candidate.not_before, COALESCE(candidate.lease_expires_at, 0))) AS due
                FROM outbox AS candidate
                WHERE candidate.state = 'pending'
                  AND (candidate.incident_id IS NULL OR NOT EXISTS (
                      SELECT 1 FROM outbox AS earlier
                      WHERE earlier.incident_id = candidate.incident_id
                        AND earlier.state = 'pending'
                        AND earlier.id < candidate.id))
                """
            )
            .first?.optionalDate("due")
        }
    }

    public func outboxDepth() async throws -> Int {
        try await exclusively {
            try await execute("SELECT COUNT(*) AS depth FROM outbox WHERE state = 'pending'").first?.int("depth") ?? 0
        }
    }

    public func outboxMessages(incident id: IncidentID) async throws -> [OutboxMessage] {
        try await exclusively {
            try await execute("SELECT * FROM outbox WHERE incident_id = ? ORDER BY id", [.integer(id.number)])
                .map(decodeOutboxMessage)
        }
    }

    // MARK: - Timers

    /// A leased timer is due again when its lease expires. Two index walks rather than one expression
    /// over every pending timer: the earliest unleased timer (`timers_pending_by_due`, first row) and the
    /// few leased ones (`timers_pending_leased`); with 200,000 timers that is microseconds, not 60 ms on
    /// each of the scheduler's wake-ups.
    public func nextTimerDue() async throws -> Date? {
        try await exclusively {
            try await execute(
                """
                SELECT MIN(due) AS due FROM (
                    SELECT due_at AS due FROM (
                        SELECT due_at FROM timers WHERE state = 'pending' AND lease_expires_at IS NULL ORDER BY due_at LIMIT 1)
                    UNION ALL
                    SELECT MAX(due_at, lease_expires_at) FROM timers WHERE state = 'pending' AND lease_expires_at IS NOT NULL)
                """
            )
            .first?.optionalDate("due")
        }
    }

    public func claimDueTimers(now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> [ScheduledTimer] {
        try await exclusively {
            try await execute(
                """
                UPDATE timers SET lease_owner = ?1, lease_expires_at = ?2
                WHERE id IN (
                    SELECT id FROM timers
                    WHERE state = 'pending'
                      AND due_at <= ?3
                      AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
                    ORDER BY due_at, id
                    LIMIT ?4)
                RETURNING *
                """,
                [.text(owner), SQLiteDates.value(leaseUntil), SQLiteDates.value(now), .integer(max(limit, 0))]
            )
            .map(decodeTimer)
            .sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
        }
    }

    public func pendingTimers(of id: IncidentID) async throws -> [ScheduledTimer] {
        try await exclusively {
            try await execute(
                "SELECT * FROM timers WHERE incident_id = ? AND state = 'pending' ORDER BY due_at, id",
                [.integer(id.number)]
            )
            .map(decodeTimer)
        }
    }

    // MARK: - On-call

    /// Overrides with start <= at < end, in the order they were set.
    public func overrides(rotation: String, activeAt: Date) async throws -> [OnCallOverride] {
        try await exclusively {
            let at = SQLiteDates.value(activeAt)
            return try await execute(
                "SELECT * FROM oncall_overrides WHERE rotation_id = ? AND starts_at <= ? AND ? < ends_at ORDER BY id",
                [.text(rotation), at, at]
            )
            .map(decodeOverride)
        }
    }

    public func overrides(rotation: String, endingAfter date: Date) async throws -> [OnCallOverride] {
        try await exclusively {
            try await execute(
                "SELECT * FROM oncall_overrides WHERE rotation_id = ? AND ends_at > ? ORDER BY id",
                [.text(rotation), SQLiteDates.value(date)]
            )
            .map(decodeOverride)
        }
    }

    private func decodeOverride(_ row: SQLiteRow) throws -> OnCallOverride {
        OnCallOverride(
            rotationID: try row.text("rotation_id"), personID: try row.text("person_id"),
            start: try row.date("starts_at"), end: try row.date("ends_at"), createdBy: try row.text("created_by"))
    }

    public func lastHandoff(rotation: String) async throws -> Date? {
        try await exclusively {
            try await execute("SELECT handoff_at FROM rotation_handoffs WHERE rotation_id = ?", [.text(rotation)])
                .first?.optionalDate("handoff_at")
        }
    }

    // MARK: - Console platform

    public func appendConsoleMessage(_ message: ConsoleMessage) async throws {
        try await exclusively {
            try await insertConsoleMessage(message)
        }
    }

    public func consoleMessages(after id: Int64, limit: Int) async throws -> [ConsoleMessage] {
        try await exclusively {
            try await execute("SELECT * FROM console_messages WHERE id > ? ORDER BY id LIMIT ?", [.int64(id), .integer(max(limit, 0))])
                .map { row in
                    ConsoleMessage(
                        id: try row.int64("id"), at: try row.date("at"), channel: try row.text("channel"),
                        thread: try row.optionalText("thread"), text: try row.text("text"), kind: try row.text("kind"),
                        outboxID: try row.optionalInt64("outbox_id"))
                }
        }
    }

    // MARK: - Inbound cursors

    public func cursor(_ key: String) async throws -> String? {
        try await exclusively {
            try await execute("SELECT value FROM inbound_cursors WHERE key = ?", [.text(key)]).first.map { try $0.text("value") }
        }
    }

    public func setCursor(_ key: String, value: String) async throws {
        try await exclusively {
            try await execute(
                "INSERT INTO inbound_cursors (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [.text(key), .text(value)])
        }
    }

    // MARK: - Health

    public func ping() async throws {
        try await exclusively {
            _ = try await execute("SELECT 1")
        }
    }

    /// Open incidents (declared … mitigated) by severity.
    public func openIncidentCounts() async throws -> [String: Int] {
        try await exclusively {
            let rows = try await execute(
                "SELECT severity, COUNT(*) AS open_count FROM incidents WHERE status IN (\(Self.openStatusPlaceholders)) GROUP BY severity",
                Self.openStatuses)
            var counts: [String: Int] = [:]
            for row in rows {
                counts[try row.text("severity")] = try row.int("open_count")
            }
            return counts
        }
    }

    // MARK: - Reading rows

    /// The JSON body holds the incident; the `revision` column is the one updates compare, so it wins.
    private func decodeIncident(_ row: SQLiteRow) throws -> Incident {
        var incident = try decoder.decode(Incident.self, from: Data(try row.text("body").utf8))
        incident.revision = try row.int("revision")
        return incident
    }

    private func decodeTimelineEntry(_ row: SQLiteRow) throws -> TimelineEntry {
        let actor = try row.optionalText("actor_id").map { ChatUser(id: $0, name: try row.optionalText("actor_name")) }
        return TimelineEntry(
            incidentID: IncidentID(try row.int("incident_id")), at: try row.date("at"),
            kind: try row.enumeration("kind", as: TimelineKind.self), actor: actor, text: try row.text("text"))
    }

    private func decodeOutboxMessage(_ row: SQLiteRow) throws -> OutboxMessage {
        OutboxMessage(
            id: try row.int64("id"),
            platform: try row.enumeration("platform", as: PlatformKind.self),
            incidentID: try row.optionalInt64("incident_id").map { IncidentID(Int($0)) },
            action: try decoder.decode(ChatAction.self, from: Data(try row.text("action").utf8)),
            createdAt: try row.date("created_at"),
            notBefore: try row.date("not_before"),
            attempts: try row.int("attempts"),
            state: try row.enumeration("state", as: OutboxState.self),
            platformMessageID: try row.optionalText("platform_message_id"),
            lastError: try row.optionalText("last_error"),
            previousClaims: max(0, try row.int("claims") - 1))
    }

    private func decodeTimer(_ row: SQLiteRow) throws -> ScheduledTimer {
        ScheduledTimer(
            id: try row.int64("id"),
            incidentID: IncidentID(try row.int("incident_id")),
            kind: try row.enumeration("kind", as: TimerKind.self),
            dueAt: try row.date("due_at"),
            step: try row.int("step"),
            leaseOwner: try row.optionalText("lease_owner"),
            leaseExpiresAt: try row.optionalDate("lease_expires_at"))
    }
}

/// What callers see: `StoreError` only. Anything from SQLite or from decoding means the store cannot serve
/// the request.
private func storeError(_ error: any Error) -> StoreError {
    if let storeError = error as? StoreError { return storeError }
    return .unavailable("SQLite: \(error)")
}
