import Foundation
import IncidentCore
import Synchronization

/// Wakes one sleeping worker when new work is committed. Rings coalesce: any number of rings while the
/// worker is busy leave exactly one pending wake-up, so nothing is missed and nothing spins.
///
/// A plain `AsyncStream` will not do here: cancelling a task that awaits the stream's `next()` finishes
/// the stream for good, so after the first wait that ended by its deadline every later wait would
/// return at once and the worker would spin.
public final class Doorbell: Sendable {
    private struct State {
        /// A ring nobody has waited for yet.
        var pending = false
        /// The sleeping worker, and when it wakes by itself (nil: only a ring wakes it).
        var waiter: (id: UInt64, deadline: Date?, continuation: CheckedContinuation<Void, Never>)?
        var lastID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether a worker is asleep on the bell now. For tests: they see a wait start (or stay asleep)
    /// without waiting on the wall clock for something not to happen.
    package var hasSleeper: Bool { state.withLock { $0.waiter != nil } }

    /// Whether a ring is kept for the next wait (it came while nobody slept).
    package var hasPendingRing: Bool { state.withLock { $0.pending } }

    public func ring() {
        ring(ifBefore: nil)
    }

    /// A ring for work that is due at `dueAt`: a worker already asleep until then or earlier is left to
    /// sleep (it looks again when it wakes), so a stream of commits that each schedule a timer for later
    /// does not wake the scheduler once per commit. A worker that is busy still gets its wake-up, since
    /// what it will sleep until is not known yet.
    public func ring(dueAt: Date) {
        ring(ifBefore: dueAt)
    }

    private func ring(ifBefore dueAt: Date?) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            if let dueAt, let deadline = waiter.deadline, deadline <= dueAt { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// Returns when the bell rings (or rang since the last wait), `deadline` passes (if any), or the task
    /// is cancelled. Only one task may wait on a doorbell at a time (its owner).
    public func wait(until deadline: Date?, clock: any WallClock) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForRing(deadline: deadline) }
            if let deadline {
                group.addTask { try? await clock.sleep(until: deadline) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing(deadline: Date?) async {
        let id = state.withLock { state -> UInt64 in
            state.lastID += 1
            return state.lastID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (resumeNow, displaced) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                    if state.pending {
                        state.pending = false
                        return (true, nil)
                    }
                    if Task.isCancelled { return (true, nil) }
                    // A second waiter breaks the contract; wake the first rather than leak it.
                    let displaced = state.waiter?.continuation
                    state.waiter = (id, deadline, continuation)
                    return (false, displaced)
                }
                displaced?.resume()
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            cancelled?.resume()
        }
    }
}
