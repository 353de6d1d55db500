import Foundation
import IncidentCore
import KlaxonTestSupport
import Storage
import Testing

/// Issue 16, moving the data: `klaxon export-db` / `klaxon import-db` carry a whole database from SQLite to
/// PostgreSQL and back, row for row, refuse what would mix two databases, and leave nothing behind when
/// they fail.
@Suite(
    "export-db and import-db", .serialized,
    .enabled(if: TestPostgres.isConfigured, "KLAXON_TEST_POSTGRES_URL is not set: the PostgreSQL tests are skipped (.ci/run starts PostgreSQL 15 and sets it)"))
struct DatabaseTransferTests {
    /// The shipped config on `storage`, with Slack pointed at a closed port so its messages stay queued.
    private func writeConfig(_ directory: TemporaryDirectory, _ name: String, storage: [String: Any]) throws -> String {
        var config = try #require(try JSONSerialization.jsonObject(with: Data(ConfigFixture.shipped.utf8)) as? [String: Any])
        var platforms = config["platforms"] as? [String: Any] ?? [:]
        platforms["slack"] = [
            "signingSecret": "8f742231b10e8888abcd99yyyzzz85a5", "botToken": "xoxb-unused", "announceChannel": "C0INCIDENTS",
            "apiBaseURL": "http://127.0.0.1:9/api",
        ]
        config["platforms"] = platforms
        config["storage"] = storage
        let path = directory.file(name)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func klaxon(_ arguments: [String], _ directory: TemporaryDirectory, _ environment: [String: String] = [:]) async throws -> (Int32, String) {
        try await KlaxonChildProcess.run(arguments, directory: directory.path, environment: environment, timeout: .seconds(60))
    }

    /// The rows of an export, by table.
    private func tables(_ path: String) throws -> [String: Int] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            counts[try #require(object["table"] as? String), default: 0] += 1
        }
        return counts
    }

    @Test("SQLite → PostgreSQL → SQLite keeps every row; a non-empty target, another schema version and a failing row write nothing")
    func roundTrip() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let source = try writeConfig(directory, "sqlite-a.json", storage: ["sqlite": ["path": directory.file("a.sqlite")]])
        let postgres = try writeConfig(directory, "postgres.json", storage: ["postgres": ["url": "${DATABASE_URL}", "poolSize": 2]])
        let back = try writeConfig(directory, "sqlite-c.json", storage: ["sqlite": ["path": directory.file("c.sqlite")]])
        let environment = ["DATABASE_URL": try await TestPostgres.newDatabase()]

        // A database made by real commands: declarations (timers, queued announcements), notes, updates,
        // an acknowledgement, an override, a resolution.
        let daemon = try KlaxonChildProcess(["serve", "--config", source, "--port", "0"], directory: directory.path)
        defer { daemon.kill() }
        let url = try await daemon.listeningURL()
        for command in [
            "declare sev1 Payments failing", "declare sev2 Search is slow", "note INC-1 checking the replica", "ack INC-1",
            "note INC-2 reindexing", "oncall override @bob for 4h", "declare sev3 Typo on the status page", "resolve INC-3",
        ] {
            let (status, output) = try await klaxon(["cmd", "--url", url, "--user", "alice", command], directory)
            #expect(status == 0, "\(command): \(output)")
        }
        daemon.terminate()
        #expect(await daemon.waitForExit(timeout: .seconds(15)))
        // Console commands carry no inbound key and set no cursor: a platform's deliveries would. Written
        // through the store as the Slack and Rocket.Chat paths write them, so those tables travel too.
        let store = try await SQLiteIncidentStore.open(path: directory.file("a.sqlite"))
        for key in ["slack:event:Ev0TRANSFER1", "slack:command:trigger-transfer-2"] {
            var seen = ChangeSet()
            seen.inboundKey = key
            try await store.commit(seen)
        }
        try await store.setCursor("rocketchat:GENERAL", value: "2026-12-07T15:00:00.000Z")
        try await store.close()

        let exportA = directory.file("a.jsonl")
        let (exported, exportOutput) = try await klaxon(["export-db", "--config", source, "--output", exportA], directory)
        #expect(exported == 0, "\(exportOutput)")
        #expect(exportOutput.contains("not copied: schema_migrations, leases"))
        let counts = try tables(exportA)
        for table in [
            "incident_number_counter", "incident_day_counters", "incidents", "timeline", "timers", "outbox", "oncall_overrides", "rotation_handoffs",
            "console_messages", "audit_log",
        ] {
            #expect(counts[table, default: 0] > 0, "no \(table) rows in the export: \(counts)")
        }
        #expect(counts["incidents"] == 3)
        #expect(counts["processed_inbound"] == 2, "\(counts)")
        #expect(counts["inbound_cursors"] == 1, "\(counts)")

