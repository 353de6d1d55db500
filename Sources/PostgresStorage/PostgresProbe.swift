import IncidentCore
import Logging
import PostgresNIO

/// What `klaxon check-config` learns from the configured database without changing it: that it
/// answers with the configured credentials and TLS, and how far its schema is from this build's.
public struct PostgresProbe: Sendable {
    /// The newest migration the database has (0: none yet, `klaxon migrate` or `serve` will apply them).
    public var schemaVersion: Int
    /// The newest migration this build knows.
    public var latestVersion: Int

    /// Connects once, reads `schema_migrations` if it exists, and disconnects.
    public static func run(_ configuration: PostgresStoreConfiguration, logger: Logger) async throws -> PostgresProbe {
        do {
            let connection = try await configuration.connect(logger: logger)
            do {
                let regclass = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
                let exists = try await regclass.decode(Bool.self).array().first ?? false
                var version = 0
                if exists {
                    let rows = try await connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", logger: logger)
                    version = try await rows.decode(Int.self).array().first ?? 0
                }
                try await connection.close()
                return PostgresProbe(schemaVersion: version, latestVersion: PostgresMigrations.all.map(\.version).max() ?? 0)
            } catch {
                // Cleanup after the error thrown below.
                try? await connection.close()
                throw error
            }
        } catch {
            throw StoreError.unavailable("cannot reach \(configuration.url): \(PostgresIncidentStore.describe(error))")
        }
    }
}
