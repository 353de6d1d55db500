import ArgumentParser
import Foundation

/// `klaxon export INC-4 --format yaml`: an incident from a running daemon as a post-mortem draft (md),
/// runbook 002's incident record (yaml) or JSON, on standard output.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export an incident from a running daemon: Markdown post-mortem draft, YAML incident record, or JSON.")

    @Option(help: "The daemon's base URL.")
    var url: String = ProcessInfo.processInfo.environment["KLAXON_URL"] ?? "http://127.0.0.1:8080"

    @Argument(help: "The incident (INC-4 or 4).")
    var incident: String

    @Option(help: "md, yaml or json.")
    var format: String = "md"

    func validate() throws {
        guard ["md", "markdown", "yaml", "json"].contains(format.lowercased()) else {
            throw ValidationError("--format must be md, yaml or json, not \"\(format)\"")
        }
    }

    func run() async throws {
        let id = incident.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? incident
        let body = try await daemonGET("/api/incidents/\(id)/export?format=\(format.lowercased())", baseURL: url)
        FileHandle.standardOutput.write(body)
    }
}