        let (imported, importOutput) = try await klaxon(["import-db", "--config", postgres, "--input", exportA], directory, environment)
        #expect(imported == 0, "\(importOutput)")
        #expect(importOutput.contains("imported \(counts.values.reduce(0, +)) rows"), "\(importOutput)")

        // Into a database that already holds rows: refused, nothing written.
        let (again, againOutput) = try await klaxon(["import-db", "--config", postgres, "--input", exportA], directory, environment)
        #expect(again == 1)
        #expect(againOutput.contains("import-db refused, nothing written: the database is not empty"), "\(againOutput)")

        let exportB = directory.file("b.jsonl")
        let (fromPostgres, fromPostgresOutput) = try await klaxon(["export-db", "--config", postgres, "--output", exportB], directory, environment)
        #expect(fromPostgres == 0, "\(fromPostgresOutput)")
        let (intoSQLite, intoSQLiteOutput) = try await klaxon(["import-db", "--config", back, "--input", exportB], directory)
        #expect(intoSQLite == 0, "\(intoSQLiteOutput)")
        let exportC = directory.file("c.jsonl")
        let (fromC, fromCOutput) = try await klaxon(["export-db", "--config", back, "--output", exportC], directory)
        #expect(fromC == 0, "\(fromCOutput)")

        // Every row of every table, the same on all three (the lines are written with sorted keys).
        let a = try String(contentsOfFile: exportA, encoding: .utf8)
        #expect(try String(contentsOfFile: exportB, encoding: .utf8) == a)
        #expect(try String(contentsOfFile: exportC, encoding: .utf8) == a)

        // The imported database works on: the next declaration is INC-4 (counters and ids carried over).
        let restarted = try KlaxonChildProcess(["serve", "--config", postgres, "--port", "0"], directory: directory.path, environment: environment)
        defer { restarted.kill() }
        let restartedURL = try await restarted.listeningURL()
        let (declared, declaredOutput) = try await klaxon(["cmd", "--url", restartedURL, "--user", "alice", "declare sev2 After the move"], directory)
        #expect(declared == 0 && declaredOutput.contains("Declared INC-4"), "\(declaredOutput)")
        let (listed, list) = try await klaxon(["incident", "--url", restartedURL, "list"], directory)
        #expect(listed == 0 && list.contains("INC-2 · SEV2"), "\(list)")
        restarted.terminate()
        #expect(await restarted.waitForExit(timeout: .seconds(30)), "\(restarted.output)")

        // Another schema version: refused before anything is written.
        let older = directory.file("older.jsonl")
        try a.replacingOccurrences(of: "\"schemaVersion\":", with: "\"schemaVersion\":1").write(toFile: older, atomically: true, encoding: .utf8)
        let fresh = try writeConfig(directory, "sqlite-d.json", storage: ["sqlite": ["path": directory.file("d.sqlite")]])
        let (refused, refusedOutput) = try await klaxon(["import-db", "--config", fresh, "--input", older], directory)
        #expect(refused == 1)
        #expect(refusedOutput.contains("the export is at schema version 1"), "\(refusedOutput)")

        // A row that breaks the schema (an incident id twice) fails the import: nothing of it is kept.
        let broken = directory.file("broken.jsonl")
        let firstIncident = try #require(a.split(separator: "\n").first { $0.contains("\"table\":\"incidents\"") })
        try (a + firstIncident + "\n").write(toFile: broken, atomically: true, encoding: .utf8)
        let (failed, failedOutput) = try await klaxon(["import-db", "--config", fresh, "--input", broken], directory)
        #expect(failed == 1)
        #expect(failedOutput.contains("import-db failed, nothing written"), "\(failedOutput)")
        let brokenPostgres = ["DATABASE_URL": try await TestPostgres.newDatabase()]
        let (failedPostgres, failedPostgresOutput) = try await klaxon(["import-db", "--config", postgres, "--input", broken], directory, brokenPostgres)
        #expect(failedPostgres == 1)
        #expect(failedPostgresOutput.contains("import-db failed, nothing written"), "\(failedPostgresOutput)")
        for (config, environment) in [(fresh, [:]), (postgres, brokenPostgres)] {
            let empty = directory.file("empty.jsonl")
            let (status, output) = try await klaxon(["export-db", "--config", config, "--output", empty], directory, environment)
            #expect(status == 0, "\(output)")
            #expect(try String(contentsOfFile: empty, encoding: .utf8).isEmpty, "rows were left by a failed import into \(config)")
        }
    }
}
