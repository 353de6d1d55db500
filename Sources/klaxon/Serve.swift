import ArgumentParser
import Foundation
import IncidentCore
import Logging
import PostgresStorage
import Scheduler
import Server
import ServiceLifecycle
import Storage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon (the default command).")

    @Option(name: .shortAndLong, help: "Path of the config file (default: bot-config.json, else the embedded defaults).")
    var config: String?

    @Option(help: "Listen on this port instead of server.port (0 picks a free one and logs it).")
    var port: Int?

    @Option(help: "Listen on this address instead of server.host (the container image uses 0.0.0.0).")
    var host: String?

    func run() async throws {
        var loaded: KlaxonConfig
        let source: String
        do {
            (loaded, source) = try loadConfig(path: config)
            if let host { loaded.server.host = host }
            if let problem = loaded.server.exposureProblem {
                throw InvalidConfig(source: source, errors: ConfigErrors(problems: [problem]))
            }
        } catch let invalid as InvalidConfig {
            FileHandle.standardError.write(Data("klaxon: refusing to start: \(invalid.description)\n".utf8))
            throw ExitCode(1)
        }
        let format = loaded.logging.format
        let level = Logger.Level(rawValue: loaded.logging.level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardOutput(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "klaxon")

        // storage.postgres or storage.sqlite (the loader allows only one). The PostgreSQL store's pool is a
        // service of the daemon's group; the SQLite store is closed after the group stops.
        let store: any IncidentStore
        var storeServices: [any Service]
        var postgresConfiguration: PostgresStoreConfiguration?
        let storeLocation: String
        let closeStore: @Sendable () async throws -> Void
        var sqliteLock: SQLiteFileLock?
        if let postgres = loaded.storage.postgres {
            let configuration = try PostgresStoreConfiguration(postgres)
            postgresConfiguration = configuration
            let postgresStore = try await PostgresIncidentStore.open(configuration, logger: logger)
            (store, storeServices, storeLocation, closeStore) = (postgresStore, [postgresStore], configuration.url.description, {})
        } else if let sqlite = loaded.storage.sqlite {
            do {
                // Held until this process ends: the kernel drops it however the process stops.
                sqliteLock = try SQLiteFileLock(databasePath: sqlite.path)
            } catch {
                FileHandle.standardError.write(Data("klaxon: refusing to start: \(error)\n".utf8))
                throw ExitCode(1)
            }
            let sqliteStore = try await SQLiteIncidentStore.open(path: sqlite.path, logger: logger)
            (store, storeServices, storeLocation, closeStore) = (sqliteStore, [], sqlite.path, { try await sqliteStore.close() })
        } else {
            logger.critical("no storage configured: set storage.sqlite.path or storage.postgres.url")
            throw ExitCode(1)
        }
        let daemon = try KlaxonDaemon(config: loaded, store: store, logger: logger)
        if let postgresConfiguration {
            // Other replicas' commits wake this one's sender and scheduler (LISTEN/NOTIFY).
            let (outboxBell, timerBell) = (daemon.outboxBell, daemon.timerBell)
            storeServices.append(
                PostgresWakeListener(postgresConfiguration, logger: logger) { wake in
                    if wake.contains(.outbox) { outboxBell.ring() }
                    if wake.contains(.timers) { timerBell.ring() }
                })
        }
        logger.info(
            "klaxon starting",
            metadata: [
                "config": "\(source)", "store": "\(storeLocation)",
                "listen": "\(loaded.server.host):\(port ?? loaded.server.port)",
                "platforms": "\(loaded.platforms.enabled.map(\.rawValue).joined(separator: ","))",
            ])
        do {
            let host = loaded.server.host
            try await daemon.serviceGroup(
                port: port, storeServices: storeServices,
                onServerRunning: { bound in
                    logger.info("listening", metadata: ["url": "http://\(host):\(bound)"])
                }
            ).run()
        } catch {
            logger.error("stopped with an error", metadata: ["error": "\(error)"])
            do {
                try await closeStore()
            } catch {
                logger.error("the store did not close cleanly", metadata: ["error": "\(error)"])
            }
            throw ExitCode(1)
        }
        try await closeStore()
        withExtendedLifetime(sqliteLock) {}
        logger.info("klaxon stopped")
    }
}
