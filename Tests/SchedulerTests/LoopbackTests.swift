import Foundation
import FoundationNetworking
import IncidentCore
import KlaxonTestSupport
import Storage
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real binary, real time, real loopback HTTP: a 2-second cadence, a `kill -9` between two reminders
/// and a restart on the same SQLite file. Every slot of the grid is covered by exactly one reminder.
@Suite("Reminders across kill -9 (real process, real time)", .serialized)
struct LoopbackTests {
    static let cadence: TimeInterval = 2

    @Test("reminders every 2 s survive kill -9 and a restart: none lost, none doubled, the grid kept")
    func killNineAndRestart() async throws {
        guard let binary = KlaxonBinary.path else {
            Issue.record("the klaxon binary was not found next to the test bundle (\(KlaxonBinary.candidates)); build it with `swift build` first")
            return
        }
        let directory = try TemporaryDirectory("klaxon-loopback")
        defer { directory.remove() }
        let storePath = directory.file("klaxon.sqlite")
        let configPath = try Self.writeConfig(in: directory, storePath: storePath)

        let first = try DaemonProcess(binary: binary, config: configPath, directory: directory.path)
        defer { first.kill() }
        let firstURL = try await first.listeningURL()
        let reply = try await HTTP.post("\(firstURL)/api/commands", json: ["text": "declare sev1 Loopback reminders", "user": "alice"])
        #expect(reply.contains("Declared INC-1"), "\(reply)")

        // One reminder delivered, then kill -9 at a random moment before the next one is due.
        #expect(try await eventually(timeout: .seconds(6)) { try await HTTP.reminderCount(firstURL) >= 1 }, "no reminder from the first process:\n\(first.output)")
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...1200)))
        first.kill()
        #expect(await eventually(timeout: .seconds(5)) { !first.isRunning })

        let second = try DaemonProcess(binary: binary, config: configPath, directory: directory.path)
        defer { second.kill() }
        let secondURL = try await second.listeningURL()
        let seenAtRestart = try await HTTP.reminderCount(secondURL)
        #expect(try await eventually(timeout: .seconds(10)) { try await HTTP.reminderCount(secondURL) >= seenAtRestart + 3 },
                "the restarted daemon did not keep reminding:\n\(second.output)")
        second.terminate()
        #expect(await eventually(timeout: .seconds(10)) { !second.isRunning }, "SIGTERM did not stop the daemon")
        #expect(second.terminationStatus == 0, "\(second.output)")

        // Read what happened from the file itself.
        let store = try await SQLiteIncidentStore.open(path: storePath, logger: quietLogger)
        let incident = try #require(try await store.incident(IncidentID(1)))
        let reminders = try await store.timeline(of: incident.id).filter { $0.kind == .reminder }
        var covered: [Int] = []
        for reminder in reminders {
            // The last grid slot that had come due when it fired, and how many it stands for.
            let last = Int(((reminder.at.timeIntervalSince(incident.declaredAt) + 0.005) / Self.cadence).rounded(.down))
            let missed = Self.missedCount(reminder.text)
            covered += missed > 0 ? Array((last - missed + 1)...last) : [last]
        }
        #expect(covered == Array(1...(covered.last ?? 0)), "grid slots covered by the reminders (each exactly once): \(covered)\n\(reminders.map(\.text))")
        #expect(covered.count >= 4, "at least one reminder before the kill and three after the restart")
        let pending = try await store.pendingTimers(of: incident.id).first { $0.kind == .updateReminder }
        let nextDue = incident.declaredAt.addingTimeInterval(Double((covered.last ?? 0) + 1) * Self.cadence)
        #expect(abs((pending?.dueAt ?? .distantPast).timeIntervalSince(nextDue)) < 0.002, "the next reminder is on the grid")

        let room = try #require(incident.room?.channelID)
        var delivered: [ConsoleMessage] = []
        while true {
            let page = try await store.consoleMessages(after: delivered.last?.id ?? 0, limit: 1000)
            if page.isEmpty { break }
            delivered += page
        }
        #expect(delivered.filter { $0.channel == room && $0.text.hasPrefix("⏰") }.count == reminders.count, "each reminder delivered once")
        try await store.close()
    }

    /// "… (3 missed while Klaxon was down)" → 3; 0 when the reminder was on time.
    static func missedCount(_ text: String) -> Int {
        guard let range = text.range(of: " missed while Klaxon was down") else { return 0 }
        return Int(text[..<range.lowerBound].split(separator: "(").last ?? "") ?? 0
    }

    /// The shipped defaults with a 2-second sev1 cadence and nothing else on a timer for sev1.
    static func writeConfig(in directory: TemporaryDirectory, storePath: String) throws -> String {
        var config = try JSONSerialization.jsonObject(with: Data(ConfigLoader.embeddedDefaultJSON.utf8)) as! [String: Any]
        config["storage"] = ["sqlite": ["path": storePath]]
        config["logging"] = ["level": "info", "format": "plain"]
        var incidents = config["incidents"] as! [String: Any]
        incidents["overdueAfterCadences"] = 1000
        config["incidents"] = incidents
        var severities = config["severities"] as! [[String: Any]]
        severities[0]["updateEvery"] = "2s"
        severities[0]["page"] = false
        severities[0]["ackWithin"] = nil
        severities[0]["escalateAfter"] = nil
        config["severities"] = severities
        let path = directory.file("bot-config.json")
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: path))
        return path
    }
}

