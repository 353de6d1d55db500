import IncidentCore
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How the SQLite store writes dates: INTEGER milliseconds since 1970, rounded to the nearest millisecond.
/// Integers make "due <= now" exact and keep the file readable with the `sqlite3` shell
/// (`datetime(due_at / 1000, 'unixepoch')`). A date with whole milliseconds reads back equal to the one
/// written; finer fractions are rounded away.
enum SQLiteDates {
    /// Clamped rather than trapping (see `Date.millisecondsSince1970`): input is bounded where it is
    /// parsed, and this is the last line, so that no date a bug lets through can kill the process.
    static func milliseconds(_ date: Date) -> Int64 {
        date.millisecondsSince1970()
    }

    static func value(_ date: Date) -> SQLiteData {
        .integer(SQLiteInt64(milliseconds(date)))
    }

    static func optionalValue(_ date: Date?) -> SQLiteData {
        date.map(value) ?? .null
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

/// Binding helpers, named apart from the enum's own cases so they never shadow them.
extension SQLiteData {
    static func optionalText(_ value: String?) -> SQLiteData {
        value.map { .text($0) } ?? .null
    }

    static func int64(_ value: Int64) -> SQLiteData {
        .integer(SQLiteInt64(value))
    }

    static func optionalInt64(_ value: Int64?) -> SQLiteData {
        value.map(int64) ?? .null
    }
}

/// Typed access to a row's columns, failing loudly instead of defaulting (`MalformedRow`); `StoreRow`
/// turns rows into the model, as for the PostgreSQL store.
extension SQLiteResultRow: StoreRow {
    private func value(_ column: String) throws -> SQLiteData {
        guard let data = self.column(column) else { throw MalformedRow(column: column, problem: "missing") }
        return data
    }

    public func int64(_ column: String) throws -> Int64 {
        guard let number = try value(column).integer else { throw MalformedRow(column: column, problem: "not an integer") }
        return Int64(number)
    }

    public func optionalInt64(_ column: String) throws -> Int64? {
        let data = try value(column)
        if data.isNull { return nil }
        return try int64(column)
    }

    public func text(_ column: String) throws -> String {
        guard let text = try value(column).string else { throw MalformedRow(column: column, problem: "not text") }
        return text
    }

    public func optionalText(_ column: String) throws -> String? {
        let data = try value(column)
        return data.isNull ? nil : try text(column)
    }

}
