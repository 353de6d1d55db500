import ArgumentParser
import Foundation
import IncidentCore
import Logging
import PostgresStorage
import Storage

/// `klaxon migrate`: brings the configured store's schema up to date and exits, so a deployment can
/// migrate once before it starts (or restarts) its replicas. `serve` migrates at start too; on
/// PostgreSQL, replicas that start together take turns on an advisory lock and only the first migrates.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the store's schema migrations and exit.")

    @Option(name: .shortAndLong, help: "Path of the config file (default: bot-config.json, else the embedded defaults).")
    var config: String?

    func run() async throws {
        let loaded: KlaxonConfig
        do {
            (loaded, _) = try loadConfig(path: config)
        } catch let invalid as InvalidConfig {
            FileHandle.standardError.write(Data("klaxon: \(invalid.description)\n".utf8))
            throw ExitCode(1)
        }
        var logger = Logger(label: "klaxon.migrate")
        logger.logLevel = .warning
        do {
            if let postgres = loaded.storage.postgres {
                let configuration = try PostgresStoreConfiguration(postgres)
                let store = try await PostgresIncidentStore.open(configuration, logger: logger)
                let versions = try await Self.withPool(store) { try await store.appliedMigrations() }
                print("PostgreSQL \(configuration.url): " + Self.describe(applied: store.migrationsAppliedAtOpen, now: versions))
            } else if let sqlite = loaded.storage.sqlite {
                // A running daemon would be migrated under its feet: the same lock `serve` takes says so.
                let lock = try SQLiteFileLock(databasePath: sqlite.path)
                let before = FileManager.default.fileExists(atPath: sqlite.path)
                let store = try await SQLiteIncidentStore.open(path: sqlite.path, logger: logger)
                let versions = try await store.appliedMigrations()
                try await store.close()
                withExtendedLifetime(lock) {}
                print("SQLite \(sqlite.path)\(before ? "" : " (created)"): schema at version \(versions.last ?? 0)")
            } else {
                FileHandle.standardError.write(Data("klaxon: no storage configured: set storage.sqlite.path or storage.postgres.url\n".utf8))
                throw ExitCode(1)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("klaxon: migrate failed: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    static func describe(applied: [Int], now versions: [Int]) -> String {
        let at = "schema at version \(versions.last ?? 0)"
        guard let first = applied.first, let last = applied.last else { return "\(at) (already up to date)" }
        return "\(at) (applied \(first == last ? "\(first)" : "\(first)–\(last)"))"
    }

    /// The store's pool only connects while it runs; run it for the duration of `body`.
    static func withPool<T: Sendable>(_ store: PostgresIncidentStore, _ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await store.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}
