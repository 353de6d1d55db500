import Foundation

/// The built `klaxon` executable run as a child process with its output collected: for the tests of the
/// binary itself (the CLI, `kill -9`, SIGTERM).
public final class KlaxonChildProcess: @unchecked Sendable {
    // @unchecked: `collected` is only touched under `lock`; `process` is configured before `run()` and
    // afterwards only used through Process's own thread-safe accessors (isRunning, terminationStatus,
    // processIdentifier).
    private let process = Process()
    private let lock = NSLock()
    private var collected = ""

    /// Where SwiftPM puts the executable: next to the test bundle.
    public static var candidates: [String] {
        [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("klaxon").path,
            Bundle.main.bundleURL.appendingPathComponent("klaxon").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("klaxon").path,
        ]
    }

    public static var binaryPath: String? { candidates.first { FileManager.default.isExecutableFile(atPath: $0) } }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `klaxon <arguments>` in `directory`, with `environment` added to (or replacing in) this
    /// process's own.
    public convenience init(_ arguments: [String], directory: String, environment: [String: String] = [:]) throws {
        guard let binary = Self.binaryPath else {
            throw Failure(description: "the klaxon binary was not found next to the test bundle (looked in \(Self.candidates)); build it first")
        }
        try self.init(executable: binary, arguments, directory: directory, environment: environment)
    }

    /// Starts any executable the same way: a real peer of Klaxon's tests (Alertmanager, say).
    public init(executable: String, _ arguments: [String], directory: String, environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, given in given }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        Self.readUntilEndOfFile(pipe.fileHandleForReading) { [weak self] data in
            guard let self else { return }
            self.lock.withLock { self.collected += String(decoding: data, as: UTF8.self) }
        }
        // One spawn at a time in this process: Foundation's `Process.run()` on Linux crashed (a bad memcpy
        // inside it) when suites running in parallel started children at the same moment.
        try Self.spawnLock.withLock { try process.run() }
    }

    private static let spawnLock = NSLock()

    /// Reads `handle` on a thread of its own with blocking reads until end of file, handing each chunk to
    /// `receive`. Not `readabilityHandler`: its dispatch source outlived the pipe when a test ended
    /// first, and libdispatch then crashed on the reused descriptor.
    public static func readUntilEndOfFile(_ handle: FileHandle, _ receive: @escaping @Sendable (Data) -> Void) {
        let reader = Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                receive(data)
            }
        }
        reader.name = "child-output"
        reader.start()
    }

    /// Standard output and error so far.
    public var output: String { lock.withLock { collected } }
    public var isRunning: Bool { process.isRunning }
    public var processIdentifier: Int32 { process.processIdentifier }
    public var terminationStatus: Int32 { process.terminationStatus }

    /// `kill -9`.
    public func kill() { send(SIGKILL) }

    /// SIGTERM: a graceful shutdown.
    public func terminate() { send(SIGTERM) }

    private func send(_ signal: Int32) {
        guard process.isRunning else { return }
        sendSignal(process.processIdentifier, signal)
    }

    /// Polls every 10 ms of real time until the process has exited, for up to `timeout`.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(15)) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return !process.isRunning
    }

    /// The base URL from the daemon's "listening" log line.
    public func listeningURL(timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            let url = output.split(separator: "\n").first { $0.contains("listening") && $0.contains("http://") }
                .flatMap { line in line.range(of: "http://").map { String(line[$0.lowerBound...].prefix { !$0.isWhitespace }) } }
            if let url { return url }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw Failure(description: "klaxon did not start:\n\(output)")
    }

    /// Runs `klaxon <arguments>` to completion; returns its exit status and output.
    public static func run(
        _ arguments: [String], directory: String, environment: [String: String] = [:], timeout: Duration = .seconds(30)
    ) async throws -> (Int32, String) {
        let child = try KlaxonChildProcess(arguments, directory: directory, environment: environment)
        guard await child.waitForExit(timeout: timeout) else {
            child.kill()
            throw Failure(description: "klaxon \(arguments.joined(separator: " ")) did not finish:\n\(child.output)")
        }
        // The pipe's last bytes may arrive just after the exit.
        try await Task.sleep(for: .milliseconds(50))
        return (child.terminationStatus, child.output)
    }
}

/// `kill(2)`, outside the class whose `kill()` would shadow it.
private func sendSignal(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}