enum KlaxonBinary {
    /// Where SwiftPM puts the executable: next to the test bundle.
    static var candidates: [String] {
        [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("klaxon").path,
            Bundle.main.bundleURL.appendingPathComponent("klaxon").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("klaxon").path,
        ]
    }

    static var path: String? { candidates.first { FileManager.default.isExecutableFile(atPath: $0) } }
}

/// `klaxon serve` as a child process on a free port, its output collected.
final class DaemonProcess: @unchecked Sendable {
    // @unchecked: `collected` is only touched under `lock`; `process` is set up before `run()` and then
    // only used through its own thread-safe accessors.
    private let process = Process()
    private let lock = NSLock()
    private var collected = ""

    init(binary: String, config: String, directory: String) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", config, "--port", "0"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.collected += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var output: String { lock.withLock { collected } }
    var isRunning: Bool { process.isRunning }
    var terminationStatus: Int32 { process.terminationStatus }

    /// `kill -9`.
    func kill() { send(SIGKILL) }

    /// SIGTERM: a graceful shutdown.
    func terminate() { send(SIGTERM) }

    private func send(_ signal: Int32) {
        guard process.isRunning else { return }
        signalProcess(process.processIdentifier, signal)
    }

    /// The base URL from the "listening" log line.
    func listeningURL() async throws -> String {
        var url: String?
        _ = await eventually(timeout: .seconds(20)) {
            url = output.split(separator: "\n").first { $0.contains("listening") && $0.contains("http://") }
                .flatMap { line in line.range(of: "http://").map { String(line[$0.lowerBound...].prefix { !$0.isWhitespace }) } }
            return url != nil || !process.isRunning
        }
        guard let url else { throw HTTP.Failure(description: "klaxon did not start:\n\(output)") }
        return url
    }
}

/// `kill(2)`, outside `DaemonProcess` whose `kill()` would shadow it.
private func signalProcess(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}

enum HTTP {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func post(_ url: String, json: [String: String]) async throws -> String {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: json)
        let (data, _) = try await URLSession.shared.data(for: request)
        return String(decoding: data, as: UTF8.self)
    }

    /// How many update reminders `GET /api/messages` shows.
    static func reminderCount(_ base: String) async throws -> Int {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "\(base)/api/messages?limit=5000")!)
        guard let messages = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw Failure(description: "GET /api/messages: \(String(decoding: data, as: UTF8.self))")
        }
        return messages.filter { ($0["text"] as? String)?.hasPrefix("⏰") == true }.count
    }
}
