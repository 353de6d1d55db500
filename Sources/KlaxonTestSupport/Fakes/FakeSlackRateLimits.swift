import Foundation

/// Slack's Web API rate limits as the fake enforces them (docs.slack.dev/apis/web-api/rate-limits and the
/// `rate_limits` of each method's page): a per-method budget per minute by tier, and for
/// `chat.postMessage` about one message per second per channel with a short burst allowed. Times come
/// from the fake's clock, so a test on a `ManualClock` decides when a minute has passed.
struct FakeSlackRateLimits: Sendable {
    /// Calls per minute of each tier (the documented floor: "Tier 2 20+" and so on).
    static let tierBudget: [Int: Int] = [1: 1, 2: 20, 3: 50, 4: 100]

    /// The tier of each method the fake answers; `chat.postMessage` and `auth.test` are "special".
    static let tiers: [String: Int] = [
        "conversations.create": 2, "conversations.setTopic": 2, "usergroups.users.update": 2, "pins.add": 2, "pins.list": 2,
        "chat.update": 3, "conversations.invite": 3, "conversations.join": 3, "conversations.history": 3, "conversations.replies": 3,
        "conversations.open": 3, "users.conversations": 3, "apps.connections.open": 3,
        "users.info": 4, "views.open": 4,
    ]

    /// Messages one channel takes at once before the one-per-second pace applies.
    static let postBurst = 5.0
    static let postInterval: TimeInterval = 1
    /// Special tier methods the docs give no number for: generous, as Slack is.
    static let specialBudget = 100

    private struct Window {
        var start: Date
        var used: Int
    }

    private var windows: [String: Window] = [:]
    /// Tokens left per channel and when they were counted (a bucket refilled at one token per second).
    private var buckets: [String: (tokens: Double, at: Date)] = [:]

    /// Nil when `method` may run now; otherwise the seconds until it may (what `Retry-After` says).
    mutating func admit(_ method: String, channel: String?, now: Date) -> Int? {
        if method == "chat.postMessage", let channel {
            var bucket = buckets[channel] ?? (Self.postBurst, now)
            bucket.tokens = min(Self.postBurst, bucket.tokens + now.timeIntervalSince(bucket.at) / Self.postInterval)
            bucket.at = now
            guard bucket.tokens >= 1 else {
                buckets[channel] = bucket
                return max(1, Int(((1 - bucket.tokens) * Self.postInterval).rounded(.up)))
            }
            bucket.tokens -= 1
            buckets[channel] = bucket
        }
        let budget = Self.tiers[method].flatMap { Self.tierBudget[$0] } ?? Self.specialBudget
        var window = windows[method] ?? Window(start: now, used: 0)
        if now.timeIntervalSince(window.start) >= 60 { window = Window(start: now, used: 0) }
        guard window.used < budget else {
            windows[method] = window
            return max(1, Int((60 - now.timeIntervalSince(window.start)).rounded(.up)))
        }
        window.used += 1
        windows[method] = window
        return nil
    }
}
