import ArgumentParser
import Foundation
import KlaxonTestSupport

/// `klaxon-fake-slack`: the tests' fake Slack (`FakeSlack`) served on 127.0.0.1 for the benchmarks, so they
/// measure Klaxon against the same Slack the tests check it against. `GET /stats` answers how many calls
/// of each method it took (and how many of those its rate limits refused) as JSON.
@main
struct FakeSlackServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "klaxon-fake-slack",
        abstract: "Serves the fake Slack Web API on 127.0.0.1 for the benchmarks.")

    @Option(help: "The port to listen on (0: any free port, printed once listening).")
    var port = 0

    @Option(
        help: ArgumentHelp(
            "The bot token the Web API accepts (default: $SLACK_BOT_TOKEN, else the tests' token).",
            discussion: "The benchmarks hand the same token to Klaxon; it is never printed."))
    var botToken: String?

    @Flag(help: "Answer every call at once, without Slack's tier limits and per-channel pace (no 429s).")
    var noRateLimits = false

    @Option(help: "Posts kept per channel besides pinned ones and thread parents (older ones are forgotten).")
    var messagesPerChannel = 1_000

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard messagesPerChannel > 0 else { throw ValidationError("--messages-per-channel must be at least 1") }
    }

    func run() async throws {
        let token = botToken ?? ProcessInfo.processInfo.environment["SLACK_BOT_TOKEN"] ?? FakeSlack.botToken
        let pacing = noRateLimits ? "no rate limits" : "Slack's rate limits"
        try await FakeSlack.serve(
            port: port, botToken: token, strict: !noRateLimits, retention: .bounded(messagesPerChannel: messagesPerChannel)
        ) { port in
            // Written at once (not through print's buffer), as stdout is a file in the benchmark scripts.
            FileHandle.standardOutput.write(Data("klaxon-fake-slack listening on http://127.0.0.1:\(port) (\(pacing))\n".utf8))
        }
    }
}
