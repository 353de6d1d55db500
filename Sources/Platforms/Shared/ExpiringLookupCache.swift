import Foundation
import IncidentCore
import Synchronization

/// The answers of a slow lookup (a chat server's user record) kept for a while: found ones for
/// `foundFor`, failures (nil) for `failedFor`, so that a server that is slow or down is not asked again
/// on every command. Two lookups of one key at once may both ask; the later answer simply wins.
final class ExpiringLookupCache<Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value?
        var expires: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let clock: any WallClock
    private let foundFor: TimeInterval
    private let failedFor: TimeInterval

    init(clock: any WallClock, foundFor: TimeInterval, failedFor: TimeInterval) {
        self.clock = clock
        self.foundFor = foundFor
        self.failedFor = failedFor
    }

    /// The cached answer for `key` while it is fresh, else what `lookup` says now (and keeps it).
    func value(for key: String, lookup: () async -> Value?) async -> Value? {
        if let entry = entries.withLock({ $0[key] }), entry.expires > clock.now() { return entry.value }
        let value = await lookup()
        let expires = clock.now().addingTimeInterval(value == nil ? failedFor : foundFor)
        entries.withLock { $0[key] = Entry(value: value, expires: expires) }
        return value
    }
}
