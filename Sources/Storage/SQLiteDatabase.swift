import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization
// sqlite-nio's bundled SQLite (its C target; every symbol carries a `sqlite_nio_` prefix). The store calls
// it directly instead of through `SQLiteConnection`, which prepares every statement afresh and hands each
// row to an event loop before the caller sees it: on the command path those parses and thread hops were
// most of what a statement cost (bench/README.md, "Cost per command").
import VaporCSQLite

/// One SQLite connection and the thread its statements run on.
///
/// Statements are prepared once per connection and kept (`SQLiteStatementCache`), and a whole job of them
/// (a read, or a write transaction of many callers) runs as one piece of work on the thread: one hop there
/// and one back, whatever the number of statements or rows.
///
/// The connection is used by one job at a time (the lock), so SQLite's own per-connection mutex is not
/// needed (`SQLITE_OPEN_NOMUTEX`).
final class SQLiteDatabase: Sendable {
    private let connection: Mutex<SQLiteConnectionHandle>
    /// Where jobs run: the writer's own one-thread pool, or a shared pool for read connections (which
    /// `SQLiteReaders` hands to one caller at a time).
    let thread: NIOThreadPool
    let path: String

    private init(handle: consuming sending SQLiteConnectionHandle, thread: NIOThreadPool, path: String) {
        self.connection = Mutex(handle)
        self.thread = thread
        self.path = path
    }

    /// A connection that was never closed gives its file handle back.
    deinit {
        connection.withLock { $0.close() }
    }

    /// Opens (creating if needed) the database file at `path`. `thread` must be started.
    static func open(path: String, thread: NIOThreadPool = .singleton) async throws -> SQLiteDatabase {
        let handle = try await thread.runIfActive { () throws -> SQLiteOpenedHandle in
            SQLiteOpenedHandle(pointer: try SQLiteConnectionHandle.openPointer(path: path))
        }
        return SQLiteDatabase(handle: SQLiteConnectionHandle(handle.pointer), thread: thread, path: path)
    }

    /// Runs `body` on the connection's thread, holding the connection, and returns its result. Not
    /// cancellable once submitted: a write transaction must not stop half-way because one of the callers
    /// it carries went away.
    func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            thread.submit { state in
                guard case .active = state else {
                    continuation.resume(throwing: SQLiteFailure(code: SQLITE_MISUSE, message: "the connection's thread has stopped"))
                    return
                }
                continuation.resume(
                    with: Result {
                        try self.connection.withLock { handle in try body(SQLiteSession(handle: handle)) }
                    })
            }
        }
    }

    /// One statement: its rows.
    @discardableResult
    func query(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteResultRow] {
        try await run { session in try session.run(sql, binds) }
    }

    /// How many times SQLite had to prepare a kept statement again since it was prepared (diagnostics;
    /// a test checks that the hot statements stay prepared).
    func reprepares() async throws -> Int {
        try await run { session in session.handle.reprepares }
    }

    /// Finalizes the kept statements and closes the connection; later jobs fail.
    func close() async throws {
        try await thread.runIfActive { self.connection.withLock { $0.close() } }
    }
}

/// A raw `sqlite3 *` crossing from the thread that opened it to the lock that will own it.
private struct SQLiteOpenedHandle: @unchecked Sendable {
    // Sound because the pointer is handed over once, right after `open` on the pool thread, and then only
    // used under `SQLiteDatabase`'s lock; nothing else keeps it.
    let pointer: OpaquePointer
}

/// What a job sees of its connection while it holds it: statements, run at once on the calling thread.
/// Not `Sendable`, so it stays with the job that was handed it, under the connection's lock.
struct SQLiteSession {
    fileprivate let handle: SQLiteConnectionHandle

    @discardableResult
    func run(_ sql: String, _ binds: [SQLiteData] = []) throws -> [SQLiteResultRow] {
        try handle.run(sql, binds)
    }
}

/// An error SQLite returned: its result code and its message.
struct SQLiteFailure: Error, CustomStringConvertible {
    let code: Int32
    let message: String

    var description: String { "\(message) (SQLite result code \(code))" }
}

/// A row of a result: its values, in the statement's column order, and the names shared by every row of
/// that statement.
struct SQLiteResultRow: Sendable {
    let columns: SQLiteColumnNames
    let values: [SQLiteData]

    /// The value of the column named `name`, nil if the statement has no such column.
    func column(_ name: String) -> SQLiteData? {
        columns.index[name].map { values[$0] }
    }
}

/// A statement's column names, built once when it is prepared.
final class SQLiteColumnNames: Sendable {
    let names: [String]
    let index: [String: Int]

