/// Moving a whole Klaxon database from one store to another (`klaxon export-db` / `import-db`): SQLite to
/// PostgreSQL when a deployment outgrows one machine, and back. The two stores have the same tables and
/// columns under the same schema version (their migrations are numbered alike), so a row travels as its
/// table's name and its columns' values, and the receiving store writes it as it came: ids, revisions,
/// counters, leases and all.
public protocol DatabaseTransfer: Sendable {
    /// The newest migration the database has.
    func schemaVersion() async throws -> Int

    /// Every row of `DatabaseTables.copied`, table by table in that order, each table by its key, read
    /// from one snapshot.
    func exportRows(_ emit: (ExportedRow) throws -> Void) async throws

    /// Writes `rows` into this database in one transaction, after checking that it holds no row of any
    /// copied table and is at the rows' schema version (`DatabaseTransferError` otherwise, with nothing
    /// written). Returns how many rows each table received.
    func importRows(_ rows: [ExportedRow]) async throws -> [String: Int]
}

/// One line of an export: a table's row at a schema version.
public struct ExportedRow: Codable, Sendable, Equatable {
    public var table: String
    public var schemaVersion: Int
    /// Column name → value; generated columns are left out (the receiving store computes them).
    public var row: [String: ExportedValue]

    public init(table: String, schemaVersion: Int, row: [String: ExportedValue]) {
        self.table = table
        self.schemaVersion = schemaVersion
        self.row = row
    }
}

/// A column's value: the stores keep integers (dates as milliseconds), text (JSON bodies included) and NULL.
public enum ExportedValue: Codable, Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else {
            // A string, or the error that says what else was found.
            self = .text(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .integer(let value): try container.encode(value)
        case .text(let value): try container.encode(value)
        }
    }
}

/// Which tables hold a Klaxon database's state, and which are left out and why.
public enum DatabaseTables {
    /// Every table that holds state, with the columns its rows are ordered by, in an order that satisfies
    /// the foreign keys (incidents before what refers to them).
    public static let copied: [(name: String, key: String)] = [
        ("incident_number_counter", "singleton"),
        ("incident_day_counters", "day"),
        ("incidents", "id"),
        ("timeline", "id"),
        ("timers", "id"),
        ("outbox", "id"),
        ("oncall_overrides", "id"),
        ("rotation_handoffs", "rotation_id"),
        ("console_messages", "id"),
        ("processed_inbound", "key"),
        ("inbound_cursors", "key"),
        ("alert_groups", "source, group_key"),
        ("audit_log", "id"),
    ]

    /// The tables left out, with the reason (`klaxon export-db --help` and docs/scaling.md say it).
    public static let skipped: [(name: String, reason: String)] = [
        ("schema_migrations", "the target's own migrations make its schema; every row carries the schema version instead"),
        ("leases", "named leases (the Rocket.Chat poller) belong to running processes; the first replica to start takes them again"),
    ]

    public static func isCopied(_ table: String) -> Bool {
        copied.contains { $0.name == table }
    }
}

/// Why an import was refused; nothing was written.
public enum DatabaseTransferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The target already holds rows (table, count).
    case notEmpty(table: String, rows: Int)
    /// The export's schema version is not the target's.
    case schemaVersion(export: Int, database: Int)
    case unknownTable(String)
    case unknownColumn(table: String, column: String)

    public var description: String {
        switch self {
        case .notEmpty(let table, let rows):
            "the database is not empty (\(table) holds \(rows) row\(rows == 1 ? "" : "s")): import-db loads only into a new, empty database"
        case .schemaVersion(let export, let database):
            "the export is at schema version \(export) but this database is at \(database): export and import with the same Klaxon version"
                + (export > database ? " (run `klaxon migrate` with the newer one on this database first)" : " (upgrade the exporting database first)")
        case .unknownTable(let table):
            "the export has rows of table \(table), which a Klaxon database does not have"
        case .unknownColumn(let table, let column):
            "the export has a column \(table).\(column) that this database does not have"
        }
    }
}
