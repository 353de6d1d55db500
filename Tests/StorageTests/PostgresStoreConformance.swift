import Foundation
import IncidentCore
import KlaxonTestSupport
import PostgresNIO
import Synchronization
import Testing

@testable import PostgresStorage

/// Stores opened by one test, whose pools run until the test's suite instance goes away.
final class RunningPostgresStores: Sendable {
    private let tasks = Mutex<[Task<Void, any Error>]>([])

    func open(schema: String) async throws -> PostgresIncidentStore {
        let store = try await PostgresIncidentStore.open(try TestPostgres.configuration(schema: schema), logger: TestPostgres.logger)
        let task = Task { try await store.run() }
        tasks.withLock { $0.append(task) }
        return store
    }

    /// Cancelling `run()` closes the pool's connections.
    deinit {
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }
}

@Suite("PostgreSQL configured in CI")
struct PostgresCITests {
    @Test func postgresIsConfiguredInCI() {
        if TestPostgres.isCI {
            #expect(TestPostgres.isConfigured, "CI is set but KLAXON_TEST_POSTGRES_URL is not: .ci/run must start PostgreSQL and set it")
        }
    }
}

/// The conformance checks against the PostgreSQL store, each on an empty schema of its own.
@Suite(
    "PostgreSQL store conformance",
    .enabled(
        if: TestPostgres.isConfigured, "KLAXON_TEST_POSTGRES_URL is not set: the PostgreSQL store tests are skipped (.ci/run starts PostgreSQL 15 and sets it)")
)
final class PostgresStoreConformance {
    private let stores = RunningPostgresStores()
    private var makeStore: StoreFactory {
        { [stores] in try await stores.open(schema: try await TestPostgres.newSchema()) }
    }

    @Test(arguments: StoreConformanceCheck.all)
    func conformance(_ check: StoreConformanceCheck) async throws { try await check.run(makeStore) }
}

@Suite(
    "PostgreSQL store",
    .enabled(
        if: TestPostgres.isConfigured, "KLAXON_TEST_POSTGRES_URL is not set: the PostgreSQL store tests are skipped (.ci/run starts PostgreSQL 15 and sets it)")
)
final class PostgresStoreTests {
    private let stores = RunningPostgresStores()

