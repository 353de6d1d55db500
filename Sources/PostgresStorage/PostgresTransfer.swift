import Foundation
import IncidentCore
import Logging
import PostgresNIO

/// `DatabaseTransfer` for the PostgreSQL store: the export reads one REPEATABLE READ snapshot, the
/// import is one transaction that first locks every copied table against the replicas' writes.
extension PostgresIncidentStore: DatabaseTransfer {
    public func schemaVersion() async throws -> Int {
        try await appliedMigrations().last ?? 0
    }

    public func exportRows(_ emit: (ExportedRow) throws -> Void) async throws {
        let logger = self.logger
        try await withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                var version = 0
                for try await value in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", logger: logger).decode(Int.self) {
                    version = value
                }
                let decoder = JSONDecoder()
                for (table, key) in DatabaseTables.copied {
                    let columns = try await Self.storedColumns(of: table, on: connection, logger: logger)
                    // Each row as one JSON object of its stored columns (integers stay integers).
                    let select = "SELECT jsonb_build_object(\(columns.map { "'\($0)', \($0)" }.joined(separator: ", ")))::text FROM \(table) ORDER BY \(key)"
                    for try await text in try await connection.query(PostgresQuery(unsafeSQL: select), logger: logger).decode(String.self) {
                        let values = try decoder.decode([String: ExportedValue].self, from: Data(text.utf8))
                        try emit(ExportedRow(table: table, schemaVersion: version, row: values))
                    }
                }
                try await connection.query("COMMIT", logger: logger)
            } catch {
                // The read-only transaction's end; the export's error is what is thrown.
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    public func importRows(_ rows: [ExportedRow]) async throws -> [String: Int] {
        let logger = self.logger
        return try await withConnection { connection -> [String: Int] in
            try await connection.query("BEGIN", logger: logger)
            do {
                let outcome = try await Self.importRows(rows, on: connection, logger: logger)
                if case .success = outcome {
                    try await connection.query("COMMIT", logger: logger)
                } else {
                    try await connection.query("ROLLBACK", logger: logger)
                }
                return try outcome.get()
            } catch {
                // Everything of the import is rolled back; its error is what is thrown.
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    private static func importRows(_ rows: [ExportedRow], on connection: PostgresConnection, logger: Logger) async throws -> Result<
        [String: Int], DatabaseTransferError
    > {
        // Replicas' writes wait until the import has committed (or rolled back); checked under the lock.
        let tables = DatabaseTables.copied.map(\.name)
        try await connection.query(PostgresQuery(unsafeSQL: "LOCK TABLE \(tables.joined(separator: ", ")) IN EXCLUSIVE MODE"), logger: logger)
        var version = 0
        for try await value in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", logger: logger).decode(Int.self) {
            version = value
        }
        var byTable: [String: [ExportedRow]] = [:]
        for row in rows {
            guard DatabaseTables.isCopied(row.table) else { return .failure(.unknownTable(row.table)) }
            guard row.schemaVersion == version else { return .failure(.schemaVersion(export: row.schemaVersion, database: version)) }
            byTable[row.table, default: []].append(row)
        }
        var columnsOf: [String: [(name: String, type: String, identity: Bool)]] = [:]
        for table in tables {
            for try await count in try await connection.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"), logger: logger).decode(Int64.self)
            where count > 0 {
                return .failure(.notEmpty(table: table, rows: Int(count)))
            }
            let known = try await columns(of: table, on: connection, logger: logger)
            var used: [(name: String, type: String, identity: Bool)] = []
            for row in byTable[table] ?? [] {
                for column in row.row.keys where !used.contains(where: { $0.name == column }) {
                    guard let found = known.first(where: { $0.name == column }) else { return .failure(.unknownColumn(table: table, column: column)) }
                    used.append(found)
                }
            }
            columnsOf[table] = used
        }
        var counts: [String: Int] = [:]
        for table in tables {
            guard let tableRows = byTable[table], let columns = columnsOf[table], !columns.isEmpty else { continue }
            let bulk = BulkColumns(columns.map { ($0.name, $0.type) })
            // In chunks, so no one parameter grows without bound.
            for start in stride(from: 0, to: tableRows.count, by: 500) {
                let chunk = tableRows[start..<min(start + 500, tableRows.count)]
                let cells: [[Cell]] = chunk.map { row in
                    columns.map { column in
                        switch row.row[column.name] ?? .null {
                        case .null: .null
                        case .integer(let value): .int(value)
                        case .text(let value): .text(value)
                        }
                    }
                }
                var binds = PostgresBindings()
                binds.append(String(decoding: try JSONEncoder().encode(cells), as: UTF8.self))
                try await connection.query(PostgresQuery(unsafeSQL: bulk.insert(into: table, rows: "$1::jsonb"), binds: binds), logger: logger)
            }
            // The identity goes on after the imported ids, so new rows never take one of them.
            for column in columns where column.identity {
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT setval(pg_get_serial_sequence('\(table)', '\(column.name)'), (SELECT MAX(\(column.name)) FROM \(table)))"),
                    logger: logger)
            }
            counts[table] = tableRows.count
        }
        return .success(counts)
    }

    /// The table's columns that hold state (generated ones, as `lane`, are computed by the database), in
    /// their declared order, with their SQL type and whether they are an identity.
    private static func columns(of table: String, on connection: PostgresConnection, logger: Logger) async throws -> [(
        name: String, type: String, identity: Bool
    )] {
        var columns: [(name: String, type: String, identity: Bool)] = []
        let query: PostgresQuery = """
            SELECT column_name::text, data_type::text, is_identity::text FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(table) AND is_generated = 'NEVER'
            ORDER BY ordinal_position
            """
        for try await (name, type, identity) in try await connection.query(query, logger: logger).decode((String, String, String).self) {
            columns.append((name, type, identity == "YES"))
        }
        return columns
    }

    private static func storedColumns(of table: String, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await columns(of: table, on: connection, logger: logger).map(\.name)
    }
}