    init(_ names: [String]) {
        self.names = names
        // The first of a repeated name wins, as a reader of `SELECT a.x, b.x` would expect.
        self.index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

/// The connection itself and its prepared statements. Only ever touched under `SQLiteDatabase`'s lock.
final class SQLiteConnectionHandle {
    private var pointer: OpaquePointer?
    private var statements: [String: (statement: OpaquePointer, columns: SQLiteColumnNames)] = [:]

    /// Statements kept at most. Most of the store's SQL is a fixed text; the multi-row statements vary
    /// with the number of rows, and a group commit's sizes vary with the load, so the cache starts over
    /// when it is full rather than growing with every size ever seen.
    private static let maximumStatements = 256

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    static func openPointer(path: String) throws -> OpaquePointer {
        var pointer: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite_nio_sqlite3_open_v2(path, &pointer, flags, nil)
        guard code == SQLITE_OK, let pointer else {
            let message = pointer.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "out of memory"
            sqlite_nio_sqlite3_close_v2(pointer)
            throw SQLiteFailure(code: code, message: "cannot open \(path): \(message)")
        }
        return pointer
    }

    /// `SQLITE_STMTSTATUS_REPREPARE` summed over the kept statements.
    var reprepares: Int {
        statements.values.reduce(0) { total, kept in total + Int(sqlite_nio_sqlite3_stmt_status(kept.statement, SQLITE_STMTSTATUS_REPREPARE, 0)) }
    }

    func close() {
        for (statement, _) in statements.values {
            sqlite_nio_sqlite3_finalize(statement)
        }
        statements = [:]
        if let pointer {
            sqlite_nio_sqlite3_close_v2(pointer)
        }
        pointer = nil
    }

    func run(_ sql: String, _ binds: [SQLiteData]) throws -> [SQLiteResultRow] {
        let (statement, columns) = try prepared(sql)
        // Reset whatever happens: a statement left mid-way would keep its read transaction open.
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        try bind(binds, to: statement)
        var rows: [SQLiteResultRow] = []
        while true {
            let code = sqlite_nio_sqlite3_step(statement)
            if code == SQLITE_DONE { return rows }
            guard code == SQLITE_ROW else { throw failure(code) }
            var values: [SQLiteData] = []
            values.reserveCapacity(columns.names.count)
            for column in 0..<Int32(columns.names.count) {
                values.append(value(of: statement, column: column))
            }
            rows.append(SQLiteResultRow(columns: columns, values: values))
        }
    }

    private func prepared(_ sql: String) throws -> (statement: OpaquePointer, columns: SQLiteColumnNames) {
        if let kept = statements[sql] { return kept }
        guard let pointer else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "the connection is closed") }
        var statement: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let code = sql.withCString { text in
            let code = sqlite_nio_sqlite3_prepare_v3(pointer, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, &tail)
            // Anything after the first statement would be silently ignored: refuse it instead.
            if code == SQLITE_OK, let tail, tail.pointee != 0, String(cString: tail).contains(where: { !$0.isWhitespace && $0 != ";" }) {
                return SQLITE_MISUSE
            }
            return code
        }
        guard code == SQLITE_OK, let statement else {
            if let statement { sqlite_nio_sqlite3_finalize(statement) }
            if code == SQLITE_MISUSE { throw SQLiteFailure(code: code, message: "more than one statement in one call: \(sql.prefix(60))") }
            throw failure(code)
        }
        let count = sqlite_nio_sqlite3_column_count(statement)
        let names = (0..<count).map { column in sqlite_nio_sqlite3_column_name(statement, column).map { String(cString: $0) } ?? "" }
        let kept = (statement, SQLiteColumnNames(names))
        if statements.count >= Self.maximumStatements {
            for (old, _) in statements.values { sqlite_nio_sqlite3_finalize(old) }
            statements = [:]
        }
        statements[sql] = kept
        return kept
    }

    private func bind(_ binds: [SQLiteData], to statement: OpaquePointer) throws {
        for (offset, value) in binds.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .integer(let integer):
                code = sqlite_nio_sqlite3_bind_int64(statement, index, Int64(integer))
            case .float(let double):
                code = sqlite_nio_sqlite3_bind_double(statement, index, double)
            case .text(let text):
                var text = text
                code = text.withUTF8 { bytes in
                    sqlite_nio_sqlite3_bind_text64(statement, index, bytes.baseAddress, UInt64(bytes.count), transient, UInt8(SQLITE_UTF8))
                }
            case .blob(let buffer):
                code = buffer.withUnsafeReadableBytes { bytes in
                    sqlite_nio_sqlite3_bind_blob64(statement, index, bytes.baseAddress, UInt64(bytes.count), transient)
                }
            case .null:
                code = sqlite_nio_sqlite3_bind_null(statement, index)
            }
            guard code == SQLITE_OK else { throw failure(code) }
        }
    }

    private func value(of statement: OpaquePointer, column: Int32) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(SQLiteInt64(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT:
            return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            // Text first, then its length: the documented order (the length may convert the value).
            guard let text = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            guard let bytes = sqlite_nio_sqlite3_column_blob(statement, column), count > 0 else {
                return .blob(ByteBuffer())
            }
            return .blob(ByteBuffer(bytes: UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }

    private func failure(_ code: Int32) -> SQLiteFailure {
        let message = pointer.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "SQLite error"
        return SQLiteFailure(code: code, message: message)
    }
}

/// SQLite copies the bound value before the bind call returns (`SQLITE_TRANSIENT`, a C macro Swift does not
/// import).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
