import Foundation

/// A fresh directory per test, so tests run in parallel on their own SQLite files.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "klaxon") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
