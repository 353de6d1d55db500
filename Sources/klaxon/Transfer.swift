import ArgumentParser
import Foundation
import IncidentCore
import Logging
import PostgresStorage
import Storage

/// `klaxon export-db` / `klaxon import-db`: all of a Klaxon database from one store to another (SQLite to
/// PostgreSQL and back), as JSON lines: `{"table": …, "schemaVersion": …, "row": {column: value}}`.
struct ExportDB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-db",
        abstract: "Write every row of the configured store as JSON lines (one object per row, with its table and schema version).",
        discussion: """
            Example: klaxon export-db --config sqlite.json > klaxon.jsonl; klaxon import-db --config postgres.json < klaxon.jsonl
            The store is opened as serve opens it (migrated to this version first), and read from one snapshot, so it may run while a \
            daemon serves. Left out: \(DatabaseTables.skipped.map { "\($0.name) (\($0.reason))" }.joined(separator: "; ")).
            """)

    @Option(name: .shortAndLong, help: "Path of the config file (default: bot-config.json, else the embedded defaults).")
    var config: String?

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func run() async throws {
        let loaded = try loadTransferConfig(config)
        let destination: FileHandle
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: nil), let file = FileHandle(forWritingAtPath: output) else {
                throw failure("cannot write \(output)")
            }
            destination = file
        } else {
            destination = FileHandle.standardOutput
        }
        do {
            let counts = try await withTransferStore(loaded, exclusive: false) { store in
                var writer = JSONLinesWriter(destination: destination)
                var counts: [String: Int] = [:]
                try await store.exportRows { row in
                    try writer.append(row)
                    counts[row.table, default: 0] += 1
                }
                try writer.flush()
                return (counts, try await store.schemaVersion())
            }
            try destination.synchronize()
            report("exported", counts.0, version: counts.1)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw failure("export-db failed: \(error)")
        }
    }
}

struct ImportDB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-db",
        abstract: "Load an export-db file into the configured store, which must be empty and at the export's schema version.",
        discussion: """
            Example: klaxon migrate --config postgres.json && klaxon import-db --config postgres.json < klaxon.jsonl
            Everything is written in one transaction: an import that fails leaves the database as it was. Refused, with nothing \
            written: a database that already holds rows, or one at another schema version than the export. Stop the daemons \
            writing to the target first (on SQLite, import-db refuses while one holds the file).
            """)

    @Option(name: .shortAndLong, help: "Path of the config file (default: bot-config.json, else the embedded defaults).")
    var config: String?

    @Option(name: .shortAndLong, help: "Read from this file instead of standard input.")
    var input: String?

    func run() async throws {
        let loaded = try loadTransferConfig(config)
        let data: Data
        if let input {
            guard let read = FileManager.default.contents(atPath: input) else { throw failure("cannot read \(input)") }
            data = read
        } else {
            data = FileHandle.standardInput.readDataToEndOfFile()
        }
        var rows: [ExportedRow] = []
        let decoder = JSONDecoder()
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            do {
                rows.append(try decoder.decode(ExportedRow.self, from: Data(line)))
            } catch {
                throw failure("line \(index + 1) is not an export-db row (table, schemaVersion, row): \(error)")
            }
        }
        let parsed = rows
        do {
            let (counts, version) = try await withTransferStore(loaded, exclusive: true) { store in
                (try await store.importRows(parsed), try await store.schemaVersion())
            }
            report("imported", counts, version: version)
        } catch let refusal as DatabaseTransferError {
            throw failure("import-db refused, nothing written: \(refusal)")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw failure("import-db failed, nothing written: \(error)")
        }
    }
}

/// Rows as JSON lines, written in blocks rather than a system call per row.
private struct JSONLinesWriter {
    let destination: FileHandle
    private var buffer = Data()
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        // One row, one line, the same bytes for the same row whichever store wrote it.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    init(destination: FileHandle) {
        self.destination = destination
    }

    mutating func append(_ row: ExportedRow) throws {
        buffer.append(try encoder.encode(row))
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 20 { try flush() }
    }

    mutating func flush() throws {
        try destination.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

private func loadTransferConfig(_ path: String?) throws -> KlaxonConfig {
    do {
        return try loadConfig(path: path).0
    } catch let invalid as InvalidConfig {
        throw failure(invalid.description)
    }
}

/// The configured store, opened (and migrated) as serve opens it, for `body`; closed after. `exclusive`:
/// on SQLite, refuse while another process holds the file (`SQLiteFileLock`, as serve and migrate).
private func withTransferStore<T: Sendable>(
    _ config: KlaxonConfig, exclusive: Bool, _ body: @escaping @Sendable (any DatabaseTransfer) async throws -> T
) async throws -> T {
    var logger = Logger(label: "klaxon.transfer")
    logger.logLevel = .warning
    if let postgres = config.storage.postgres {
        let store = try await PostgresIncidentStore.open(try PostgresStoreConfiguration(postgres), logger: logger)
        return try await Migrate.withPool(store) { try await body(store) }
    }
    guard let sqlite = config.storage.sqlite else {
        throw failure("no storage configured: set storage.sqlite.path or storage.postgres.url")
    }
    let lock = exclusive ? try SQLiteFileLock(databasePath: sqlite.path) : nil
    defer { withExtendedLifetime(lock) {} }
    let store = try await SQLiteIncidentStore.open(path: sqlite.path, logger: logger)
    do {
        let value = try await body(store)
        try await store.close()
        return value
    } catch {
        // The body's error is what is reported; the store is closed on the way out regardless.
        try? await store.close()
        throw error
    }
}

private func report(_ done: String, _ counts: [String: Int], version: Int) {
    let total = counts.values.reduce(0, +)
    let tables = DatabaseTables.copied.compactMap { table in counts[table.name].map { "\(table.name) \($0)" } }
    let line =
        "klaxon: \(done) \(total) rows at schema version \(version)" + (tables.isEmpty ? "" : " (\(tables.joined(separator: ", ")))")
        + "; not copied: \(DatabaseTables.skipped.map(\.name).joined(separator: ", "))\n"
    FileHandle.standardError.write(Data(line.utf8))
}

/// Prints `message` as one line on standard error; the command exits 1.
private func failure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("klaxon: \(message)\n".utf8))
    return ExitCode(1)
}
