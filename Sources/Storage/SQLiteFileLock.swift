import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One daemon per SQLite file. The store's leases make a second process on the same file safe but slow
/// (it contends for the one write lock, and a killed process's leases must run out before its claims
/// move on), so `klaxon serve` takes this exclusive lock first and a second one started on the same file
/// refuses with the holder's pid and host instead. Several replicas need PostgreSQL (docs/scaling.md).
///
/// The lock is `flock(2)` on `<database>.lock`: the kernel releases it when the holder exits, however it
/// exits (`kill -9` included), so there is never a stale lock to clean up. The file's text only names
/// the holder for the message; it is never trusted for anything else.
public final class SQLiteFileLock: Sendable {
    public let lockPath: String
    private let descriptor: Int32

    public struct Held: Error, CustomStringConvertible {
        public var databasePath: String
        public var holder: String
        public var description: String {
            "\(databasePath) is in use by another klaxon (\(holder)). Stop it first, or give this one its own storage.sqlite.path; several replicas on one database need storage.postgres (docs/scaling.md)."
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Takes the lock for the SQLite database at `databasePath`, or throws `Held` naming who has it.
    public init(databasePath: String, now: Date = Date()) throws {
        let lockPath = databasePath + ".lock"
        let directory = (lockPath as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot open \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.contents(of: descriptor)
            close(descriptor)
            if reason == EWOULDBLOCK {
                throw Held(databasePath: databasePath, holder: holder.isEmpty ? "a process that has not written its name yet" : holder)
            }
            throw Failure(description: "cannot lock \(lockPath): \(String(cString: strerror(reason)))")
        }
        let host = ProcessInfo.processInfo.hostName
        // Foundation's ISO8601DateFormatter loads ICU's calendar, number and zone data (about 3 MB resident
        // for the daemon's lifetime); the format style is plain Swift.
        let stamp = now.formatted(Date.ISO8601FormatStyle())
        let line = "pid \(getpid()) on \(host), started \(stamp)"
        _ = ftruncate(descriptor, 0)
        _ = line.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        self.lockPath = lockPath
        self.descriptor = descriptor
    }

    /// Releases the lock (also released by the kernel when the process ends).
    deinit {
        close(descriptor)
    }

    private static func contents(of descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 256, 0) }
        guard count > 0 else { return "" }
        return String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
