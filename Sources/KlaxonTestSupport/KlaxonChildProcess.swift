import Foundation

/// The built `klaxon` executable run as a child process with its output collected: for the tests of the
/// binary itself (the CLI, `kill -9`, SIGTERM).
public final class KlaxonChildProcess: @unchecked Sendable {
    // @unchecked: `collected`, `outputEnded` and `exit` are only touched under `lock`; `pid` and `input`
    // are set in init and never change.
    //
    // Spawned with posix_spawn, not Foundation's `Process`: on Linux, `Process.run()` over-reads a
    // directory entry while scanning /proc/self/fd and crashes now and then (seen here about one run in
    // five of the suite; swift-corelibs-foundation's fix is not in this toolchain).
    private let pid: pid_t
    private let lock = NSLock()
    private var collected = ""
    /// The child's output has been read to its end (all its writers closed it: it exited).
    private var outputEnded = false
    private var exit: Int32?
    /// The write end of the child's standard input, when it was asked for (nil: /dev/null).
    private let input: Int32?

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

    /// Starts any executable the same way: a real peer of Klaxon's tests (Alertmanager, say). Its standard
    /// output and error are collected; `keepInput` gives it a standard input that stays open until
    /// `closeInput()` (else /dev/null).
    public init(executable: String, _ arguments: [String], directory: String, environment: [String: String] = [:], keepInput: Bool = false) throws {
        // One spawn at a time in this process, so no child inherits another's pipe before it is marked
        // close-on-exec.
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        var output: [Int32] = [0, 0]
        var standardInput: [Int32] = [-1, -1]
        guard Self.closeOnExecPipe(&output), !keepInput || Self.closeOnExecPipe(&standardInput) else {
            throw Failure(description: "pipe failed: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, output[1], 2)
        if keepInput {
            posix_spawn_file_actions_adddup2(&actions, standardInput[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        // The working directory through env(1) -C, so nothing changes this process's own.
        let argv = ["/usr/bin/env", "-C", directory, executable] + arguments
        let variables = ProcessInfo.processInfo.environment.merging(environment) { _, given in given }.map { "\($0.key)=\($0.value)" }
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = variables.map { strdup($0) } + [nil]
        defer {
            for pointer in cArguments { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, "/usr/bin/env", &actions, nil, cArguments, cEnvironment)
        close(output[1])
        if keepInput { close(standardInput[0]) }
        guard status == 0 else {
            close(output[0])
            if keepInput { close(standardInput[1]) }
            throw Failure(description: "posix_spawn \(executable) failed: \(String(cString: strerror(status)))")
        }
        pid = child
        input = keepInput ? standardInput[1] : nil
        let reader = output[0]
        Self.readUntilEndOfFile(
            descriptor: reader,
            receive: { [weak self] data in
                guard let self else { return }
                self.lock.withLock { self.collected += String(decoding: data, as: UTF8.self) }
            },
            end: { [weak self] in
                guard let self else { return }
                self.lock.withLock { self.outputEnded = true }
            })
    }

    private static let spawnLock = NSLock()

    /// A pipe whose two ends are not inherited by children (the spawn's dup2 copies are).
    private static func closeOnExecPipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        return true
    }

    /// Reads `descriptor` on a thread of its own with blocking reads until end of file, handing each
    /// chunk to `receive`, then closes it and calls `end`. (Not a dispatch source: one that outlived its
    /// descriptor crashed libdispatch when the number was reused.)
    static func readUntilEndOfFile(descriptor: Int32, receive: @escaping @Sendable (Data) -> Void, end: @escaping @Sendable () -> Void) {
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                receive(Data(buffer[0..<count]))
            }
            close(descriptor)
            end()
        }
        reader.name = "child-output"
        reader.start()
    }

    /// Closes the child's standard input (when it has one of its own).
    public func closeInput() {
        if let input { close(input) }
    }

    /// Standard output and error so far.
    public var output: String { lock.withLock { collected } }
    public var processIdentifier: Int32 { pid }

    public var isRunning: Bool { exitStatus == nil }

    /// The exit code, or the number of the signal that ended it; -1 while it runs.
    public var terminationStatus: Int32 { exitStatus ?? -1 }

    /// Reaps the child once it has exited (waitpid, not blocking) and remembers how.
    private var exitStatus: Int32? {
        lock.withLock {
            if let exit { return exit }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG, which are C macros.
            let signal = status & 0x7f
            exit = signal == 0 ? (status >> 8) & 0xff : signal
            return exit
        }
    }

    /// `kill -9`.
    public func kill() { send(SIGKILL) }

    /// SIGTERM: a graceful shutdown.
    public func terminate() { send(SIGTERM) }

    private func send(_ signal: Int32) {
        guard isRunning else { return }
        sendSignal(pid, signal)
    }

    /// Polls every 10 ms of real time until the process has exited, for up to `timeout`; then until its
    /// output has been read to the end, so `output` holds its last lines: the reader may get them just
    /// after the exit (a test once missed the daemon's final "klaxon stopped" line that way). That takes
    /// a moment, or up to a second more if something the child started still holds the pipe open.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(15)) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        guard !isRunning else { return false }
        let outputDeadline = ContinuousClock.now.advanced(by: .seconds(1))
        while !lock.withLock({ outputEnded }), ContinuousClock.now < outputDeadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// The base URL from the daemon's "listening" log line.
    /// The bound is generous on purpose: a loaded CI machine (the suite runs tests in parallel on two cores)
    /// can take tens of seconds to exec and start a debug binary; a daemon that starts returns at once.
    public func listeningURL(timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            let url = output.split(separator: "\n").first { $0.contains("listening") && $0.contains("http://") }
                .flatMap { line in line.range(of: "http://").map { String(line[$0.lowerBound...].prefix { !$0.isWhitespace }) } }
            if let url { return url }
            if !isRunning { break }
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
        return (child.terminationStatus, child.output)
    }
}

/// `kill(2)`, outside the class whose `kill()` would shadow it.
private func sendSignal(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}
