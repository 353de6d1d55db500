import Foundation
import IncidentCore
import PostgresNIO

/// One value of a row the store writes in bulk. A table's rows travel as one `jsonb` value (an array of
/// arrays, see `Bind`) that the statement unpacks with `jsonb_array_elements … WITH ORDINALITY`: any number of
/// rows in one statement, no bind-parameter limit, NULLs included (postgres-nio's arrays have no NULL
/// elements), and the rows keep their order, so identity ids follow the change set's order.
enum Cell: Encodable, Sendable, ChangeSetCell {
    case int(Int64)
    case text(String)
    case null

    static func cell(text: String) -> Cell { .text(text) }
    static func cell(integer: Int64) -> Cell { .int(integer) }
    static var nullCell: Cell { .null }

    static func int(_ value: Int) -> Cell { .int(Int64(value)) }
    static func date(_ date: Date) -> Cell { .int(date.millisecondsSince1970()) }
    static func optionalText(_ value: String?) -> Cell { value.map(Cell.text) ?? .null }
    static func optionalInt(_ value: Int64?) -> Cell { value.map(Cell.int) ?? .null }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        // PostgreSQL's text cannot hold U+0000 (SQLite's can); it becomes U+FFFD rather than failing the
        // whole change set.
        case .text(let value): try container.encode(value.contains("\u{0}") ? value.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : value)
        case .null: try container.encodeNil()
        }
    }
}

/// A table's columns for a bulk insert: each column's name and SQL type.
struct BulkColumns: Sendable {
    let names: [String]
    let types: [String]

    init(_ columns: [(String, String)]) {
        names = columns.map(\.0)
        types = columns.map(\.1)
    }

    /// `SELECT (r->>0)::bigint, r->>1, … FROM jsonb_array_elements(rows) …`, rows in the order given;
    /// `rows`: SQL of a jsonb array of arrays.
    func select(rows: String) -> String {
        let values = types.enumerated().map { index, type in type == "text" ? "r->>\(index)" : "(r->>\(index))::\(type)" }
        return "SELECT \(values.joined(separator: ", ")) FROM jsonb_array_elements(\(rows)) WITH ORDINALITY AS e(r, n) ORDER BY n"
    }

    func insert(into table: String, rows: String, suffix: String = "") -> String {
        "INSERT INTO \(table) (\(names.joined(separator: ", "))) \(select(rows: rows)) \(suffix)"
    }
}

/// Typed access to a row's columns by name; `StoreRow` turns rows into the model (shared with the SQLite
/// store: the two have the same tables and columns).
struct Columns: StoreRow {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row.makeRandomAccess()
    }

    func int64(_ column: String) throws -> Int64 {
        guard let value = try optionalInt64(column) else { throw MalformedRow(column: column, problem: "NULL") }
        return value
    }

    func optionalInt64(_ column: String) throws -> Int64? { try row[column].decode(Int64?.self) }

    func text(_ column: String) throws -> String {
        guard let value = try optionalText(column) else { throw MalformedRow(column: column, problem: "NULL") }
        return value
    }

    func optionalText(_ column: String) throws -> String? { try row[column].decode(String?.self) }
}

extension AsyncSequence {
    /// Every element (a query's decoded rows).
    func array() async throws -> [Element] {
        var elements: [Element] = []
        for try await element in self {
            elements.append(element)
        }
        return elements
    }
}
