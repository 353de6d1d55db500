import IncidentCore
import SQLiteNIO
import Synchronization

/// Read-only connections to the store's file, for the plain reads (an incident, a timeline, the next due
/// time). In WAL mode they read beside the writer: a read never waits for a write transaction, and sees
/// only what was committed before it began.
///
/// Each connection serves one caller at a time. Two reads sharing one connection at once would also share
/// one read transaction (SQLite keeps it open while any statement of the connection runs), so a read that
/// started right after a caller's commit could be answered from the older snapshot of a read still in
/// flight, and miss that caller's own write. One read at a time per connection rules that out: each read
/// is a statement of its own that starts a fresh snapshot.
final class SQLiteReaders: Sendable {
    private struct State: ClosingState {
        var idle: [SQLiteDatabase]
        let total: Int
        /// Callers waiting for a connection, in arrival order; resumed with nil once the store is closed.
        var waiting: [CheckedContinuation<SQLiteDatabase?, Never>] = []
        var isClosed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var isIdle: Bool { idle.count == total }
    }

    private let connections: [SQLiteDatabase]
    private let state: Mutex<State>

    init(connections: [SQLiteDatabase]) {
        precondition(!connections.isEmpty, "a store needs at least one read connection")
        self.connections = connections
        self.state = Mutex(State(idle: connections, total: connections.count))
    }

    /// Runs `body` with a connection to itself.
    func read<T>(_ body: (SQLiteDatabase) async throws -> T) async throws -> T {
        guard let connection = await acquire() else {
            throw StoreError.unavailable("the SQLite store is closed")
        }
        defer { release(connection) }
        return try await body(connection)
    }

    /// Statements the read connections had to prepare again (see `SQLiteDatabase.reprepares()`).
    func reprepares() async throws -> Int {
        var total = 0
        for connection in connections { total += try await connection.reprepares() }
        return total
    }

    /// Waits for the reads in progress and those already queued, then closes the connections. Later reads
    /// throw `StoreError.unavailable`.
    func close() async throws {
        guard await state.closeWhenIdle() else { return }
        var firstError: (any Error)?
        for connection in connections {
            do {
                try await connection.close()
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
    }

    /// A free connection, or nil once the store is closed. Waiters are served in arrival order.
    private func acquire() async -> SQLiteDatabase? {
        enum Attempt { case acquired(SQLiteDatabase), closed, mustWait }
        // The common case, without allocating a continuation.
        let attempt = state.withLock { state -> Attempt in
            if state.isClosed { return .closed }
            if let connection = state.idle.popLast() { return .acquired(connection) }
            return .mustWait
        }
        switch attempt {
        case .acquired(let connection): return connection
        case .closed: return nil
        case .mustWait: break
        }
        return await withCheckedContinuation { continuation in
            // Checked again under the lock: a connection may have come back since.
            let attempt = state.withLock { state -> Attempt in
                if state.isClosed { return .closed }
                if let connection = state.idle.popLast() { return .acquired(connection) }
                state.waiting.append(continuation)
                return .mustWait
            }
            switch attempt {
            case .acquired(let connection): continuation.resume(returning: connection)
            case .closed: continuation.resume(returning: nil)
            case .mustWait: break
            }
        }
    }

    /// Hands the connection to the first waiter, or puts it back. Waiters queued before `close()` are still
    /// served; the last connection to come back lets `close()` go on.
    private func release(_ connection: SQLiteDatabase) {
        let (waiter, closers) = state.withLock { state -> (CheckedContinuation<SQLiteDatabase?, Never>?, [CheckedContinuation<Void, Never>]) in
            if !state.waiting.isEmpty {
                return (state.waiting.removeFirst(), [])
            }
            state.idle.append(connection)
            return (nil, Mutex.takeCloseWaiters(&state))
        }
        waiter?.resume(returning: connection)
        for closer in closers { closer.resume() }
    }
}
