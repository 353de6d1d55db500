import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Storage
import Testing

/// Issue 12, item 9: bookkeeping rows are pruned in the background, in small batches, on the daemon's
/// clock; what matters (pending and dead messages, incidents) is never touched.
@Suite("Retention")
struct RetentionTests {
    @Test func dedupeKeysDeliveredMessagesAndConsoleLinesArePrunedInBatches() async throws {
        let directory = try TemporaryDirectory("klaxon-retention")
        defer { directory.remove() }
        let store = try await SQLiteIncidentStore.open(path: directory.file("klaxon.sqlite"), logger: quietLogger)
        // Dedupe keys are stamped with the wall clock at commit, so the manual clock starts there too.
        let clock = ManualClock(now: Date())

        for number in 1...30 {
            var changes = ChangeSet()
            changes.inboundKey = "slack:event:Ev\(number)"
            try await store.commit(changes)
        }
        var messages = ChangeSet()
        messages.outbox = (1...30).map { NewOutboxMessage(platform: .console, incidentID: nil, action: .post(to: .announce, text: "line \($0)", buttons: [])) }
        try await store.commit(messages)
        let claimed = try await store.claimOutbox(now: clock.now(), owner: "test", leaseUntil: clock.now().addingTimeInterval(60), limit: 100)
        #expect(claimed.count == 30)
        for message in claimed.dropFirst(2) {
            try await store.markDelivered(message.id, platformMessageID: nil, at: clock.now())
        }
        try await store.markDead(claimed[0].id, error: "channel archived")
        try await store.postpone(claimed[1].id, until: clock.now(), reason: "waiting")
        for number in 1...40 {
            try await store.appendConsoleMessage(ConsoleMessage(at: clock.now(), channel: "incidents", text: "console \(number)", kind: "post"))
        }

        var retention = RetentionConfig()
        retention.consoleLines = 10
        retention.batchSize = 7
        retention.every = TimeSpan(seconds: 3600)
        let service = RetentionService(store: store, retention: retention, clock: clock, logger: quietLogger)

        // Today: only the console transcript is over its bound.
        var pruned = try await service.pruneOnce()
        #expect(pruned.consoleLines == 30 && pruned.inboundKeys == 0 && pruned.deliveredMessages == 0)
        #expect(try await store.consoleMessages(after: 0, limit: 100).map(\.text) == (31...40).map { "console \($0)" })

        // Eight days on: the dedupe keys are forgotten (the same event would now be taken again).
        clock.advance(by: 8 * 86_400)
        pruned = try await service.pruneOnce()
        #expect(pruned.inboundKeys == 30 && pruned.deliveredMessages == 0)
        var again = ChangeSet()
        again.inboundKey = "slack:event:Ev1"
        try await store.commit(again)

        // A month on, from the service's own loop on the injected clock: delivered messages go; the
        // pending and the dead one stay.
        clock.advance(by: 23 * 86_400)
        let loop = Task { try await service.run() }
        let pruneDone = try await eventually { try await store.outboxEntries(state: .delivered, limit: 100).isEmpty }
        #expect(pruneDone)
        #expect(try await store.outboxEntries(state: .dead, limit: 10).map(\.id) == [claimed[0].id])
        #expect(try await store.outboxEntries(state: .pending, limit: 10).map(\.id) == [claimed[1].id])
        loop.cancel()
        _ = await loop.result
        try await store.close()
    }
}
