import Foundation
import KlaxonTestSupport
import Testing

/// `klaxon serve` with `storage.postgres`: the store is chosen by the config, its pool runs in the
/// daemon's service group, and what the daemon answered survives a kill -9.
@Suite(
    "The klaxon binary on PostgreSQL", .serialized,
    .enabled(if: TestPostgres.isConfigured, "KLAXON_TEST_POSTGRES_URL is not set: the PostgreSQL tests are skipped (.ci/run starts PostgreSQL 15 and sets it)"))
struct PostgresProcessTests {
    private func writePostgresConfig(_ directory: TemporaryDirectory) throws -> String {
        var config = try #require(try JSONSerialization.jsonObject(with: Data(ConfigFixture.shipped.utf8)) as? [String: Any])
        config["storage"] = ["postgres": ["url": "${DATABASE_URL}", "poolSize": 4]]
        let path = directory.file("bot-config.json")
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("serve on PostgreSQL: kill -9 loses no acknowledged command, a second start migrates nothing, SIGTERM exits 0; the password is never printed")
    func serveOnPostgres() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try writePostgresConfig(directory)
        let databaseURL = try await TestPostgres.newDatabase()
        let environment = ["DATABASE_URL": databaseURL]
        let password = try #require(URLComponents(string: databaseURL)?.password)

        let (checkStatus, checked) = try await KlaxonChildProcess.run(
            ["check-config", "--config", config], directory: directory.path, environment: environment)
        #expect(checkStatus == 0, "\(checked)")

        let first = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path, environment: environment)
        let url = try await first.listeningURL()
        for n in 1...5 {
            let (status, output) = try await KlaxonChildProcess.run(
                ["cmd", "--url", url, "--user", "alice", "declare sev2 Incident number \(n)"], directory: directory.path)
            #expect(status == 0, "\(output)")
            #expect(output.contains("Declared INC-\(n)"))
        }
        first.kill()
        #expect(await first.waitForExit())
        #expect(first.output.contains("Applied PostgreSQL migration"))

        let second = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path, environment: environment)
        let secondURL = try await second.listeningURL()
        let (listStatus, list) = try await KlaxonChildProcess.run(["incident", "--url", secondURL, "list"], directory: directory.path)
        #expect(listStatus == 0)
        for n in 1...5 {
            #expect(list.contains("INC-\(n) · SEV2 · Declared · Incident number \(n) "), "INC-\(n) missing after kill -9:\n\(list)")
        }
        let (ackStatus, acked) = try await KlaxonChildProcess.run(["incident", "--url", secondURL, "--user", "bob", "ack", "INC-3"], directory: directory.path)
        #expect(ackStatus == 0)
        #expect(acked.contains("Acknowledged INC-3"))

        second.terminate()
        #expect(await second.waitForExit(timeout: .seconds(15)))
        #expect(second.terminationStatus == 0, "\(second.output)")
        #expect(second.output.contains("klaxon stopped"))
        #expect(!second.output.contains("Applied PostgreSQL migration"))
        #expect(second.output.contains("store=postgres://"))
        #expect(!first.output.contains(password) && !second.output.contains(password))
    }

    /// Issue 16, operations: `check-config` connects and reports the schema, `migrate` applies the
    /// migrations once and then has nothing to do, and an unreachable database fails check-config with
    /// the field named and no password printed.
    @Test("check-config connects and reports the schema; migrate applies once; an unreachable database is one clear line")
    func checkConfigAndMigrate() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try writePostgresConfig(directory)
        let databaseURL = try await TestPostgres.newDatabase()
        let password = try #require(URLComponents(string: databaseURL)?.password)
        let environment = ["DATABASE_URL": databaseURL]

        let (fresh, freshOutput) = try await KlaxonChildProcess.run(["check-config", "--config", config], directory: directory.path, environment: environment)
        #expect(fresh == 0, "\(freshOutput)")
        #expect(freshOutput.contains("answers · schema at version 0 of "), "\(freshOutput)")

        let (migrated, migratedOutput) = try await KlaxonChildProcess.run(["migrate", "--config", config], directory: directory.path, environment: environment)
        #expect(migrated == 0, "\(migratedOutput)")
        #expect(migratedOutput.contains("(applied 1–"), "\(migratedOutput)")
        let (again, againOutput) = try await KlaxonChildProcess.run(["migrate", "--config", config], directory: directory.path, environment: environment)
        #expect(again == 0 && againOutput.contains("(already up to date)"), "\(againOutput)")
        let (checked, checkedOutput) = try await KlaxonChildProcess.run(
            ["check-config", "--config", config], directory: directory.path, environment: environment)
        #expect(checked == 0 && checkedOutput.contains("schema up to date"), "\(checkedOutput)")

        var unreachable = try #require(URLComponents(string: databaseURL))
        unreachable.port = 1
        let (refused, refusedOutput) = try await KlaxonChildProcess.run(
            ["check-config", "--config", config], directory: directory.path, environment: ["DATABASE_URL": try #require(unreachable.string)])
        #expect(refused == 1, "\(refusedOutput)")
        #expect(refusedOutput.contains("storage.postgres.url: cannot reach postgres://"), "\(refusedOutput)")
        #expect(!refusedOutput.contains("unavailable("), "\(refusedOutput)")
        for output in [freshOutput, migratedOutput, againOutput, checkedOutput, refusedOutput] {
            #expect(!output.contains(password))
        }
        let (offline, offlineOutput) = try await KlaxonChildProcess.run(
            ["check-config", "--offline", "--config", config], directory: directory.path, environment: ["DATABASE_URL": try #require(unreachable.string)])
        #expect(offline == 0, "\(offlineOutput)")
    }
}
