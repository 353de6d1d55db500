import Foundation

/// A PostgreSQL server of one test's own, for a test that stops and starts it (a network cut): the shared
/// server of `KLAXON_TEST_POSTGRES_URL` serves other tests at the same time and must stay up. Made the
/// way `.ci/postgres.sh` makes that one: Debian's `postgresql-15` binaries (`KLAXON_PG_BIN` overrides
/// the directory), `initdb` and `pg_ctl` in a temporary directory, as the non-root `postgres` user when
/// the tests run as root (initdb refuses root), listening on a free loopback port only.
///
/// `trust` authentication: nothing but this machine's loopback reaches it, and it lives for one test.
public final class TestPostgresCluster: Sendable {
    public static let binDirectory = ProcessInfo.processInfo.environment["KLAXON_PG_BIN"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/lib/postgresql/15/bin"
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binDirectory + "/pg_ctl") }
    public static let skipReason =
        "PostgreSQL's initdb/pg_ctl are not in \(binDirectory) (apt-get install postgresql-15, or set KLAXON_PG_BIN): the test that stops its own PostgreSQL is skipped"

    public let directory: String
    public let port: Int
    /// `postgres://klaxon@127.0.0.1:<port>/postgres?sslmode=disable`
    public var url: String { "postgres://klaxon@127.0.0.1:\(port)/postgres?sslmode=disable" }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// initdb, then the server started on a free port.
    public static func start() async throws -> TestPostgresCluster {
        guard isInstalled else { throw Failure(description: skipReason) }
        let directory = try TemporaryDirectory("klaxon-pg").path
        if getuid() == 0 {
            let (status, output) = try await run("/bin/chown", ["postgres", directory], asPostgres: false)
            guard status == 0 else {
                try? FileManager.default.removeItem(atPath: directory)
                throw Failure(description: "chown postgres \(directory) failed (is there a postgres user? the postgresql-15 package makes it): \(output)")
            }
        }
        let (status, output) = try await run(
            binDirectory + "/initdb", ["-D", directory + "/data", "-U", "klaxon", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        guard status == 0 else {
            try? FileManager.default.removeItem(atPath: directory)
            throw Failure(description: "initdb failed:\n\(output)")
        }
        // A port the kernel has just handed out and taken back: free, unless something takes it in between
        // (then the next try gets another).
        var lastOutput = ""
        for _ in 0..<5 {
            let cluster = TestPostgresCluster(directory: directory, port: try freePort())
            let (status, output) = try await cluster.pgctl(["start", "-w", "-t", "30"])
            if status == 0 { return cluster }
            lastOutput = output + ((try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "")
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw Failure(description: "PostgreSQL did not start:\n\(lastOutput)")
    }

    /// Stops the server (`-m fast`: connections are closed at once, as a crashed or cut-off server's are).
    public func stop() async throws {
        let (status, output) = try await pgctl(["stop", "-m", "fast", "-w", "-t", "30"])
        guard status == 0 else { throw Failure(description: "pg_ctl stop failed:\n\(output)") }
    }

    /// Starts it again on the same port.
    public func restart() async throws {
        let (status, output) = try await pgctl(["start", "-w", "-t", "30"])
        guard status == 0 else {
            throw Failure(description: "pg_ctl start failed:\n\(output)\((try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? "")")
        }
    }

    /// Stops the server if it runs and removes its directory.
    public func remove() async {
        _ = try? await pgctl(["stop", "-m", "immediate", "-w", "-t", "30"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func pgctl(_ arguments: [String]) async throws -> (Int32, String) {
        let options = "-k \(directory) -p \(port) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        return try await Self.run(Self.binDirectory + "/pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-o", options] + arguments)
    }

    /// Runs a PostgreSQL program to completion, as `postgres` when this process is root.
    private static func run(_ executable: String, _ arguments: [String], asPostgres: Bool = true) async throws -> (Int32, String) {
        let (program, argv) =
            asPostgres && getuid() == 0
            ? ("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
            : (executable, arguments)
        let child = try KlaxonChildProcess(executable: program, argv, directory: NSTemporaryDirectory())
        guard await child.waitForExit(timeout: .seconds(60)) else {
            child.kill()
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) did not finish:\n\(child.output)")
        }
        return (child.terminationStatus, child.output)
    }

    private static func freePort() throws -> Int {
        let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
