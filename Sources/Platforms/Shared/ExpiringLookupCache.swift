import Foundation
import IncidentCore
import Synchronization

/// The answers of a slow lookup (a chat server's user record) kept for a while: found ones for
/// `foundFor`, failures (nil) for `failedFor`, so that a server that is slow or down is not asked again
/// on every command. Two lookups of one key at once may both ask; the later answer simply wins.
///
/// Bounded: at most `maxEntries` answers. A full cache first forgets what has expired, then the answers
/// closest to expiring, a tenth of it at once, so a stream of distinct keys (anyone may type a command)
/// costs a scan per tenth of the bound, not per lookup, and never grows memory.
final class ExpiringLookupCache<Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value?
        var expires: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let clock: any WallClock
    private let foundFor: TimeInterval
    private let failedFor: TimeInterval
    let maxEntries: Int

    init(clock: any WallClock, foundFor: TimeInterval, failedFor: TimeInterval, maxEntries: Int = 10_000) {
        self.clock = clock
        self.foundFor = foundFor
        self.failedFor = failedFor
        self.maxEntries = max(1, maxEntries)
    }

    /// How many answers are kept now.
    var count: Int { entries.withLock(\.count) }

    /// The cached answer for `key` while it is fresh, else what `lookup` says now (and keeps it).
    func value(for key: String, lookup: () async -> Value?) async -> Value? {
        if let entry = entries.withLock({ $0[key] }), entry.expires > clock.now() { return entry.value }
        let value = await lookup()
        let now = clock.now()
        let expires = now.addingTimeInterval(value == nil ? failedFor : foundFor)
        entries.withLock { entries in
            if entries[key] == nil, entries.count >= maxEntries { Self.evict(&entries, now: now, keep: maxEntries - max(1, maxEntries / 10)) }
            entries[key] = Entry(value: value, expires: expires)
        }
        return value
    }

    private static func evict(_ entries: inout [String: Entry], now: Date, keep: Int) {
        entries = entries.filter { $0.value.expires > now }
        guard entries.count > keep else { return }
        let soonest = entries.sorted { $0.value.expires < $1.value.expires }.prefix(entries.count - keep).map(\.key)
        for key in soonest { entries.removeValue(forKey: key) }
    }
}
