import Foundation
import IncidentCore
import Logging
import NIOCore

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
    private let client: RocketChatClient
    private let timeout: TimeAmount
    private let logger: Logger
    private let cache: ExpiringCache<String, RocketChatUser?>

    /// How long a found user is reused; a new offset shows after at most this long.
    public static let foundFor: TimeInterval = 3600
    /// How long a failed lookup stands before the server is asked again.
    public static let failedFor: TimeInterval = 300

    public init(client: RocketChatClient, clock: any WallClock, timeout: TimeAmount = .milliseconds(800), logger: Logger) {
        self.client = client
        self.timeout = timeout
        self.logger = logger
        self.cache = ExpiringCache(clock: clock)
    }

    public func user(id: String) async -> RocketChatUser? {
        await cache.value(for: id, foundFor: Self.foundFor, failedFor: Self.failedFor) {
            do {
                return try await client.user(id: id, timeout: timeout)
            } catch {
                logger.notice("Rocket.Chat user lookup failed; going on without it", metadata: ["user_id": "\(id)", "error": "\(error)"])
                return nil
            }
        }
    }

    /// A fixed-offset zone (`GMT-0500`) from the user's `utcOffset`, nil when unknown.
    public func timeZone(ofUserID id: String) async -> String? {
        await user(id: id)?.timeZoneIdentifier
    }
}
