import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Options shared by the commands that talk to a running daemon.
struct DaemonAddress: ParsableArguments {
    @Option(help: "The daemon's base URL.")
    var url: String = ProcessInfo.processInfo.environment["KLAXON_URL"] ?? "http://127.0.0.1:8080"

    @Option(help: "Who is typing (a person id from bot-config.json's people).")
    var user: String = ProcessInfo.processInfo.environment["KLAXON_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "console"

    @Option(help: "The console channel the command is typed in (an incident channel targets that incident).")
    var channel: String?
}

/// `klaxon cmd 'declare sev1 "Payment processing down"'`
struct Cmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one /incident command to a running daemon (console platform) and print the reply.",
        discussion: "Example: klaxon cmd 'declare sev1 \"Payment processing down\"'")

    @OptionGroup var address: DaemonAddress

    @Argument(help: "The command text, as typed after /incident.")
    var text: String

    func run() async throws {
        try await sendConsoleCommand(text, address: address)
    }
}

/// `klaxon incident declare sev1 "Payment processing down"`: the same, without quoting the whole command.
struct IncidentShortcut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident",
        abstract: "Like /incident in chat: klaxon incident declare sev1 \"Payment processing down\".")

    @OptionGroup var address: DaemonAddress

    @Argument(parsing: .captureForPassthrough, help: "The /incident words.")
    var words: [String] = []

    func run() async throws {
        // Re-quote words that held spaces, so titles survive the shell's splitting.
        let text = words.map { $0.contains(" ") ? "\"\($0)\"" : $0 }.joined(separator: " ")
        try await sendConsoleCommand(text, address: address)
    }
}

private struct CommandBody: Encodable {
    var text: String
    var user: String
    var channel: String?
}

private struct CommandAnswer: Decodable {
    var reply: String
    var outcome: String
}

func sendConsoleCommand(_ text: String, address: DaemonAddress) async throws {
    let body = try JSONEncoder().encode(CommandBody(text: text, user: address.user, channel: address.channel))
    let (status, answerBody) = try await callDaemon(.POST, "/api/commands", body: body, url: address.url)
    guard status == .ok, let answer = try? JSONDecoder().decode(CommandAnswer.self, from: answerBody) else {
        throw ValidationError("the daemon answered \(status.code): \(String(decoding: answerBody, as: UTF8.self))")
    }
    print(answer.reply)
    if answer.outcome == "invalid" || answer.outcome == "rejected" || answer.outcome == "failed" {
        throw ExitCode(2)
    }
}

/// One request to a running daemon's API, with its token; a 401 becomes advice, other statuses are the
/// caller's to read.
func callDaemon(_ method: HTTPMethod, _ path: String, body: Data?, url: String) async throws -> (HTTPResponseStatus, Data) {
    var request = HTTPClientRequest(url: url.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path)
    request.method = method
    // The daemon's `server.apiToken`, when it has one; read from the environment only, so it never
    // appears on a command line (`ps`) or in shell history.
    if let token = ProcessInfo.processInfo.environment["KLAXON_API_TOKEN"], !token.isEmpty {
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
    }
    if let body {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: body))
    }
    let response: HTTPClientResponse
    do {
        response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    } catch {
        throw ValidationError("cannot reach the daemon at \(url) (\(error)). Is `klaxon serve` running?")
    }
    let answer = try await response.body.collect(upTo: 4 << 20)
    if response.status == .unauthorized {
        throw ValidationError("the daemon at \(url) wants its API token: set KLAXON_API_TOKEN to server.apiToken")
    }
    return (response.status, Data(buffer: answer))
}
