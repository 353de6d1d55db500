import Foundation
import Synchronization

/// What a platform told us with a 429 or an exhausted rate-limit header: per key (a Slack Web API method,
/// a Rocket.Chat route, Mattermost's one limiter), the time before which calling again is pointless.
/// Every caller of that key waits, not only the one that was refused, so nobody spends a request on a
/// certain 429 (Slack's limits are per method, per workspace, per app: docs.slack.dev/apis/web-api/rate-limits).
public final class CooldownGate: Sendable {
    private let until = Mutex<[String: Date]>([:])

    public init() {}

    /// Seconds left before `key` may be called, or nil if it may be called now.
    public func remaining(_ key: String, now: Date) -> TimeInterval? {
        until.withLock { until in
            guard let end = until[key] else { return nil }
            if end <= now {
                until[key] = nil
                return nil
            }
            return end.timeIntervalSince(now)
        }
    }

    /// Closes `key` until `end`. Two refusals in a row: the later end wins.
    public func close(_ key: String, until end: Date) {
        until.withLock { until in
            until[key] = max(until[key] ?? end, end)
        }
    }

    public func coolDown(_ key: String, for seconds: TimeInterval, now: Date) {
        close(key, until: now.addingTimeInterval(seconds))
    }

    /// Opens `key` at once: the platform says calls are allowed again.
    public func open(_ key: String) {
        _ = until.withLock { $0.removeValue(forKey: key) }
    }
}
