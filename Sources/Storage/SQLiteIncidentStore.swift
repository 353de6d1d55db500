import IncidentCore
import Logging
import NIOPosix
import SQLiteNIO
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The `IncidentStore` in one SQLite file (WAL mode), for a single host.
///
/// Connections: one write connection, owned by `SQLiteWriter`, and a few read-only ones (`SQLiteReaders`).
///
/// - Every write (a change set, a claim, a delivery mark) is a job for the writer, which writes the jobs
///   that queue up meanwhile as one transaction (group commit), merging their statements: under load, one
///   transaction and one fsync serve many callers, while each caller still gets its own outcome (a refused
///   change set fails alone) and returns only once its writes are committed. A transaction never shares
///   the connection with anything else, so no other call can run statements inside it or read rows that
///   are then rolled back.
/// - Plain reads go to the read connections and never queue behind a write transaction. WAL gives each
///   read a snapshot of what was committed when it began, so a read sees a commit that returned before it
///   started, and never a transaction in progress.
///
/// Other processes on the same file are kept apart by SQLite's own locks (`busy_timeout`).
public final class SQLiteIncidentStore: IncidentStore, Sendable {
    private let writer: SQLiteWriter
    private let readers: SQLiteReaders
    private let logger: Logger
    /// Stamps the bookkeeping columns (`created_at`, `processed_at`): the daemon's clock, so that tests on a
    /// manual clock see the same time in them as in everything the engine schedules.
    private let clock: any WallClock

    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()
    /// The incidents `incident(_:)` decoded last, by number (see there).
    private let decodedIncidents = Mutex<[Int: Incident]>([:])

    /// Read connections. Two: the machines this runs on have few cores, reads take microseconds, and each
    /// connection is one more file handle and page cache.
    private static let readConnections = 2

    /// The statuses that count as open, as bind values for `status IN (…)`.
    private static let openStatuses: [SQLiteData] = IncidentStatus.allCases.filter(\.isOpen).map { .text($0.rawValue) }
    private static let openStatusPlaceholders = openStatuses.map { _ in "?" }.joined(separator: ", ")

    private init(writer: SQLiteWriter, readers: SQLiteReaders, clock: any WallClock, logger: Logger) {
        self.writer = writer
        self.readers = readers
        self.clock = clock
        self.logger = logger
    }

    /// Opens (creating if needed, parent directories included) the database at `path` and brings its
    /// schema up to date.
    public static func open(
        path: String, clock: any WallClock = SystemClock(), logger: Logger = Logger(label: "klaxon.storage.sqlite")
    ) async throws -> SQLiteIncidentStore {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw StoreError.unavailable("cannot create the directory \(directory.path): \(error)")
        }

        // The write connection's own thread: on the shared pool a transaction would queue behind reads,
        // and every command waits for the transaction its writes are in.
        let writerThread = NIOThreadPool(numberOfThreads: 1)
        writerThread.start()
        let writeConnection: SQLiteDatabase
        do {
            writeConnection = try await openConnection(path: path, thread: writerThread)
        } catch {
            // Cleanup after the error thrown below; a close error would say nothing more.
            try? await writerThread.shutdownGracefully()
            throw error
        }
        do {
            let journal = try await writeConnection.query("PRAGMA journal_mode = WAL")
            guard journal.first?.column("journal_mode")?.string?.lowercased() == "wal" else {
                throw StoreError.unavailable("SQLite refused WAL mode for \(path)")
            }
            // FULL: in WAL mode, NORMAL skips the fsync at each commit, so a power cut can lose the last
            // transactions. A commit here is a command we then answer ("INC-42 declared") and messages we
            // promised to send; losing them after the answer is worse than one fsync per transaction, and
            // group commit shares that fsync among the callers that queue for it.
            try await writeConnection.query("PRAGMA synchronous = FULL")
            try await writeConnection.query("PRAGMA foreign_keys = ON")
            // Another process holding the write lock too long becomes an error instead of a hang.
            try await writeConnection.query("PRAGMA busy_timeout = 5000")
            try await Migrations.apply(on: writeConnection, logger: logger)
        } catch {
            // Cleanup after the error thrown below; a close error would say nothing more.
            try? await writeConnection.close()
            try? await writerThread.shutdownGracefully()
            throw storeError(error)
        }

        var readConnections: [SQLiteDatabase] = []
        do {
            for _ in 0..<Self.readConnections {
                let connection = try await openConnection(path: path, thread: .singleton)
                readConnections.append(connection)
                // Readers rarely wait in WAL mode (only while another process recovers the file), but a
                // wait must end in an error rather than a hang, as for the writer.
                try await connection.query("PRAGMA busy_timeout = 5000")
                // A guard: nothing may write through a connection that is not the writer's.
                try await connection.query("PRAGMA query_only = ON")
            }
        } catch {
            for connection in readConnections {
                // Cleanup after the error thrown below; a close error would say nothing more.
                try? await connection.close()
            }
            try? await writeConnection.close()
            try? await writerThread.shutdownGracefully()
            throw storeError(error)
        }

