import Foundation
import IncidentCore
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// Where and how the PostgreSQL store connects.
public struct PostgresStoreConfiguration: Sendable {
    public var url: PostgresURL
    /// The most connections the store's pool opens.
    public var poolSize: Int
    /// The schema the store's tables live in (`search_path`); nil: the server's default (`public`).
    /// Tests give each store a schema of its own.
    public var schema: String?

    public init(url: PostgresURL, poolSize: Int = 8, schema: String? = nil) {
        self.url = url
        self.poolSize = poolSize
        self.schema = schema
    }

    /// From `storage.postgres` (whose URL the config loader has checked already).
    public init(_ config: PostgresStorageConfig) throws {
        switch PostgresURL.parse(config.url.exposedValue) {
        case .success(let url): self.init(url: url, poolSize: config.poolSize)
        case .failure(let problem): throw StoreError.unavailable("storage.postgres.url: the URL \(problem)")
        }
    }

    /// libpq's meaning of `sslmode`: `prefer` and `require` encrypt without checking the certificate.
    var tls: (connection: PostgresConnection.Configuration.TLS, client: PostgresClient.Configuration.TLS) {
        get throws {
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            switch url.sslMode {
            case .disable: return (.disable, .disable)
            case .prefer:
                let context = try NIOSSLContext(configuration: unverified)
                return (.prefer(context), .prefer(unverified))
            case .require:
                let context = try NIOSSLContext(configuration: unverified)
                return (.require(context), .require(unverified))
            case .verifyFull:
                let verified = TLSConfiguration.makeClientConfiguration()
                return (.require(try NIOSSLContext(configuration: verified)), .require(verified))
            }
        }
    }

    var startupParameters: [(String, String)] {
        schema.map { [("search_path", $0)] } ?? []
    }

    /// One connection outside any pool (migrations; tests preparing a database). The caller closes it.
    public func connect(logger: Logger) async throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password?.exposedValue, database: url.database,
            tls: try tls.connection)
        configuration.options.additionalStartupParameters = startupParameters
        return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
    }

    var clientConfiguration: PostgresClient.Configuration {
        get throws {
            var configuration = PostgresClient.Configuration(
                host: url.host, port: url.port, username: url.user, password: url.password?.exposedValue, database: url.database,
                tls: try tls.client)
            configuration.options.maximumConnections = max(1, poolSize)
            configuration.options.additionalStartupParameters = startupParameters
            return configuration
        }
    }
}

/// The `IncidentStore` in a PostgreSQL database that several Klaxon replicas may share.
///
/// - Connections come from postgres-nio's `PostgresClient` pool, which runs as a `Service` (`run()`):
///   the daemon puts the store first in its `ServiceGroup`, so it stops last, after the sender and the
///   scheduler. Calls made before `run()` starts wait for it.
/// - `open` migrates over a connection of its own before the store is handed out (see
///   `PostgresMigrations.apply`), so every call finds the schema complete.
/// - Change sets are written with group commit (`PostgresGroupCommit`): those committed meanwhile go to
///   the server together in one statement, one transaction, each in a subtransaction of its own
///   (`PostgresChangeSetWriter`); a chain (`commit(inOrder:)`) is one job whose change sets stop at
///   the first refusal. Refusals are found by the statements that write:
///   compare-and-set updates and inserts that may find the key, so concurrent replicas are kept apart
///   by PostgreSQL's row locks, not by a lock of this process.
/// - Claims (outbox, timers) are single statements that lock the rows they take with
///   `FOR UPDATE SKIP LOCKED`: each is its own transaction, and replicas claiming at once take
///   different rows instead of waiting for each other.
public final class PostgresIncidentStore: IncidentStore, Service, Sendable {
    private let client: PostgresClient
    let logger: Logger
    /// Stamps the bookkeeping columns (`created_at`, `processed_at`): the daemon's clock.
    private let clock: any WallClock
    /// `ping`'s connection of its own.
    private let pingConnection: PingConnection
    /// The versions `open` applied (empty: another replica, or an earlier start, had done it).
    public let migrationsAppliedAtOpen: [Int]
    private let groupCommit: PostgresGroupCommit
    /// Waits for transactions a caller's cancellation must not stop, and logs one that outlasts it.
    private let uncancellable: UncancellableWork

    private let encoder = JSONEncoder()
    private let decoder = JSONDecoder()

    /// The statuses that count as open.
    private static let openStatuses: [String] = IncidentStatus.allCases.filter(\.isOpen).map(\.rawValue)

    private init(client: PostgresClient, configuration: PostgresStoreConfiguration, clock: any WallClock, logger: Logger, migrationsAppliedAtOpen: [Int]) {
        self.client = client
        self.clock = clock
        self.pingConnection = PingConnection(configuration: configuration, logger: logger)
        self.logger = logger
        self.migrationsAppliedAtOpen = migrationsAppliedAtOpen
        let uncancellable = UncancellableWork(clock: clock, logger: logger)
        self.uncancellable = uncancellable
        self.groupCommit = PostgresGroupCommit(uncancellable: uncancellable) { [client, logger] jobs in
            try await Self.writeBatch(jobs, client: client, logger: logger)
        }
    }

