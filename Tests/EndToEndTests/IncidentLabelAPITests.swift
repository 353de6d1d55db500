import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOHTTP1
import Testing

/// `incidents.idFormat` over the daemon's HTTP surface: the console command and `GET /api/incidents/<id>`
/// name the incident by its label (runbook 002-20: `incident:export -- --id=INC-2024-001`), and by number.
@Suite("Incident labels over HTTP")
struct IncidentLabelAPITests {
    @Test func theAPIFindsAnIncidentByItsLabel() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let idFormat = try IncidentLabelFormat.parse("INC-{year}-{seq:3}").get()
        let config = try defaultConfig(storePath: directory.file("klaxon.sqlite")) { $0.incidents.idFormat = idFormat }
        // 2024-01-15 14:05 UTC, runbook 002's day.
        let daemon = try await RunningDaemon.start(config, clock: ManualClock(now: Date(timeIntervalSince1970: 1_705_327_500)))
        let declared = try await daemon.command("declare sev1 payments: Payment processing down")
        #expect(declared["outcome"] == "applied")
        let (year, label) = (2024, "INC-2024-001")
        #expect(declared["reply"]?.hasPrefix("Declared \(label) · SEV1 · Payment processing down") == true, "\(declared)")

        let byLabel = try await daemon.request(.GET, "/api/incidents/\(label)")
        #expect(byLabel.status == 200)
        #expect(byLabel.body.contains("Payment processing down"))
        // The number names it too (the bodies may differ by the room the outbox created meanwhile).
        let byNumber = try #require(try await daemon.request(.GET, "/api/incidents/INC-1").json as? [String: Any])
        #expect(byNumber["id"] as? String == label)
        #expect(byNumber["number"] as? Int == 1)
        #expect(try await daemon.request(.GET, "/api/incidents/INC-\(year)-002").status == 404)
        #expect(try await daemon.request(.GET, "/api/incidents/banana").status == 400)
        #expect(try await daemon.command("set \(label) impact All card payments fail")["outcome"] == "applied")
        #expect(try await daemon.command("set \(label) startedAt 2024-01-15T13:50Z")["outcome"] == "applied")
        let json = try #require(try await daemon.request(.GET, "/api/incidents/\(label)").json as? [String: Any])
        let facts = try #require(json["facts"] as? [String: String])
        #expect(facts == ["service": "payments", "impact": "All card payments fail", "startedAt": "2024-01-15 13:50 UTC"])
        #expect((json["factTimes"] as? [String: Any])?.keys.sorted() == ["startedAt"])
        try await daemon.stop()
    }
}
