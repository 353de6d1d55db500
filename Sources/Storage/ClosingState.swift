import Synchronization

/// The state of a part that closes once and lets the work in flight finish first: the writer (its queue
/// of jobs) and the readers (their connections out on loan). Each wakes `closeWaiters` itself when it
/// becomes idle after `isClosed` was set.
protocol ClosingState {
    var isClosed: Bool { get set }
    /// Nothing in flight: the connections can be closed.
    var isIdle: Bool { get }
    var closeWaiters: [CheckedContinuation<Void, Never>] { get set }
}

extension Mutex where Value: ClosingState {
    /// Marks the part closed and returns once it is idle; false, at once, when it was closed before.
    func closeWhenIdle() async -> Bool {
        let first = withLock { state in
            defer { state.isClosed = true }
            return !state.isClosed
        }
        guard first else { return false }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = withLock { state in
                if state.isIdle { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
        return true
    }

    /// The waiters of `closeWhenIdle()` to resume, taken out, if the part is closed and idle now.
    static func takeCloseWaiters(_ state: inout Value) -> [CheckedContinuation<Void, Never>] {
        guard state.isClosed, state.isIdle else { return [] }
        defer { state.closeWaiters = [] }
        return state.closeWaiters
    }
}
