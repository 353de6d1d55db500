import ArgumentParser
import Foundation
import IncidentCore
import Logging
import PostgresStorage

@main
struct Klaxon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "klaxon",
        abstract: "Incident-response chat-ops daemon: declare, page, remind, escalate, resolve, review.",
        subcommands: [
            Serve.self, CheckConfig.self, Migrate.self, ExportDB.self, ImportDB.self, Cmd.self, IncidentShortcut.self, Audit.self, Export.self,
            OutboxCommand.self,
        ],
        defaultSubcommand: Serve.self)
}

/// Reads and validates a config file, with `${VAR}` taken from the environment.
/// Without `--config`, `bot-config.json` in the working directory, or the embedded defaults if there is none.
func loadConfig(path: String?) throws -> (KlaxonConfig, source: String) {
    let environment = ProcessInfo.processInfo.environment
    let bytes: [UInt8]
    let source: String
    if let path {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read config file \(path)")
        }
        bytes = Array(data)
        source = path
    } else if let data = FileManager.default.contents(atPath: "bot-config.json") {
        bytes = Array(data)
        source = "bot-config.json"
    } else {
        bytes = Array(ConfigLoader.embeddedDefaultJSON.utf8)
        source = "embedded defaults"
    }
    switch ConfigLoader.load(json: bytes, environment: environment) {
    case .success(let config): return (config, source)
    case .failure(let errors): throw InvalidConfig(source: source, errors: errors)
    }
}

struct InvalidConfig: Error, CustomStringConvertible {
    var source: String
    var errors: ConfigErrors
    var description: String { "\(source) is invalid:\n\(errors.description)" }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a config; prints one line per problem and exits non-zero if there is any.")

    @Option(name: .shortAndLong, help: "Path of the config file (default: bot-config.json, else the embedded defaults).")
    var config: String?

    @Flag(help: "Do not connect to storage.postgres (by default check-config connects once and reads its schema version).")
    var offline = false

    func run() async throws {
        do {
            let (loaded, source) = try loadConfig(path: config)
            if let postgres = loaded.storage.postgres, !offline {
                do {
                    let configuration = try PostgresStoreConfiguration(postgres)
                    var logger = Logger(label: "klaxon.check-config")
                    logger.logLevel = .critical
                    let probe = try await PostgresProbe.run(configuration, logger: logger)
                    let schema =
                        probe.schemaVersion == probe.latestVersion
                        ? "schema up to date (version \(probe.schemaVersion))"
                        : probe.schemaVersion < probe.latestVersion
                            ? "schema at version \(probe.schemaVersion) of \(probe.latestVersion): `klaxon migrate` (or serve) will migrate it"
                            : "schema at version \(probe.schemaVersion), newer than this build's \(probe.latestVersion)"
                    print("storage.postgres: \(configuration.url) answers · \(schema)")
                } catch {
                    FileHandle.standardError.write(Data("storage.postgres.url: \(error)\n".utf8))
                    throw ExitCode(1)
                }
            }
            print(
                "\(source): OK · \(loaded.severities.count) severities · platforms: \(loaded.platforms.enabled.map(\.rawValue).joined(separator: ", ")) · \(loaded.oncall.rotations.count) rotations"
                    + (loaded.paging.webhooks.isEmpty ? "" : " · pager webhooks: \(loaded.paging.webhooks.map(\.id).joined(separator: ", "))"))
        } catch let invalid as InvalidConfig {
            FileHandle.standardError.write(Data((invalid.errors.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}
