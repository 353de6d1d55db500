import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOHTTP1
import Server
import Storage
import Testing
import Yams

/// Exports over real loopback HTTP and the `klaxon export` CLI: the Markdown post-mortem draft, runbook
/// 002's incident record as YAML (read back with Yams) and JSON, the action items in each, the API token
/// rules, and the post-mortem file kept in `postmortems.directory` until the review is done.
@Suite("Exports and post-mortems", .serialized)
struct ExportTests {
    static let token = "export-tests-api-token-0123456789"
    /// Monday 2026-11-30 14:15 UTC.
    static let start = Date(timeIntervalSince1970: 1_796_048_100)

    /// A sev1 incident with a published status, action items, mitigation, updates and resolution, minutes
    /// apart; the clock left at 15:40, when the monitoring window's timer closes it.
    ///
    /// The scheduler runs meanwhile on the same clock, so no timer may come due at a moment a command is
    /// sent: it would race the command (a reminder or an escalation in the timeline, or not). Hence an
    /// update at most 15 min (sev1's cadence) after the last, the resolution before the incident has been
    /// open an hour (an escalation step), and the last command a minute before the close.
    static func scenario(_ daemon: RunningDaemon, clock: ManualClock) async throws {
        func run(_ text: String, as user: String, after minutes: Double) async throws {
            clock.advance(by: minutes * 60)
            let answer = try await daemon.command(text, user: user)
            #expect(answer["outcome"] == "applied", "\(text): \(answer["reply"] ?? "")")
        }
        try await run("declare sev1 \"Payment processing down\"", as: "alice", after: 0)
        try await run("ack INC-1", as: "bob", after: 3)
        try await run("role INC-1 ic @bob", as: "bob", after: 1)
        try await run("set INC-1 impact \"Card payments fail for EU customers\"", as: "bob", after: 0)
        try await run("set INC-1 usersAffected ~1500", as: "bob", after: 0)
        try await run("set INC-1 rootCause \"Connection pool exhausted\"", as: "bob", after: 0)
        try await run("set INC-1 service payments-api", as: "bob", after: 0)
        try await run("set INC-1 lkg 2026-11-30 13:55", as: "bob", after: 0)
        try await run("status INC-1 identified \"Database connection pool exhausted; restarting workers.\"", as: "bob", after: 6)
        try await run("action INC-1 \"Add connection pool alert\" @bob due 2026-12-20", as: "bob", after: 2)
        try await run("action INC-1 Update the payments runbook @carol", as: "bob", after: 1)
        try await run("mitigate INC-1 workers restarted, queue draining", as: "bob", after: 7)
        try await run("update INC-1 Error rate back under 1 %; watching the pool", as: "bob", after: 3)
        try await run("update INC-1 Pool size raised on every worker", as: "bob", after: 12)
        try await run("update INC-1 No failed payments for 10 min", as: "bob", after: 12)
        try await run("resolve INC-1 Raised the pool size and restarted the workers", as: "bob", after: 8)
        try await run("action INC-1 done 2", as: "carol", after: 29)
        clock.advance(by: 60)
    }

    static func config(_ directory: TemporaryDirectory) throws -> KlaxonConfig {
        try defaultConfig(storePath: directory.file("klaxon.sqlite")) { config in
            config.server.apiToken = Secret(Self.token)
            config.postmortems.directory = directory.file("postmortems")
        }
    }

    @Test("md, yaml and json exports over HTTP, with the real timeline and the action items")
    func exportsOverHTTP() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ManualClock(now: Self.start)
        let daemon = try await RunningDaemon.start(try Self.config(directory), clock: clock)
        try await Self.scenario(daemon, clock: clock)
        // The monitoring window's timer closes the incident at 15:40 on the running scheduler: the exports
        // (and the examples compared below) are of the closed incident.
        #expect(try await eventually { try await daemon.store.incident(IncidentID(1))?.status == .closed }, "closed by the monitoring window")

