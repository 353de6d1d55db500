import Foundation
import IncidentCore
import Logging

/// People's time zones as Slack knows them (`users.info` → `user.tz`, an IANA name such as
/// `America/New_York`), so that a reply with times (`/incident oncall`) reads in the asker's zone.
///
/// A look-up runs while Slack waits for the slash command's answer (3 s), so it gets a short deadline of
/// its own and never fails the command: without an answer the zone is nil and the engine picks one
/// (the person's in `people`, else the rotation's). Answers are kept for a while (people rarely move zones), and a failed look-up is not
/// repeated for a minute, so an unreachable Slack costs one wait, not one per command.
public actor SlackUserDirectory {
    public struct Settings: Sendable {
        /// The deadline of one `users.info` call.
        public var timeout: TimeInterval = 0.7
        /// How long a user's zone is kept.
        public var cacheFor: TimeInterval = 6 * 3600
        /// How long nothing is asked of Slack about a user after a failed look-up.
        public var retryFailureAfter: TimeInterval = 60
        /// Users remembered at most; the soonest to expire are forgotten first.
        public var maxEntries = 10_000
        public init() {}
    }

    /// An answer from Slack, which may be "no zone" (bots, deleted users): kept as long as any answer.
    private struct Answer: Sendable {
        var timeZone: String?
    }

    private let api: SlackWebAPI
    private let clock: any WallClock
    private let settings: Settings
    private let logger: Logger
    private let cache: ExpiringCache<String, Answer?>

    public init(api: SlackWebAPI, clock: any WallClock, settings: Settings = Settings(), logger: Logger) {
        self.api = api
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.cache = ExpiringCache(clock: clock, maxEntries: settings.maxEntries)
    }

    private struct UserInfo: Decodable {
        struct User: Decodable {
            var tz: String?
        }
        var user: User
    }

    /// The user's IANA zone, or nil when Slack does not say (bots, deleted users) or did not answer in time.
    // Nonisolated: all its state is in the (locked) cache, so look-ups of different users need not queue.
    public nonisolated func timeZone(of userID: String) async -> String? {
        await cache.value(for: userID, foundFor: settings.cacheFor, failedFor: settings.retryFailureAfter) { () async -> Answer? in
            do throws(SlackAPIError) {
                let info = try await api.call("users.info", [("user", userID)], timeout: settings.timeout, as: UserInfo.self)
                // A zone this machine's tz database does not know is no use to the engine.
                return Answer(timeZone: info.user.tz.flatMap { TimeZone(identifier: $0) != nil ? $0 : nil })
            } catch {
                logger.debug("slack users.info failed; replying without the user's zone", metadata: ["user": "\(userID)", "error": "\(error)"])
                return nil
            }
        }?.timeZone
    }
}
