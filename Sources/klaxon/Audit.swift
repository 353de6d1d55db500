import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Server

/// `klaxon audit --incident INC-4 --since 24h --user alice`: who did what, from a running daemon's audit log.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the audit log of a running daemon: every command, alert and outbox retry or drop, allowed or refused, newest first.")

    @Option(help: "The daemon's base URL.")
    var url: String = ProcessInfo.processInfo.environment["KLAXON_URL"] ?? "http://127.0.0.1:8080"

    @Option(help: "Only this incident (INC-4).")
    var incident: String?

    @Option(help: "Only this recent: 30m, 24h, 7d.")
    var since: String?

    @Option(help: "Only this user (platform id, name or person id).")
    var user: String?

    @Option(help: "At most this many lines.")
    var limit: Int = 200

    func run() async throws {
        var components = URLComponents()
        components.queryItems = [
            incident.map { URLQueryItem(name: "incident", value: $0) }, since.map { URLQueryItem(name: "since", value: $0) },
            user.map { URLQueryItem(name: "user", value: $0) }, URLQueryItem(name: "limit", value: String(limit)),
        ].compactMap { $0 }
        let body = try await daemonGET("/api/audit?" + (components.percentEncodedQuery ?? ""), baseURL: url)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let lines = try decoder.decode([AuditView].self, from: body)
        let stamp = ISO8601DateFormatter()
        for line in lines {
            let who = line.person.map { "\($0) (\(line.platform) \(line.user))" } ?? "\(line.platform) \(line.user)"
            let where_ = [line.incident, line.channel.map { "#\($0)" }, line.remoteAddress.map { "from \($0)" }].compactMap { $0 }
                .joined(separator: " ")
            let outcome = line.outcome.padding(toLength: 9, withPad: " ", startingAt: 0)
            let command = (line.text.hasPrefix("POST /api/") ? "" : "/incident ") + line.text
            print("\(stamp.string(from: line.at))  \(outcome)  \(who)  \(where_)  \(command)")
            if let reason = line.reason, line.outcome != "applied" { print("    → \(reason.replacingOccurrences(of: "\n", with: " "))") }
        }
        if lines.isEmpty { print("No audit lines match.") }
    }
}

/// GETs `path` from the daemon with `KLAXON_API_TOKEN` (from the environment only, so it never appears on a
/// command line) and returns the body of a 200.
func daemonGET(_ path: String, baseURL: String) async throws -> Data {
    var request = HTTPClientRequest(url: baseURL.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path)
    if let token = ProcessInfo.processInfo.environment["KLAXON_API_TOKEN"], !token.isEmpty {
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
    }
    let response: HTTPClientResponse
    do {
        response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    } catch {
        throw ValidationError("cannot reach the daemon at \(baseURL) (\(error)). Is `klaxon serve` running?")
    }
    let body = try await response.body.collect(upTo: 16 << 20)
    if response.status == .unauthorized {
        throw ValidationError("the daemon at \(baseURL) wants its API token: set KLAXON_API_TOKEN to server.apiToken")
    }
    guard response.status == .ok else {
        throw ValidationError("the daemon answered \(response.status.code): \(String(buffer: body))")
    }
    return Data(buffer: body)
}
