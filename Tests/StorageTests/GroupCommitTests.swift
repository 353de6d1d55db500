import Foundation
import IncidentCore
import Testing

@testable import Storage

/// Group commit, made deterministic: a write that waits on a gate holds the write connection while the
/// change sets under test queue up behind it; opening the gate lets them all go as one transaction.
/// Nothing here depends on timing: the tests wait for the queue to reach its size, not for a duration.
@Suite("SQLite group commit")
final class GroupCommitTests {
    private let databases = TemporaryDatabases()

    /// Holds the write connection until `open()` is called. A write job runs synchronously on the
    /// connection's thread, so the gate blocks that thread (a semaphore), not a task.
    private struct Gate: Sendable {
        private let semaphore = DispatchSemaphore(value: 0)

        /// Blocks until `open()`; one waiter per gate.
        func wait() {
            semaphore.wait()
        }

        func open() {
            semaphore.signal()
        }
    }

    /// Commits `changeSets` as one group, queued in their order; each task reports its own outcome.
    private func commitAsOneGroup(_ store: SQLiteIncidentStore, _ changeSets: [ChangeSet]) async throws -> [StoreError?] {
        let gate = Gate()
        let before = await store.writeStatistics.transactions
        return try await withThrowingTaskGroup(of: (Int, StoreError?).self) { group in
            group.addTask {
                try await store.write(singleStatement: false) { _ in gate.wait() }
                return (-1, nil)
            }
            // The gated write leads its own transaction; everything after it queues.
            try await waitFor("the gated write to start its transaction") { await store.writeStatistics.transactions != before }
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
                try await waitFor("change set \(index) to queue") { await store.queuedWrites > index }
            }
            gate.open()
            var outcomes = [StoreError?](repeating: nil, count: changeSets.count)
            for try await (index, outcome) in group where index >= 0 {
                outcomes[index] = outcome
            }
            return outcomes
        }
    }

    /// A declaration of incident `number` with an inbound key, an outbox message and a timer.
    private func declaration(_ number: Int) -> ChangeSet {
        var changes = StoreFixtures.declaration(of: StoreFixtures.incident(number))
        changes.inboundKey = "console:\(number)"
        changes.outbox = [StoreFixtures.post(for: IncidentID(number), "declared \(number)")]
        changes.timers = [NewTimer(incidentID: IncidentID(number), kind: .updateReminder, dueAt: StoreFixtures.t0.addingTimeInterval(1800))]
        return changes
    }

    /// Incident 1 (revision 1) with a pending ack timer leased to "a", and the inbound key "console:seen".
    private func setUp(_ store: SQLiteIncidentStore) async throws -> (incident: Incident, timerID: Int64) {
        var setup = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        setup.inboundKey = "console:seen"
        setup.timers = [NewTimer(incidentID: IncidentID(1), kind: .ackTimeout, dueAt: StoreFixtures.t0)]
        try await store.commit(setup)
        let t0 = StoreFixtures.t0
        let timer = try #require(try await store.claimDueTimers(now: t0, owner: "a", leaseUntil: t0.addingTimeInterval(60), limit: 1).first)
        return (try #require(try await store.incident(IncidentID(1))), timer.id)
    }

    /// Refused change sets that wrote something before their refusal (an inbound key, a timeline line)
    /// inside a group: their savepoints undo exactly that, the group commits the rest, and the file,
    /// reopened, holds every change set that succeeded and nothing of the others.
    @Test func refusalsInsideAGroupFailAlone() async throws {
        let path = databases.newPath()
        let store = try await SQLiteIncidentStore.open(path: path)
        let (stored, timerID) = try await setUp(store)
        let t0 = StoreFixtures.t0

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
        // A second declaration of incident 10, after the first one in the same group.
        var again = declaration(10)
        again.inboundKey = "console:10-again"

        let changeSets = [declaration(10), stale, declaration(11), redelivery, late, update, declaration(12), again, declaration(13)]
        let outcomes = try await commitAsOneGroup(store, changeSets)
        #expect(
            outcomes == [
                nil, .conflict(IncidentID(1)), nil, .duplicate("console:seen"), .leaseLost(timerID), nil, nil, .conflict(IncidentID(10)), nil,
            ])
        let statistics = await store.writeStatistics
        #expect(statistics.largestBatch == changeSets.count)
        #expect(statistics.abandonedGroups == 0)
        try await store.close()

        let reopened = try await SQLiteIncidentStore.open(path: path)
        for number in 10...13 {
            #expect(try await reopened.incident(IncidentID(number))?.title == "Database down")
            #expect(try await reopened.timeline(of: IncidentID(number)).count == 1)
            #expect(try await reopened.outboxMessages(incident: IncidentID(number)).count == 1)
            #expect(try await reopened.pendingTimers(of: IncidentID(number)).map(\.kind) == [.updateReminder])
        }
        #expect(try await reopened.timeline(of: IncidentID(1)).map(\.text) == ["Declared", "Failing over"])
        #expect(try await reopened.incident(IncidentID(1))?.publicStatus == "Failing over")
        #expect(try await reopened.outboxMessages(incident: IncidentID(1)).isEmpty)
        #expect(try await reopened.pendingTimers(of: IncidentID(1)).first?.leaseOwner == "a")
        // The refused change sets left no inbound key behind; the stored ones did.
        for key in ["console:stale", "console:late", "console:10-again"] {
            var retry = ChangeSet()
            retry.inboundKey = key
            try await reopened.commit(retry)
        }
        var replay = ChangeSet()
        replay.inboundKey = "console:12"
        await #expect(throws: StoreError.duplicate("console:12")) { try await reopened.commit(replay) }
        try await reopened.close()
    }

    /// Change sets of one group that touch the same rows are decided as if each were written after the
    /// ones queued before it: revisions, inbound keys, hand-offs and timer slots carry over.
    @Test func changeSetsOfAGroupSeeTheOnesBefore() async throws {
        let path = databases.newPath()
        let store = try await SQLiteIncidentStore.open(path: path)
        let (stored, timerID) = try await setUp(store)
        let t0 = StoreFixtures.t0
        let id = IncidentID(1)
        func change(_ build: (inout ChangeSet) -> Void) -> ChangeSet {
            var changes = ChangeSet()
            build(&changes)
            return changes
        }
        func revision(_ revision: Int, status: String) -> IncidentWrite {
            var incident = stored
            incident.publicStatus = status
            return IncidentWrite(incident: incident, expectedRevision: revision)
        }
        let r = stored.revision
        let changeSets = [
            // 0: replaces the slot of the leased ack timer; 1: so its completion comes too late.
            change { $0.timers = [NewTimer(incidentID: id, kind: .ackTimeout, dueAt: t0.addingTimeInterval(600), step: 1)] },
            change {
                $0.completeTimer = (timerID, "a"); $0.timeline = [TimelineEntry(incidentID: id, at: t0, kind: .note, actor: nil, text: "late")]
            },
            // 2: a reminder, 3: cancelled again, 4: and set once more; the last one stays.
            change { $0.timers = [NewTimer(incidentID: id, kind: .updateReminder, dueAt: t0.addingTimeInterval(900))] },
            change { $0.cancelTimers = [(id, .updateReminder)] },
            change { $0.timers = [NewTimer(incidentID: id, kind: .updateReminder, dueAt: t0.addingTimeInterval(1800), step: 4)] },
            // 5: a long-running timer, 6: cancelled for good.
            change { $0.timers = [NewTimer(incidentID: id, kind: .longRunning, dueAt: t0.addingTimeInterval(3600))] },
            change { $0.cancelTimers = [(id, .longRunning)] },
            // 7 and 9 follow each other's revisions; 8 comes from the old one.
            change { $0.incidents = [revision(r, status: "first")] },
            change { $0.incidents = [revision(r, status: "stale")] },
            change { $0.incidents = [revision(r + 1, status: "second")] },
            // 10 and 11 bring the same inbound key.
            change {
                $0.inboundKey = "console:twice"; $0.outbox = [StoreFixtures.post(for: id, "once")]
            },
            change {
                $0.inboundKey = "console:twice"; $0.outbox = [StoreFixtures.post(for: id, "twice")]
            },
            // Hand-offs of one rotation: 12 records one, 13 is older, 14 is newer.
            change { $0.handoff = RotationHandoff(rotationID: "primary", at: t0.addingTimeInterval(60)) },
            change { $0.handoff = RotationHandoff(rotationID: "primary", at: t0.addingTimeInterval(30)) },
            change { $0.handoff = RotationHandoff(rotationID: "primary", at: t0.addingTimeInterval(90)) },
            // 15 inserts incident 2, 16 inserts it again, 17 updates the one 15 inserted.
            change { $0.incidents = [IncidentWrite(incident: StoreFixtures.incident(2), expectedRevision: nil)] },
            change { $0.incidents = [IncidentWrite(incident: StoreFixtures.incident(2, title: "again"), expectedRevision: nil)] },
            change { $0.incidents = [IncidentWrite(incident: StoreFixtures.incident(2, title: "renamed"), expectedRevision: 1)] },
        ]
        let outcomes = try await commitAsOneGroup(store, changeSets)
        #expect(
            outcomes == [
                nil, .leaseLost(timerID), nil, nil, nil, nil, nil, nil, .conflict(id), nil, nil, .duplicate("console:twice"),
                nil, .duplicate("handoff:primary@\(SQLiteDates.milliseconds(t0.addingTimeInterval(30)))"), nil, nil, .conflict(IncidentID(2)), nil,
            ])
        #expect(await store.writeStatistics.abandonedGroups == 0)
        try await store.close()

        let reopened = try await SQLiteIncidentStore.open(path: path)
        let timers = try await reopened.pendingTimers(of: id)
        #expect(timers.map(\.kind) == [.ackTimeout, .updateReminder])
        #expect(timers.map(\.step) == [1, 4])
        #expect(timers.allSatisfy { $0.leaseOwner == nil && $0.id != timerID })
        #expect(try await reopened.timeline(of: id).map(\.text) == ["Declared"])
        let incident = try #require(try await reopened.incident(id))
        #expect(incident.publicStatus == "second")
        #expect(incident.revision == r + 2)
        #expect(try await reopened.outboxMessages(incident: id).map { StoreFixtures.text(of: $0) } == ["once"])
        #expect(try await reopened.lastHandoff(rotation: "primary") == t0.addingTimeInterval(90))
        let second = try #require(try await reopened.incident(IncidentID(2)))
        #expect(second.title == "renamed")
        #expect(second.revision == 2)
        try await reopened.close()
    }

    /// A change set that SQLite itself rejects at COMMIT (a timeline line of an incident that does not
    /// exist: the foreign key is checked at the end) cannot be singled out by a savepoint. The group is
    /// rolled back and each change set written alone: that one fails, the others are stored.
    @Test func aGroupThatFailsAtCommitIsWrittenAgainOneByOne() async throws {
        let path = databases.newPath()
        let store = try await SQLiteIncidentStore.open(path: path)
        _ = try await setUp(store)

        var orphan = ChangeSet()
        orphan.inboundKey = "console:orphan"
        orphan.timeline = [TimelineEntry(incidentID: IncidentID(999), at: StoreFixtures.t0, kind: .note, actor: nil, text: "nobody's")]
        var redelivery = ChangeSet()
        redelivery.inboundKey = "console:seen"

        let outcomes = try await commitAsOneGroup(store, [declaration(10), orphan, declaration(11), redelivery, declaration(12)])
        #expect(outcomes[0] == nil)
        guard case .unavailable = outcomes[1] else {
            Issue.record("the orphan timeline line was stored, or refused as \(String(describing: outcomes[1]))")
            return
        }
        #expect(outcomes[2] == nil)
        #expect(outcomes[3] == .duplicate("console:seen"))
        #expect(outcomes[4] == nil)
        #expect(await store.writeStatistics.abandonedGroups == 1)
        try await store.close()

        let reopened = try await SQLiteIncidentStore.open(path: path)
        #expect(try await reopened.incidents(includeClosed: true, limit: 10).map(\.id.number) == [12, 11, 10, 1])
        #expect(try await reopened.timeline(of: IncidentID(999)).isEmpty)
        var retry = ChangeSet()
        retry.inboundKey = "console:orphan"
        try await reopened.commit(retry)
        try await reopened.close()
    }

    /// Every kind of write queued in one group: claims, delivery marks, console lines, cursors, the room,
    /// incident numbers. Each caller gets its own result.
    @Test func everyKindOfWriteJoinsAGroup() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        let t0 = StoreFixtures.t0
        var setup = declaration(1)
        setup.outbox.append(StoreFixtures.post(for: nil, "loose"))
        try await store.commit(setup)
        let claimed = try await store.claimOutbox(now: t0, owner: "sender", leaseUntil: t0.addingTimeInterval(60), limit: 10)
        #expect(claimed.count == 2)

        let gate = Gate()
        let before = await store.writeStatistics.transactions
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.write(singleStatement: false) { _ in gate.wait() } }
            try await waitFor("the gated write to start its transaction") { await store.writeStatistics.transactions != before }
            group.addTask { try await store.markDelivered(claimed[0].id, platformMessageID: "ts-1", at: t0) }
            group.addTask { try await store.markRetry(claimed[1].id, notBefore: t0.addingTimeInterval(30), error: "rate_limited") }
            group.addTask {
                await #expect(throws: StoreError.notFound) { try await store.markDead(9_999, error: "gone") }
            }
            group.addTask { try await store.appendConsoleMessage(ConsoleMessage(at: t0, channel: "ops", text: "hello", kind: "reply")) }
            group.addTask { try await store.setCursor("rocketchat:poll:GENERAL", value: "42") }
            group.addTask { try await store.setRoom(Conversation(platform: .slack, channelID: "C0INC1"), for: IncidentID(1)) }
            group.addTask {
                await #expect(throws: StoreError.notFound) { try await store.setRoom(Conversation(platform: .slack, channelID: "C0X"), for: IncidentID(77)) }
            }
            group.addTask {
                let allocated = try await store.allocateIncidentNumber(day: "2025-11-10")
                #expect(allocated == (IncidentID(1), 1))
            }
            group.addTask {
                let timers = try await store.claimDueTimers(now: t0.addingTimeInterval(1800), owner: "s", leaseUntil: t0.addingTimeInterval(1860), limit: 5)
                #expect(timers.count == 1)
            }
            try await waitFor("9 queued writes") { await store.queuedWrites >= 9 }
            gate.open()
            try await group.waitForAll()
        }
        #expect(await store.writeStatistics.largestBatch == 9)

        let messages = try await store.outboxMessages(incident: IncidentID(1))
        #expect(messages.first?.state == .delivered)
        #expect(messages.first?.platformMessageID == "ts-1")
        #expect(try await store.nextOutboxDue() == t0.addingTimeInterval(30))
        #expect(try await store.consoleMessages(after: 0, limit: 10).map(\.text) == ["hello"])
        #expect(try await store.cursor("rocketchat:poll:GENERAL") == "42")
        #expect(try await store.incident(IncidentID(1))?.room == Conversation(platform: .slack, channelID: "C0INC1"))
        #expect(try await store.pendingTimers(of: IncidentID(1)).first?.leaseOwner == "s")
        try await store.close()
    }

    /// Incident numbers allocated in one group come out in the callers' order, per day too; delivery
    /// results of one group land on their messages, twice for a message named twice.
    @Test func numbersAndDeliveryResultsOfAGroup() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        let t0 = StoreFixtures.t0
        _ = try await store.allocateIncidentNumber(day: "2025-11-10")
        var setup = ChangeSet()
        setup.outbox = [StoreFixtures.post(for: IncidentID(7), "a"), StoreFixtures.post(for: IncidentID(8), "b")]
        try await store.commit(setup)
        let claimed = try await store.claimOutbox(now: t0, owner: "sender", leaseUntil: t0.addingTimeInterval(60), limit: 10)
        #expect(claimed.count == 2)

        let gate = Gate()
        let before = await store.writeStatistics.transactions
        let numbers = try await withThrowingTaskGroup(of: (Int, IncidentID, Int)?.self) { group in
            group.addTask {
                try await store.write(singleStatement: false) { _ in gate.wait() }
                return nil
            }
            try await waitFor("the gated write to start its transaction") { await store.writeStatistics.transactions != before }
            var queued = 0
            func enqueue(_ body: @escaping @Sendable () async throws -> (Int, IncidentID, Int)?) async throws {
                group.addTask(operation: body)
                queued += 1
                try await waitFor("\(queued) queued writes") { await store.queuedWrites >= queued }
            }
            for (order, day) in ["2025-11-10", "2025-11-11", "2025-11-10", "2025-11-10"].enumerated() {
                try await enqueue {
                    let allocated = try await store.allocateIncidentNumber(day: day)
                    return (order, allocated.id, allocated.daySequence)
                }
            }
            try await enqueue {
                try await store.markRetry(claimed[0].id, notBefore: t0.addingTimeInterval(5), error: "rate_limited")
                return nil
            }
            try await enqueue {
                try await store.markDelivered(claimed[0].id, platformMessageID: "ts-a", at: t0.addingTimeInterval(6))
                return nil
            }
            try await enqueue {
                try await store.markDead(claimed[1].id, error: "channel_not_found")
                return nil
            }
            try await enqueue {
                await #expect(throws: StoreError.notFound) { try await store.markDelivered(9_999, platformMessageID: nil, at: t0) }
                return nil
            }
            gate.open()
            var numbers: [Int: (IncidentID, Int)] = [:]
            for try await case let (order, id, sequence)? in group {
                numbers[order] = (id, sequence)
            }
            return numbers
        }
        #expect(numbers[0]! == (IncidentID(2), 2))
        #expect(numbers[1]! == (IncidentID(3), 1))
        #expect(numbers[2]! == (IncidentID(4), 3))
        #expect(numbers[3]! == (IncidentID(5), 4))
        #expect(await store.writeStatistics.largestBatch == 8)
        #expect(try await store.allocateIncidentNumber(day: "2025-11-11") == (IncidentID(6), 2))

        // Retried, then delivered: as one call after the other.
        let first = try #require(try await store.outboxMessages(incident: IncidentID(7)).first)
        #expect(first.state == .delivered)
        #expect(first.attempts == 1)
        #expect(first.lastError == "rate_limited")
        #expect(first.platformMessageID == "ts-a")
        let second = try #require(try await store.outboxMessages(incident: IncidentID(8)).first)
        #expect(second.state == .dead)
        #expect(second.attempts == 1)
        #expect(second.lastError == "channel_not_found")
        #expect(try await store.outboxDepth() == 0)
        #expect(try await store.nextOutboxDue() == nil)
        try await store.close()
    }

    /// Declarations (number and incident in one job) queued together share one transaction: each is
    /// decided with its own number, in the callers' order; a refused one (a redelivered event) keeps its
    /// number used and takes nothing else with it; one that decides to write nothing just uses a number.
    @Test func declarationsOfAGroup() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        var seen = ChangeSet()
        seen.inboundKey = "slack:event:Ev1"
        try await store.commit(seen)

        let gate = Gate()
        let before = await store.writeStatistics.transactions
        let outcomes = try await withThrowingTaskGroup(of: (Int, Result<(IncidentID, Int), StoreError>)?.self) { group in
            group.addTask {
                try await store.write(singleStatement: false) { _ in gate.wait() }
                return nil
            }
            try await waitFor("the gated write to start its transaction") { await store.writeStatistics.transactions != before }
            for (order, key) in ["slack:event:Ev2", "slack:event:Ev1", "slack:event:Ev3", nil].enumerated() {
                group.addTask {
                    do {
                        let declared = try await store.commitDeclaration(day: "2025-11-10") { id, daySequence in
                            guard let key else { return (ChangeSet(), (id, daySequence)) }
                            var changes = StoreFixtures.declaration(of: StoreFixtures.incident(id.number, title: "Declared as \(daySequence)"))
                            changes.inboundKey = key
                            return (changes, (id, daySequence))
                        }
                        return (order, .success(declared))
                    } catch let error as StoreError {
                        return (order, .failure(error))
                    }
                }
                try await waitFor("\(order + 1) queued writes") { await store.queuedWrites >= order + 1 }
            }
            gate.open()
            var outcomes: [Int: Result<(IncidentID, Int), StoreError>] = [:]
            for try await case let (order, outcome)? in group { outcomes[order] = outcome }
            return outcomes
        }
        #expect(await store.writeStatistics.largestBatch == 4)
        #expect(try #require(outcomes[0]).get() == (IncidentID(1), 1))
        #expect(throws: StoreError.duplicate("slack:event:Ev1")) { try outcomes[1]?.get() }
        #expect(try #require(outcomes[2]).get() == (IncidentID(3), 3))
        #expect(try #require(outcomes[3]).get() == (IncidentID(4), 4))
        #expect(try await store.incident(IncidentID(1))?.title == "Declared as 1")
        #expect(try await store.incident(IncidentID(2)) == nil)
        #expect(try await store.incident(IncidentID(3))?.title == "Declared as 3")
        #expect(try await store.incident(IncidentID(4)) == nil)
        #expect(try await store.allocateIncidentNumber(day: "2025-11-10") == (IncidentID(5), 5))
        try await store.close()
    }

    /// `close()` lets the writes already queued finish; later calls are refused.
    @Test func closeWaitsForQueuedWrites() async throws {
        let path = databases.newPath()
        let store = try await SQLiteIncidentStore.open(path: path)
        let gate = Gate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.write(singleStatement: false) { _ in gate.wait() } }
            try await waitFor("the first transaction") { await store.writeStatistics.transactions != 0 }
            for number in 1...5 {
                let changes = declaration(number)
                group.addTask { try await store.commit(changes) }
            }
            try await waitFor("5 queued writes") { await store.queuedWrites >= 5 }
            group.addTask { try await store.close() }
            // The gate opens only once close() has begun; the queued declarations must still be written.
            try await waitFor("the store to start closing") { await store.isClosing }
            gate.open()
            try await group.waitForAll()
        }
        let late = declaration(6)
        await #expect(throws: StoreError.self) { try await store.commit(late) }
        await #expect(throws: StoreError.self) { try await store.ping() }

        let reopened = try await SQLiteIncidentStore.open(path: path)
        #expect(try await reopened.incidents(includeClosed: true, limit: 10).count == 5)
        try await reopened.close()
    }

    /// Many callers commit and read their own write back at once: a read that starts after a commit
    /// returned sees it, however busy the read connections are.
    @Test func aCallerReadsItsOwnCommit() async throws {
        let path = databases.newPath()
        let store = try await SQLiteIncidentStore.open(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 1...120 {
                let changes = declaration(number)
                group.addTask {
                    try await store.commit(changes)
                    #expect(try await store.incident(IncidentID(number)) != nil, "incident \(number)")
                    #expect(try await store.pendingTimers(of: IncidentID(number)).count == 1, "incident \(number)")
                }
                group.addTask {
                    _ = try await store.incidents(includeClosed: true, limit: 20)
                    _ = try await store.nextOutboxDue()
                }
            }
            try await group.waitForAll()
        }
        try await store.close()

        let reopened = try await SQLiteIncidentStore.open(path: path)
        #expect(try await reopened.incidents(includeClosed: true, limit: 200).count == 120)
        #expect(try await reopened.outboxDepth() == 120)
        try await reopened.close()
    }
}

/// Waits (real time, bounded: 30 s) until `condition` holds: for what the other tasks of a test do (queue
/// writes, start a transaction). Fails the test with `what` rather than hanging when it never holds.
func waitFor(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("still waiting for \(what) after 30 s", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        await Task.yield()
    }
}
