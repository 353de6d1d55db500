import Foundation
import IncidentCore
import Testing

@testable import Storage

/// The SQLite store keeps its statements prepared (`SQLiteDatabase`); a statement whose bound values the
/// query planner weighs is prepared again at every call all the same. The outbox sender's claim and
/// next-due query were such statements (a bound lane name, a bound LIMIT) and ran at every wake-up.
@Suite("SQLite: hot statements stay prepared")
struct PreparedStatementTests {
    private let databases = TemporaryDatabases()

    @Test func theSendersAndTheSchedulersStatementsAreNotPreparedAgain() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        let start = Date(timeIntervalSince1970: 1_764_547_200)
        var changes = ChangeSet()
        for platform in [PlatformKind.slack, .console] {
            changes.outbox.append(NewOutboxMessage(platform: platform, incidentID: nil, action: .post(to: .announce, text: "hello", buttons: [])))
        }
        try await store.commit(changes)

        /// One round of what the sender and the scheduler do at each wake-up, with other values each time.
        func wakeUp(_ round: Int) async throws {
            let now = start.addingTimeInterval(Double(round) * 61)
            for lanes in [OutboxLaneFilter.only(OutboxLane("slack")), .excluding([OutboxLane("slack"), .pager])] {
                _ = try await store.nextOutboxDue(lanes: lanes)
                _ = try await store.claimOutbox(lanes: lanes, now: now, owner: "sender-\(round)", leaseUntil: now.addingTimeInterval(60), limit: 16)
            }
            _ = try await store.nextTimerDue()
            _ = try await store.claimDueTimers(now: now, owner: "scheduler-\(round)", leaseUntil: now.addingTimeInterval(60), limit: 16)
        }
        try await wakeUp(0)
        let afterFirstRound = try await store.statementReprepares
        for round in 1...5 {
            try await wakeUp(round)
        }
        // Each wake-up claimed again what the last one leased (the leases ran out), so the statements ran
        // with rows and with new values every time.
        #expect(try await store.statementReprepares == afterFirstRound, "a hot statement was prepared again on a later wake-up")
        try await store.close()
    }
}
