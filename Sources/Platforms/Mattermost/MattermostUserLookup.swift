import Foundation
import IncidentCore
import Logging
import NIOCore

/// Looks up a Mattermost user by id (`GET /api/v4/users/{user_id}`) while someone waits for an answer: for
/// the time zone of whoever typed `/incident oncall`, and for the username of whoever clicked a button when
/// the server left `user_name` out.
///
/// A slash command must be answered within three seconds, so the call gets a short deadline of its own,
/// and every failure (time-out, unknown user, rate limit) is an answer of nil that the caller falls back
/// from. Answers are cached: a user's zone rarely changes, and a server that is slow or down is not asked
/// again on every command.
public final class MattermostUserLookup: Sendable {
    private let client: MattermostClient
    private let timeout: TimeAmount
    private let logger: Logger
    private let cache: ExpiringCache<String, MattermostUser?>

    /// How long a found user is reused; a zone changed in Mattermost shows after at most this long.
    public static let foundFor: TimeInterval = 3600
    /// How long a failed lookup stands before the server is asked again.
    public static let failedFor: TimeInterval = 300

    public init(client: MattermostClient, clock: any WallClock, timeout: TimeAmount = .milliseconds(800), logger: Logger) {
        self.client = client
        self.timeout = timeout
        self.logger = logger
        self.cache = ExpiringCache(clock: clock)
    }

    public func user(id: String) async -> MattermostUser? {
        await cache.value(for: id, foundFor: Self.foundFor, failedFor: Self.failedFor) {
            do {
                return try await client.user(id: id, timeout: timeout)
            } catch {
                logger.notice("Mattermost user lookup failed; going on without it", metadata: ["user_id": "\(id)", "error": "\(error)"])
                return nil
            }
        }
    }

    /// The IANA zone the user set in Mattermost (automatic or manual), nil when unknown.
    public func timeZone(ofUserID id: String) async -> String? {
        await user(id: id)?.timezone?.identifier
    }
}
