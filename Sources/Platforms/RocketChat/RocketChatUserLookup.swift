import Foundation
import IncidentCore
import Logging
import NIOCore
import Synchronization

/// Looks up a Rocket.Chat user by id (`users.info?userId=`) while someone waits for an answer: the UTC
/// offset of whoever typed `!incident oncall`, whose reply shows clock times and whose `until` is read in
/// the sender's zone.
///
/// The webhook's reply goes back in the HTTP response and the poller handles messages one after another,
/// so the call gets a short deadline of its own, and every failure (time-out, unknown user, rate limit,
/// revoked token) is an answer of nil that the caller falls back from. Answers are cached: an offset
/// changes only when the user logs in from elsewhere, and a server that is slow or down is not asked
/// again on every command.
public final class RocketChatUserLookup: Sendable {
    private struct Entry {
        var user: RocketChatUser?
        var expires: Date
    }

    private let client: RocketChatClient
    private let clock: any WallClock
    private let timeout: TimeAmount
    private let logger: Logger
    private let cache = Mutex<[String: Entry]>([:])

    /// How long a found user is reused; a new offset shows after at most this long.
    public static let foundFor: TimeInterval = 3600
    /// How long a failed lookup stands before the server is asked again.
    public static let failedFor: TimeInterval = 300

    public init(client: RocketChatClient, clock: any WallClock, timeout: TimeAmount = .milliseconds(800), logger: Logger) {
        self.client = client
        self.clock = clock
        self.timeout = timeout
        self.logger = logger
    }

    public func user(id: String) async -> RocketChatUser? {
        let now = clock.now()
        if let entry = cache.withLock({ $0[id] }), entry.expires > now { return entry.user }
        let user: RocketChatUser?
        do {
            user = try await client.user(id: id, timeout: timeout)
        } catch {
            logger.notice("Rocket.Chat user lookup failed; going on without it", metadata: ["user_id": "\(id)", "error": "\(error)"])
            user = nil
        }
        // Two commands from the same user at once may both ask; the later answer simply wins.
        let expires = clock.now().addingTimeInterval(user == nil ? Self.failedFor : Self.foundFor)
        cache.withLock { $0[id] = Entry(user: user, expires: expires) }
        return user
    }

    /// A fixed-offset zone (`GMT-0500`) from the user's `utcOffset`, nil when unknown.
    public func timeZone(ofUserID id: String) async -> String? {
        await user(id: id)?.timeZoneIdentifier
    }
}
