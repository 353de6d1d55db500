import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOCore
import NIOHTTP1
import Platforms
import Synchronization
import Testing

func writeConfig(_ directory: TemporaryDirectory, storePath: String, extra: String = "") throws -> String {
    var json = ConfigFixture.shipped
    json = json.replacingOccurrences(of: "\"path\": \"data/klaxon.sqlite\"", with: "\"path\": \"\(storePath)\"")
    let path = directory.file("bot-config.json")
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

enum ConfigFixture {
    static var shipped: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("bot-config.json"), encoding: .utf8)) ?? ""
    }
}

@Suite("The klaxon binary", .serialized)
struct ProcessTests {
    /// Issue 12, item 7: with the shipped defaults, 2,000 idle connections (held by a child shell, so the
    /// test process's descriptors stay few) neither stop the daemon nor keep a signed Slack command from
    /// its answer.
    @Test("2,000 idle sockets: a signed Slack command is still answered")
    func twoThousandIdleSockets() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let secret = "8f742231b10e8888abcd99yyyzzz85a5"
        var document = try #require(try JSONSerialization.jsonObject(with: Data(ConfigFixture.shipped.utf8)) as? [String: Any])
        var platforms = document["platforms"] as? [String: Any] ?? [:]
        platforms["slack"] = [
            "signingSecret": secret, "botToken": "xoxb-unused", "announceChannel": "C0INCIDENTS",
            "apiBaseURL": "http://127.0.0.1:9/api",
        ]
        document["platforms"] = platforms
        document["storage"] = ["sqlite": ["path": directory.file("k.sqlite")]]
        let configPath = directory.file("bot-config.json")
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: configPath))
        let daemon = try KlaxonChildProcess(["serve", "--config", configPath, "--port", "0"], directory: directory.path)
        defer { daemon.kill() }
        let url = try await daemon.listeningURL()
        let port = try #require(url.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })

        // It holds the connections until its standard input closes (at the latest when this process ends).
        let holder = try KlaxonChildProcess(
            executable: "/bin/bash",
            ["-c", "for i in $(seq 2000); do exec {fd}<>/dev/tcp/127.0.0.1/\(port) || exit 1; done; echo opened; read -r _"],
            directory: directory.path, keepInput: true)
        defer {
            holder.closeInput()
            holder.terminate()
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !holder.output.contains("opened"), holder.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(holder.output.contains("opened"), "the shell could not open 2,000 connections: \(holder.output)")
        // The daemon takes them all (a descriptor each) as it accepts them from the backlog.
        let descriptors = { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.processIdentifier)/fd").count) ?? 0 }
        let acceptedDeadline = ContinuousClock.now + .seconds(30)
        while descriptors() < 2000, ContinuousClock.now < acceptedDeadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(descriptors() >= 2000, "the daemon has \(descriptors()) descriptors open")

        let body = FormBody.encode([
            ("team_id", "T0FAKE"), ("channel_id", "C0GENERAL"), ("channel_name", "general"), ("user_id", "U0ALICE"), ("user_name", "alice"),
            ("command", "/incident"), ("text", "help"), ("response_url", "http://127.0.0.1:9/response"), ("trigger_id", "t1"),
        ])
        let timestamp = String(Int(Date().timeIntervalSince1970))
        var request = HTTPClientRequest(url: url + "/slack/commands")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "X-Slack-Request-Timestamp", value: timestamp)
        request.headers.add(
            name: "X-Slack-Signature", value: SlackRequestVerifier.signature(signingSecret: Secret(secret), timestamp: timestamp, body: Data(body.utf8)))
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let answer = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status == .ok, "\(answer)")
        #expect(answer.contains("declare"), "\(answer)")
        #expect(daemon.isRunning)
    }

    @Test("check-config: OK for the shipped config, one line per problem with its JSON path otherwise; serve refuses a broken config")
    func checkConfig() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let good = try writeConfig(directory, storePath: directory.file("k.sqlite"))
        let (okStatus, okOutput) = try await KlaxonChildProcess.run(["check-config", "--config", good], directory: directory.path)
        #expect(okStatus == 0, "\(okOutput)")
        #expect(okOutput.contains("OK"))

        let bad = directory.file("bad.json")
        try #"""
        {"server": {"prot": 8080}, "severities": [{"id": "sev1", "name": "Critical", "updateEvery": "-5m"}]}
        """#.write(toFile: bad, atomically: true, encoding: .utf8)
        let (badStatus, badOutput) = try await KlaxonChildProcess.run(["check-config", "--config", bad], directory: directory.path)
        #expect(badStatus == 1)
        #expect(badOutput.contains(#"severities[0].updateEvery: "-5m" is not a duration"#), "\(badOutput)")
        #expect(badOutput.contains("server.prot: unknown key"), "\(badOutput)")

        let (serveStatus, serveOutput) = try await KlaxonChildProcess.run(["serve", "--config", bad, "--port", "0"], directory: directory.path)
        #expect(serveStatus == 1)
        #expect(serveOutput.contains("refusing to start"))
        #expect(serveOutput.contains("severities[0].updateEvery"))
    }

    @Test("serve --host 0.0.0.0 without KLAXON_API_TOKEN refuses to start; with a token, klaxon cmd sends KLAXON_API_TOKEN")
    func apiToken() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try writeConfig(directory, storePath: directory.file("k.sqlite"))
        let noToken = ["KLAXON_API_TOKEN": ""]
        let (exposedStatus, exposed) = try await KlaxonChildProcess.run(
            ["serve", "--config", config, "--host", "0.0.0.0", "--port", "0"], directory: directory.path, environment: noToken)
        #expect(exposedStatus == 1)
        #expect(exposed.contains("refusing to start") && exposed.contains("server.apiToken: required"), "\(exposed)")

        let token = "process-test-token-9c2d41"
        let daemon = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path, environment: ["KLAXON_API_TOKEN": token])
        let url = try await daemon.listeningURL()
        let (refusedStatus, refused) = try await KlaxonChildProcess.run(
            ["cmd", "--url", url, "--user", "alice", "declare sev2 Unauthenticated"], directory: directory.path, environment: noToken)
        #expect(refusedStatus != 0)
        #expect(refused.contains("set KLAXON_API_TOKEN"), "\(refused)")
        let (status, output) = try await KlaxonChildProcess.run(
            ["incident", "--url", url, "--user", "alice", "declare", "sev2", "Authenticated"], directory: directory.path,
            environment: ["KLAXON_API_TOKEN": token])
        #expect(status == 0, "\(output)")
        #expect(output.contains("Declared INC-1 · SEV2 · Authenticated"))
        // `klaxon outbox drop` says who asks; the refusal is audited with it, and `klaxon audit` shows where
        // each API call came from.
        let asBob = ["KLAXON_API_TOKEN": token, "KLAXON_USER": "ops-bob"]
        let (dropStatus, drop) = try await KlaxonChildProcess.run(["outbox", "drop", "--url", url, "999"], directory: directory.path, environment: asBob)
        #expect(dropStatus != 0)
        #expect(drop.contains("no dead outbox message 999"), "\(drop)")
        let (auditStatus, audit) = try await KlaxonChildProcess.run(["audit", "--url", url], directory: directory.path, environment: asBob)
        #expect(auditStatus == 0, "\(audit)")
        let lines = audit.split(separator: "\n")
        #expect(
            lines.contains { $0.contains("rejected") && $0.contains("console ops-bob") && $0.contains("from 127.0.0.1  POST /api/outbox/999/drop") },
            "\(audit)")
        #expect(lines.contains { $0.contains("applied") && $0.contains("from 127.0.0.1  /incident declare sev2 Authenticated") }, "\(audit)")
        daemon.terminate()
        #expect(await daemon.waitForExit())
        #expect(!daemon.output.contains(token))
    }

    @Test("kill -9 loses no acknowledged command; SIGTERM drains and exits 0")
    func killNineThenSigterm() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try writeConfig(directory, storePath: directory.file("k.sqlite"))

        let first = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path)
        let url = try await first.listeningURL()
        // Every command the daemon answered is durable, whatever happens right after.
        for n in 1...20 {
            let (status, output) = try await KlaxonChildProcess.run(
                ["cmd", "--url", url, "--user", "alice", "declare sev2 Incident number \(n)"], directory: directory.path)
            #expect(status == 0, "\(output)")
            #expect(output.contains("Declared INC-\(n)"))
        }
        first.kill()
        #expect(await first.waitForExit())

        let second = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path)
        let secondURL = try await second.listeningURL()
        let (listStatus, list) = try await KlaxonChildProcess.run(["incident", "--url", secondURL, "list"], directory: directory.path)
        #expect(listStatus == 0)
        for n in 1...20 {
            #expect(list.contains("INC-\(n) · SEV2 · Declared · Incident number \(n) "), "INC-\(n) missing after kill -9:\n\(list)")
        }
        // The CLI's shortcut keeps a quoted title whole.
        let (declareStatus, declared) = try await KlaxonChildProcess.run(
            ["incident", "--url", secondURL, "declare", "sev3", "Export button broken"], directory: directory.path)
        #expect(declareStatus == 0)
        #expect(declared.contains("Declared INC-21 · SEV3 · Export button broken"))

        second.terminate()
        #expect(await second.waitForExit(timeout: .seconds(15)))
        #expect(second.terminationStatus == 0, "\(second.output)")
        #expect(second.output.contains("klaxon stopped"))
    }

    /// Issue 16: a second `klaxon serve` on the same SQLite file (a rolling deploy sharing a volume, or a
    /// second start by mistake) refuses to start, naming the file and the process that has it, and the
    /// first keeps serving; once the first is gone (even by kill -9) the file is free again.
    @Test("a second serve on the same SQLite file refuses to start and names the holder")
    func secondServeOnOneSQLiteFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = directory.file("shared.sqlite")
        let config = try writeConfig(directory, storePath: store)
        let first = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path)
        defer { first.kill() }
        let url = try await first.listeningURL()

        let (status, output) = try await KlaxonChildProcess.run(["serve", "--config", config, "--port", "0"], directory: directory.path)
        #expect(status == 1, "\(output)")
        #expect(output.contains("refusing to start: \(store) is in use by another klaxon (pid \(first.processIdentifier) on "), "\(output)")
        #expect(!output.contains("listening"), "\(output)")

        let (declareStatus, declared) = try await KlaxonChildProcess.run(
            ["cmd", "--url", url, "--user", "alice", "declare sev2 Still served"], directory: directory.path)
        #expect(declareStatus == 0 && declared.contains("Declared INC-1"), "\(declared)")

        first.kill()
        #expect(await first.waitForExit())
        let next = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path)
        defer { next.kill() }
        let nextURL = try await next.listeningURL()
        let (_, list) = try await KlaxonChildProcess.run(["incident", "--url", nextURL, "list"], directory: directory.path)
        #expect(list.contains("Still served"), "\(list)")
    }

    @Test("kill -9 while 8 writers hit one incident: every acknowledged note is there after the restart, and none was refused")
    func killNineUnderConcurrentWriters() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try writeConfig(directory, storePath: directory.file("k.sqlite"))
        let first = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path)
        let url = try await first.listeningURL()
        let (status, declared) = try await KlaxonChildProcess.run(["cmd", "--url", url, "declare sev3 Contended incident"], directory: directory.path)
        #expect(status == 0 && declared.contains("Declared INC-1"), "\(declared)")

        let tally = NoteTally()
        let killAfter = 150
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for step in 0..<1_000 {
                        let text = "writer \(writer) step \(step)"
                        var request = HTTPClientRequest(url: url + "/api/commands")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"text": "note INC-1 \#(text)", "user": "writer\#(writer)"}"#))
                        // The kill ends the loop: a request to a dead daemon fails.
                        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)),
                            let body = try? await response.body.collect(upTo: 1 << 20)
                        else { return }
                        let answer = String(buffer: body)
                        let outcome = (try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])?["outcome"] as? String
                        tally.state.withLock { tally in
                            if response.status == .ok, outcome == "applied" {
                                tally.acknowledged.append(text)
                            } else {
                                tally.refused.append("\(response.status.code) \(answer)")
                            }
                        }
                    }
                }
            }
            group.addTask {
                while tally.state.withLock({ $0.acknowledged.count }) < killAfter {
                    try? await Task.sleep(for: .milliseconds(2))
                }
                first.kill()
            }
        }
        #expect(await first.waitForExit())
        let (acknowledged, refused) = tally.state.withLock { ($0.acknowledged, $0.refused) }
        #expect(acknowledged.count >= killAfter)
        #expect(refused.isEmpty, "refused: \(refused.prefix(3))")

        let second = try KlaxonChildProcess(["serve", "--config", config, "--port", "0"], directory: directory.path)
        let secondURL = try await second.listeningURL()
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: secondURL + "/api/incidents/INC-1"), timeout: .seconds(10))
        let incident = String(buffer: try await response.body.collect(upTo: 16 << 20))
        let missing = acknowledged.filter { !incident.contains($0 + "\"") }
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged notes lost, e.g. \(missing.prefix(3))")
        second.terminate()
        #expect(await second.waitForExit(timeout: .seconds(15)))
    }
}

/// What concurrent writers were told, shared between their tasks.
final class NoteTally: Sendable {
    struct Counts {
        var acknowledged: [String] = []
        var refused: [String] = []
    }
    let state = Mutex(Counts())
}