    /// Connects once to bring the schema up to date, then makes the store, whose pool connects as calls
    /// need it once `run()` has started.
    public static func open(
        _ configuration: PostgresStoreConfiguration, clock: any WallClock = SystemClock(), logger: Logger = Logger(label: "klaxon.storage.postgres")
    ) async throws -> PostgresIncidentStore {
        let url = configuration.url
        let applied: [Int]
        let clientConfiguration: PostgresClient.Configuration
        do {
            let connection = try await configuration.connect(logger: logger)
            do {
                applied = try await PostgresMigrations.apply(on: connection, logger: logger)
                try await connection.close()
            } catch {
                // Cleanup after the migration error thrown below.
                try? await connection.close()
                throw error
            }
            clientConfiguration = try configuration.clientConfiguration
        } catch {
            throw StoreError.unavailable("cannot open the PostgreSQL store at \(url): \(Self.describe(error))")
        }
        logger.info("Opened the PostgreSQL incident store", metadata: ["url": "\(url)", "poolSize": "\(configuration.poolSize)"])
        return PostgresIncidentStore(
            client: PostgresClient(configuration: clientConfiguration, backgroundLogger: logger), configuration: configuration, clock: clock, logger: logger,
            migrationsAppliedAtOpen: applied)
    }

    /// Runs the connection pool until cancelled or, in a `ServiceGroup`, until graceful shutdown.
    public func run() async throws {
        await client.run()
        await pingConnection.close()
    }

    /// The migration versions the database has, oldest first (diagnostics and tests).
    public func appliedMigrations() async throws -> [Int] {
        try await withClient { client in
            try await client.query("SELECT version FROM schema_migrations ORDER BY version", logger: logger).decode(Int.self).array()
        }
    }

    // MARK: - Running statements

