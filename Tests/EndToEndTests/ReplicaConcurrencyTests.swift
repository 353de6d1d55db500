import Foundation
import IncidentCore
import KlaxonTestSupport
import PostgresNIO
import PostgresStorage
import Testing

/// Issue 16, "concurrent commands for one incident on two replicas: all applied, none refused". Two
/// `klaxon serve` on one PostgreSQL database and 40 updates of one incident sent at once, half to each:
/// each update writes the incident (a new revision), so the replicas' change sets collide, and a
/// collision must be decided again on what the other replica wrote, never answered with "try again".
@Suite(
    "Concurrent commands for one incident on two replicas", .serialized,
    .enabled(if: TestPostgres.isConfigured || TestPostgres.isCI, "\(TestPostgres.skipReason)"))
struct ReplicaConcurrencyTests {
    static let commands = 40

    @Test("40 concurrent updates of one incident, split across two replicas: every one applied once, none refused")
    func concurrentUpdatesOnTwoReplicas() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let databaseURL = try await TestPostgres.newDatabase()
        // An hour's cadence: no reminder writes the incident meanwhile; only the commands race.
        let config = try ReplicaFailoverTests.writeConfig(directory, cadence: "1h")
        let environment = ["DATABASE_URL": databaseURL]
        var replicas: [KlaxonChildProcess] = []
        defer { for replica in replicas { replica.kill() } }
        var urls: [String] = []
        for _ in 0..<2 {
            let replica = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path, environment: environment)
            replicas.append(replica)
            urls.append(try await replica.listeningURL())
        }
        let declared = try await DatabaseOutageTests.command(urls[0], "declare sev1 Many hands on two replicas")
        #expect(declared.text.contains("Declared INC-1"), "\(declared)")

        let store = try await PostgresIncidentStore.open(
            PostgresStoreConfiguration(url: try PostgresURL.parse(databaseURL).get(), poolSize: 2), logger: TestPostgres.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            // Once its room is recorded (which writes the incident too, from the outbox sender).
            #expect(try await eventually(timeout: .seconds(10)) { try await store.incident(IncidentID(1))?.room != nil })
            let before = try #require(try await store.incident(IncidentID(1)))

            let urls = urls
            let replies = try await withThrowingTaskGroup(of: (Int, DatabaseOutageTests.Reply).self) { commands in
                for n in 1...Self.commands {
                    commands.addTask { (n, try await DatabaseOutageTests.command(urls[n % 2], "update INC-1 progress report \(n)")) }
                }
                return try await commands.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            for n in 1...Self.commands {
                let reply = try #require(replies[n])
                #expect(reply.outcome == "applied" && reply.text.hasPrefix("Update posted to INC-1"), "update \(n) on replica \(n % 2): \(reply)")
            }

            // Each update once in the timeline, and one revision each: none lost, none doubled.
            let after = try #require(try await store.incident(IncidentID(1)))
            let updates = try await store.timeline(of: IncidentID(1)).filter { $0.kind == .update }
            for n in 1...Self.commands {
                #expect(updates.filter { $0.text.hasSuffix("progress report \(n)") }.count == 1, "update \(n): \(updates.map(\.text))")
            }
            #expect(updates.count == Self.commands)
            #expect(after.revision == before.revision + Self.commands, "revision \(before.revision) → \(after.revision)")
            // The audit log has each as applied.
            let audit = try await store.auditEntries(AuditQuery(incidentID: IncidentID(1), limit: 1000))
            #expect(audit.filter { $0.text.hasPrefix("update INC-1 progress report") && $0.outcome == "applied" }.count == Self.commands)
        }
        // Both replicas took their half.
        for (index, replica) in replicas.enumerated() {
            let applied = replica.output.split(separator: "\n").filter { $0.contains("verb=update") && $0.contains("outcome=applied") }.count
            #expect(applied == Self.commands / 2, "replica \(index) applied \(applied) updates")
        }
    }
}
