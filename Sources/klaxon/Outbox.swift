import ArgumentParser
import Foundation
import NIOHTTP1

/// `klaxon outbox list|retry ID|drop ID`: the dead letters of a running daemon, through its API
/// (`GET /api/outbox`, `POST /api/outbox/{id}/retry|drop`), with `KLAXON_API_TOKEN` like `klaxon cmd`.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "The outbox's dead letters: list them, queue one again, or drop it.",
        subcommands: [List.self, Retry.self, Drop.self])

    struct Options: ParsableArguments {
        @Option(help: "The daemon's base URL.")
        var url: String = ProcessInfo.processInfo.environment["KLAXON_URL"] ?? "http://127.0.0.1:8080"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List outbox messages (dead ones unless --state says otherwise), newest first.")
        @OptionGroup var options: Options
        @Option(help: "dead, pending or delivered.")
        var state = "dead"
        @Option(help: "At most this many.")
        var limit = 100

        func run() async throws {
            let (status, body) = try await callDaemon(.GET, "/api/outbox?state=\(state)&limit=\(limit)", body: nil, url: options.url)
            guard status == .ok else { throw ValidationError("the daemon answered \(status.code): \(String(decoding: body, as: UTF8.self))") }
            // Read loosely: a listing must print whatever a newer daemon adds.
            guard let entries = (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] else {
                throw ValidationError("the daemon's answer is not a list of messages: \(String(decoding: body.prefix(200), as: UTF8.self))")
            }
            if entries.isEmpty { print("no \(state) messages") }
            for entry in entries {
                let fields = ["id", "lane", "incident", "kind", "createdAt", "attempts", "lastError"].map { key in
                    entry[key].map { "\($0)" } ?? "-"
                }
                print(fields.joined(separator: "\t"))
            }
        }
    }

    /// Which dead message, on which daemon.
    struct Target: ParsableArguments {
        @OptionGroup var options: Options
        @Argument(help: "The message id, as `list` shows it.")
        var id: Int64
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a dead message again (due now, attempts reset).")
        @OptionGroup var target: Target
        func run() async throws { try await OutboxCommand.act("retry", on: target) }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a dead message for good.")
        @OptionGroup var target: Target
        func run() async throws { try await OutboxCommand.act("drop", on: target) }
    }

    static func act(_ verb: String, on target: Target) async throws {
        let id = target.id
        // Who asks, for the daemon's audit log (as `klaxon cmd` names its user).
        let user = ProcessInfo.processInfo.environment["KLAXON_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "console"
        let request = try JSONEncoder().encode(["user": user])
        let (status, body) = try await callDaemon(.POST, "/api/outbox/\(id)/\(verb)", body: request, url: target.options.url)
        guard status == .ok else { throw ValidationError("the daemon answered \(status.code): \(String(decoding: body, as: UTF8.self))") }
        print(verb == "retry" ? "message \(id) queued again" : "message \(id) dropped")
    }
}