    /// What callers see: `StoreError` only. Anything from PostgreSQL or from decoding means the store
    /// cannot serve the request.
    private func storeError(_ error: any Error) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        return .unavailable("PostgreSQL: \(Self.describe(error))")
    }

    /// postgres-nio's `PSQLError` hides the server's message from `description` (it may hold data);
    /// the SQLSTATE and message, or the network error underneath, are what an operator needs. The
    /// server's `detail`, which quotes row values, and the query are left out.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            var text = "\(error.code)"
            if let server = error.serverInfo {
                text += ": \(server[.sqlState] ?? "") \(server[.message] ?? "")"
            } else if let underlying = error.underlying {
                text += ": \(underlying)"
            }
            return text
        }
        return "\(error)"
    }

    /// `body` with the pool (each query takes a connection for itself), its errors as `StoreError`.
    private func withClient<T>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        do {
            return try await body(client)
        } catch {
            throw storeError(error)
        }
    }

    /// `body` with one connection of the pool to itself (a transaction of several statements), its errors as
    /// `StoreError` except `DatabaseTransferError`, which says what the caller must change.
    func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection(body)
        } catch let refusal as DatabaseTransferError {
            throw refusal
        } catch {
            throw storeError(error)
        }
    }

    /// `body` in one transaction on one connection. It returns its value or a refusal: COMMIT either way
    /// (the body rolled back to a savepoint what the refusal must not keep), and the refusal is thrown
    /// after. Thrown errors roll everything back.
    ///
    /// A transaction PostgreSQL aborted to break a deadlock (two change sets updating the same incidents
    /// in opposite orders) or a serialisation failure is run again: the body depends only on its inputs
    /// and the database, so the retry decides afresh (a stale revision is then a conflict, as it would
    /// have been had the two not overlapped).
    private func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result<T, StoreError>, caller: String = #function
    ) async throws -> T {
        // In a task of its own, like the SQLite writer's transactions: a caller's cancellation must not stop
        // a transaction between BEGIN and COMMIT (or cancel its ROLLBACK).
        try await uncancellable.value(of: Task { try await self.runTransaction(body) }, doing: "transaction (\(caller))")
    }

    private func runTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> Result<T, StoreError>) async throws -> T {
        let logger = self.logger
        var attempt = 1
        while true {
            let outcome: Result<T, StoreError>
            do {
                outcome = try await client.withConnection { connection in
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        let outcome = try await body(connection)
                        try await connection.query("COMMIT", logger: logger)
                        return outcome
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch let error as PSQLError where attempt < Self.transactionAttempts && Self.isWorthRetrying(error) {
                logger.debug("transaction retried", metadata: ["attempt": "\(attempt)", "error": "\(Self.describe(error))"])
                attempt += 1
                continue
            } catch {
                throw storeError(error)
            }
            return try outcome.get()
        }
    }

    private static let transactionAttempts = 5

    /// deadlock_detected, serialization_failure.
    private static func isWorthRetrying(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }

    /// One group of jobs in one statement on the pool (its own transaction). A deadlock or serialisation
    /// failure aborted all of it: it is run again, deciding afresh, as `runTransaction` does.
    private static func writeBatch(_ jobs: [PostgresGroupCommit.Job], client: PostgresClient, logger: Logger) async throws -> [PostgresChangeSetWriter.Outcome]
    {
        var attempt = 1
        while true {
            do {
                return try await PostgresChangeSetWriter.write(jobs) { try await client.query($0, logger: logger) }
            } catch let error as PSQLError where attempt < transactionAttempts && isWorthRetrying(error) {
                logger.debug("group commit retried", metadata: ["attempt": "\(attempt)", "error": "\(describe(error))"])
                attempt += 1
            }
        }
    }

    /// Group commit's counters: batches (round trips), jobs, the largest batch (tests, diagnostics).
    var groupCommitStatistics: (batches: Int, jobs: Int, largestBatch: Int) { groupCommit.statistics }

    /// Change sets waiting for the next batch (tests line up a group with it).
    var queuedCommits: Int { groupCommit.queuedJobs }

    /// A job's outcome as the protocol's: written ones counted, a refusal, or the failure as `unavailable`.
    private func commitJob(_ job: PostgresGroupCommit.Job) async throws -> OrderedCommitResult {
        let outcome: PostgresChangeSetWriter.Outcome
        do {
            outcome = try await groupCommit.perform(job)
        } catch {
            throw storeError(error)
        }
        switch outcome {
        case .written(let written, let refusal): return OrderedCommitResult(written: written, refusal: refusal)
        case .failed(let reason): throw StoreError.unavailable("PostgreSQL: \(reason)")
        }
    }

    // MARK: - Incidents

    private static let allocateSQL = """
        WITH global AS (
            INSERT INTO incident_number_counter (singleton, last_number) VALUES (1, 1)
            ON CONFLICT (singleton) DO UPDATE SET last_number = incident_number_counter.last_number + 1
            RETURNING last_number),
        per_day AS (
            INSERT INTO incident_day_counters (day, last_number) VALUES ($1, 1)
            ON CONFLICT (day) DO UPDATE SET last_number = incident_day_counters.last_number + 1
            RETURNING last_number)
        SELECT global.last_number, per_day.last_number FROM global, per_day
        """

    /// The label counter of `incidents.idFormat` (`label:<period>` in the day counters), in the declaration's
    /// transaction.
    private static let allocateLabelSQL = """
        INSERT INTO incident_day_counters (day, last_number) VALUES ($1, 1)
        ON CONFLICT (day) DO UPDATE SET last_number = incident_day_counters.last_number + 1
        RETURNING last_number
        """

    /// Both counters in one statement (its own transaction): numbers handed out are never reused.
    private func allocate(day: String, on run: (PostgresQuery) async throws -> PostgresRowSequence) async throws -> (id: IncidentID, daySequence: Int) {
        var binds = PostgresBindings()
        binds.append(day)
        for try await (number, sequence) in try await run(PostgresQuery(unsafeSQL: Self.allocateSQL, binds: binds)).decode((Int64, Int64).self) {
            return (IncidentID(Int(number)), Int(sequence))
        }
        throw MalformedRow(column: "last_number", problem: "the incident counters returned nothing")
    }

    public func allocateIncidentNumber(day: String) async throws -> (id: IncidentID, daySequence: Int) {
        let logger = self.logger
        return try await withClient { client in try await allocate(day: day) { try await client.query($0, logger: logger) } }
    }

    /// The number and the change set in one transaction; a refused change set is rolled back to the
    /// savepoint after the allocation, so the number stays used (as the protocol says).
    public func commitNumberedDeclaration<Result: Sendable>(
        day: String, labelScope: String?,
        _ decide: @escaping @Sendable (_ id: IncidentID, _ daySequence: Int, _ labelSequence: Int?) -> (changes: ChangeSet, result: Result)
    ) async throws -> Result {
        let (encoder, logger) = (self.encoder, self.logger)
        return try await transaction { connection in
            let (id, sequence) = try await self.allocate(day: day) { try await connection.query($0, logger: logger) }
            var labelSequence: Int?
            if let labelScope {
                var binds = PostgresBindings()
                binds.append("label:" + labelScope)
                let rows = try await connection.query(PostgresQuery(unsafeSQL: Self.allocateLabelSQL, binds: binds), logger: logger)
                for try await value in rows.decode(Int64.self) { labelSequence = Int(value) }
                guard labelSequence != nil else { throw MalformedRow(column: "last_number", problem: "the label counter returned nothing") }
            }
            let (changes, result) = decide(id, sequence, labelSequence)
            let prepared = try PostgresChangeSet(changes, committedAt: self.clock.now(), encoder: encoder)
            guard !prepared.isEmpty else { return .success(result) }
            // In a subtransaction of its own (the function's), so a refusal keeps the number used.
            let job = [PostgresChangeSetWriter.statements(prepared)]
            switch try await PostgresChangeSetWriter.write([job], run: { try await connection.query($0, logger: logger) }).first {
            case .written(1, _): return .success(result)
            case .written(_, let refusal?): return .failure(refusal)
            case .failed(let reason): return .failure(.unavailable("PostgreSQL: \(reason)"))
            case .written, nil: throw MalformedRow(column: "klaxon_write_change_sets", problem: "no outcome for the declaration")
            }
        }
    }

    public func incident(_ id: IncidentID) async throws -> Incident? {
        try await incidents("SELECT revision, body FROM incidents WHERE id = \(Int64(id.number))").first
    }

    /// The room's exact conversation first; failing that, a threaded conversation also finds the incident
    /// whose room is the whole channel (a command typed in a thread of the incident's own channel).
    public func incident(in conversation: Conversation) async throws -> Incident? {
        let (platform, channel) = (conversation.platform.rawValue, conversation.channelID)
        if let found = try await incidents(
            """
            SELECT revision, body FROM incidents
            WHERE room_platform = \(platform) AND room_channel_id = \(channel) AND room_thread_id IS NOT DISTINCT FROM \(conversation.threadID)
            ORDER BY id DESC LIMIT 1
            """
        ).first {
            return found
        }
        guard conversation.threadID != nil else { return nil }
        return try await incidents(
            """
            SELECT revision, body FROM incidents
            WHERE room_platform = \(platform) AND room_channel_id = \(channel) AND room_thread_id IS NULL
            ORDER BY id DESC LIMIT 1
            """
        ).first
    }

    /// Newest declaration first; without `includeClosed`, only open incidents (declared … mitigated).
    public func incidents(declaredFrom from: Date, to: Date) async throws -> [Incident] {
        try await incidents(
            "SELECT revision, body FROM incidents WHERE declared_at >= \(from.millisecondsSince1970()) AND declared_at < \(to.millisecondsSince1970()) ORDER BY declared_at, id"
        )
    }

    public func incidents(includeClosed: Bool, limit: Int) async throws -> [Incident] {
        let limit = Int64(max(limit, 0))
        if includeClosed {
            return try await incidents("SELECT revision, body FROM incidents ORDER BY declared_at DESC, id DESC LIMIT \(limit)")
        }
        return try await incidents(
            "SELECT revision, body FROM incidents WHERE status = ANY(\(Self.openStatuses)) ORDER BY declared_at DESC, id DESC LIMIT \(limit)")
    }

    private func incidents(_ query: PostgresQuery) async throws -> [Incident] {
        try await withClient { client in
            var incidents: [Incident] = []
            for try await row in try await client.query(query, logger: logger) {
                incidents.append(try decodeIncident(Columns(row)))
            }
            return incidents
        }
    }

    public func incidentID(label: String) async throws -> IncidentID? {
        let wanted = label.uppercased()
        return try await withClient { client in
            var found: IncidentID?
            let rows = try await client.query(
                "SELECT id, (body::jsonb) -> 'id' ->> 'label' FROM incidents WHERE upper((body::jsonb) -> 'id' ->> 'label') = \(wanted)",
                logger: logger)
            for try await (id, stored) in rows.decode((Int64, String?).self) { found = IncidentID(Int(id), label: stored) }
            return found
        }
    }

    public func incidentID(alertSource source: String, groupKey: String) async throws -> IncidentID? {
        try await withClient { client in
            try await client.query(
                "SELECT incident_id FROM alert_groups WHERE source = \(source) AND group_key = \(groupKey)", logger: logger
            ).decode(Int64.self).array().first.map { IncidentID(Int($0)) }
        }
    }

    public func timeline(of id: IncidentID) async throws -> [TimelineEntry] {
        try await rows("SELECT * FROM timeline WHERE incident_id = \(Int64(id.number)) ORDER BY id") { try $0.timelineEntry() }
    }

    /// Records the room and bumps the revision, so that an engine holding the incident from before (without
    /// its room) gets a conflict and re-reads. The row is locked from the read to the write.
    public func setRoom(_ room: Conversation, for id: IncidentID) async throws {
        try await rewriteIncident(id) { connection, incident, body, logger in
            try await connection.query(
                """
                UPDATE incidents SET revision = \(Int64(incident.revision)), room_platform = \(room.platform.rawValue),
                    room_channel_id = \(room.channelID), room_thread_id = \(room.threadID), body = \(body)
                WHERE id = \(Int64(id.number))
                """,
                logger: logger)
        } change: {
            $0.room = room
            return true
        }
    }

    /// As `setRoom`: a new revision, the row locked from the read to the write. Only the JSON body holds it.
    public func setTicket(_ ticket: TicketLink, for id: IncidentID) async throws {
        try await rewriteIncident(id, write: Self.writeBody) {
            $0.ticket = ticket
            return true
        }
    }

    public func setTicket(_ ticket: TicketLink, forActionItem item: Int, of id: IncidentID) async throws {
        try await rewriteIncident(id, write: Self.writeBody) { incident in
            guard let index = incident.actionItems?.firstIndex(where: { $0.number == item }) else { return false }
            incident.actionItems?[index].ticket = ticket
            return true
        }
    }

    /// The write of a change only the JSON body holds.
    private static func writeBody(_ connection: PostgresConnection, _ incident: Incident, _ body: String, logger: Logger) async throws {
        try await connection.query(
            "UPDATE incidents SET revision = \(Int64(incident.revision)), body = \(body) WHERE id = \(Int64(incident.id.number))", logger: logger)
    }

    /// Locks and reads the incident, applies `change`, bumps the revision and hands the result (and its
    /// encoded body) to `write`, in one transaction. `change` answers false when what it changes does not
    /// exist (`StoreError.notFound`).
    private func rewriteIncident(
        _ id: IncidentID, write: @escaping @Sendable (PostgresConnection, Incident, String, Logger) async throws -> Void,
        change: @escaping @Sendable (inout Incident) -> Bool
    ) async throws {
        let (decoder, encoder, logger) = (self.decoder, self.encoder, self.logger)
        try await transaction { connection -> Result<Void, StoreError> in
            let rows = try await connection.query(
                "SELECT revision, body FROM incidents WHERE id = \(Int64(id.number)) FOR UPDATE", logger: logger
            ).collect()
            guard let row = rows.first else { return .failure(.notFound) }
            var incident = try Columns(row).incident(decoder: decoder)
            guard change(&incident) else { return .failure(.notFound) }
            incident.revision += 1
            try await write(connection, incident, String(decoding: try encoder.encode(incident), as: UTF8.self), logger)
            return .success(())
        }
    }

    // MARK: - Commit

    public func commit(_ changes: ChangeSet) async throws {
        let prepared: PostgresChangeSet
        do {
            // Only for bookkeeping columns (created_at, processed_at); what is scheduled carries its own times.
            prepared = try PostgresChangeSet(changes, committedAt: clock.now(), encoder: encoder)
        } catch {
            throw storeError(error)
        }
        guard !prepared.isEmpty else { return }
        if let refusal = try await commitJob([PostgresChangeSetWriter.statements(prepared)]).refusal {
            throw refusal
        }
    }

    /// The chain in one transaction: each change set behind a savepoint, so a refusal keeps the ones before it.
    public func commit(inOrder changeSets: [ChangeSet]) async throws -> OrderedCommitResult {
        let chain: [PostgresChangeSet]
        do {
            let committedAt = clock.now()
            chain = try changeSets.map { try PostgresChangeSet($0, committedAt: committedAt, encoder: encoder) }
        } catch {
            throw storeError(error)
        }
        guard !chain.isEmpty else { return OrderedCommitResult(written: 0, refusal: nil) }
        return try await commitJob(chain.map(PostgresChangeSetWriter.statements))
    }

    // MARK: - Outbox

    /// A pending message is claimable when it is due, nobody holds an unexpired lease on it, and no earlier
    /// message of its incident is still pending (delivered or dead ones no longer hold the line). Messages
    /// due again after a failure go first (they were due before anything written since), longest-due
    /// first, then new ones in the order written. Rows another replica is claiming right now are skipped,
    /// not waited for.
    /// Only the head pending message of each incident's lane is claimable (the others wait for it); rows
    /// that cannot be decoded are set aside as dead, alone.
    public func claimOutbox(lanes: OutboxLaneFilter, now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> OutboxClaim {
        let (now, until, limit) = (now.millisecondsSince1970(), leaseUntil.millisecondsSince1970(), Int64(max(limit, 0)))
        let (all, only, excluded) = Self.laneFilter(lanes)
        let claimed = try await rows(
            """
            WITH claimable AS (
                SELECT id FROM outbox AS o
                WHERE state = 'pending' AND not_before <= \(now) AND (lease_expires_at IS NULL OR lease_expires_at <= \(now))
                  AND (\(all)::boolean OR lane = \(only)::text OR (\(only)::text IS NULL AND NOT (lane = ANY(\(excluded)::text[]))))
                  AND \(unescaped: Self.headOfItsQueue)
                ORDER BY not_before = 0, not_before, id
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED)
            UPDATE outbox SET lease_owner = \(owner), lease_expires_at = \(until), claims = claims + 1
            FROM claimable WHERE outbox.id = claimable.id
            RETURNING outbox.*
            """,
            { row in
                Result<OutboxMessage, any Error> { try decodeOutboxMessage(row) }.mapError { $0 as any Error }.flatMapError {
                    .failure(UndecodableOutboxRow(entry: row.outboxEntry(decoder: decoder), error: $0))
                }
            })
        var messages: [OutboxMessage] = []
        var setAside: [OutboxEntry] = []
        for result in claimed {
            switch result {
            case .success(let message): messages.append(message)
            case .failure(let undecodable):
                var entry = undecodable.entry
                let reason = "cannot decode the stored message: \(undecodable.error)"
                try await markDead(entry.id, error: reason)
                entry.state = .dead
                entry.attempts += 1
                entry.lastError = reason
                setAside.append(entry)
            }
        }
        return OutboxClaim(messages: messages.sorted { $0.id < $1.id }, setAside: setAside)
    }

    /// The condition that outbox row `o` may go: no earlier message of its incident's queue (per lane) is
    /// pending, and, when it has a queue key (migration 16), no earlier message of that queue (per lane)
    /// either. The incident's queue holds only rows without a key: a keyed message (an announcement)
    /// waits for its incident's room, but the incident's later messages do not wait for it.
    static let headOfItsQueue = """
        (o.incident_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM outbox AS earlier
                WHERE earlier.incident_id = o.incident_id AND earlier.lane = o.lane AND earlier.queue IS NULL
                  AND earlier.state = 'pending' AND earlier.id < o.id))
          AND (o.queue IS NULL OR NOT EXISTS (
                SELECT 1 FROM outbox AS earlier
                WHERE earlier.queue = o.queue AND earlier.lane = o.lane AND earlier.state = 'pending' AND earlier.id < o.id))
        """

    /// A claimed row whose message cannot be decoded, with what can be read of it.
    private struct UndecodableOutboxRow: Error {
        let entry: OutboxEntry
        let error: any Error
    }

    /// The lane filter as three bind values: every lane; one lane; or all but these.
    private static func laneFilter(_ lanes: OutboxLaneFilter) -> (all: Bool, only: String?, excluded: [String]) {
        switch lanes {
        case .all: (true, nil, [])
        case .only(let lane): (false, lane.name, [])
        case .excluding(let excluded): (excluded.isEmpty, nil, excluded.map(\.name))
        }
    }

    public func renewOutboxLeases(_ ids: [Int64], owner: String, until: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let until = until.millisecondsSince1970()
        return try await withClient { client in
            try await client.query(
                """
                UPDATE outbox SET lease_expires_at = \(until)
                WHERE lease_owner = \(owner) AND state = 'pending' AND id = ANY(\(ids)::bigint[]) RETURNING id
                """, logger: logger
            ).collect().count
        }
    }

    public func markDelivered(_ id: Int64, platformMessageID: String?, at: Date) async throws {
        try await updateOutbox(
            """
            UPDATE outbox SET state = 'delivered', platform_message_id = \(platformMessageID), delivered_at = \(at.millisecondsSince1970()),
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = \(id) RETURNING id
            """)
    }

    public func markRetry(_ id: Int64, notBefore: Date, error: String, failingSince: Date) async throws {
        try await updateOutbox(
            """
            UPDATE outbox SET attempts = attempts + 1, not_before = \(notBefore.millisecondsSince1970()), last_error = \(error),
                failing_since = COALESCE(failing_since, \(failingSince.millisecondsSince1970())), lease_owner = NULL, lease_expires_at = NULL
            WHERE id = \(id) RETURNING id
            """)
    }

    public func postpone(_ id: Int64, until: Date, reason: String) async throws {
        try await updateOutbox(
            """
            UPDATE outbox SET not_before = \(until.millisecondsSince1970()), last_error = \(reason), lease_owner = NULL, lease_expires_at = NULL
            WHERE id = \(id) RETURNING id
            """)
    }

    /// One statement: the head is held and the waiting messages of its queue that are in no pending digest join it.
    public func holdForDigest(_ id: Int64, until: Date, reason: String) async throws {
        try await updateOutbox(
            """
            WITH head AS (
                UPDATE outbox SET not_before = \(until.millisecondsSince1970()), last_error = \(reason), lease_owner = NULL,
                    lease_expires_at = NULL, digest_of = id
                WHERE id = \(id) AND state = 'pending' RETURNING id, queue, lane),
            members AS (
                UPDATE outbox AS o SET digest_of = head.id FROM head
                WHERE o.state = 'pending' AND o.queue = head.queue AND o.lane = head.lane AND o.id > head.id
                  AND (o.digest_of IS NULL OR NOT EXISTS (
                      SELECT 1 FROM outbox AS h WHERE h.id = o.digest_of AND h.state = 'pending'))
                RETURNING o.id)
            SELECT id FROM head
            """)
    }

    public func outboxDigestMembers(of head: Int64) async throws -> [OutboxMessage] {
        try await rows(
            "SELECT * FROM outbox WHERE digest_of = \(head) AND id <> \(head) AND state = 'pending' ORDER BY id",
            decodeOutboxMessage)
    }

    /// One statement: the head and its members are delivered together or not at all.
    public func markDigestDelivered(_ head: Int64, platformMessageID: String?, at: Date) async throws {
        try await updateOutbox(
            """
            WITH delivered AS (
                UPDATE outbox SET state = 'delivered', platform_message_id = \(platformMessageID), delivered_at = \(at.millisecondsSince1970()),
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(head) OR (digest_of = \(head) AND state = 'pending') RETURNING id)
            SELECT id FROM delivered WHERE id = \(head)
            """)
    }

    /// Counts the attempt that failed for good, like `markRetry` counts the ones that will be retried.
    public func markDead(_ id: Int64, error: String) async throws {
        try await updateOutbox(
            """
            UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = \(error), lease_owner = NULL, lease_expires_at = NULL
            WHERE id = \(id) RETURNING id
            """)
    }

    /// A delivery result; `StoreError.notFound` when there is no such message.
    private func updateOutbox(_ query: PostgresQuery) async throws {
        let updated = try await withClient { client in try await client.query(query, logger: logger).collect().count }
        if updated == 0 { throw StoreError.notFound }
    }

    /// Only the first pending message of each incident's lane counts (the others wait for it); a leased
    /// message is due again when its lease expires.
    public func nextOutboxDue(lanes: OutboxLaneFilter) async throws -> Date? {
        let (all, only, excluded) = Self.laneFilter(lanes)
        return try await optionalDate(
            """
            SELECT MIN(GREATEST(not_before, COALESCE(lease_expires_at, 0))) FROM outbox AS o
            WHERE state = 'pending' AND (\(all)::boolean OR lane = \(only)::text OR (\(only)::text IS NULL AND NOT (lane = ANY(\(excluded)::text[]))))
              AND \(unescaped: Self.headOfItsQueue)
            """)
    }

    public func outboxEntries(state: OutboxState, limit: Int) async throws -> [OutboxEntry] {
        let decoder = self.decoder
        return try await rows(
            "SELECT * FROM outbox WHERE state = \(state.rawValue) ORDER BY id DESC LIMIT \(Int64(max(limit, 0)))",
            { $0.outboxEntry(decoder: decoder) })
    }

    /// Claims read the queue order from the rows themselves (no `blocked` flag here), so putting the
    /// message back is enough for the incident's later messages to wait behind it.
    public func requeueDeadOutboxMessage(_ id: Int64, now: Date) async throws -> Bool {
        try await withClient { client in
            try await client.query(
                """
                UPDATE outbox SET state = 'pending', attempts = 0, failing_since = NULL, not_before = \(now.millisecondsSince1970()),
                    lease_owner = NULL, lease_expires_at = NULL
                WHERE id = \(id) AND state = 'dead' RETURNING id
                """,
                logger: logger
            ).collect().count > 0
        }
    }

    public func deleteDeadOutboxMessage(_ id: Int64) async throws -> Bool {
        try await withClient { client in
            try await client.query("DELETE FROM outbox WHERE id = \(id) AND state = 'dead' RETURNING id", logger: logger).collect().count > 0
        }
    }

    // MARK: - Retention

    public func pruneInboundKeys(before: Date, limit: Int) async throws -> Int {
        try await deletedCount(
            """
            DELETE FROM processed_inbound WHERE key IN (
                SELECT key FROM processed_inbound WHERE processed_at < \(before.millisecondsSince1970()) LIMIT \(Int64(max(limit, 0))))
            RETURNING 1
            """)
    }

    public func pruneDeliveredOutbox(before: Date, limit: Int) async throws -> Int {
        try await deletedCount(
            """
            DELETE FROM outbox WHERE id IN (
                SELECT id FROM outbox WHERE state = 'delivered' AND delivered_at < \(before.millisecondsSince1970())
                ORDER BY delivered_at LIMIT \(Int64(max(limit, 0))))
            RETURNING 1
            """)
    }

    public func pruneAudit(before: Date, limit: Int) async throws -> Int {
        try await deletedCount(
            """
            DELETE FROM audit_log WHERE id IN (
                SELECT id FROM audit_log WHERE at < \(before.millisecondsSince1970()) ORDER BY at LIMIT \(Int64(max(limit, 0))))
            RETURNING 1
            """)
    }

    public func pruneConsoleMessages(keepingLast keep: Int, limit: Int) async throws -> Int {
        try await deletedCount(
            """
            DELETE FROM console_messages WHERE id IN (
                SELECT id FROM console_messages
                WHERE id <= (SELECT id FROM console_messages ORDER BY id DESC LIMIT 1 OFFSET \(Int64(max(keep, 0))))
                ORDER BY id LIMIT \(Int64(max(limit, 0))))
            RETURNING 1
            """)
    }

    private func deletedCount(_ query: PostgresQuery) async throws -> Int {
        try await withClient { client in try await client.query(query, logger: logger).collect().count }
    }

    public func outboxDepth() async throws -> Int {
        try await withClient { client in
            try await client.query("SELECT COUNT(*) FROM outbox WHERE state = 'pending'", logger: logger).decode(Int64.self).array().first.map(Int.init) ?? 0
        }
    }

    public func outboxMessages(incident id: IncidentID) async throws -> [OutboxMessage] {
        try await rows("SELECT * FROM outbox WHERE incident_id = \(Int64(id.number)) ORDER BY id", decodeOutboxMessage)
    }

    // MARK: - Timers

    /// A leased timer is due again when its lease expires: the earliest unleased timer (first row of the
    /// due index) and the few leased ones (their own index).
    public func nextTimerDue() async throws -> Date? {
        try await optionalDate(
            """
            SELECT MIN(due) FROM (
                (SELECT due_at AS due FROM timers WHERE state = 'pending' AND lease_expires_at IS NULL ORDER BY due_at LIMIT 1)
                UNION ALL
                SELECT GREATEST(due_at, lease_expires_at) FROM timers WHERE state = 'pending' AND lease_expires_at IS NOT NULL
            ) AS due_times
            """)
    }

    /// Due timers, earliest first, leased to `owner`; timers another replica is claiming are skipped.
    public func claimDueTimers(now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> [ScheduledTimer] {
        let (now, until, limit) = (now.millisecondsSince1970(), leaseUntil.millisecondsSince1970(), Int64(max(limit, 0)))
        let timers = try await rows(
            """
            WITH due AS (
                SELECT id FROM timers
                WHERE state = 'pending' AND due_at <= \(now) AND (lease_expires_at IS NULL OR lease_expires_at <= \(now))
                ORDER BY due_at, id
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED)
            UPDATE timers SET lease_owner = \(owner), lease_expires_at = \(until)
            FROM due WHERE timers.id = due.id
            RETURNING timers.*
            """,
            { try $0.scheduledTimer() })
        return timers.sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
    }

    public func pendingTimers(of id: IncidentID) async throws -> [ScheduledTimer] {
        try await rows("SELECT * FROM timers WHERE incident_id = \(Int64(id.number)) AND state = 'pending' ORDER BY due_at, id", { try $0.scheduledTimer() })
    }

    // MARK: - On-call

    /// Overrides with start <= at < end, in the order they were set.
    public func overrides(rotation: String, activeAt: Date) async throws -> [OnCallOverride] {
        let at = activeAt.millisecondsSince1970()
        return try await rows(
            "SELECT * FROM oncall_overrides WHERE rotation_id = \(rotation) AND starts_at <= \(at) AND \(at) < ends_at ORDER BY id",
            { try $0.onCallOverride() })
    }

    /// One query for all rotations: every command that pages and every timer that fires asks.
    public func activeOverrides(rotations: [RotationConfig], at date: Date) async throws -> [String: [OnCallOverride]] {
        guard !rotations.isEmpty else { return [:] }
        let at = date.millisecondsSince1970()
        let active = try await rows(
            "SELECT * FROM oncall_overrides WHERE rotation_id = ANY(\(rotations.map(\.id))) AND starts_at <= \(at) AND \(at) < ends_at ORDER BY id",
            { try $0.onCallOverride() })
        return Dictionary(grouping: active, by: \.rotationID)
    }

    public func overrides(rotation: String, endingAfter date: Date) async throws -> [OnCallOverride] {
        try await rows(
            "SELECT * FROM oncall_overrides WHERE rotation_id = \(rotation) AND ends_at > \(date.millisecondsSince1970()) ORDER BY id",
            { try $0.onCallOverride() })
    }

    public func lastHandoff(rotation: String) async throws -> Date? {
        try await optionalDate("SELECT handoff_at FROM rotation_handoffs WHERE rotation_id = \(rotation)")
    }

    // MARK: - Audit

    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        var conditions: [String] = []
        var binds = PostgresBindings()
        if let id = query.incidentID {
            binds.append(Int64(id.number))
            conditions.append("incident_id = $\(binds.count)")
        }
        if let since = query.since {
            binds.append(since.millisecondsSince1970())
            conditions.append("at >= $\(binds.count)")
        }
        if let user = query.user {
            binds.append(user)
            conditions.append("(user_id = $\(binds.count) OR user_name = $\(binds.count) OR person_id = $\(binds.count))")
        }
        binds.append(Int64(min(max(query.limit, 0), 10_000)))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try await rows(PostgresQuery(unsafeSQL: "SELECT * FROM audit_log \(filter) ORDER BY id DESC LIMIT $\(binds.count)", binds: binds)) {
            try $0.auditEntry()
        }
    }

    // MARK: - Console platform

    /// Written like a change set's console lines: one line per outbox id.
    public func appendConsoleMessage(_ message: ConsoleMessage) async throws {
        var changes = ChangeSet()
        changes.consoleMessages = [message]
        try await commit(changes)
    }

    public func consoleMessages(after id: Int64, limit: Int) async throws -> [ConsoleMessage] {
        try await rows("SELECT * FROM console_messages WHERE id > \(id) ORDER BY id LIMIT \(Int64(max(limit, 0)))") { try $0.consoleMessage() }
    }

    // MARK: - Inbound cursors

    public func cursor(_ key: String) async throws -> String? {
        try await withClient { client in
            try await client.query("SELECT value FROM inbound_cursors WHERE key = \(key)", logger: logger).decode(String.self).array().first
        }
    }

    public func setCursor(_ key: String, value: String) async throws {
        _ = try await withClient { client in
            try await client.query(
                "INSERT INTO inbound_cursors (key, value) VALUES (\(key), \(value)) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                logger: logger)
        }
    }

    public func holdLease(_ key: String, owner: String, now: Date, until: Date) async throws -> Bool {
        let (now, until) = (now.millisecondsSince1970(), until.millisecondsSince1970())
        return try await withClient { client in
            try await client.query(
                """
                INSERT INTO leases (key, owner, expires_at) VALUES (\(key), \(owner), \(until))
                ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                WHERE leases.owner = excluded.owner OR leases.expires_at <= \(now)
                RETURNING owner
                """,
                logger: logger
            ).decode(String.self).array().isEmpty == false
        }
    }

    // MARK: - Health

    /// Over a connection of its own, not the pool's: while the server is down the pool queues calls (for
    /// up to a minute) where a health check must answer at once; a connection of its own fails with the
    /// reason (connection refused, a timeout, the server shutting down).
    public func ping() async throws {
        do {
            try await pingConnection.ping()
        } catch {
            throw storeError(error)
        }
    }

    /// Open incidents (declared … mitigated) by severity.
    public func openIncidentCounts() async throws -> [String: Int] {
        try await withClient { client in
            var counts: [String: Int] = [:]
            for try await (severity, count) in try await client.query(
                "SELECT severity, COUNT(*) FROM incidents WHERE status = ANY(\(Self.openStatuses)) GROUP BY severity", logger: logger
            ).decode((String, Int64).self) {
                counts[severity] = Int(count)
            }
            return counts
        }
    }

    // MARK: - Reading rows

    private func rows<T>(_ query: PostgresQuery, _ decode: (Columns) throws -> T) async throws -> [T] {
        try await withClient { client in
            var values: [T] = []
            for try await row in try await client.query(query, logger: logger) {
                values.append(try decode(Columns(row)))
            }
            return values
        }
    }

    private func optionalDate(_ query: PostgresQuery) async throws -> Date? {
        try await withClient { client in
            for try await value in try await client.query(query, logger: logger).decode(Int64?.self) {
                return value.map(Date.init(millisecondsSince1970:))
            }
            return nil
        }
    }

    private func decodeIncident(_ row: Columns) throws -> Incident {
        try row.incident(decoder: decoder)
    }

    private func decodeOutboxMessage(_ row: Columns) throws -> OutboxMessage {
        try row.outboxMessage(decoder: decoder)
    }
}

/// `ping`'s connection, kept open from one check to the next (a new connection per check would cost an
/// authentication handshake each time, SCRAM's key derivation included) and opened again after it broke.
private actor PingConnection {
    private let configuration: PostgresStoreConfiguration
    private let logger: Logger
    private var connection: PostgresConnection?

    init(configuration: PostgresStoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    func ping() async throws {
        if let open = connection, !open.isClosed {
            do {
                try await open.query("SELECT 1", logger: logger)
                return
            } catch {
                // Broken since the last check (a restarted server closes it): a fresh connection decides.
                if connection === open { connection = nil }
                try? await open.close()
            }
        }
        let fresh = try await configuration.connect(logger: logger)
        do {
            try await fresh.query("SELECT 1", logger: logger)
        } catch {
            try? await fresh.close()
            throw error
        }
        // Another check may have opened one meanwhile: keep one.
        if connection == nil {
            connection = fresh
        } else {
            try? await fresh.close()
        }
    }

    func close() async {
        guard let open = connection else { return }
        connection = nil
        // Closing a connection the server already dropped fails; there is nothing left to release then.
        try? await open.close()
    }
}
