import Foundation
import IncidentCore

/// The bot's own user id (`auth.test`): inbound handlers ignore the bot's own messages and find its
/// mention by it, and the outbound side recognises the channels the bot created. Asked once and kept (a
/// token belongs to one bot user for its whole life); a failure is asked again a minute later rather than
/// on every event.
public actor SlackBotIdentity {
    private let api: SlackWebAPI
    private let clock: any WallClock
    private var known: String?
    private var lastFailure: Date?

    public init(api: SlackWebAPI, clock: any WallClock) {
        self.api = api
        self.clock = clock
    }

    private struct AuthTest: Decodable {
        var userID: String?
        enum CodingKeys: String, CodingKey { case userID = "user_id" }
    }

    /// The bot's user id, or nil while Slack cannot say.
    public func userID() async -> String? {
        if let known { return known }
        if let lastFailure, clock.now().timeIntervalSince(lastFailure) < 60 { return nil }
        do {
            let answer = try await api.call("auth.test", as: AuthTest.self)
            // Another caller may have asked meanwhile; either answer is the same.
            known = answer.userID
            return answer.userID
        } catch {
            lastFailure = clock.now()
            return nil
        }
    }
}
