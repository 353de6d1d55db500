import IncidentCore
import Logging
import NIOPosix
import SQLiteNIO
import Synchronization

/// The single write connection, with group commit.
///
/// Every write of the store is a job (`SQLiteWriteJob`). Jobs that arrive while a transaction is being
/// written wait; the next transaction then takes all of them (up to `maximumBatch`) and writes them as one
/// `BEGIN IMMEDIATE … COMMIT`, with a single fsync for the lot, and with as few statements as their kinds
/// allow (`SQLiteWriteBatch`). A job that is refused (a conflict, a duplicate, a lost lease) is refused
/// before it writes anything, so it fails alone and only its caller hears of it; the others commit. No
/// caller returns before the COMMIT that holds its writes has returned, so "returned" still means
/// "durable", exactly as with one transaction per call.
///
/// The work is done by the callers' own tasks, leader and followers (as in LevelDB's write queue): the
/// first caller to find the writer idle becomes the leader, writes the batch, hands each follower its
/// outcome, and passes the lead to the first caller that queued meanwhile. There is no background task
/// to start or stop.
final class SQLiteWriter: Sendable {
    /// Its statements run on a thread of its own (`connection.thread`), which the writer stops after
    /// closing the connection (closing runs on it).
    private let connection: SQLiteDatabase
    private let logger: Logger
    /// A cap on the group, so the first caller of a long queue does not wait for all of it.
    private let maximumBatch: Int

    /// What a waiting caller is told when it is resumed.
    private enum Turn {
        /// Its job was written (or refused) by a leader.
        case done(Result<any Sendable, any Error>)
        /// Its job is first in the queue: it leads the next transaction.
        case lead
    }

    /// Coordination only, never held across an `await`: a lock rather than an actor, so that a job costs
    /// no executor hops besides its transaction's one round trip to the connection's thread.
    private struct State: ClosingState {
        /// Jobs waiting for a transaction, in arrival order, with how to tell their callers.
        var queue: [(job: SQLiteWriteJob, turn: CheckedContinuation<Turn, Never>)] = []
        /// Whether a leader is writing (a transaction is open or about to be).
        var isWriting = false
        var isClosed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var isIdle: Bool { !isWriting }

        // Counters for tests and diagnostics.
        var transactions = 0
        var largestBatch = 0
        /// Groups rolled back and written again one job at a time (see `runBatch`).
        var abandonedGroups = 0
    }

    private let state = Mutex(State())

    /// `connection`: on a started pool of its own, which the writer stops when it closes.
    init(connection: SQLiteDatabase, logger: Logger, maximumBatch: Int = 64) {
        self.connection = connection
        self.logger = logger
        self.maximumBatch = max(1, maximumBatch)
    }

    /// A store dropped without `close()` still stops its thread (the connection closes itself).
    deinit {
        if !state.withLock(\.isClosed) {
            connection.thread.shutdownGracefully { _ in }
        }
    }

    var statistics: (transactions: Int, largestBatch: Int, abandonedGroups: Int) {
        state.withLock { ($0.transactions, $0.largestBatch, $0.abandonedGroups) }
    }

    /// Statements the write connection had to prepare again (see `SQLiteDatabase.reprepares()`).
    func reprepares() async throws -> Int {
        try await connection.reprepares()
    }

    /// How many jobs wait for a transaction (tests use it to line up a group).
    var queuedJobs: Int { state.withLock(\.queue.count) }

    var isClosing: Bool { state.withLock(\.isClosed) }

    /// Runs `job` in a write transaction, possibly together with other callers' jobs, and returns once the
    /// transaction holding it is committed (or the job was refused and nothing of it was written).
    func perform(_ job: SQLiteWriteJob) async throws -> any Sendable {
        // Queued and told its role in one step under the lock, so no hand-over can slip in between.
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            enum Role { case follow, lead, refuse }
            let role = state.withLock { state -> Role in
                if state.isClosed { return .refuse }
                state.queue.append((job, continuation))
                if state.isWriting { return .follow }
                state.isWriting = true
                return .lead
            }
            switch role {
            case .follow: break
            case .lead: continuation.resume(returning: .lead)
            case .refuse: continuation.resume(returning: .done(.failure(StoreError.unavailable("the SQLite store is closed"))))
            }
        }
        if case .done(let outcome) = turn {
            return try outcome.get()
        }

