import Foundation
import IncidentCore
import Synchronization

/// What an adapter learnt and keeps in memory for a while: a slow lookup's answers (a chat server's user
/// record, failures too, so a server that is slow or down is not asked again on every command), or what
/// a platform told us once (a channel's id, the bot's direct channel with a user, a status card's `ts`).
/// Each entry is kept for its own time (by default until it is removed or pushed out).
///
/// Bounded: at most `maxEntries`. A full cache first forgets what has expired, then the entries closest to
/// expiring, a tenth of it at once, so a stream of distinct keys (anyone may type a command) costs a scan
/// per tenth of the bound, not per insert, and never grows memory. What is forgotten is learnt again.
final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value
        /// nil: until removed or pushed out.
        var expires: Date?
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let clock: any WallClock
    let maxEntries: Int

    init(clock: any WallClock, maxEntries: Int = 10_000) {
        self.clock = clock
        self.maxEntries = max(1, maxEntries)
    }

    /// How many entries are kept now.
    var count: Int { entries.withLock(\.count) }

    /// The value for `key` while it is fresh.
    subscript(key: Key) -> Value? {
        guard let entry = entries.withLock({ $0[key] }) else { return nil }
        if let expires = entry.expires, expires <= clock.now() { return nil }
        return entry.value
    }

    /// Keeps `value` for `key`, for `keepFor` seconds (nil: until removed or pushed out).
    func set(_ value: Value, for key: Key, keepFor: TimeInterval? = nil) {
        let now = clock.now()
        let expires = keepFor.map { now.addingTimeInterval($0) }
        entries.withLock { entries in
            if entries[key] == nil, entries.count >= maxEntries { Self.evict(&entries, now: now, keep: maxEntries - max(1, maxEntries / 10)) }
            entries[key] = Entry(value: value, expires: expires)
        }
    }

    func removeValue(for key: Key) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    /// The fresh value for `key`, else what `lookup` says now, kept for `keepFor(answer)`. Two lookups of
    /// one key at once may both ask; the later answer simply wins.
    func value(for key: Key, keepFor: (Value) -> TimeInterval, lookup: () async -> Value) async -> Value {
        if let fresh = self[key] { return fresh }
        let value = await lookup()
        set(value, for: key, keepFor: keepFor(value))
        return value
    }

    /// A lookup that may fail (nil): found answers are kept for `foundFor`, failures for `failedFor`.
    func value<Found>(for key: Key, foundFor: TimeInterval, failedFor: TimeInterval, lookup: () async -> Found?) async -> Found?
    where Value == Found? {
        await value(for: key, keepFor: { $0 == nil ? failedFor : foundFor }, lookup: lookup)
    }

    private static func evict(_ entries: inout [Key: Entry], now: Date, keep: Int) {
        entries = entries.filter { $0.value.expires.map { $0 > now } ?? true }
        guard entries.count > keep else { return }
        let soonest = entries.sorted { ($0.value.expires ?? .distantFuture) < ($1.value.expires ?? .distantFuture) }.prefix(entries.count - keep).map(\.key)
        for key in soonest { entries.removeValue(forKey: key) }
    }
}
