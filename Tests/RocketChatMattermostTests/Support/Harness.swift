import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage

/// The deployment the tests run: runbook 004's team on Rocket.Chat (and the same people on Mattermost),
/// with its two paging levels. `/incident create "…"` names no severity and so declares the least severe
/// configured level, P1 ("Major degradation … On-call engineer"), which pages whoever is on call.
enum Runbook004 {
    /// Monday 2025-11-10 10:00 UTC, the morning of the runbook's incident.
    static let monday = Date(timeIntervalSince1970: 1_762_768_800)

    static let severities = [
        SeverityPolicy(
            id: "p0", aliases: ["sev0"], name: "Complete outage", updateEvery: .minutes(10), ackWithin: .minutes(5), page: true, reviewWithin: .hours(48)),
        SeverityPolicy(
            id: "p1", aliases: ["sev1"], name: "Major degradation", updateEvery: .minutes(10), ackWithin: .minutes(15), page: true, reviewWithin: .hours(48)),
    ]

    static let people: [String: Person] = [
        "alice": Person(name: "Alice Adams", rocketchat: "alice", mattermost: "alice"),
        "bob": Person(name: "Bob Brown", rocketchat: "bob", mattermost: "bob"),
    ]

    /// Bob is on call this week.
    static let oncall = OnCallConfig(
        rotations: [RotationConfig(id: "primary", members: ["bob"], period: .hours(24 * 7), handoff: Handoff(weekday: 2, hour: 9, minute: 0), timezone: "UTC")],
        escalation: [EscalationStep(after: .minutes(15), notify: [.rotation("primary")])])

    static let webhookToken = "rc-outgoing-webhook-token"
    static let commandToken = "mm-slash-command-token"

    static func config(
        rocketChat: String? = nil, rocketChatUserID: String = "KlaxonBotUserId1", rocketChatToken: String = "rc-personal-access-token",
        poll: RocketChatConfig.Poll? = nil, mattermost: String? = nil, mattermostToken: String = "mm-bot-access-token",
        mattermostTeam: String = "teamklaxon0000000000000000", mode: IncidentsConfig.Mode = .channel, privateChannels: Bool = false,
        mattermostActionsURL: String? = nil
    ) -> KlaxonConfig {
        var platforms = PlatformsConfig(console: nil)
        if let rocketChat {
            platforms.rocketchat = RocketChatConfig(
                serverURL: rocketChat, userId: rocketChatUserID, authToken: Secret(rocketChatToken),
                webhookToken: poll == nil ? Secret(webhookToken) : nil, announceChannel: "incidents", poll: poll, privateChannels: privateChannels)
        }
        if let mattermost {
            platforms.mattermost = MattermostConfig(
                serverURL: mattermost, botToken: Secret(mattermostToken), teamId: mattermostTeam,
                commandToken: Secret(commandToken), announceChannel: "incidents", privateChannels: privateChannels, actionsURL: mattermostActionsURL)
        }
        return KlaxonConfig(
            platforms: platforms, incidents: IncidentsConfig(mode: mode, channelName: "incident-{date}-{seq}", timeZone: "UTC"),
            severities: severities, people: people, oncall: oncall)
    }
}

/// A daemon on a temporary SQLite file.
struct TestDaemon {
    let daemon: KlaxonDaemon
    let store: SQLiteIncidentStore

    static func open(_ config: KlaxonConfig, clock: ManualClock, databasePath: String) async throws -> TestDaemon {
        let store = try await SQLiteIncidentStore.open(path: databasePath, clock: clock, logger: quietLogger)
        // The fakes run in this process, which the whole suite can load for longer than the look-ups' own
        // 0.8 s deadline; the deadline itself is tested on a look-up of its own.
        let daemon = try KlaxonDaemon(config: config, store: store, clock: clock, logger: quietLogger, httpClient: .shared, userLookupTimeout: 10)
        return TestDaemon(daemon: daemon, store: store)
    }

    var rocketChat: RocketChatIntegration? { daemon.integrations.lazy.compactMap { $0 as? RocketChatIntegration }.first }

    /// Delivers everything due now.
    @discardableResult
    func drain() async -> Int { await daemon.sender.drainOnce() }

    func close() async throws { try await store.close() }
}
