import Foundation
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

    /// The kill moment is drawn from a seed (not the system's randomness), so a failure names what to rerun.
    @Test("reminders every 2 s survive kill -9 and a restart: none lost, none doubled, the grid kept", arguments: [UInt64(0x6B1A_0000_0016)])
    func killNineAndRestart(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let killAfter = Int.random(in: 0...1200, using: &random)
        let directory = try TemporaryDirectory("klaxon-loopback")
        defer { directory.remove() }
        let storePath = directory.file("klaxon.sqlite")
        let configPath = try Self.writeConfig(in: directory, storePath: storePath)

        let first = try KlaxonChildProcess(["serve", "--config", configPath, "--port", "0"], directory: directory.path)
        defer { first.kill() }
        let firstURL = try await first.listeningURL()
        let reply = try await HTTP.post("\(firstURL)/api/commands", json: ["text": "declare sev1 Loopback reminders", "user": "alice"])
        #expect(reply.contains("Declared INC-1"), "\(reply)")

        // One reminder delivered, then kill -9 at a drawn moment before the next one is due.
        #expect(
            try await eventually(timeout: .seconds(6)) { try await HTTP.reminderCount(firstURL) >= 1 }, "no reminder from the first process:\n\(first.output)")
        try await Task.sleep(for: .milliseconds(killAfter))
        first.kill()
        #expect(await eventually(timeout: .seconds(5)) { !first.isRunning })

        let second = try KlaxonChildProcess(["serve", "--config", configPath, "--port", "0"], directory: directory.path)
        defer { second.kill() }
        let secondURL = try await second.listeningURL()
        let seenAtRestart = try await HTTP.reminderCount(secondURL)
        #expect(
            try await eventually(timeout: .seconds(10)) { try await HTTP.reminderCount(secondURL) >= seenAtRestart + 3 },
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
