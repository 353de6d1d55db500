import Foundation
import IncidentCore
import Logging
import NIOCore

/// Looks up a chat server's user by id while someone waits for an answer: on Rocket.Chat
/// (`users.info?userId=`) the UTC offset of whoever typed `!incident oncall`; on Mattermost
/// (`GET /api/v4/users/{user_id}`) the time zone of whoever typed `/incident oncall`, and the username of
/// whoever clicked a button when the server left `user_name` out.
///
/// A slash command must be answered within three seconds, a webhook's reply goes back in the HTTP
/// response and the poller handles messages one after another, so the call gets a short deadline of its
/// own, and every failure (time-out, unknown user, rate limit, revoked token) is an answer of nil that the
/// caller falls back from. Answers are cached: a user's zone rarely changes, and a server that is slow or
/// down is not asked again on every command.
public final class ChatServerUserLookup<User: Sendable>: Sendable {
    /// How long a found user is reused; a zone changed on the server shows after at most this long.
    public static var foundFor: TimeInterval { 3600 }
    /// How long a failed lookup stands before the server is asked again.
    public static var failedFor: TimeInterval { 300 }
    /// The deadline of one lookup unless told otherwise: well inside the 3 s Rocket.Chat and Mattermost
    /// give a command.
    public static var defaultTimeout: TimeAmount { .milliseconds(800) }

    private let server: String
    private let fetch: @Sendable (_ id: String, _ timeout: TimeAmount) async throws -> User
    private let timeout: TimeAmount
    private let logger: Logger
    private let cache: ExpiringCache<String, User?>

    /// `server` names the platform in log lines; `fetch` asks it for one user within `timeout`.
    public init(
        server: String, clock: any WallClock, timeout: TimeAmount, logger: Logger,
        fetch: @escaping @Sendable (_ id: String, _ timeout: TimeAmount) async throws -> User
    ) {
        self.server = server
        self.fetch = fetch
        self.timeout = timeout
        self.logger = logger
        self.cache = ExpiringCache(clock: clock)
    }

    public func user(id: String) async -> User? {
        await cache.value(for: id, foundFor: Self.foundFor, failedFor: Self.failedFor) {
            do {
                return try await fetch(id, timeout)
            } catch {
                logger.notice("\(server) user lookup failed; going on without it", metadata: ["user_id": "\(id)", "error": "\(error)"])
                return nil
            }
        }
    }
}

public typealias RocketChatUserLookup = ChatServerUserLookup<RocketChatUser>

extension IntegrationDependencies {
    /// `userLookupTimeout` as the chat-server look-ups take it (nil: their default).
    var userLookupAmount: TimeAmount? {
        userLookupTimeout.map { .milliseconds(Int64($0 * 1000)) }
    }
}

extension ChatServerUserLookup where User == RocketChatUser {
    public convenience init(client: RocketChatClient, clock: any WallClock, timeout: TimeAmount? = nil, logger: Logger) {
        self.init(server: "Rocket.Chat", clock: clock, timeout: timeout ?? Self.defaultTimeout, logger: logger) { id, timeout in
            try await client.user(id: id, timeout: timeout)
        }
    }

    /// A fixed-offset zone (`GMT-0500`) from the user's `utcOffset`, nil when unknown.
    public func timeZone(ofUserID id: String) async -> String? {
        await user(id: id)?.timeZoneIdentifier
    }
}

public typealias MattermostUserLookup = ChatServerUserLookup<MattermostUser>

extension ChatServerUserLookup where User == MattermostUser {
    public convenience init(client: MattermostClient, clock: any WallClock, timeout: TimeAmount? = nil, logger: Logger) {
        self.init(server: "Mattermost", clock: clock, timeout: timeout ?? Self.defaultTimeout, logger: logger) { id, timeout in
            try await client.user(id: id, timeout: timeout)
        }
    }

    /// The IANA zone the user set in Mattermost (automatic or manual), nil when unknown.
    public func timeZone(ofUserID id: String) async -> String? {
        await user(id: id)?.timezone?.identifier
    }
}
