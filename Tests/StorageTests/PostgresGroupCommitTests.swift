import Foundation
import IncidentCore
import KlaxonTestSupport
import PostgresNIO
import Testing

@testable import PostgresStorage

/// The PostgreSQL store's group commit, made deterministic as the SQLite store's (`GroupCommitTests`):
/// another session holds a row lock that the first commit's batch needs, so that batch stays in flight
/// while the change sets under test queue behind it; releasing the lock lets them all go as one batch.
/// Nothing waits for a duration: the test waits for the queue to reach its size.
@Suite(
    "PostgreSQL group commit",
    .enabled(
        if: TestPostgres.isConfigured, "KLAXON_TEST_POSTGRES_URL is not set: the PostgreSQL store tests are skipped (.ci/run starts PostgreSQL 15 and sets it)")
)
final class PostgresGroupCommitTests {
    private let stores = RunningPostgresStores()

    /// A declaration of incident `number` with an inbound key, an outbox message and a timer.
    private func declaration(_ number: Int) -> ChangeSet {
        var changes = StoreFixtures.declaration(of: StoreFixtures.incident(number))
        changes.inboundKey = "console:\(number)"
        changes.outbox = [StoreFixtures.post(for: IncidentID(number), "declared \(number)")]
        changes.timers = [NewTimer(incidentID: IncidentID(number), kind: .updateReminder, dueAt: StoreFixtures.t0.addingTimeInterval(1800))]
        return changes
    }

