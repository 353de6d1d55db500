import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// Debian's `prometheus-alertmanager` package: a real Alertmanager. `.ci/run` installs it; a developer
/// machine without it skips the test with this reason.
enum AlertmanagerBinary {
    static let path = ["/usr/bin/prometheus-alertmanager", "/usr/local/bin/alertmanager", "/usr/bin/alertmanager"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    /// CI installs it, so there a missing binary is a failure, not a skip.
    static let required = ProcessInfo.processInfo.environment["CI"] != nil
}

/// A real Alertmanager on loopback whose webhook receiver is Klaxon: its own grouping, waits, repeats and
/// retries against Klaxon's route, checked from both sides.
@Suite("Alerts in: a real Alertmanager", .serialized)
struct AlertmanagerPeerTests {
    @Test(
        "Alertmanager → Klaxon: one incident per group, repeats change nothing, a resolved group resolves its incident, every webhook call succeeded",
        .enabled(
            if: AlertmanagerBinary.path != nil || AlertmanagerBinary.required,
            "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"))
    func realAlertmanager() async throws {
        let binary = try #require(AlertmanagerBinary.path, "prometheus-alertmanager is not installed; .ci/run installs it")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try AlertRoutesTests.config(storePath: directory.file("k.sqlite")))

        let config = """
            route:
              receiver: klaxon
              group_by: [alertname, service]
              group_wait: 1s
              group_interval: 2s
              repeat_interval: 4s
            receivers:
              - name: klaxon
                webhook_configs:
                  - url: \(daemon.baseURL)/alerts/alertmanager/prod-am
                    send_resolved: true
                    http_config:
                      authorization:
                        type: Bearer
                        credentials: \(AlertRoutesTests.token)
            """
        try config.write(toFile: directory.file("alertmanager.yml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: directory.file("am-data"), withIntermediateDirectories: true)
        // A free port can be taken by another process between the probe and Alertmanager's bind (the suite
        // runs in parallel): then it says so and exits, and it is started again on another port.
        var started: (process: KlaxonChildProcess, api: String)?
        var failures: [String] = []
        for _ in 0..<3 where started == nil {
            let port = try await Self.freeLoopbackPort()
            let candidate = try KlaxonChildProcess(
                executable: binary,
                [
                    "--config.file=\(directory.file("alertmanager.yml"))", "--storage.path=\(directory.file("am-data"))",
                    "--web.listen-address=127.0.0.1:\(port)", "--cluster.listen-address=",
                ],
                directory: directory.path)
            let api = "http://127.0.0.1:\(port)"
            let ready = try await eventually(timeout: .seconds(20)) {
                guard candidate.isRunning else { return true }
                return (try? await Self.get(api + "/-/ready").status) == 200
            }
            if ready, candidate.isRunning {
                started = (candidate, api)
            } else {
                candidate.kill()
                failures.append(candidate.output)
            }
        }
        let (alertmanager, api) = try #require(started, "Alertmanager did not start:\n\(failures.joined(separator: "\n---\n"))")
        defer { alertmanager.kill() }

        // Two groups: HighErrorRate/api with two instances, DiskFull/db with one.
        let start = Date()
        let firing = [
            Self.alert("HighErrorRate", service: "api", instance: "api-1", severity: "critical", startsAt: start),
            Self.alert("HighErrorRate", service: "api", instance: "api-2", severity: "critical", startsAt: start),
            Self.alert("DiskFull", service: "db", instance: "db-1", severity: "warning", startsAt: start),
        ]
        #expect(try await Self.post(api + "/api/v2/alerts", firing).status == 200)

        #expect(try await eventually(timeout: .seconds(20)) { try await AlertRoutesTests.incidents(daemon).count == 2 }, "\(alertmanager.output)")
        let incidents = try await AlertRoutesTests.incidents(daemon)
        #expect(Set(incidents.compactMap { $0["title"] as? String }) == ["HighErrorRate on api", "DiskFull on db"])
        #expect(incidents.first { $0["title"] as? String == "HighErrorRate on api" }?["severity"] as? String == "sev1")

        // Repeats: wait until Alertmanager has sent more notifications than the two first ones (its
        // repeat_interval is 4 s), then nothing has changed.
        let timelines = try await Self.alertLines(daemon)
        #expect(try await eventually(timeout: .seconds(30)) { try await Self.sentNotifications(api) >= 4 }, "no repeat notification was sent")
        #expect(try await AlertRoutesTests.incidents(daemon).count == 2)
        #expect(try await Self.alertLines(daemon) == timelines, "a repeat notification added to a timeline")

        // The HighErrorRate group resolves: its incident is resolved (autoResolve), the other stays open.
        let resolvedAt = Date()
        let resolved = firing.prefix(2).map { alert in
            var alert = alert
            alert["endsAt"] = ISO8601DateFormatter().string(from: resolvedAt)
            return alert
        }
        #expect(try await Self.post(api + "/api/v2/alerts", Array(resolved)).status == 200)
        #expect(
            try await eventually(timeout: .seconds(30)) {
                try await AlertRoutesTests.incidents(daemon).contains {
                    $0["title"] as? String == "HighErrorRate on api" && $0["status"] as? String == "resolved"
                }
            }, "the resolved group's incident was not resolved")
        #expect(try await AlertRoutesTests.incidents(daemon).contains { $0["title"] as? String == "DiskFull on db" && $0["status"] as? String != "resolved" })

        // Alertmanager's own account: every webhook call it made succeeded.
        let metrics = try await Self.get(api + "/metrics").body
        #expect(
            Self.metric(metrics, "alertmanager_notifications_failed_total", integration: "webhook") == 0,
            "\(metrics.split(separator: "\n").filter { $0.contains("notifications") })")
        #expect(Self.metric(metrics, "alertmanager_notifications_total", integration: "webhook") ?? 0 >= 5)
        try await daemon.stop()
    }

    // MARK: - Helpers

    static func alert(_ name: String, service: String, instance: String, severity: String, startsAt: Date) -> [String: Any] {
        [
            "labels": ["alertname": name, "service": service, "instance": instance, "severity": severity],
            "annotations": ["summary": "\(name) on \(instance)"],
            "startsAt": ISO8601DateFormatter().string(from: startsAt),
            "generatorURL": "http://prometheus.example.com/graph?g0.expr=\(name)",
        ]
    }

    static func post(_ url: String, _ alerts: [[String: Any]]) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: alerts)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 4 << 20)))
    }

    static func sentNotifications(_ api: String) async throws -> Int {
        metric(try await get(api + "/metrics").body, "alertmanager_notifications_total", integration: "webhook") ?? 0
    }

    /// A counter's value from Prometheus text, for the series with `integration="…"`.
    static func metric(_ text: String, _ name: String, integration: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") && line.contains("integration=\"\(integration)\"") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }), value.isFinite, value >= 0, value < 1e12 { return Int(value) }
        }
        return nil
    }

    /// Every incident's alert lines, by incident.
    static func alertLines(_ daemon: RunningDaemon) async throws -> [String: [String]] {
        var lines: [String: [String]] = [:]
        for incident in try await AlertRoutesTests.incidents(daemon) {
            guard let id = incident["id"] as? String else { continue }
            let detail = try await daemon.request(.GET, "/api/incidents/\(id)").json as? [String: Any]
            let timeline = detail?["timeline"] as? [[String: Any]] ?? []
            lines[id] = timeline.filter { $0["kind"] as? String == "alert" }.compactMap { $0["text"] as? String }
        }
        return lines
    }

    /// A port nobody listens on now (bound and released), for a peer that must be told its port.
    static func freeLoopbackPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }
}
