import Foundation
import IncidentCore
import Logging

/// How the Rocket.Chat and Mattermost adapters open an incident's channel under a name that may be
/// taken, by the rule the Slack adapter follows (`SlackPlatform.createChannel`): a taken name is adopted
/// only when the bot created that channel no earlier than the outbox message was written (an earlier
/// attempt of this very message, whose answer was lost); anyone else's channel (someone who guessed the
/// predictable name, or an older incident's) is left alone, and the next free name is taken: `-2`, `-3`, …
enum IncidentChannelOpening {
    /// Names tried before giving up (the failure then names the last one).
    static let maxSuffix = 20
    /// The server stamps a channel's creation with its own clock; ours may differ by this much.
    static let adoptionMargin: TimeInterval = 60

    /// `base`, `base-2`, `base-3`, … cut so that the suffix fits within `maxLength`.
    static func name(_ base: String, attempt: Int, maxLength: Int = .max) -> String {
        guard attempt > 1 else { return String(base.prefix(maxLength)) }
        let suffix = "-\(attempt)"
        return String(base.prefix(max(0, maxLength - suffix.count))) + suffix
    }

    /// Whether a channel made by `creatorID` at `createdAt` is an earlier attempt of `message`.
    static func isEarlierAttempt(creatorID: String?, createdAt: Date?, botUserID: String, of message: OutboxMessage) -> Bool {
        guard let creatorID, creatorID == botUserID, let createdAt else { return false }
        return createdAt >= message.createdAt.addingTimeInterval(-adoptionMargin)
    }

    /// Creates the channel for `message` under the first name that is free or an earlier attempt's:
    /// `create` makes it, `isTaken` recognises the server's "name exists" refusal, `lookUp` finds the
    /// channel holding a name (a refusal: one the bot cannot see, so not its own), `creator` reads who
    /// made it and when. Returns the channel, its name, and whether it was adopted rather than made.
    static func open<Room: Sendable>(
        base: String, maxLength: Int = .max, for message: OutboxMessage, botUserID: String, logger: Logger,
        create: (String) async throws(ChatServerFailure) -> Room,
        isTaken: (ChatServerFailure) -> Bool,
        lookUp: (String) async throws(ChatServerFailure) -> Room,
        creator: (Room) -> (id: String?, at: Date?)
    ) async throws(ChatServerFailure) -> (room: Room, name: String, adopted: Bool) {
        var refusal: ChatServerFailure?
        for attempt in 1...maxSuffix {
            let candidate = name(base, attempt: attempt, maxLength: maxLength)
            do throws(ChatServerFailure) {
                return (try await create(candidate), candidate, false)
            } catch  where isTaken(error) {
                let existing: Room?
                do throws(ChatServerFailure) {
                    existing = try await lookUp(candidate)
                } catch .refused {
                    existing = nil
                }
                if let existing, isEarlierAttempt(creatorID: creator(existing).id, createdAt: creator(existing).at, botUserID: botUserID, of: message) {
                    logger.info("incident channel found from an earlier attempt; reusing it", metadata: ["channel": "\(candidate)"])
                    return (existing, candidate, true)
                }
                logger.warning(
                    "incident channel name taken by a channel the bot did not make for this incident; trying the next", metadata: ["channel": "\(candidate)"])
                refusal = error
            }
        }
        throw refusal ?? .refused(status: 400, code: "name-taken", message: "no free name for \(base)")
    }
}
