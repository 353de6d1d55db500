import Synchronization

/// One queue per key (an incident, an alert group) for the work that must not race: the commands that
/// change one incident are decided one after another in arrival order instead of racing each other to the
/// store. Whatever queues while a batch is being decided and written forms the next batch: a hot incident
/// costs one transaction per batch, not per command.
///
/// A queue is drained by one task at a time. The first job to arrive at an idle queue starts that task;
/// it ends as soon as the queue is empty, so an idle daemon holds no task and no entry per key.
final class SerialLanes<Key: Hashable & Sendable, Job: Sendable, Output: Sendable>: Sendable {
    struct Waiting: Sendable {
        let job: Job
        let continuation: CheckedContinuation<Output, Never>
    }

    /// Queued jobs per key; a key present here has a task draining its queue.
    private let queues = Mutex<[Key: [Waiting]]>([:])
    /// The most jobs decided and written as one batch: bounds the transaction and the wait of the first.
    let maximumBatch: Int

    init(maximumBatch: Int = 64) {
        self.maximumBatch = maximumBatch
    }

    /// Queues `job` on `key`'s lane and waits for its output. `drain` is called with batches of
    /// queued jobs, in arrival order, never two at once for one key, and must return one output per
    /// job, in the same order.
    func run(
        _ job: Job, on key: Key,
        drain: @escaping @Sendable (_ key: Key, _ batch: [Job]) async -> [Output]
    ) async -> Output {
        await withCheckedContinuation { continuation in
            let startsDrainer = queues.withLock { queues in
                let idle = queues[key] == nil
                queues[key, default: []].append(Waiting(job: job, continuation: continuation))
                return idle
            }
            // An unstructured task, because the drainer outlives any one caller: it answers whoever queued
            // while it worked, and the caller that started it may be answered first and return.
            if startsDrainer {
                Task { await self.drainLoop(key, drain: drain) }
            }
        }
    }

    private func drainLoop(_ key: Key, drain: @Sendable (Key, [Job]) async -> [Output]) async {
        while let batch = takeBatch(of: key) {
            let outputs = await drain(key, batch.map(\.job))
            precondition(outputs.count == batch.count, "a lane's drain must answer every job of its batch")
            for (waiting, output) in zip(batch, outputs) {
                waiting.continuation.resume(returning: output)
            }
        }
    }

    /// The next jobs of the lane, or nil when it is empty (the lane is then idle and its entry gone).
    private func takeBatch(of key: Key) -> [Waiting]? {
        queues.withLock { queues in
            guard let waiting = queues[key], !waiting.isEmpty else {
                queues[key] = nil
                return nil
            }
            let batch = Array(waiting.prefix(maximumBatch))
            queues[key] = Array(waiting.dropFirst(batch.count))
            return batch
        }
    }

    /// How many keys have a lane busy now (for tests and metrics).
    var busyLanes: Int { queues.withLock { $0.count } }
}
