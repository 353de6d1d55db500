import Foundation
import KlaxonTestSupport
import Testing

/// The built `klaxon` binary, next to the test bundle.
func klaxonBinary() throws -> String {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("klaxon").path,
        Bundle.main.bundleURL.appendingPathComponent("klaxon").path,
        Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("klaxon").path,
    ]
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        throw HarnessError("klaxon binary not found next to the test bundle (looked in \(candidates))")
    }
    return found
}

/// A `klaxon` child process whose output is collected.
final class KlaxonProcess: @unchecked Sendable {
    // @unchecked: `output` is only touched under `lock`; `process` is configured before `run()` and
    // afterwards only read through Process's own thread-safe accessors.
    let process = Process()
    private let lock = NSLock()
    private var output = ""

    init(_ arguments: [String], directory: String) throws {
        process.executableURL = URL(fileURLWithPath: try klaxonBinary())
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.output += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var text: String { lock.withLock { output } }

    /// Runs to completion and returns (exit status, output).
    static func run(_ arguments: [String], directory: String) async throws -> (Int32, String) {
        let child = try KlaxonProcess(arguments, directory: directory)
        _ = try await eventually(timeout: .seconds(30)) { !child.process.isRunning }
        try await Task.sleep(for: .milliseconds(50))
        return (child.process.terminationStatus, child.text)
    }

    /// The URL from the daemon's "listening" log line.
    func listeningURL() async throws -> String {
        var url: String?
        _ = try await eventually(timeout: .seconds(20)) {
            url = text.split(separator: "\n").first { $0.contains("listening") && $0.contains("http://") }
                .flatMap { line in line.range(of: "http://").map { String(line[$0.lowerBound...].prefix { !$0.isWhitespace }) } }
            return url != nil || !process.isRunning
        }
        guard let url else { throw HarnessError("daemon did not start:\n\(text)") }
        return url
    }
}

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
    @Test("check-config: OK for the shipped config, one line per problem with its JSON path otherwise; serve refuses a broken config")
    func checkConfig() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let good = try writeConfig(directory, storePath: directory.file("k.sqlite"))
        let (okStatus, okOutput) = try await KlaxonProcess.run(["check-config", "--config", good], directory: directory.path)
        #expect(okStatus == 0, "\(okOutput)")
        #expect(okOutput.contains("OK"))

        let bad = directory.file("bad.json")
        try #"""
        {"server": {"prot": 8080}, "severities": [{"id": "sev1", "name": "Critical", "updateEvery": "-5m"}]}
        """#.write(toFile: bad, atomically: true, encoding: .utf8)
        let (badStatus, badOutput) = try await KlaxonProcess.run(["check-config", "--config", bad], directory: directory.path)
        #expect(badStatus == 1)
        #expect(badOutput.contains(#"severities[0].updateEvery: "-5m" is not a duration"#), "\(badOutput)")
        #expect(badOutput.contains("server.prot: unknown key"), "\(badOutput)")

        let (serveStatus, serveOutput) = try await KlaxonProcess.run(["serve", "--config", bad, "--port", "0"], directory: directory.path)
        #expect(serveStatus == 1)
        #expect(serveOutput.contains("refusing to start"))
        #expect(serveOutput.contains("severities[0].updateEvery"))
    }

    @Test("kill -9 loses no acknowledged command; SIGTERM drains and exits 0")
    func killNineThenSigterm() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try writeConfig(directory, storePath: directory.file("k.sqlite"))

        let first = try KlaxonProcess(["serve", "--config", config, "--port", "0"], directory: directory.path)
        let url = try await first.listeningURL()
        // Every command the daemon answered is durable, whatever happens right after.
        for n in 1...20 {
            let (status, output) = try await KlaxonProcess.run(["cmd", "--url", url, "--user", "alice", "declare sev2 Incident number \(n)"], directory: directory.path)
            #expect(status == 0, "\(output)")
            #expect(output.contains("Declared INC-\(n)"))
        }
        kill(first.process.processIdentifier, SIGKILL)
        _ = try await eventually { !first.process.isRunning }

        let second = try KlaxonProcess(["serve", "--config", config, "--port", "0"], directory: directory.path)
        let secondURL = try await second.listeningURL()
        let (listStatus, list) = try await KlaxonProcess.run(["incident", "--url", secondURL, "list"], directory: directory.path)
        #expect(listStatus == 0)
        for n in 1...20 {
            #expect(list.contains("INC-\(n) · SEV2 · Declared · Incident number \(n) "), "INC-\(n) missing after kill -9:\n\(list)")
        }
        // The CLI's shortcut keeps a quoted title whole.
        let (declareStatus, declared) = try await KlaxonProcess.run(["incident", "--url", secondURL, "declare", "sev3", "Export button broken"], directory: directory.path)
        #expect(declareStatus == 0)
        #expect(declared.contains("Declared INC-21 · SEV3 · Export button broken"))

        kill(second.process.processIdentifier, SIGTERM)
        #expect(try await eventually(timeout: .seconds(15)) { !second.process.isRunning })
        #expect(second.process.terminationStatus == 0, "\(second.text)")
        #expect(second.text.contains("klaxon stopped"))
    }
}