        // Leading: this job is first in the queue.
        let batch = state.withLock { state in
            let batch = Array(state.queue.prefix(maximumBatch))
            state.queue.removeFirst(batch.count)
            state.transactions += 1
            state.largestBatch = max(state.largestBatch, batch.count)
            return batch
        }
        // The whole transaction is one piece of work on the connection's thread, which a caller's
        // cancellation (a delivery finished, its lease renewal cancelled) cannot stop half-way: the batch
        // also holds other callers' jobs.
        let jobs = batch.map(\.job)
        let logger = self.logger
        let results: [Result<any Sendable, any Error>]
        let abandoned: Bool
        do {
            (results, abandoned) = try await connection.run { session in Self.runBatch(jobs, in: session, logger: logger) }
        } catch {
            // The connection's thread is gone (the store is closing): nothing of the batch ran.
            (results, abandoned) = (jobs.map { _ in .failure(error) }, false)
        }
        let (next, closeWaiters) = state.withLock { state -> (CheckedContinuation<Turn, Never>?, [CheckedContinuation<Void, Never>]) in
            if abandoned { state.abandonedGroups += 1 }
            if let next = state.queue.first {
                return (next.turn, [])
            }
            state.isWriting = false
            return (nil, Mutex.takeCloseWaiters(&state))
        }
        for (follower, outcome) in zip(batch, results).dropFirst() {
            follower.turn.resume(returning: .done(outcome))
        }
        next?.resume(returning: .lead)
        for waiter in closeWaiters { waiter.resume() }
        return try results[0].get()
    }

    /// Lets the queued jobs finish, then closes the connection. Later jobs throw `StoreError.unavailable`.
    func close() async throws {
        guard await state.closeWhenIdle() else { return }
        do {
            try await connection.close()
        } catch {
            // The close error is what matters (thrown below); the thread is stopped on the way out regardless.
            try? await connection.thread.shutdownGracefully()
            throw error
        }
        try await connection.thread.shutdownGracefully()
    }

    // MARK: - Transactions

    /// One outcome per job, in order, and whether the group had to be abandoned.
    private static func runBatch(_ jobs: [SQLiteWriteJob], in session: SQLiteSession, logger: Logger) -> (
        outcomes: [Result<any Sendable, any Error>], abandoned: Bool
    ) {
        guard jobs.count > 1 else {
            return ([runAlone(jobs[0], in: session, logger: logger)], false)
        }
        do {
            try session.run("BEGIN IMMEDIATE")
        } catch {
            // Nothing started (typically another process holding the write lock past `busy_timeout`).
            return (jobs.map { _ in .failure(error) }, false)
        }
        do {
            let outcomes = try SQLiteWriteBatch.write(jobs, in: session)
            try session.run("COMMIT")
            return (outcomes, false)
        } catch {
            // Something other than a refusal: an SQLite error, or a COMMIT that failed (a deferred foreign
            // key of one change set, a full disk). SQLite may have ended the transaction itself, so what
            // the group wrote cannot be trusted: roll it all back and give every job its own transaction,
            // as if they had never been grouped. Only the job at fault fails again.
            logger.debug("group transaction abandoned; running its jobs one by one", metadata: ["jobs": "\(jobs.count)", "error": "\(error)"])
            rollBack(session, logger: logger)
            var alone: [Result<any Sendable, any Error>] = []
            for job in jobs {
                alone.append(runAlone(job, in: session, logger: logger))
            }
            return (alone, true)
        }
    }

    /// `job` in its own transaction, rolled back if it is refused or anything throws (COMMIT included).
    /// `BEGIN IMMEDIATE` takes the write lock at once, so another process cannot make us fail half-way.
    /// A single statement is its own transaction (see `SQLiteWriteJob.isSingleStatement`).
    private static func runAlone(_ job: SQLiteWriteJob, in session: SQLiteSession, logger: Logger) -> Result<any Sendable, any Error> {
        if job.isSingleStatement {
            do {
                return try SQLiteWriteBatch.write([job], in: session)[0]
            } catch {
                return .failure(error)
            }
        }
        do {
            try session.run("BEGIN IMMEDIATE")
        } catch {
            return .failure(error)
        }
        do {
            let value = try SQLiteWriteBatch.write([job], in: session)[0].get()
            try session.run("COMMIT")
            return .success(value)
        } catch {
            rollBack(session, logger: logger)
            return .failure(error)
        }
    }

    private static func rollBack(_ session: SQLiteSession, logger: Logger) {
        do {
            try session.run("ROLLBACK")
        } catch {
            // Some errors (a full disk, a failed COMMIT) make SQLite roll back by itself; then there is
            // nothing left to roll back.
            logger.debug("ROLLBACK after a failed transaction failed", metadata: ["error": "\(error)"])
        }
    }
}
