import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOHTTP1
import Testing

/// The audit log end to end: every command, allowed or refused, and every alert notification is there,
/// with who, where, the text and the outcome; `GET /api/audit` filters it.
@Suite("Audit log and permissions over HTTP")
struct AuditTests {
    @Test("a refused severity downgrade changes nothing and is audited with its reason; applied commands and alerts are audited too")
    func refusalsAndChangesAreAudited() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var config = try AlertRoutesTests.config(storePath: directory.file("k.sqlite"))
        config.groups = ["leads": ["carol"]]
        config.permissions = ["severity": [.role(.commander), .group("leads")]]
        let daemon = try await RunningDaemon.start(config)

        let declared = try await daemon.command("declare sev1 Checkout is down", user: "alice")
        #expect(declared["outcome"] == "applied")
        let refused = try await daemon.command("severity INC-1 sev4", user: "dave")
        #expect(refused["outcome"] == "denied", "\(refused)")
        #expect(refused["reply"]?.contains("permissions.severity") == true)
        let incident = try await daemon.request(.GET, "/api/incidents/INC-1").json as? [String: Any]
        #expect(incident?["severity"] as? String == "sev1", "the refused downgrade changed the incident")
        _ = try await daemon.command("severity INC-1 sev2", user: "carol")
        _ = try await daemon.command("frobnicate", user: "dave")
        #expect(try await AlertRoutesTests.post(daemon, "/alerts/alertmanager/prod-am", AlertRoutesTests.alertmanagerSample).status == 200)

        let all = try #require(try await daemon.request(.GET, "/api/audit").json as? [[String: Any]])
        let lines = all.map { "\($0["outcome"] as? String ?? "?") \($0["user"] as? String ?? "?") \($0["text"] as? String ?? "?")" }
        #expect(lines.contains("applied alice declare sev1 Checkout is down"), "\(lines)")
        #expect(lines.contains("denied dave severity INC-1 sev4"), "\(lines)")
        #expect(lines.contains("applied carol severity INC-1 sev2"), "\(lines)")
        #expect(lines.contains("invalid dave frobnicate"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("applied alert:prod-am alert firing") }, "\(lines)")
        // Console commands are API calls: each line says where the call came from.
        let isAlert = { (line: [String: Any]) in (line["user"] as? String)?.hasPrefix("alert:") == true }
        let consoleLines = all.filter { !isAlert($0) }
        #expect(consoleLines.count == 4)
        #expect(consoleLines.allSatisfy { $0["remoteAddress"] as? String == "127.0.0.1" }, "\(consoleLines)")
        #expect(all.filter(isAlert).allSatisfy { $0["remoteAddress"] == nil })
        let denial = try #require(all.first { $0["outcome"] as? String == "denied" })
        #expect((denial["reason"] as? String)?.contains("allows role:ic, group:leads") == true)
        #expect(denial["incident"] as? String == "INC-1")
        #expect(denial["person"] as? String == "dave")

        let daves = try #require(try await daemon.request(.GET, "/api/audit?user=dave").json as? [[String: Any]])
        #expect(daves.count == 2)
        let forIncident = try #require(try await daemon.request(.GET, "/api/audit?incident=INC-1&since=1h").json as? [[String: Any]])
        #expect(forIncident.allSatisfy { $0["incident"] as? String == "INC-1" })
        #expect(forIncident.count == 3, "\(forIncident.map { $0["text"] ?? "" })")
        #expect(try await daemon.request(.GET, "/api/audit?since=forever").status == 400)
        try await daemon.stop()
    }
}