        let markdown = try await daemon.request(.GET, "/api/incidents/INC-1/export?format=md")
        #expect(markdown.status == 200)
        #expect(markdown.headers.first(name: "Content-Type")?.hasPrefix("text/markdown") == true)
        for heading in [
            "## Summary", "## Impact", "## Timeline (UTC)", "## Root cause", "## What went well", "## What went poorly", "## Where we got lucky",
            "## Action items",
        ] {
            #expect(markdown.body.contains("\n\(heading)\n"), "missing \(heading)")
        }
        #expect(markdown.body.contains("- 14:15 — SEV1 declared by @alice: Payment processing down"), "the real timeline, in UTC")
        #expect(markdown.body.contains("- 14:18 — Acknowledged by @bob after 3 min"))
        #expect(markdown.body.contains("| 1 | Add connection pool alert | @bob | 2026-12-20 | open |"))
        #expect(markdown.body.contains("| 2 | Update the payments runbook | @carol |  | done |"))
        #expect(markdown.body.contains("- Time to acknowledge: 3 min"))
        #expect(markdown.body.contains("Fix: Raised the pool size and restarted the workers."))

        // The outbox may still be recording deliveries (the room) while the exports are fetched: compare a
        // YAML export with JSON exports taken just before and after it that agree with each other.
        var yaml = try await daemon.request(.GET, "/api/incidents/INC-1/export?format=yaml")
        var json = try await daemon.request(.GET, "/api/incidents/1/export?format=json")
        let settleDeadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < settleDeadline {
            let before = try await daemon.request(.GET, "/api/incidents/1/export?format=json")
            yaml = try await daemon.request(.GET, "/api/incidents/INC-1/export?format=yaml")
            json = try await daemon.request(.GET, "/api/incidents/1/export?format=json")
            if before.body == json.body { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(yaml.status == 200)
        #expect(yaml.body.hasPrefix("incident:\n  id: INC-1\n  severity: SEV1\n"), "runbook 002's shape: \(yaml.body.prefix(120))")
        let fromYAML = try YAMLDecoder().decode(IncidentRecord.self, from: yaml.body)
        #expect(json.status == 200)
        let fromJSON = try JSONDecoder().decode(IncidentRecord.self, from: Data(json.body.utf8))
        #expect(fromYAML == fromJSON, "one record, two encodings")
        #expect(fromJSON.incident.startedAt == "2026-11-30T14:15:00Z")
        // The structured facts (runbook 002's record: impact, users affected, root cause).
        #expect(fromJSON.incident.impact.description == "Card payments fail for EU customers")
        #expect(fromJSON.incident.impact.usersAffected == "~1500")
        #expect(fromJSON.incident.rootCause == "Connection pool exhausted")
        #expect(fromJSON.incident.service == "payments-api")
        #expect(fromJSON.incident.lastKnownGood == "2026-11-30T13:55:00Z", "\(String(describing: fromJSON.incident.lastKnownGood))")
        #expect(yaml.body.contains("root_cause: Connection pool exhausted"), "\(yaml.body)")
        #expect(markdown.body.contains("- What: Card payments fail for EU customers"), "\(markdown.body)")
        #expect(markdown.body.contains("- Users affected: ~1500"))
        #expect(markdown.body.contains("## Root cause\n\nConnection pool exhausted\n"))
        #expect(fromJSON.incident.detectedBy == "person")
        #expect(fromJSON.incident.impact.durationMinutes == 55)
        #expect(fromJSON.incident.metrics.timeToAcknowledgeSeconds == 180)
        #expect(fromJSON.incident.roles == ["ic": "bob"])
        #expect(fromJSON.incident.actionItems.map(\.item) == ["Add connection pool alert", "Update the payments runbook"])
        #expect(fromJSON.incident.actionItems.map(\.done) == [false, true])
        #expect(fromJSON.incident.publicUpdates.map(\.state) == ["identified", "resolved"])
        #expect(fromJSON.incident.timeline.first?.event == "SEV1 declared by @alice: Payment processing down")

        // The API's rules: the token, a known format, a known incident.
        #expect(try await daemon.request(.GET, "/api/incidents/INC-1/export?format=md", headers: ["Authorization": ""]).status == 401)
        let badFormat = try await daemon.request(.GET, "/api/incidents/INC-1/export?format=docx")
        #expect(badFormat.status == 400 && badFormat.body.contains("md, yaml, json"))
        #expect(try await daemon.request(.GET, "/api/incidents/INC-9/export?format=md").status == 404)

        // The examples in docs/ are these exports: `KLAXON_EXPORT_EXAMPLES=$PWD/docs` writes them anew, and
        // otherwise they are compared, so a change to the exports that leaves them behind fails here.
        let examples = [("example-postmortem.md", markdown.body), ("example-incident.yaml", yaml.body), ("example-incident.json", json.body)]
        if let target = ProcessInfo.processInfo.environment["KLAXON_EXPORT_EXAMPLES"] {
            for (name, body) in examples {
                try body.write(toFile: (target as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
        } else {
            let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("docs")
            for (name, body) in examples {
                let committed = try String(contentsOf: docs.appendingPathComponent(name), encoding: .utf8)
                #expect(
                    committed == body,
                    "docs/\(name) is not what the export gives now: refresh it with KLAXON_EXPORT_EXAMPLES=$PWD/docs swift test --filter EndToEndTests.ExportTests"
                )
            }
        }
        try await daemon.stop()
    }

    @Test("postmortems.directory: written at resolve, rewritten on changes, left alone once reviewed; the reminder names it")
    func postmortemFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ManualClock(now: Self.start)
        let daemon = try await RunningDaemon.start(try Self.config(directory), clock: clock)
        try await Self.scenario(daemon, clock: clock)
        let path = directory.file("postmortems/2026-11-30-payment-processing-down.md")

        // The last changes: action 2 done (a command) and the close at the end of the monitoring window (a
        // timer, on the running scheduler); the team edits the file only once both are in.
        #expect(
            try await eventually {
                let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
                return text.contains("| 2 | Update the payments runbook | @carol |  | done |") && text.contains("Closed by Klaxon after the monitoring window")
            }, "the draft follows the incident after its resolution")
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("review: pending"))

        let reviewed =
            try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "review: pending", with: "review: done")
            + "\nRoot cause written by the team.\n"
        try reviewed.write(toFile: path, atomically: true, encoding: .utf8)
        _ = try await daemon.command("action INC-1 \"Load-test the pool\"", user: "bob")
        #expect(await daemon.daemon.postmortems.write(IncidentID(1)) == .reviewed(path))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == reviewed, "the reviewed file is the team's")