    /// Ten concurrent change sets, four of them refused and one failing on a foreign key, are written by
    /// one statement (one transaction): the refused and the failing one each fail alone, to their own
    /// caller, and nothing of them is kept; the other five are all there.
    @Test func concurrentChangeSetsCommitTogetherAndFailAlone() async throws {
        let schema = try await TestPostgres.newSchema()
        let store = try await stores.open(schema: schema)
        let t0 = StoreFixtures.t0
        var setup = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        setup.inboundKey = "console:seen"
        setup.timers = [NewTimer(incidentID: IncidentID(1), kind: .ackTimeout, dueAt: t0)]
        try await store.commit(setup)
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(2)))
        let timerID = try #require(try await store.claimDueTimers(now: t0, owner: "a", leaseUntil: t0.addingTimeInterval(60), limit: 1).first).id
        let stored = try #require(try await store.incident(IncidentID(1)))
        let gateIncident = try #require(try await store.incident(IncidentID(2)))

        var stale = ChangeSet()
        stale.inboundKey = "console:stale"
        stale.timeline = [TimelineEntry(incidentID: IncidentID(1), at: t0, kind: .note, actor: nil, text: "stale")]
        stale.incidents = [IncidentWrite(incident: stored, expectedRevision: stored.revision - 1)]
        var redelivery = ChangeSet()
        redelivery.inboundKey = "console:seen"
        redelivery.outbox = [StoreFixtures.post(for: IncidentID(1), "twice")]
        var late = ChangeSet()
        late.inboundKey = "console:late"
        late.completeTimer = (timerID, "b")
        late.timeline = [TimelineEntry(incidentID: IncidentID(1), at: t0, kind: .reminder, actor: nil, text: "late")]
        var update = ChangeSet()
        var updated = stored
        updated.publicStatus = "Failing over"
        update.incidents = [IncidentWrite(incident: updated, expectedRevision: stored.revision)]
        update.timeline = [TimelineEntry(incidentID: IncidentID(1), at: t0, kind: .update, actor: StoreFixtures.alice, text: "Failing over")]
        var again = declaration(10)
        again.inboundKey = "console:10-again"
        // Not a refusal: a timeline line of an incident that does not exist breaks a (deferred) foreign key.
        var orphan = ChangeSet()
        orphan.inboundKey = "console:orphan"
        orphan.timeline = [TimelineEntry(incidentID: IncidentID(999), at: t0, kind: .note, actor: nil, text: "nobody's")]
        let changeSets = [declaration(10), stale, declaration(11), redelivery, late, update, declaration(12), again, orphan, declaration(13)]

        let logger = TestPostgres.logger
        let other = try await TestPostgres.configuration(schema: schema).connect(logger: logger)
        let outcomes: [StoreError?]
        let before = store.groupCommitStatistics
        do {
            try await other.query("BEGIN", logger: logger)
            try await other.query("SELECT id FROM incidents WHERE id = 2 FOR UPDATE", logger: logger)
            outcomes = try await withThrowingTaskGroup(of: (Int, StoreError?).self) { group in
                // Leads a batch that waits for the row this session holds; everything after it queues.
                var gateWrite = ChangeSet()
                gateWrite.incidents = [IncidentWrite(incident: gateIncident, expectedRevision: gateIncident.revision)]
                group.addTask {
                    try await store.commit(gateWrite)
                    return (-1, nil)
                }
                try await waitFor("the gated commit to lead a batch") { store.groupCommitStatistics.batches != before.batches }
                // One at a time, so that they queue in this order.
                for (index, changes) in changeSets.enumerated() {
                    group.addTask {
                        do {
                            try await store.commit(changes)
                            return (index, nil)
                        } catch let error as StoreError {
                            return (index, error)
                        }
                    }
                    try await waitFor("change set \(index) to queue") { store.queuedCommits > index }
                }
                try await other.query("ROLLBACK", logger: logger)
                var outcomes = [StoreError?](repeating: nil, count: changeSets.count)
                for try await (index, outcome) in group where index >= 0 {
                    outcomes[index] = outcome
                }
                return outcomes
            }
            try await other.close()
        } catch {
            try? await other.close()
            throw error
        }

        // Eleven commits, two batches: the gated one alone, then the ten together (one statement, one transaction).
        let after = store.groupCommitStatistics
        #expect(after.batches - before.batches == 2)
        #expect(after.jobs - before.jobs == changeSets.count + 1)
        #expect(after.largestBatch == changeSets.count)
        let refusals = outcomes.enumerated().filter { $0.offset != 8 }.map(\.element)
        #expect(
            refusals == [nil, .conflict(IncidentID(1)), nil, .duplicate("console:seen"), .leaseLost(timerID), nil, nil, .conflict(IncidentID(10)), nil])
        guard case .unavailable(let reason) = outcomes[8] else {
            Issue.record("the orphan timeline line was not refused as unavailable: \(String(describing: outcomes[8]))")
            return
        }
        // The foreign key violation's SQLSTATE, the row's values left out.
        #expect(reason.contains("23503"))

        for number in 10...13 {
            #expect(try await store.incident(IncidentID(number))?.title == "Database down")
            #expect(try await store.timeline(of: IncidentID(number)).count == 1)
            #expect(try await store.outboxMessages(incident: IncidentID(number)).count == 1)
            #expect(try await store.pendingTimers(of: IncidentID(number)).map(\.kind) == [.updateReminder])
        }
        let one = try #require(try await store.incident(IncidentID(1)))
        #expect(one.revision == stored.revision + 1 && one.publicStatus == "Failing over")
        #expect(try await store.timeline(of: IncidentID(1)).map(\.text).contains("Failing over"))
        #expect(try await store.timeline(of: IncidentID(1)).allSatisfy { !["stale", "late"].contains($0.text) })
        #expect(try await store.outboxMessages(incident: IncidentID(1)).isEmpty)
        #expect(try await store.pendingTimers(of: IncidentID(1)).map(\.id) == [timerID])
        #expect(try await store.incident(IncidentID(2))?.revision == gateIncident.revision + 1)

        // The refused and failed change sets' inbound keys were rolled back with them: they go through now.
        for key in ["console:stale", "console:late", "console:10-again", "console:orphan"] {
            var retry = ChangeSet()
            retry.inboundKey = key
            try await store.commit(retry)
        }
        var seenAgain = ChangeSet()
        seenAgain.inboundKey = "console:13"
        await #expect(throws: StoreError.duplicate("console:13")) { try await store.commit(seenAgain) }
    }

    /// A chain in a batch keeps the change sets before its refusal and stops there, beside another
    /// caller's change set that commits whole.
    @Test func chainsStopAtTheirRefusalInsideABatch() async throws {
        let schema = try await TestPostgres.newSchema()
        let store = try await stores.open(schema: schema)
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))
        let stored = try #require(try await store.incident(IncidentID(1)))
        var first = ChangeSet()
        var updated = stored
        updated.publicStatus = "One"
        first.incidents = [IncidentWrite(incident: updated, expectedRevision: stored.revision)]
        // Stale after `first`: refused, and the chain stops.
        var second = ChangeSet()
        second.incidents = [IncidentWrite(incident: updated, expectedRevision: stored.revision)]
        second.inboundKey = "console:second"
        var third = ChangeSet()
        third.inboundKey = "console:third"
        let result = try await store.commit(inOrder: [first, second, third])
        #expect(result.written == 1 && result.refusal == .conflict(IncidentID(1)))
        #expect(try await store.incident(IncidentID(1))?.publicStatus == "One")
        // Neither the refused one nor the one after it left its inbound key.
        let keys = try await store.commit(
            inOrder: [second, third].map { changes in
                var keyOnly = ChangeSet()
                keyOnly.inboundKey = changes.inboundKey
                return keyOnly
            })
        #expect(keys.written == 2 && keys.refusal == nil)
        // A commit alone is one batch: one statement, one round trip.
        let before = store.groupCommitStatistics.batches
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(2)))
        #expect(store.groupCommitStatistics.batches == before + 1)
    }
}
