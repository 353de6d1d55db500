import Foundation
import IncidentCore
import Logging
import PostgresNIO
import PostgresStorage

/// The PostgreSQL server the tests use: `KLAXON_TEST_POSTGRES_URL` (`.ci/run` starts a throwaway
/// PostgreSQL 15 and sets it). Without it the PostgreSQL tests are skipped (`skipReason`), except under
/// CI, where a test fails instead: CI must never pass by skipping them.
public enum TestPostgres {
    public static let environmentURL: String? = ProcessInfo.processInfo.environment["KLAXON_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    public static let isCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty && $0 != "false" && $0 != "0" } ?? false
    public static var isConfigured: Bool { environmentURL != nil }
    /// The server also speaks TLS (`.ci/postgres.sh` gives it a self-signed certificate).
    public static let hasTLS = isConfigured && ProcessInfo.processInfo.environment["KLAXON_TEST_POSTGRES_TLS"] == "1"
    public static let skipReason = "KLAXON_TEST_POSTGRES_URL is not set: the PostgreSQL tests are skipped (.ci/run starts PostgreSQL 15 and sets it)"

    public static let logger: Logger = {
        var logger = Logger(label: "klaxon.tests.postgres")
        // Not .warning: postgres-nio warns when a test's first query races the pool's `run()` task.
        logger.logLevel = .error
        return logger
    }()

    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String { TestPostgres.skipReason }
    }

    public static func url() throws -> PostgresURL {
        guard let text = environmentURL else { throw NotConfigured() }
        return try PostgresURL.parse(text).get()
    }

    public static func configuration(schema: String? = nil, poolSize: Int = 4) throws -> PostgresStoreConfiguration {
        PostgresStoreConfiguration(url: try url(), poolSize: poolSize, schema: schema)
    }

    /// A new, empty schema of its own for one test (`search_path` points a store's connections at it).
    public static func newSchema() async throws -> String {
        let name = uniqueName()
        try await run("CREATE SCHEMA \(name)")
        return name
    }

    /// A new, empty database of its own for one test (a `klaxon serve` process uses its default schema),
    /// and the URL of it, password included (for `${DATABASE_URL}`).
    public static func newDatabase() async throws -> String {
        let name = uniqueName()
        try await run("CREATE DATABASE \(name)")
        guard let text = environmentURL, var components = URLComponents(string: text) else { throw NotConfigured() }
        components.path = "/" + name
        guard let url = components.string else { throw NotConfigured() }
        return url
    }

    private static func uniqueName() -> String {
        "klaxon_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    private static func run(_ sql: String) async throws {
        let connection = try await configuration().connect(logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