        // The review reminder (sev1: 48 h after resolution) points at the file.
        let engine = daemon.daemon.commands.engine
        let incident = try #require(try await daemon.store.incident(IncidentID(1)))
        #expect(engine.postmortemFile(incident) == path)
        try await daemon.stop()
    }

    @Test("klaxon export talks to the running daemon like klaxon audit")
    func cli() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ManualClock(now: Self.start)
        let daemon = try await RunningDaemon.start(try Self.config(directory), clock: clock)
        try await Self.scenario(daemon, clock: clock)
        let environment = ["KLAXON_URL": daemon.baseURL, "KLAXON_API_TOKEN": Self.token]

        let (status, output) = try await KlaxonChildProcess.run(["export", "INC-1", "--format", "yaml"], directory: directory.path, environment: environment)
        #expect(status == 0, "\(output)")
        #expect(try YAMLDecoder().decode(IncidentRecord.self, from: output).incident.id == "INC-1")

        let (missing, message) = try await KlaxonChildProcess.run(["export", "INC-7"], directory: directory.path, environment: environment)
        #expect(missing != 0)
        #expect(message.contains("no incident INC-7"))
        let (badFormat, usage) = try await KlaxonChildProcess.run(["export", "INC-1", "--format", "pdf"], directory: directory.path, environment: environment)
        #expect(badFormat != 0 && usage.contains("--format must be md, yaml or json"))
        try await daemon.stop()
    }
}
