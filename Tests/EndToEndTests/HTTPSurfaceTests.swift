import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOHTTP1
import Scheduler
import Server
import ServiceLifecycle
import Storage
import Testing

@Suite("HTTP surface")
struct HTTPSurfaceTests {
    @Test("health, readiness and Prometheus metrics")
    func healthReadinessMetrics() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try defaultConfig(storePath: directory.file("klaxon.sqlite")))
        #expect(try await daemon.request(.GET, "/healthz").status == 200)
        #expect(try await daemon.request(.GET, "/readyz").status == 200)

        _ = try await daemon.command("declare sev1 Payments down")
        _ = try await daemon.command("declare sev3 Export button broken")
        _ = try await daemon.command("bogus")
        let metrics = try await daemon.request(.GET, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"klaxon_commands_total{platform="console",verb="declare",outcome="applied"} 2"#))
        #expect(metrics.body.contains(#"klaxon_commands_total{platform="console",verb="unparsed",outcome="invalid"} 1"#))
        #expect(metrics.body.contains(#"klaxon_incidents_open{severity="sev1"} 1"#))
        #expect(metrics.body.contains(#"klaxon_incidents_open{severity="sev2"} 0"#))
        #expect(metrics.body.contains("klaxon_outbox_depth "))
        // Issue 16: each replica names itself (KLAXON_REPLICA, else the host name).
        #expect(metrics.body.contains(#"klaxon_replica_info{replica="\#(KlaxonMetrics.replicaName())"} 1"#), "\(metrics.body.prefix(400))")
        #expect(KlaxonMetrics.replicaName(environment: ["KLAXON_REPLICA": "klaxon-b"]) == "klaxon-b")
        // Request durations by route pattern (the three commands; the path of an unknown id is not a label).
        #expect(metrics.body.contains(#"klaxon_http_request_duration_seconds_count{route="/api/commands"} 3"#))
        #expect(metrics.body.contains(#"klaxon_http_request_duration_seconds_bucket{route="/api/commands",le="+Inf"} 3"#))
        _ = try await daemon.request(.GET, "/api/incidents/INC-99")
        #expect(try await daemon.request(.GET, "/metrics").body.contains(#"klaxon_http_request_duration_seconds_count{route="/api/incidents/{id}"} 1"#))
        try await daemon.stop()
    }

    @Test("a store that does not answer (SQLite, closed under the daemon): /readyz 503 with the reason, commands answered at once, nothing changed")
    func readinessFollowsTheStore() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try defaultConfig(storePath: directory.file("klaxon.sqlite")))
        #expect(try await daemon.request(.GET, "/readyz").status == 200)
        #expect(try await daemon.request(.GET, "/metrics").body.contains("klaxon_store_up 1"))
        try await daemon.store.close()
        let ready = try await daemon.request(.GET, "/readyz")
        #expect(ready.status == 503)
        #expect(ready.body.hasPrefix("not ready\nstore: unreachable since "), "\(ready.body)")
        #expect(daemon.daemon.health.storeOutage != nil)
        let answer = try await daemon.command("declare sev1 Declared while the store is closed")
        #expect(answer["outcome"] == "failed")
        #expect(answer["reply"]?.contains("cannot reach its database") == true, "\(answer)")
        await daemon.group.triggerGracefulShutdown()
        try await daemon.run.value
    }

    @Test("bad requests: 400 for bad JSON or ids, 404 for unknown incidents, 413 for oversized bodies")
    func badRequests() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try defaultConfig(storePath: directory.file("klaxon.sqlite")) { $0.server.maxBodyBytes = 4096 })
        #expect(try await daemon.request(.POST, "/api/commands", body: "{not json").status == 400)
        #expect(try await daemon.request(.POST, "/api/commands", body: #"{"user":"alice"}"#).status == 400)
        #expect(try await daemon.request(.GET, "/api/incidents/INC-7").status == 404)
        #expect(try await daemon.request(.GET, "/api/incidents/banana").status == 400)
        let huge = #"{"text":"declare sev1 "# + String(repeating: "x", count: 10_000) + #""}"#
        #expect(try await daemon.request(.POST, "/api/commands", body: huge).status == 413)
        #expect(try await daemon.request(.GET, "/api/incidents").body == "[]")
        try await daemon.stop()
    }

    @Test("a restart on the same file keeps incidents and numbering")
    func restartKeepsState() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try defaultConfig(storePath: directory.file("klaxon.sqlite"))
        let first = try await RunningDaemon.start(config)
        _ = try await first.command("declare sev2 Login broken")
        try await first.stop()

        let second = try await RunningDaemon.start(config)
        let list = try await second.command("list")
        #expect(list["reply"]?.contains("INC-1 · SEV2 · Declared · Login broken") == true)
        #expect(try await second.command("declare sev3 Typo on pricing page")["incident"] == "INC-2")
        try await second.stop()
    }
}
