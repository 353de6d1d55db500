import Foundation
import IncidentCore
import Logging
import ServiceLifecycle

/// Keeps a Slack user group (`platforms.slack.oncallUserGroup`, e.g. `@oncall`) equal to whoever is on
/// call now: the current person of every rotation, overrides applied, by their Slack id.
///
/// It checks at start, whenever a page was delivered or an `oncall override` was applied (the bell), at
/// the next hand-off or override end, and at least every five minutes; `usergroups.users.update` is only
/// called when the members differ from what was last written.
struct SlackOnCallGroupSync: Service {
    let config: KlaxonConfig
    let store: any OnCallStore
    let api: SlackWebAPI
    let userGroup: String
    let clock: any WallClock
    /// Returns when who is on call may have changed, or at the given time (the daemon's on-call bell).
    let onCallChange: @Sendable (_ until: Date) async -> Void
    let logger: Logger

    static let recheck: TimeInterval = 300

    func run() async throws {
        var written: [String]?
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let now = clock.now()
            var wake = now.addingTimeInterval(Self.recheck)
            do {
                let (members, nextChange) = try await onCall(at: now)
                if let nextChange { wake = min(wake, max(nextChange, now.addingTimeInterval(1))) }
                if members != written, !members.isEmpty {
                    try await api.call("usergroups.users.update", [("usergroup", userGroup), ("users", members.joined(separator: ","))])
                    written = members
                    logger.info("slack on-call group updated", metadata: ["usergroup": "\(userGroup)", "members": "\(members.joined(separator: ","))"])
                }
            } catch let error as SlackAPIError {
                if case .rateLimited(_, let retryAfter) = error { wake = now.addingTimeInterval(retryAfter) }
                logger.warning("slack on-call group not updated", metadata: ["error": "\(error)"])
            } catch {
                logger.warning("slack on-call group: could not read overrides", metadata: ["error": "\(error)"])
            }
            let deadline = wake
            await cancelWhenGracefulShutdown { await onCallChange(deadline) }
        }
    }

    /// The Slack ids of the people on call at `date`, sorted, and when the first of their shifts ends.
    func onCall(at date: Date) async throws -> ([String], Date?) {
        let overrides = try await store.activeOverrides(rotations: config.oncall.rotations, at: date)
        var members: Set<String> = []
        var nextChange: Date?
        for rotation in config.oncall.rotations {
            let shift = RotationSchedule(rotation: rotation).onCall(at: date, overrides: overrides[rotation.id] ?? [])
            if let slackID = config.people[shift.personID]?.slack { members.insert(slackID) }
            nextChange = min(nextChange ?? shift.end, shift.end)
        }
        return (members.sorted(), nextChange)
    }
}
