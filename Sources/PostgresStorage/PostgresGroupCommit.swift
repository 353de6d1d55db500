import IncidentCore
import Logging
import Synchronization

/// Group commit for the PostgreSQL store: change sets committed while another call is writing wait, and
/// the next call takes all of them (up to `maximumBatch`) to the server in one statement
/// (`PostgresChangeSetWriter.write`), one round trip and one transaction for the lot. Each job is its own
/// subtransaction there, so one refused or failing change set fails alone and only its caller hears of
/// it. No caller returns before the transaction holding its writes has committed.
///
/// As in the SQLite store's writer (`SQLiteWriter`), the callers' own tasks do the work: the first caller
/// to find the queue idle leads, writes the batch, hands each follower its outcome and passes the lead to
/// the first caller that queued meanwhile. One batch at a time per store: the batch costs one round trip
/// whatever its size, so a second one in flight would only split the group (and could deadlock with the
/// first on rows both touch).
final class PostgresGroupCommit: Sendable {
    typealias Job = [ChangeSetStatements]
    typealias Outcome = Result<PostgresChangeSetWriter.Outcome, any Error>

    /// Writes one batch; one outcome per job, or the error that failed all of them.
    private let write: @Sendable ([Job]) async throws -> [PostgresChangeSetWriter.Outcome]
    private let maximumBatch: Int
    /// Waits for a batch's write, which a caller's cancellation must not stop.
    private let uncancellable: UncancellableWork

    private enum Turn {
        case done(Outcome)
        case lead
    }

    /// Coordination only, never held across an `await`.
    private struct State {
        var queue: [(job: Job, turn: CheckedContinuation<Turn, Never>)] = []
        var isWriting = false
        // Counters for tests and diagnostics.
        var batches = 0
        var jobs = 0
        var largestBatch = 0
    }

    private let state = Mutex(State())

    init(
        maximumBatch: Int = 64,
        uncancellable: UncancellableWork = UncancellableWork(clock: SystemClock(), logger: Logger(label: "klaxon.storage.postgres")),
        write: @escaping @Sendable ([Job]) async throws -> [PostgresChangeSetWriter.Outcome]
    ) {
        self.maximumBatch = max(1, maximumBatch)
        self.uncancellable = uncancellable
        self.write = write
    }

    /// Batches written (round trips), jobs written, and the most jobs one batch held.
    var statistics: (batches: Int, jobs: Int, largestBatch: Int) {
        state.withLock { ($0.batches, $0.jobs, $0.largestBatch) }
    }

    /// How many jobs wait for a batch (tests use it to line up a group).
    var queuedJobs: Int { state.withLock(\.queue.count) }

    func perform(_ job: Job) async throws -> PostgresChangeSetWriter.Outcome {
        // Queued and told its role in one step under the lock, so no hand-over can slip in between.
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let leads = state.withLock { state -> Bool in
                state.queue.append((job, continuation))
                if state.isWriting { return false }
                state.isWriting = true
                return true
            }
            if leads { continuation.resume(returning: .lead) }
        }
        if case .done(let outcome) = turn {
            return try outcome.get()
        }
        let batch = state.withLock { state in
            let batch = Array(state.queue.prefix(maximumBatch))
            state.queue.removeFirst(batch.count)
            state.batches += 1
            state.jobs += batch.count
            state.largestBatch = max(state.largestBatch, batch.count)
            return batch
        }
        // In a task of its own: a caller's cancellation must not stop a write that holds other callers' jobs.
        let jobs = batch.map(\.job)
        let write = self.write
        let writing = Task { () -> [Outcome] in
            do {
                return try await write(jobs).map { .success($0) }
            } catch {
                return jobs.map { _ in .failure(error) }
            }
        }
        let outcomes = await uncancellable.value(of: writing, doing: "group commit of \(jobs.count) change sets")
        let next = state.withLock { state -> CheckedContinuation<Turn, Never>? in
            if let next = state.queue.first { return next.turn }
            state.isWriting = false
            return nil
        }
        for (follower, outcome) in zip(batch, outcomes).dropFirst() {
            follower.turn.resume(returning: .done(outcome))
        }
        next?.resume(returning: .lead)
        return try outcomes[0].get()
    }
}
