import IncidentCore
import SQLiteNIO

/// `DatabaseTransfer` for the SQLite store: the export reads one snapshot on a read connection, the
/// import is one write transaction of the writer.
extension SQLiteIncidentStore: DatabaseTransfer {
    public func schemaVersion() async throws -> Int {
        try await appliedMigrations().last ?? 0
    }

    public func exportRows(_ emit: (ExportedRow) throws -> Void) async throws {
        try await read { connection in
            // One read transaction for all tables: a consistent snapshot while a daemon writes beside it.
            _ = try await connection.query("BEGIN")
            do {
                let version = try await Migrations.appliedVersions(on: connection).last ?? 0
                for (table, key) in DatabaseTables.copied {
                    let columns = try await Self.storedColumns(of: table, on: connection)
                    let rows = try await connection.query("SELECT \(columns.joined(separator: ", ")) FROM \(table) ORDER BY \(key)")
                    for row in rows {
                        var values: [String: ExportedValue] = [:]
                        for column in columns {
                            values[column] = try Self.exported(row.column(column) ?? .null, column: "\(table).\(column)")
                        }
                        try emit(ExportedRow(table: table, schemaVersion: version, row: values))
                    }
                }
                _ = try await connection.query("COMMIT")
            } catch {
                // The read transaction's end; the export's error is what is thrown.
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        }
    }

    public func importRows(_ rows: [ExportedRow]) async throws -> [String: Int] {
        let version = try await schemaVersion()
        // A refusal is returned, not thrown: found before anything is written, it must reach the caller
        // as it is (the writer turns thrown errors into `StoreError`); what fails later is thrown and
        // rolls the whole import back.
        let outcome = try await write(singleStatement: false) { session -> Result<[String: Int], DatabaseTransferError> in
            var byTable: [String: [ExportedRow]] = [:]
            for row in rows {
                guard DatabaseTables.isCopied(row.table) else { return .failure(.unknownTable(row.table)) }
                guard row.schemaVersion == version else { return .failure(.schemaVersion(export: row.schemaVersion, database: version)) }
                byTable[row.table, default: []].append(row)
            }
            // Checked inside the write transaction: nothing can be written between the check and the rows.
            var columns: [String: [String]] = [:]
            for (table, _) in DatabaseTables.copied {
                let count = try session.run("SELECT COUNT(*) AS n FROM \(table)").first?.column("n")?.integer ?? 0
                if count > 0 { return .failure(.notEmpty(table: table, rows: Int(count))) }
                let known = Set(try session.run("SELECT name FROM pragma_table_info('\(table)')").compactMap { $0.column("name")?.string })
                for row in byTable[table] ?? [] {
                    for column in row.row.keys where !columns[table, default: []].contains(column) {
                        guard known.contains(column) else { return .failure(.unknownColumn(table: table, column: column)) }
                        columns[table, default: []].append(column)
                    }
                }
            }
            var counts: [String: Int] = [:]
            for (table, _) in DatabaseTables.copied {
                guard let tableRows = byTable[table], let names = columns[table] else { continue }
                let values: [[SQLiteData]] = tableRows.map { row in
                    names.map { column in
                        switch row.row[column] ?? .null {
                        case .null: .null
                        case .integer(let value): .integer(SQLiteInt64(value))
                        case .text(let value): .text(value)
                        }
                    }
                }
                for (placeholders, binds, _) in ChangeSetBatch.multiRow(values) {
                    try session.run("INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES \(placeholders)", binds)
                }
                counts[table] = tableRows.count
            }
            return .success(counts)
        }
        return try outcome.get()
    }

    /// The table's columns that hold state, in their declared order: `pragma_table_info` leaves out
    /// generated ones (`lane`), which the receiving store computes, and `derived` are left out too.
    private static func storedColumns(of table: String, on connection: SQLiteDatabase) async throws -> [String] {
        try await connection.query("SELECT name FROM pragma_table_info('\(table)') ORDER BY cid").compactMap { $0.column("name")?.string }
            .filter { !derived.contains("\(table).\($0)") }
    }

    /// Columns only this store has, kept by its triggers from the rest: `outbox.blocked` (whether an
    /// earlier message of the queue is pending; PostgreSQL finds that at claim time). An import writes the
    /// rows in id order and the insert trigger sets it again.
    private static let derived: Set<String> = ["outbox.blocked"]

    private static func exported(_ value: SQLiteData, column: String) throws -> ExportedValue {
        switch value {
        case .null: return .null
        case .integer(let integer): return .integer(Int64(integer))
        case .text(let text): return .text(text)
        case .float, .blob: throw MalformedRow(column: column, problem: "a \(value) where the schema stores integers and text")
        }
    }
}
