import ArgumentParser
import Foundation
import IncidentCore
import Logging
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

        guard let sqlite = loaded.storage.sqlite else {
            logger.critical("no storage configured: set storage.sqlite.path")
            throw ExitCode(1)
        }
        let store = try await SQLiteIncidentStore.open(path: sqlite.path, logger: logger)
        let daemon = try KlaxonDaemon(config: loaded, store: store, logger: logger)
        logger.info("klaxon starting", metadata: [
            "config": "\(source)", "store": "\(sqlite.path)",
            "listen": "\(loaded.server.host):\(port ?? loaded.server.port)",
            "platforms": "\(loaded.platforms.enabled.map(\.rawValue).joined(separator: ","))",
        ])
        do {
            let host = loaded.server.host
            try await daemon.serviceGroup(port: port, onServerRunning: { bound in
                logger.info("listening", metadata: ["url": "http://\(host):\(bound)"])
            }).run()
        } catch {
            logger.error("stopped with an error", metadata: ["error": "\(error)"])
            try? await store.close()
            throw ExitCode(1)
        }
        try await store.close()
        logger.info("klaxon stopped")
    }
}
