import Foundation
import IncidentCore
import Storage
import Testing

/// What only the SQLite store has to prove: the file keeps everything, migrations run once, and
/// concurrent callers never share a transaction.
@Suite("SQLite store")
final class SQLiteStoreTests {
    private let databases = TemporaryDatabases()

    @Test func everythingSurvivesCloseAndReopen() async throws {
        let path = databases.newPath()
        let t0 = StoreFixtures.t0
        let id = IncidentID(1)
        let room = Conversation(platform: .slack, channelID: "C0INC1")

        let first = try await SQLiteIncidentStore.open(path: path)
        _ = try await first.allocateIncidentNumber(day: "2025-11-10")
        var changes = StoreFixtures.declaration(of: StoreFixtures.incident(1, withEveryField: true))
        changes.outbox = [StoreFixtures.post(for: id, "Declared")]
        changes.timers = [NewTimer(incidentID: id, kind: .updateReminder, dueAt: t0.addingTimeInterval(1800))]
        changes.overrides = [StoreFixtures.override(rotation: "db", person: "carol", from: 0, to: 3600)]
        changes.consoleMessages = [ConsoleMessage(at: t0, channel: "ops", text: "INC-1 declared", kind: "reply")]
        changes.inboundKey = "console:1"
        try await first.commit(changes)
        try await first.setRoom(room, for: id)
        let stored = try #require(try await first.incident(id))
        try await first.close()

        let reopened = try await SQLiteIncidentStore.open(path: path)
        #expect(try await reopened.incident(id) == stored)
        #expect(try await reopened.incident(in: room)?.id == id)
        #expect(try await reopened.timeline(of: id) == changes.timeline)
        #expect(try await reopened.outboxMessages(incident: id).map { StoreFixtures.text(of: $0) } == ["Declared"])
        #expect(try await reopened.pendingTimers(of: id).map(\.dueAt) == [t0.addingTimeInterval(1800)])
        #expect(try await reopened.overrides(rotation: "db", activeAt: t0) == changes.overrides)
        #expect(try await reopened.consoleMessages(after: 0, limit: 10).map(\.text) == ["INC-1 declared"])
        #expect(try await reopened.allocateIncidentNumber(day: "2025-11-10") == (IncidentID(2), 2))

        var redelivery = ChangeSet()
        redelivery.inboundKey = "console:1"
        await #expect(throws: StoreError.duplicate("console:1")) { try await reopened.commit(redelivery) }
        try await reopened.close()
    }

