import Foundation
import KlaxonTestSupport
import Synchronization
import Testing

@testable import PostgresStorage

/// The wait for work a caller's cancellation must not stop (a PostgreSQL transaction, a group commit):
/// the caller still gets the work's result, and when it was cancelled and the work outlasts it by
/// `reportAfter`, the log says which work it waits on. On a manual clock: nothing here sleeps.
@Suite("Waiting for work that cancellation must not stop")
struct UncancellableWorkTests {
    /// Work that runs until `release` is called, and whether it has started.
    final class HeldWork: Sendable {
        private let state = Mutex<(started: Bool, continuation: CheckedContinuation<Void, Never>?, released: Bool)>((false, nil, false))

        var started: Bool { state.withLock { $0.started } }

        func run() async -> Int {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    state.started = true
                    if state.released { return true }
                    state.continuation = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            return 42
        }

        func release() {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.released = true
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume()
        }
    }

    /// Polls `condition` every 5 ms of real time for up to 30 s: for other tasks to get there (the suite
    /// runs in parallel on two cores), never for the report's delay, which is on the manual clock.
    static func soon(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<6_000 where !condition() { try? await Task.sleep(for: .milliseconds(5)) }
        return condition()
    }

    static func setUp() -> (UncancellableWork, ManualClock, CapturedLog) {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_800_000_000))
        let log = CapturedLog()
        return (UncancellableWork(clock: clock, logger: log.logger(label: "klaxon.test.uncancellable"), reportAfter: 5), clock, log)
    }

    /// Work held until released, awaited through `work` by a caller that is then cancelled; returns once
    /// the report's timer waits on the manual clock.
    static func cancelledWhileWaiting(_ work: UncancellableWork, clock: ManualClock, doing what: String) async -> (HeldWork, Task<Int, Never>) {
        let held = HeldWork()
        let caller = Task { await work.value(of: Task { await held.run() }, doing: what) }
        #expect(await soon { held.started })
        caller.cancel()
        #expect(await soon { clock.sleeperCount == 1 })
        return (held, caller)
    }

    @Test("a cancelled caller still gets the result, and work that outlasts it by 5 s is named in the log")
    func cancelledCallerWaitsAndReports() async throws {
        let (work, clock, log) = Self.setUp()
        let (held, caller) = await Self.cancelledWhileWaiting(work, clock: clock, doing: "transaction (commit(_:))")
        // Before the report is due nothing is said.
        clock.advance(by: 4.9)
        #expect(log.all.isEmpty)
        clock.advance(by: 0.1)
        #expect(await Self.soon { log.all.count == 1 })
        let line = try #require(log.all.first)
        #expect(line.contains("warning PostgreSQL work still running after its caller was cancelled"), "\(line)")
        #expect(line.contains("transaction (commit(_:))") && line.contains("5s"), "\(line)")
        held.release()
        #expect(await caller.value == 42, "cancellation did not stop the work or lose its result")
    }

    @Test("work that ends in time, or a caller never cancelled, leaves the log empty")
    func nothingToReport() async throws {
        let (work, clock, log) = Self.setUp()
        // Cancelled, but the work ends before the report is due.
        let (held, caller) = await Self.cancelledWhileWaiting(work, clock: clock, doing: "group commit of 3 change sets")
        held.release()
        #expect(await caller.value == 42)
        clock.advance(by: 60)
        #expect(await Self.soon { clock.sleeperCount == 0 })
        // Never cancelled: no report is even scheduled, whatever the work throws.
        let failing = Task<Int, any Error> { throw CancellationError() }
        await #expect(throws: CancellationError.self) { try await work.value(of: failing, doing: "transaction (x)") }
        #expect(clock.sleeperCount == 0)
        #expect(log.all.isEmpty, "\(log.all)")
    }
}
