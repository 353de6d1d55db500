import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOHTTP1
import Testing

/// Debian's `prometheus` package: its `promtool` lints the `/metrics` output. `.ci/run` installs it;
/// without CI a machine lacking it skips that test.
enum PromtoolBinary {
    static let path = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let required = ProcessInfo.processInfo.environment["CI"] != nil
}

/// `/metrics` (lifecycle histograms, help on every metric, checked by the real promtool), `/incident
/// stats` and `GET /api/stats`, over real loopback HTTP.
@Suite("Metrics over time", .serialized)
struct MetricsTests {
    /// Monday 2026-11-30 09:00 UTC.
    static let start = Date(timeIntervalSince1970: 1_796_029_200)

    /// Three sev1 incidents on checkout (acknowledged after 2, 4 and 12 min) and one sev3.
    static func scenario(_ daemon: RunningDaemon, clock: ManualClock) async throws {
        func run(_ text: String, as user: String = "bob", after minutes: Double = 0) async throws {
            clock.advance(by: minutes * 60)
            let answer = try await daemon.command(text, user: user)
            #expect(answer["outcome"] == "applied", "\(text): \(answer["reply"] ?? "")")
        }
        for (number, ack) in [(1, 2.0), (2, 4.0), (3, 12.0)] {
            try await run("declare sev1 \"Checkout down \(number)\"", as: "alice", after: 60)
            try await run("component INC-\(number) checkout")
            try await run("ack INC-\(number)", after: ack)
            try await run("role INC-\(number) ic @carol")
            try await run("mitigate INC-\(number)", after: 20 - ack)
            try await run("resolve INC-\(number)", after: 40)
        }
        try await run("declare sev3 \"Slow search\"", as: "dave", after: 60)
    }

    static func config(_ directory: TemporaryDirectory) throws -> KlaxonConfig {
        try defaultConfig(storePath: directory.file("klaxon.sqlite")) { config in
            config.statusPage.components = [StatusPageComponent(id: "checkout", name: "Checkout")]
            config.severities[0].targets = SeverityTargets(acknowledge: .minutes(5), mitigate: .minutes(30), resolve: .hours(2))
        }
    }

    @Test("the lifecycle histograms count every incident by severity")
    func histograms() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ManualClock(now: Self.start)
        let daemon = try await RunningDaemon.start(try Self.config(directory), clock: clock)
        try await Self.scenario(daemon, clock: clock)
        let metrics = try await daemon.request(.GET, "/metrics")
        #expect(metrics.status == 200)
        let lines = Set(metrics.body.split(separator: "\n").map(String.init))
        #expect(lines.contains("# TYPE klaxon_time_to_acknowledge_seconds histogram"))
        #expect(lines.contains(#"klaxon_time_to_acknowledge_seconds_bucket{severity="sev1",le="120"} 1"#))
        #expect(lines.contains(#"klaxon_time_to_acknowledge_seconds_bucket{severity="sev1",le="300"} 2"#))
        #expect(lines.contains(#"klaxon_time_to_acknowledge_seconds_bucket{severity="sev1",le="+Inf"} 3"#))
        #expect(lines.contains(#"klaxon_time_to_acknowledge_seconds_sum{severity="sev1"} 1080"#))
        #expect(lines.contains(#"klaxon_time_to_mitigate_seconds_bucket{severity="sev1",le="1800"} 3"#))
        #expect(lines.contains(#"klaxon_time_to_resolve_seconds_count{severity="sev1"} 3"#))
        #expect(lines.contains(#"klaxon_time_to_resolve_seconds_count{severity="sev3"} 0"#), "open incidents count once resolved")
        // Every family has its help text.
        let types = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        let helps = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
        #expect(!types.isEmpty && types.allSatisfy(helps.contains), "no help for \(types.filter { !helps.contains($0) })")
        try await daemon.stop()
    }

    @Test(
        "promtool check metrics passes on the real /metrics output",
        .enabled(if: PromtoolBinary.path != nil || PromtoolBinary.required, "promtool is not installed (apt-get install prometheus)"))
    func promtool() async throws {
        let promtool = try #require(PromtoolBinary.path, "promtool is not installed; .ci/run installs it")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ManualClock(now: Self.start)
        let daemon = try await RunningDaemon.start(try Self.config(directory), clock: clock)
        try await Self.scenario(daemon, clock: clock)
        _ = try await daemon.command("not-a-verb")
        await daemon.drainOutbox()
        let metrics = try await daemon.request(.GET, "/metrics")
        try metrics.body.write(toFile: directory.file("metrics.txt"), atomically: true, encoding: .utf8)
        let check = try KlaxonChildProcess(executable: "/bin/sh", ["-c", "exec \"$0\" check metrics < metrics.txt", promtool], directory: directory.path)
        #expect(await check.waitForExit(timeout: .seconds(30)))
        #expect(check.terminationStatus == 0, "promtool: \(check.output)")
        #expect(metrics.body.contains("klaxon_commands_total") && metrics.body.contains("klaxon_time_to_resolve_seconds"), "the output checked is the real one")
        try await daemon.stop()
    }

    @Test("/incident stats and GET /api/stats: counts, MTTA/MTTM/MTTR against the targets, per month, repeats, people")
    func stats() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ManualClock(now: Self.start)
        let daemon = try await RunningDaemon.start(try Self.config(directory), clock: clock)
        try await Self.scenario(daemon, clock: clock)

        let reply = try await daemon.command("stats 30d", user: "alice")
        #expect(reply["outcome"] == "answered")
        let text = try #require(reply["reply"])
        #expect(text.contains("Incidents in the last 30d: 4"), "\(text)")
        #expect(text.contains("• SEV1 · 3 · MTTA 6 min (median 4 min, p90 12 min, 2/3 within 5 min)"), "\(text)")
        #expect(text.contains("MTTM 20 min (median 20 min, p90 20 min, 3/3 within 30 min)"), "\(text)")
        #expect(text.contains("Repeat incidents: component:checkout (INC-1, INC-2, INC-3)"), "\(text)")
        #expect(text.contains("People involved: 4"), "\(text)")

        let sev1 = try await daemon.command("stats 2026-11 p0", user: "alice")
        #expect(sev1["reply"]?.hasPrefix("SEV1 incidents in 2026-11: 3") == true, "\(sev1["reply"] ?? "")")
        let bad = try await daemon.command("stats next week", user: "alice")
        #expect(bad["outcome"] == "invalid")

        let api = try await daemon.request(.GET, "/api/stats?period=30d&severity=sev1")
        #expect(api.status == 200)
        let json = try #require(api.json as? [String: Any])
        #expect(json["count"] as? Int == 3)
        let overall = try #require(json["overall"] as? [String: Any])
        let acknowledge = try #require(overall["acknowledge"] as? [String: Any])
        #expect(acknowledge["mean"] as? Double == 360)
        #expect(acknowledge["median"] as? Double == 240)
        #expect(acknowledge["p90"] as? Double == 720)
        #expect(acknowledge["target"] as? Double == 300)
        #expect(acknowledge["withinTarget"] as? Int == 2)
        #expect((json["byMonth"] as? [[String: Any]])?.map { $0["month"] as? String } == ["2026-11"])
        #expect(try await daemon.request(.GET, "/api/stats?period=soon").status == 400)
        #expect(try await daemon.request(.GET, "/api/stats?severity=sev9").status == 400)
        try await daemon.stop()
    }
}