    @Test func migrationsRunOnce() async throws {
        let path = databases.newPath()
        let first = try await SQLiteIncidentStore.open(path: path)
        let versions = try await first.appliedMigrations()
        #expect(versions.first == 1)
        #expect(versions == versions.sorted())
        try await first.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))
        try await first.close()

        let second = try await SQLiteIncidentStore.open(path: path)
        #expect(try await second.appliedMigrations() == versions)
        #expect(try await second.incident(IncidentID(1)) != nil)
        try await second.close()
    }

    @Test func createsMissingParentDirectories() async throws {
        let path = databases.newPath(inSubdirectories: ["var", "lib", "klaxon"])
        let store = try await SQLiteIncidentStore.open(path: path)
        try await store.ping()
        try await store.close()
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func aClosedStoreRefusesWork() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        try await store.close()
        await #expect(throws: StoreError.self) { try await store.ping() }
    }

    /// 200 change sets at once, each an incident and three timeline lines, with readers in between. If two
    /// transactions ever shared the connection, one's BEGIN would fail inside the other's ("cannot start a
    /// transaction within a transaction") or lines would land under the wrong commit.
    @Test func concurrentCommitsNeverInterleave() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        let count = 200

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask {
                    let (id, _) = try await store.allocateIncidentNumber(day: "2025-11-10")
                    var changes = StoreFixtures.declaration(of: StoreFixtures.incident(id.number))
                    changes.timeline += (1...2).map { line in
                        TimelineEntry(incidentID: id, at: StoreFixtures.t0, kind: .note, actor: nil, text: "\(id) line \(line)")
                    }
                    changes.outbox = [StoreFixtures.post(for: id, "\(id)")]
                    try await store.commit(changes)
                }
                group.addTask {
                    _ = try await store.incidents(includeClosed: true, limit: 5)
                    _ = try await store.outboxDepth()
                }
            }
            try await group.waitForAll()
        }

        let incidents = try await store.incidents(includeClosed: true, limit: 1000)
        #expect(incidents.count == count)
        #expect(Set(incidents.map(\.id.number)) == Set(1...count))
        for incident in incidents {
            let lines = try await store.timeline(of: incident.id).map(\.text)
            #expect(lines == ["Declared", "\(incident.id) line 1", "\(incident.id) line 2"])
        }
        #expect(try await store.outboxDepth() == count)
        try await store.close()
    }

    /// Many replicas acting on the same incident at once: exactly one write per revision wins.
    @Test func concurrentUpdatesOfOneIncidentConflict() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))
        let stored = try #require(try await store.incident(IncidentID(1)))

        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for attempt in 0..<50 {
                group.addTask {
                    var changes = ChangeSet()
                    var incident = stored
                    incident.publicStatus = "attempt \(attempt)"
                    changes.incidents = [IncidentWrite(incident: incident, expectedRevision: stored.revision)]
                    changes.timeline = [TimelineEntry(incidentID: incident.id, at: StoreFixtures.t0, kind: .update, actor: nil, text: "attempt \(attempt)")]
                    do {
                        try await store.commit(changes)
                        return true
                    } catch StoreError.conflict {
                        return false
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }

        #expect(outcomes.filter { $0 }.count == 1)
        let winner = try #require(try await store.incident(IncidentID(1)))
        #expect(winner.revision == stored.revision + 1)
        let lines = try await store.timeline(of: IncidentID(1)).map(\.text)
        #expect(lines.count == 2)
        #expect(lines.last == winner.publicStatus)
        try await store.close()
    }

    /// A process that dies does not close its store. What it committed is in the WAL file, and the next
    /// process (here, a second store on the same file while the first is still open) sees it.
    @Test func committedDataIsVisibleWithoutClose() async throws {
        let path = databases.newPath()
        let crashed = try await SQLiteIncidentStore.open(path: path)
        var changes = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        changes.outbox = [StoreFixtures.post(for: IncidentID(1), "Declared")]
        changes.timers = [NewTimer(incidentID: IncidentID(1), kind: .ackTimeout, dueAt: StoreFixtures.t0.addingTimeInterval(300))]
        try await crashed.commit(changes)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))

        let successor = try await SQLiteIncidentStore.open(path: path)
        #expect(try await successor.incident(IncidentID(1))?.title == "Database down")
        #expect(try await successor.timeline(of: IncidentID(1)).count == 1)
        #expect(try await successor.outboxDepth() == 1)
        #expect(try await successor.pendingTimers(of: IncidentID(1)).map(\.kind) == [.ackTimeout])
        // Both can write: SQLite's file locks order the two connections.
        #expect(try await successor.allocateIncidentNumber(day: "2025-11-10") == (IncidentID(1), 1))
        #expect(try await crashed.allocateIncidentNumber(day: "2025-11-10") == (IncidentID(2), 2))
        try await successor.close()
        try await crashed.close()
    }
}

/// A directory of database files for one suite instance (swift-testing makes one per test), removed
/// with it. Immutable after `init`, hence `Sendable`.
final class TemporaryDatabases: Sendable {
    let directory: URL

    init() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("klaxon-store-tests-\(UUID().uuidString)")
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A path for a new database file; its directories are left to the store to create.
    func newPath(inSubdirectories subdirectories: [String] = []) -> String {
        subdirectories.reduce(directory) { $0.appendingPathComponent($1) }
            .appendingPathComponent("\(UUID().uuidString).sqlite").path
    }
}