    /// Replicas starting together on an empty database: both open, and the schema is migrated once.
    @Test func replicasStartingTogetherMigrateOnce() async throws {
        let schema = try await TestPostgres.newSchema()
        let stores = self.stores
        async let first = stores.open(schema: schema)
        async let second = stores.open(schema: schema)
        let (a, b) = try await (first, second)
        // Every version this build knows (not contiguous on every branch: each feature owns its number).
        let all = PostgresMigrations.all.map(\.version)
        #expect((a.migrationsAppliedAtOpen + b.migrationsAppliedAtOpen).sorted() == all)
        #expect(a.migrationsAppliedAtOpen.isEmpty || b.migrationsAppliedAtOpen.isEmpty)
        #expect(try await a.appliedMigrations() == all)
        // Both work on the one schema.
        try await a.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))
        #expect(try await b.incident(IncidentID(1))?.title == "Database down")
        // A later start finds nothing to do.
        let third = try await stores.open(schema: schema)
        #expect(third.migrationsAppliedAtOpen.isEmpty)
    }

    /// Every message of a claim goes to one claimer: two replicas claiming at once never share one.
    @Test func concurrentClaimsTakeDifferentRows() async throws {
        let schema = try await TestPostgres.newSchema()
        let a = try await stores.open(schema: schema)
        let b = try await stores.open(schema: schema)
        let t0 = StoreFixtures.t0
        var changes = ChangeSet()
        changes.incidents = (1...40).map { IncidentWrite(incident: StoreFixtures.incident($0), expectedRevision: nil) }
        changes.outbox = (1...40).map { StoreFixtures.post(for: IncidentID($0), "message \($0)") }
        changes.timers = (1...40).map { NewTimer(incidentID: IncidentID($0), kind: .updateReminder, dueAt: t0) }
        try await a.commit(changes)
        let claims = try await withThrowingTaskGroup(of: ([Int64], [Int64]).self) { group in
            for (index, store) in [a, b, a, b].enumerated() {
                group.addTask {
                    let messages = try await store.claimOutbox(now: t0, owner: "r\(index)", leaseUntil: t0.addingTimeInterval(60), limit: 15)
                    let timers = try await store.claimDueTimers(now: t0, owner: "r\(index)", leaseUntil: t0.addingTimeInterval(60), limit: 15)
                    return (messages.map(\.id), timers.map(\.id))
                }
            }
            return try await group.reduce(into: [([Int64], [Int64])]()) { $0.append($1) }
        }
        let messages = claims.flatMap(\.0)
        let timers = claims.flatMap(\.1)
        #expect(messages.count == 40 && Set(messages).count == 40)
        #expect(timers.count == 40 && Set(timers).count == 40)
    }

    /// A transaction PostgreSQL aborts to break a deadlock is run again, not reported as "unavailable".
    /// Made to happen: another session holds incident 2 while the store's change set, having updated
    /// incident 1, waits for it; that session then wants incident 1. The store's backend, waiting
    /// longest, detects the deadlock and aborts itself (the other session's `deadlock_timeout` is raised
    /// where the role may), the other session finishes and rolls back, and the retry goes through.
    @Test func deadlocksAreRetriedNotReported() async throws {
        let schema = try await TestPostgres.newSchema()
        let store = try await stores.open(schema: schema)
        var declarations = ChangeSet()
        declarations.incidents = [1, 2].map { IncidentWrite(incident: StoreFixtures.incident($0), expectedRevision: nil) }
        try await store.commit(declarations)
        let one = try #require(try await store.incident(IncidentID(1)))
        let two = try #require(try await store.incident(IncidentID(2)))
        var both = ChangeSet()
        both.incidents = [IncidentWrite(incident: one, expectedRevision: one.revision), IncidentWrite(incident: two, expectedRevision: two.revision)]

        let other = try await TestPostgres.configuration(schema: schema).connect(logger: TestPostgres.logger)
        let logger = TestPostgres.logger
        let commit: Task<Void, any Error>
        do {
            try await other.query("BEGIN", logger: logger)
            _ = try? await other.query("SET LOCAL deadlock_timeout = '10s'", logger: logger)
            try await other.query("UPDATE incidents SET revision = revision WHERE id = 2", logger: logger)
            commit = Task { try await store.commit(both) }
            // Until the store's transaction is blocked on the row this session holds (a positive signal,
            // not a guess at how long that takes); then take the row the store holds: a deadlock.
            let blockedByUs: PostgresQuery = "SELECT count(*)::int FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            let deadline = ContinuousClock.now + .seconds(30)
            var blocked = 0
            while blocked == 0, ContinuousClock.now < deadline {
                // A transaction sees pg_stat_activity as of its first look unless the snapshot is dropped.
                try await other.query("SELECT pg_stat_clear_snapshot()", logger: logger)
                for try await count in try await other.query(blockedByUs, logger: logger).decode(Int.self) { blocked = count }
                if blocked == 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(blocked == 1, "the store's commit never waited on the row this session holds")
            try await other.query("UPDATE incidents SET revision = revision WHERE id = 1", logger: logger)
            try await other.query("ROLLBACK", logger: logger)
            try await other.close()
        } catch {
            try? await other.close()
            throw error
        }
        try await commit.value
        #expect(try await store.incident(IncidentID(1))?.revision == one.revision + 1)
        #expect(try await store.incident(IncidentID(2))?.revision == two.revision + 1)
    }

    /// `sslmode=require` encrypts without checking the certificate (as libpq does): the store opens over
    /// TLS against a server with a self-signed certificate; `verify-full` refuses that certificate.
    @Test(.enabled(if: TestPostgres.hasTLS, "KLAXON_TEST_POSTGRES_TLS is not set: the server has no TLS to try (.ci/postgres.sh gives it one)"))
    func sslModes() async throws {
        let schema = try await TestPostgres.newSchema()
        var url = try TestPostgres.url()
        url.sslMode = .require
        let required = PostgresStoreConfiguration(url: url, poolSize: 2, schema: schema)
        let connection = try await required.connect(logger: TestPostgres.logger)
        let sslInUse: PostgresQuery = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        var encrypted: [Bool] = []
        for try await ssl in try await connection.query(sslInUse, logger: TestPostgres.logger).decode(Bool.self) {
            encrypted.append(ssl)
        }
        try await connection.close()
        #expect(encrypted == [true])
        let store = try await PostgresIncidentStore.open(required, logger: TestPostgres.logger)
        let running = Task { try await store.run() }
        defer { running.cancel() }
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))
        #expect(try await store.incident(IncidentID(1))?.title == "Database down")

        url.sslMode = .verifyFull
        await #expect(throws: StoreError.self) {
            _ = try await PostgresIncidentStore.open(PostgresStoreConfiguration(url: url, schema: schema), logger: TestPostgres.logger)
        }
    }
}