        logger.info("Opened the SQLite incident store", metadata: ["path": "\(path)"])
        return SQLiteIncidentStore(
            writer: SQLiteWriter(connection: writeConnection, logger: logger),
            readers: SQLiteReaders(connections: readConnections),
            clock: clock, logger: logger)
    }

    private static func openConnection(path: String, thread: NIOThreadPool) async throws -> SQLiteDatabase {
        do {
            return try await SQLiteDatabase.open(path: path, thread: thread)
        } catch {
            throw StoreError.unavailable("cannot open the SQLite database at \(path): \(error)")
        }
    }

    /// Waits for work in progress, then closes the connections. Later calls throw `StoreError.unavailable`.
    public func close() async throws {
        do {
            try await writer.close()
            try await readers.close()
        } catch {
            throw storeError(error)
        }
    }

    /// The migration versions this file has, oldest first (diagnostics; tests check migrations with it).
    public func appliedMigrations() async throws -> [Int] {
        try await read { connection in
            try await Migrations.appliedVersions(on: connection)
        }
    }

    /// Group commit counters (tests, diagnostics): transactions written, the most jobs one of them held,
    /// and how many groups were rolled back and written again job by job.
    var writeStatistics: (transactions: Int, largestBatch: Int, abandonedGroups: Int) {
        get async { writer.statistics }
    }

    /// Kept statements SQLite had to prepare again, on all connections (tests check the hot ones stay
    /// prepared).
    var statementReprepares: Int {
        get async throws { try await writer.reprepares() + readers.reprepares() }
    }

    /// How many writes wait for the write connection (tests line up a group with it).
    var queuedWrites: Int {
        get async { writer.queuedJobs }
    }

    /// Whether `close()` has begun: new writes are refused from then on.
    var isClosing: Bool {
        get async { writer.isClosing }
    }

    // MARK: - Running statements

    /// `body` on a read connection of its own (see `SQLiteReaders`).
    func read<T>(_ body: (SQLiteDatabase) async throws -> T) async throws -> T {
        do {
            return try await readers.read(body)
        } catch {
            throw storeError(error)
        }
    }

    /// `job` through the writer, its result as `T`, its errors as `StoreError`.
    private func perform<T: Sendable>(_ job: SQLiteWriteJob, returning type: T.Type) async throws -> T {
        do {
            let value = try await writer.perform(job)
            guard let typed = value as? T else {
                throw StoreError.unavailable("a write job returned \(Swift.type(of: value)), not \(T.self)")
            }
            return typed
        } catch {
            throw storeError(error)
        }
    }

    /// `body` as one write job of its own (see `SQLiteWriteJob.statements`). It may throw a `StoreError`
    /// only before it has written anything: a refused job is not rolled back on its own within a group.
    /// `singleStatement`: `body` runs exactly one statement.
    @discardableResult
    func write<T: Sendable>(singleStatement: Bool, _ body: @escaping @Sendable (SQLiteSession) throws -> T) async throws -> T {
        try await perform(.statements(singleStatement: singleStatement) { session in try body(session) }, returning: T.self)
    }

    // MARK: - Incidents

    public func allocateIncidentNumber(day: String) async throws -> (id: IncidentID, daySequence: Int) {
        let (number, sequence) = try await perform(.allocateIncidentNumber(day: day), returning: (number: Int, daySequence: Int).self)
        return (IncidentID(number), sequence)
    }

    /// The allocation and the change set in one job, so a declaration waits for one transaction, not two.
    /// (Deciding it before the write lock, with the numbers the writer would most likely hand out, was
    /// tried and measured: see bench/README.md, "Figures, session 9".)
    public func commitNumberedDeclaration<Result: Sendable>(
        day: String, labelScope: String?,
        _ decide: @escaping @Sendable (_ id: IncidentID, _ daySequence: Int, _ labelSequence: Int?) -> (changes: ChangeSet, result: Result)
    ) async throws -> Result {
        let (encoder, clock) = (self.encoder, self.clock)
        let (result, incidents) = try await perform(
            .numberedChangeSet(day: day, labelScope: labelScope) { number, daySequence, labelSequence in
                let (changes, result) = decide(IncidentID(number), daySequence, labelSequence)
                do {
                    return (try PreparedChangeSet(changes, committedAt: clock.now(), encoder: encoder), (result, changes.incidents))
                } catch {
                    throw storeError(error)
                }
            },
            returning: (Result, [IncidentWrite]).self)
        remember(incidents)
        return result
    }

    /// Migration 12 indexes the upper-cased label, so this is one index look-up.
    public func incidentID(label: String) async throws -> IncidentID? {
        try await read { connection in
            try await connection.query(
                "SELECT id, json_extract(body, '$.id.label') AS label FROM incidents WHERE upper(json_extract(body, '$.id.label')) = ?",
                [.text(label.uppercased())]
            ).first.map { row in IncidentID(try row.int("id"), label: try row.optionalText("label")) }
        }
    }

    /// The body comes back only when the revision differs from the one last decoded here: every change of
    /// an incident's body bumps its revision, so a revision seen before names the same incident, and the
    /// JSON decode (a good part of a note's cost, one per lane batch) is skipped.
    public func incident(_ id: IncidentID) async throws -> Incident? {
        let known = decodedIncidents.withLock { $0[id.number] }
        let row = try await read { connection in
            try await connection.query(
                "SELECT revision, CASE WHEN revision = ? THEN NULL ELSE body END AS body FROM incidents WHERE id = ?",
                [.integer(known?.revision ?? -1), .integer(id.number)]
            ).first
        }
        guard let row else { return nil }
        if let known, try row.int("revision") == known.revision {
            return known
        }
        let incident = try decodeIncident(row)
        remember(incident)
        return incident
    }

    /// Keeps `incident` for `incident(_:)`, which returns it for as long as the row has its revision.
    private func remember(_ incident: Incident) {
        decodedIncidents.withLock { cache in
            // Bounded: a busy day's open incidents fit. One goes when a new one comes, whichever the
            // dictionary holds first (as good as random): a flood of declarations does not wipe out the
            // incidents being worked on, which stay one decode away anyway.
            if cache.count >= 512, cache[incident.id.number] == nil { cache.remove(at: cache.startIndex) }
            cache[incident.id.number] = incident
        }
    }

    /// Keeps the incidents a commit wrote, with the revisions they were written with: the next read (the
    /// outbox sender's, a lane's) of an incident just declared or changed then needs no decoding. Their
    /// bodies are these values encoded, and decoding one gives the value back exactly (the store's
    /// conformance checks it), so a kept value is what a decode would give.
    private func remember(_ writes: [IncidentWrite]) {
        for write in writes { remember(write.stored) }
    }

    /// The room's exact conversation first. A command typed in a thread of an incident's own channel
    /// (channel mode) carries that thread's id, so failing an exact match, a threaded conversation also
    /// finds the incident whose room is the whole channel.
    public func incident(in conversation: Conversation) async throws -> Incident? {
        try await read { connection in
            let lookup = """
                SELECT revision, body FROM incidents
                WHERE room_platform = ? AND room_channel_id = ? AND room_thread_id IS ?
                ORDER BY id DESC LIMIT 1
                """
            let platform = SQLiteData.text(conversation.platform.rawValue)
            let channel = SQLiteData.text(conversation.channelID)
            if let row = try await connection.query(lookup, [platform, channel, .optionalText(conversation.threadID)]).first {
                return try decodeIncident(row)
            }
            guard conversation.threadID != nil else { return nil }
            return try await connection.query(lookup, [platform, channel, .null]).first.map(decodeIncident)
        }
    }

    /// Newest declaration first; without `includeClosed`, only open incidents (declared … mitigated).
    public func incidents(declaredFrom from: Date, to: Date) async throws -> [Incident] {
        try await read { connection in
            try await connection.query(
                "SELECT revision, body FROM incidents WHERE declared_at >= ? AND declared_at < ? ORDER BY declared_at, id",
                [SQLiteDates.value(from), SQLiteDates.value(to)]
            ).map(decodeIncident)
        }
    }

    public func incidents(includeClosed: Bool, limit: Int) async throws -> [Incident] {
        try await read { connection in
            let rows: [SQLiteResultRow]
            if includeClosed {
                rows = try await connection.query(
                    "SELECT revision, body FROM incidents ORDER BY declared_at DESC, id DESC LIMIT ?",
                    [.integer(max(limit, 0))])
            } else {
                rows = try await connection.query(
                    """
                    SELECT revision, body FROM incidents WHERE status IN (\(Self.openStatusPlaceholders))
                    ORDER BY declared_at DESC, id DESC LIMIT ?
                    """,
                    Self.openStatuses + [.integer(max(limit, 0))])
            }
            return try rows.map(decodeIncident)
        }
    }

    public func incidentID(alertSource source: String, groupKey: String) async throws -> IncidentID? {
        try await read { connection in
            try await connection.query(
                "SELECT incident_id FROM alert_groups WHERE source = ? AND group_key = ?", [.text(source), .text(groupKey)]
            ).first.map { IncidentID(try $0.int("incident_id")) }
        }
    }

    public func timeline(of id: IncidentID) async throws -> [TimelineEntry] {
        try await read { connection in
            try await connection.query("SELECT * FROM timeline WHERE incident_id = ? ORDER BY id", [.integer(id.number)])
                .map(decodeTimelineEntry)
        }
    }

    /// The ticket lives in the incident's JSON only: no query filters on it.
    public func setTicket(_ ticket: TicketLink, for id: IncidentID) async throws {
        try await rewriteIncident(id, recording: "ticket") { $0.ticket = ticket }
    }

    public func setTicket(_ ticket: TicketLink, forActionItem item: Int, of id: IncidentID) async throws {
        try await rewriteIncident(id, recording: "action item's ticket") { incident in
            guard let index = incident.actionItems?.firstIndex(where: { $0.number == item }) else { throw StoreError.notFound }
            incident.actionItems?[index].ticket = ticket
        }
    }

    public func setRoom(_ room: Conversation, for id: IncidentID) async throws {
        let columns: [(String, SQLiteData)] = [
            ("room_platform", .text(room.platform.rawValue)), ("room_channel_id", .text(room.channelID)),
            ("room_thread_id", .optionalText(room.threadID)),
        ]
        try await rewriteIncident(id, recording: "room", columns: columns) { $0.room = room }
    }

    /// Records what delivery learnt (a room, a ticket) and bumps the revision, so that an engine holding the
    /// incident from before gets a conflict and re-reads, instead of writing it back to nil. Read and
    /// written in one job, so nothing can come between; `columns` mirror what changed.
    private func rewriteIncident(
        _ id: IncidentID, recording what: String, columns: [(String, SQLiteData)] = [], _ change: @escaping @Sendable (inout Incident) throws -> Void
    ) async throws {
        let (decoder, encoder) = (self.decoder, self.encoder)
        try await write(singleStatement: false) { session in
            guard let row = try session.run("SELECT revision, body FROM incidents WHERE id = ?", [.integer(id.number)]).first else {
                throw StoreError.notFound
            }
            var incident = try Self.decodeIncident(row, decoder: decoder)
            try change(&incident)
            incident.revision += 1
            let body = String(decoding: try encoder.encode(incident), as: UTF8.self)
            let assignments = (["revision"] + columns.map(\.0) + ["body"]).map { "\($0) = ?" }.joined(separator: ", ")
            // The revision just read cannot have changed (this job holds the write lock); were it to, this
            // is not a `StoreError` but an inconsistency that rolls the job back.
            let updated = try session.run(
                "UPDATE incidents SET \(assignments) WHERE id = ? AND revision = ? RETURNING id",
                [.integer(incident.revision)] + columns.map(\.1) + [.text(body), .integer(id.number), .integer(incident.revision - 1)])
            guard !updated.isEmpty else {
                throw MalformedRow(column: "revision", problem: "incident \(id) changed while its \(what) was being recorded")
            }
        }
    }

    // MARK: - Commit

    /// Written with the other change sets that queue for the same transaction (see `ChangeSetBatch`).
    public func commit(_ changes: ChangeSet) async throws {
        let prepared: PreparedChangeSet
        do {
            // Only for bookkeeping columns (created_at, processed_at); what is scheduled carries its own times.
            prepared = try PreparedChangeSet(changes, committedAt: clock.now(), encoder: encoder)
        } catch {
            throw storeError(error)
        }
        guard !prepared.isEmpty else { return }
        try await perform(.changeSet(prepared), returning: Void.self)
        remember(changes.incidents)
    }

    /// The change sets as one chain in one write job, so they share a transaction (see `ChangeSetBatch`).
    public func commit(inOrder changeSets: [ChangeSet]) async throws -> OrderedCommitResult {
        let chain: [PreparedChangeSet]
        do {
            let committedAt = clock.now()
            chain = try changeSets.map { try PreparedChangeSet($0, committedAt: committedAt, encoder: encoder) }
        } catch {
            throw storeError(error)
        }
        guard !chain.isEmpty else { return OrderedCommitResult(written: 0, refusal: nil) }
        let result = try await perform(.changeSetChain(chain), returning: OrderedCommitResult.self)
        for changes in changeSets.prefix(result.written) { remember(changes.incidents) }
        return result
    }

    // MARK: - Outbox

    /// A pending message is claimable when it is due, nobody holds an unexpired lease on it, and no earlier
    /// message of the same incident and lane is still pending (delivered or dead ones no longer hold the
    /// line): it is not `blocked` (migrations 6, 9 and 14; a message with a queue key waits behind that
    /// queue's instead, migration 16). Messages due again after a failure go first (they
    /// were due before anything written since), longest-due first, then new ones in the order written;
    /// both read the ready index, whatever the backlog behind the heads.
    public func claimOutbox(lanes: OutboxLaneFilter, now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> OutboxClaim {
        let laneCondition = Self.laneCondition(lanes)
        // The limit is written into the text, not bound: a bound LIMIT makes SQLite prepare the statement
        // again at every call (see `laneCondition`); the few limits the sender uses are kept prepared.
        let limit = max(limit, 0)
        let rows = try await write(singleStatement: true) { session in
            try session.run(
                """
                UPDATE outbox SET lease_owner = ?1, lease_expires_at = ?2, claims = claims + 1
                WHERE id IN (
                    SELECT id FROM (
                        SELECT id FROM outbox
                        WHERE state = 'pending' AND blocked = 0 AND not_before > 0 AND not_before <= ?3\(laneCondition)
                          AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
                        ORDER BY not_before, id LIMIT \(limit))
                    UNION ALL
                    SELECT id FROM (
                        SELECT id FROM outbox
                        WHERE state = 'pending' AND blocked = 0 AND not_before = 0\(laneCondition)
                          AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
                        ORDER BY id LIMIT \(limit))
                    LIMIT \(limit))
                RETURNING *
                """,
                [.text(owner), SQLiteDates.value(leaseUntil), SQLiteDates.value(now)]
            )
        }
        // Decoded outside the write connection's queue, row by row: a row that cannot be read (damaged,
        // or written by a newer build) is set aside as dead with the reason, and the others go out.
        var messages: [OutboxMessage] = []
        var setAside: [OutboxEntry] = []
        for row in rows {
            do {
                messages.append(try decodeOutboxMessage(row))
            } catch {
                var entry = decodeOutboxEntry(row)
                let reason = "cannot decode the stored message: \(error)"
                try await markDead(entry.id, error: reason)
                entry.state = .dead
                entry.attempts += 1
                entry.lastError = reason
                setAside.append(entry)
            }
        }
        return OutboxClaim(messages: messages.sorted { $0.id < $1.id }, setAside: setAside)
    }

    /// `AND …` keeping the rows of `lanes`, their names written as literals. Bound, a lane name made
    /// SQLite prepare the statement again at every call (seen with `SQLITE_STMTSTATUS_REPREPARE`, even for
    /// a bare `WHERE lane = ?`: the planner weighs the bound value), so the sender's claim and next-due
    /// query were parsed afresh at each wake-up. The names are the daemon's own (`OutboxLane`), a
    /// handful, so each filter's text stays prepared.
    private static func laneCondition(_ lanes: OutboxLaneFilter) -> String {
        switch lanes {
        case .all:
            return ""
        case .only(let lane):
            return " AND lane = \(sqlLiteral(lane.name))"
        case .excluding(let excluded):
            guard !excluded.isEmpty else { return "" }
            // Not `lane NOT IN (…)`: no index serves it, so SQLite walked every pending message in
            // `outbox_ready` (reading each row's action to compute its lane) to find the few of the other
            // lanes, at every wake-up of their sender: O(backlog), about 7 ms at 4,700 pending posts and a
            // fifth of a busy daemon's CPU during a declaration burst (bench/profile). The lanes between the
            // excluded ones are ranges of `outbox_ready_by_lane`, so the rows of those lanes are found
            // directly. The names are sorted by their UTF-8 bytes, as SQLite's BINARY collation compares
            // them; a NULL lane is in no range, as it is not in NOT IN's result either.
            let names = Set(excluded.map(\.name)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            let bounds = names.map(sqlLiteral)
            var ranges = ["lane < \(bounds[0])"]
            for (lower, upper) in zip(bounds, bounds.dropFirst()) { ranges.append("lane > \(lower) AND lane < \(upper)") }
            ranges.append("lane > \(bounds[bounds.count - 1])")
            let candidates = ranges.map { "SELECT id FROM outbox WHERE state = 'pending' AND blocked = 0 AND \($0)" }
            return " AND id IN (\(candidates.joined(separator: " UNION ALL ")))"
        }
    }

    /// `text` as an SQL string literal (quotes doubled).
    private static func sqlLiteral(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
    }

    public func renewOutboxLeases(_ ids: [Int64], owner: String, until: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let placeholders = (0..<ids.count).map { "?\($0 + 3)" }.joined(separator: ", ")
        let rows = try await write(singleStatement: true) { session in
            try session.run(
                "UPDATE outbox SET lease_expires_at = ?1 WHERE lease_owner = ?2 AND state = 'pending' AND id IN (\(placeholders)) RETURNING id",
                [SQLiteDates.value(until), .text(owner)] + ids.map { SQLiteData.integer(Int($0)) })
        }
        return rows.count
    }

    public func markDelivered(_ id: Int64, platformMessageID: String?, at: Date) async throws {
        try await perform(
            .updateOutboxMessage(OutboxMessageUpdate(id: id, change: .delivered(platformMessageID: platformMessageID, at: SQLiteDates.value(at)))),
            returning: Void.self)
    }

    public func markRetry(_ id: Int64, notBefore: Date, error: String, failingSince: Date) async throws {
        let change = OutboxMessageUpdate.Change.retry(notBefore: SQLiteDates.value(notBefore), error: error, failingSince: SQLiteDates.value(failingSince))
        try await perform(.updateOutboxMessage(OutboxMessageUpdate(id: id, change: change)), returning: Void.self)
    }

    public func postpone(_ id: Int64, until: Date, reason: String) async throws {
        try await perform(
            .updateOutboxMessage(OutboxMessageUpdate(id: id, change: .postpone(notBefore: SQLiteDates.value(until), reason: reason))), returning: Void.self)
    }

    /// Joins only messages in no pending digest: a member of a digest whose head was given up is free again.
    public func holdForDigest(_ id: Int64, until: Date, reason: String) async throws {
        try await write(singleStatement: false) { session in
            let held = try session.run(
                """
                UPDATE outbox SET not_before = ?2, last_error = ?3, lease_owner = NULL, lease_expires_at = NULL, digest_of = id
                WHERE id = ?1 AND state = 'pending' RETURNING queue, lane
                """,
                [.int64(id), SQLiteDates.value(until), .text(reason)])
            guard let row = held.first else { throw StoreError.notFound }
            guard let queue = try row.optionalText("queue") else { return }
            try session.run(
                """
                UPDATE outbox SET digest_of = ?1
                WHERE state = 'pending' AND queue = ?2 AND lane = ?3 AND id > ?1
                  AND (digest_of IS NULL OR NOT EXISTS (
                      SELECT 1 FROM outbox AS head WHERE head.id = outbox.digest_of AND head.state = 'pending'))
                """,
                [.int64(id), .text(queue), .text(try row.text("lane"))])
        }
    }

    public func outboxDigestMembers(of head: Int64) async throws -> [OutboxMessage] {
        try await read { connection in
            try await connection.query(
                "SELECT * FROM outbox WHERE digest_of = ? AND id <> ? AND state = 'pending' ORDER BY id", [.int64(head), .int64(head)]
            )
            .map(decodeOutboxMessage)
        }
    }

    /// One statement: the head and its members are delivered together or not at all.
    public func markDigestDelivered(_ head: Int64, platformMessageID: String?, at: Date) async throws {
        let rows = try await write(singleStatement: true) { session in
            try session.run(
                """
                UPDATE outbox SET state = 'delivered', platform_message_id = ?2, delivered_at = ?3, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ?1 OR (digest_of = ?1 AND state = 'pending') RETURNING id
                """,
                [.int64(head), .optionalText(platformMessageID), SQLiteDates.value(at)])
        }
        guard try rows.contains(where: { try $0.int64("id") == head }) else { throw StoreError.notFound }
    }

    /// Counts the attempt that failed for good, like `markRetry` counts the ones that will be retried.
    public func markDead(_ id: Int64, error: String) async throws {
        try await perform(.updateOutboxMessage(OutboxMessageUpdate(id: id, change: .dead(error: error))), returning: Void.self)
    }

    /// Only the first pending message of each incident's lane counts (the others wait for it, so reporting
    /// them due would wake the sender for nothing); a leased message is due again when its lease expires.
    public func nextOutboxDue(lanes: OutboxLaneFilter) async throws -> Date? {
        let laneCondition = Self.laneCondition(lanes)
        return try await read { connection in
            try await connection.query(
                """
                SELECT MIN(due) AS due FROM (
                    SELECT MIN(not_before) AS due FROM outbox
                    WHERE state = 'pending' AND blocked = 0 AND lease_expires_at IS NULL\(laneCondition)
                    UNION ALL
                    SELECT MIN(MAX(not_before, lease_expires_at)) FROM outbox
                    WHERE state = 'pending' AND blocked = 0 AND lease_expires_at IS NOT NULL\(laneCondition))
                """,
                []
            )
            .first?.optionalDate("due")
        }
    }

    public func outboxDepth() async throws -> Int {
        try await read { connection in
            try await connection.query("SELECT COUNT(*) AS depth FROM outbox WHERE state = 'pending'", []).first?.int("depth") ?? 0
        }
    }

    public func outboxMessages(incident id: IncidentID) async throws -> [OutboxMessage] {
        try await read { connection in
            try await connection.query("SELECT * FROM outbox WHERE incident_id = ? ORDER BY id", [.integer(id.number)])
                .map(decodeOutboxMessage)
        }
    }

    /// Newest first: what an operator looking at the dead letters wants to see first.
    public func outboxEntries(state: OutboxState, limit: Int) async throws -> [OutboxEntry] {
        try await read { connection in
            try await connection.query("SELECT * FROM outbox WHERE state = ? ORDER BY id DESC LIMIT ?", [.text(state.rawValue), .integer(max(limit, 0))])
                .map(decodeOutboxEntry)
        }
    }

    /// Both statements in one transaction, so no claim sees the message pending while its incident's
    /// later messages are still claimable ahead of it.
    public func requeueDeadOutboxMessage(_ id: Int64, now: Date) async throws -> Bool {
        try await write(singleStatement: false) { session in
            let requeued = try session.run(
                """
                UPDATE outbox SET state = 'pending', attempts = 0, failing_since = NULL, not_before = ?2,
                    lease_owner = NULL, lease_expires_at = NULL,
                    blocked = ((incident_id IS NOT NULL AND EXISTS (
                            SELECT 1 FROM outbox AS earlier
                            WHERE earlier.incident_id = outbox.incident_id AND earlier.lane = outbox.lane AND earlier.queue IS NULL
                              AND earlier.state = 'pending' AND earlier.id < outbox.id))
                        OR (queue IS NOT NULL AND EXISTS (
                            SELECT 1 FROM outbox AS earlier
                            WHERE earlier.queue = outbox.queue AND earlier.lane = outbox.lane
                              AND earlier.state = 'pending' AND earlier.id < outbox.id)))
                WHERE id = ?1 AND state = 'dead'
                RETURNING incident_id, lane, queue
                """,
                [.int64(id), SQLiteDates.value(now)])
            guard let row = requeued.first else { return false }
            // Behind it now: its queue's later messages, or (an incident's own) all of its incident's.
            if let queue = try row.optionalText("queue") {
                try session.run(
                    "UPDATE outbox SET blocked = 1 WHERE queue = ? AND lane = ? AND state = 'pending' AND id > ?",
                    [.text(queue), .text(try row.text("lane")), .int64(id)])
            } else if let incident = try row.optionalInt64("incident_id") {
                try session.run(
                    "UPDATE outbox SET blocked = 1 WHERE incident_id = ? AND lane = ? AND state = 'pending' AND id > ?",
                    [.int64(incident), .text(try row.text("lane")), .int64(id)])
            }
            return true
        }
    }

    public func deleteDeadOutboxMessage(_ id: Int64) async throws -> Bool {
        try await write(singleStatement: true) { session in
            !(try session.run("DELETE FROM outbox WHERE id = ? AND state = 'dead' RETURNING id", [.int64(id)])).isEmpty
        }
    }

    // MARK: - Retention

    /// Each a single statement over an index, `limit` rows at most, so it holds the write lock briefly.
    public func pruneInboundKeys(before: Date, limit: Int) async throws -> Int {
        try await write(singleStatement: true) { session in
            try session.run(
                "DELETE FROM processed_inbound WHERE key IN (SELECT key FROM processed_inbound WHERE processed_at < ? LIMIT ?) RETURNING 1",
                [SQLiteDates.value(before), .integer(max(limit, 0))]
            ).count
        }
    }

    public func pruneDeliveredOutbox(before: Date, limit: Int) async throws -> Int {
        try await write(singleStatement: true) { session in
            try session.run(
                """
                DELETE FROM outbox WHERE id IN (
                    SELECT id FROM outbox WHERE state = 'delivered' AND delivered_at < ? ORDER BY delivered_at LIMIT ?)
                RETURNING 1
                """,
                [SQLiteDates.value(before), .integer(max(limit, 0))]
            ).count
        }
    }

    public func pruneAudit(before: Date, limit: Int) async throws -> Int {
        try await write(singleStatement: true) { session in
            try session.run(
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ?) RETURNING 1",
                [SQLiteDates.value(before), .integer(max(limit, 0))]
            ).count
        }
    }

    public func pruneConsoleMessages(keepingLast keep: Int, limit: Int) async throws -> Int {
        try await write(singleStatement: true) { session in
            // The newest line to delete is the one just older than the `keep` newest; none if there are
            // no more lines than that.
            try session.run(
                """
                DELETE FROM console_messages WHERE id IN (
                    SELECT id FROM console_messages
                    WHERE id <= (SELECT id FROM console_messages ORDER BY id DESC LIMIT 1 OFFSET ?1)
                    ORDER BY id LIMIT ?2)
                RETURNING 1
                """,
                [.integer(max(keep, 0)), .integer(max(limit, 0))]
            ).count
        }
    }

    // MARK: - Timers

    /// A leased timer is due again when its lease expires. Two index walks rather than one expression
    /// over every pending timer: the earliest unleased timer (`timers_pending_by_due`, first row) and the
    /// few leased ones (`timers_pending_leased`); with 200,000 timers that is microseconds, not 60 ms on
    /// each of the scheduler's wake-ups.
    public func nextTimerDue() async throws -> Date? {
        try await read { connection in
            try await connection.query(
                """
                SELECT MIN(due) AS due FROM (
                    SELECT due_at AS due FROM (
                        SELECT due_at FROM timers WHERE state = 'pending' AND lease_expires_at IS NULL ORDER BY due_at LIMIT 1)
                    UNION ALL
                    SELECT MAX(due_at, lease_expires_at) FROM timers WHERE state = 'pending' AND lease_expires_at IS NOT NULL)
                """,
                []
            )
            .first?.optionalDate("due")
        }
    }

    public func claimDueTimers(now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> [ScheduledTimer] {
        let rows = try await write(singleStatement: true) { session in
            try session.run(
                """
                UPDATE timers SET lease_owner = ?1, lease_expires_at = ?2
                WHERE id IN (
                    SELECT id FROM timers
                    WHERE state = 'pending'
                      AND due_at <= ?3
                      AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
                    ORDER BY due_at, id
                    LIMIT \(max(limit, 0)))
                RETURNING *
                """,
                // The limit in the text, not bound: see `claimOutbox`.
                [.text(owner), SQLiteDates.value(leaseUntil), SQLiteDates.value(now)]
            )
        }
        do {
            return try rows.map(decodeTimer).sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
        } catch {
            throw storeError(error)
        }
    }

    public func pendingTimers(of id: IncidentID) async throws -> [ScheduledTimer] {
        try await read { connection in
            try await connection.query(
                "SELECT * FROM timers WHERE incident_id = ? AND state = 'pending' ORDER BY due_at, id",
                [.integer(id.number)]
            )
            .map(decodeTimer)
        }
    }

    // MARK: - On-call

    /// Overrides with start <= at < end, in the order they were set.
    public func overrides(rotation: String, activeAt: Date) async throws -> [OnCallOverride] {
        try await read { connection in
            let at = SQLiteDates.value(activeAt)
            return try await connection.query(
                "SELECT * FROM oncall_overrides WHERE rotation_id = ? AND starts_at <= ? AND ? < ends_at ORDER BY id",
                [.text(rotation), at, at]
            )
            .map(decodeOverride)
        }
    }

    /// One query for all rotations: every command that pages and every timer that fires asks.
    public func activeOverrides(rotations: [RotationConfig], at date: Date) async throws -> [String: [OnCallOverride]] {
        guard !rotations.isEmpty else { return [:] }
        let ids = rotations.map(\.id)
        let rows = try await read { connection in
            let at = SQLiteDates.value(date)
            return try await connection.query(
                """
                SELECT * FROM oncall_overrides
                WHERE rotation_id IN (\(Array(repeating: "?", count: ids.count).joined(separator: ", "))) AND starts_at <= ? AND ? < ends_at
                ORDER BY id
                """,
                ids.map { .text($0) } + [at, at]
            )
        }
        var result: [String: [OnCallOverride]] = [:]
        do {
            for row in rows {
                let override = try decodeOverride(row)
                result[override.rotationID, default: []].append(override)
            }
        } catch {
            throw storeError(error)
        }
        return result
    }

    public func overrides(rotation: String, endingAfter date: Date) async throws -> [OnCallOverride] {
        try await read { connection in
            try await connection.query(
                "SELECT * FROM oncall_overrides WHERE rotation_id = ? AND ends_at > ? ORDER BY id",
                [.text(rotation), SQLiteDates.value(date)]
            )
            .map(decodeOverride)
        }
    }

    private func decodeOverride(_ row: SQLiteResultRow) throws -> OnCallOverride {
        try row.onCallOverride()
    }

    public func lastHandoff(rotation: String) async throws -> Date? {
        try await read { connection in
            try await connection.query("SELECT handoff_at FROM rotation_handoffs WHERE rotation_id = ?", [.text(rotation)])
                .first?.optionalDate("handoff_at")
        }
    }

    // MARK: - Console platform

    /// Written like a change set's console lines, so that the lines of the sender's concurrent
    /// deliveries share one statement.
    public func appendConsoleMessage(_ message: ConsoleMessage) async throws {
        var changes = ChangeSet()
        changes.consoleMessages = [message]
        try await commit(changes)
    }

    public func consoleMessages(after id: Int64, limit: Int) async throws -> [ConsoleMessage] {
        try await read { connection in
            try await connection.query("SELECT * FROM console_messages WHERE id > ? ORDER BY id LIMIT ?", [.int64(id), .integer(max(limit, 0))])
                .map { try $0.consoleMessage() }
        }
    }

    // MARK: - Audit

    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        var conditions: [String] = []
        var binds: [SQLiteData] = []
        if let id = query.incidentID {
            conditions.append("incident_id = ?")
            binds.append(.integer(id.number))
        }
        if let since = query.since {
            conditions.append("at >= ?")
            binds.append(SQLiteDates.value(since))
        }
        if let user = query.user {
            conditions.append("(user_id = ? OR user_name = ? OR person_id = ?)")
            binds += [.text(user), .text(user), .text(user)]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT * FROM audit_log \(filter) ORDER BY id DESC LIMIT ?"
        binds.append(.integer(min(max(query.limit, 0), 10_000)))
        return try await read { connection in
            try await connection.query(sql, binds).map { try $0.auditEntry() }
        }
    }

    // MARK: - Inbound cursors

    public func cursor(_ key: String) async throws -> String? {
        try await read { connection in
            try await connection.query("SELECT value FROM inbound_cursors WHERE key = ?", [.text(key)]).first.map { try $0.text("value") }
        }
    }

    public func setCursor(_ key: String, value: String) async throws {
        try await write(singleStatement: true) { session in
            _ = try session.run(
                "INSERT INTO inbound_cursors (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [.text(key), .text(value)])
        }
    }

    public func holdLease(_ key: String, owner: String, now: Date, until: Date) async throws -> Bool {
        let rows = try await write(singleStatement: true) { session in
            try session.run(
                """
                INSERT INTO leases (key, owner, expires_at) VALUES (?1, ?2, ?4)
                ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                WHERE leases.owner = excluded.owner OR leases.expires_at <= ?3
                RETURNING owner
                """,
                [.text(key), .text(owner), SQLiteDates.value(now), SQLiteDates.value(until)])
        }
        return !rows.isEmpty
    }

    // MARK: - Health

    public func ping() async throws {
        try await read { connection in
            _ = try await connection.query("SELECT 1", [])
        }
    }

    /// Open incidents (declared … mitigated) by severity.
    public func openIncidentCounts() async throws -> [String: Int] {
        try await read { connection in
            let rows = try await connection.query(
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

    private func decodeIncident(_ row: SQLiteResultRow) throws -> Incident {
        try row.incident(decoder: decoder)
    }

    private static func decodeIncident(_ row: SQLiteResultRow, decoder: JSONDecoder) throws -> Incident {
        try row.incident(decoder: decoder)
    }

    private func decodeTimelineEntry(_ row: SQLiteResultRow) throws -> TimelineEntry {
        try row.timelineEntry()
    }

    private func decodeOutboxMessage(_ row: SQLiteResultRow) throws -> OutboxMessage {
        try row.outboxMessage(decoder: decoder)
    }

    /// What can be read of an outbox row, whatever state its action is in.
    private func decodeOutboxEntry(_ row: SQLiteResultRow) -> OutboxEntry {
        row.outboxEntry(decoder: decoder)
    }

    private func decodeTimer(_ row: SQLiteResultRow) throws -> ScheduledTimer {
        try row.scheduledTimer()
    }
}

/// What callers see: `StoreError` only. Anything from SQLite or from decoding means the store cannot serve
/// the request.
func storeError(_ error: any Error) -> StoreError {
    if let storeError = error as? StoreError { return storeError }
    return .unavailable("SQLite: \(error)")
}
