import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Server
import Storage
import Testing

@Suite("Slack end to end, thread mode")
struct ThreadModeTests {
    static let threadMode: SlackHarness.Options = {
        var options = SlackHarness.Options()
        options.mode = .thread
        return options
    }()

    @Test func theAnnouncementRootsTheIncidentThread() async throws {
        try await SlackHarness.run(Self.threadMode) { slack in
            _ = try await slack.slash("declare sev1 Checkout errors")
            try await slack.deliverAll()
            let incident = try await slack.incident(IncidentID(1))
            let root = try #require(slack.fake.messages(in: FakeSlack.announceChannelID).first)
            #expect(root.threadTS == nil)
            #expect(root.text.contains("Follow it in the thread below."))
            // The room is the announce channel's id (not its name) and the root's ts.
            #expect(incident.room == Conversation(platform: .slack, channelID: FakeSlack.announceChannelID, threadID: root.ts))
            #expect(slack.fake.calls("conversations.create").isEmpty)
            #expect(slack.fake.calls("conversations.setTopic").isEmpty)

            let replies = slack.fake.messages(in: FakeSlack.announceChannelID).dropFirst()
            #expect(!replies.isEmpty)
            #expect(replies.allSatisfy { $0.threadTS == root.ts })
            #expect(replies.first?.text.hasPrefix("🚨 [SEV1 INCIDENT] Checkout errors") == true)
            #expect(replies.first?.blocks != nil)
        }
    }

    @Test func aMentionInTheThreadActsOnThatIncident() async throws {
        try await SlackHarness.run(Self.threadMode) { slack in
            _ = try await slack.slash("declare sev2 First")
            _ = try await slack.slash("declare sev2 Second")
            try await slack.deliverAll()
            let second = try #require(try await slack.incident(IncidentID(2)).room?.threadID)

            _ = try await slack.event(mention("<@\(FakeSlack.botUserID)> ack", eventID: "Ev0THREAD", channel: FakeSlack.announceChannelID, threadTS: second))
            try await slack.deliverAll()
            #expect(try await slack.incident(IncidentID(2)).acknowledgedBy?.id == "U0ALICE")
            #expect(try await slack.incident(IncidentID(1)).acknowledgedAt == nil)
            let thread = slack.fake.messages(in: FakeSlack.announceChannelID).filter { $0.threadTS == second }.map(\.text)
            #expect(thread.contains { $0.hasPrefix("✅ <@U0ALICE> acknowledged INC-2") })
            #expect(thread.contains { $0.hasPrefix("Acknowledged INC-2") })

            // Resolving posts in the thread and announces at the top level.
            _ = try await slack.slash("resolve INC-2 Fixed")
            try await slack.deliverAll()
            let resolved = slack.fake.messages(in: FakeSlack.announceChannelID).filter { $0.text.hasPrefix("✅ RESOLVED") }
            #expect(resolved.map(\.threadTS) == [second, nil])
        }
    }

    @Test func theThreadRootIsTheStatusCard() async throws {
        try await SlackHarness.run(Self.threadMode) { slack in
            _ = try await slack.slash("declare sev1 Checkout errors")
            try await slack.deliverAll()
            let rootTS = try #require(try await slack.incident(IncidentID(1)).room?.threadID)
            func root() throws -> FakeSlack.Message {
                try #require(slack.fake.messages(in: FakeSlack.announceChannelID).first { $0.ts == rootTS })
            }
            let announcement = try root().text
            #expect(announcement.contains("Follow it in the thread below."))
            #expect(try Self.card(of: root()).status == "📌 Incident status: SEV1 · Declared · IC: unassigned · INC-1 Checkout errors")
            #expect(try Self.card(of: root()).announcement == announcement)
            // The root offers the alert's buttons, so the announce channel can act without opening the thread.
            let alert = try #require(slack.fake.messages(in: FakeSlack.announceChannelID).first { $0.threadTS == rootTS && $0.blocks != nil })
            #expect(try Self.card(of: root()).buttons == Self.card(of: alert).buttons)
            #expect(try Self.card(of: root()).buttons.map(\.actionID) == ["ack", "update", "resolve", "take-ic"])

            // Severity, IC and status changes rewrite the root in place.
            _ = try await slack.slash("severity INC-1 sev2")
            _ = try await slack.slash("role INC-1 ic <@U0CAROL|carol>")
            _ = try await slack.slash("status INC-1 identified Bad deploy")
            try await slack.deliverAll()
            #expect(try Self.card(of: root()).status == "📌 Incident status: SEV2 · Identified · IC: <@U0CAROL> · INC-1 Checkout errors")
            #expect(try Self.card(of: root()).buttons.map(\.actionID) == ["ack", "update", "resolve", "take-ic"])
            #expect(try root().text == announcement)
            #expect(try Self.card(of: root()).announcement == announcement)
            let updates = slack.fake.calls("chat.update")
            #expect(updates.count == 3)
            #expect(updates.allSatisfy { $0["channel"] == FakeSlack.announceChannelID && $0["ts"] == rootTS })
            // The root's announcement was remembered, not read back.
            #expect(slack.fake.calls("conversations.replies").isEmpty)

            // Resolved: the card says so, and its buttons are gone.
            _ = try await slack.slash("resolve INC-1 Rolled back")
            try await slack.deliverAll()
            #expect(try Self.card(of: root()).status == "📌 Incident status: SEV2 · Resolved · IC: <@U0CAROL> · INC-1 Checkout errors")
            #expect(try Self.card(of: root()).buttons.isEmpty)
            // Nothing new at the top level but the resolution's announcement.
            #expect(slack.fake.messages(in: FakeSlack.announceChannelID).filter { $0.threadTS == nil }.count == 2)
        }
    }

    @Test func theThreadRootIsRewrittenAfterARestart() async throws {
        try await SlackHarness.run(Self.threadMode) { slack in
            _ = try await slack.slash("declare sev1 Checkout errors")
            try await slack.deliverAll()
            let incident = try await slack.incident(IncidentID(1))
            let room = try #require(incident.room)
            let rootTS = try #require(room.threadID)
            let announcement = try #require(slack.fake.messages(in: FakeSlack.announceChannelID).first { $0.ts == rootTS }?.text)

            // A new adapter knows nothing of the root it posted: it reads the announcement back.
            let api = SlackWebAPI(
                baseURL: slack.fake.apiBaseURL, botToken: Secret(FakeSlack.botToken), httpClient: slack.fake.client, clock: slack.clock, logger: testLogger)
            let restarted = SlackPlatform(api: api, announceChannel: FakeSlack.announceChannelName, mode: .thread, clock: slack.clock, logger: testLogger)
            let topic = "SEV1 · Investigating · IC: <@U0BOB> · INC-1 Checkout errors"
            let message = OutboxMessage(
                id: 999, platform: .slack, incidentID: incident.id, action: .setTopic(topic: topic), createdAt: slack.clock.now(),
                notBefore: slack.clock.now(), attempts: 0, state: .pending, platformMessageID: nil, lastError: nil)
            _ = try await restarted.deliver(message, incident: incident)
            #expect(slack.fake.calls("conversations.replies").map { $0["ts"] } == [rootTS])
            let root = try #require(slack.fake.messages(in: room.channelID).first { $0.ts == rootTS })
            #expect(root.text == announcement)
            #expect(try Self.card(of: root).announcement == announcement)
            #expect(try Self.card(of: root).status == "📌 Incident status: " + topic)
            #expect(try Self.card(of: root).buttons.count == 4)

            // A root someone deleted is not recreated, and the change is not retried.
            let gone = Conversation(platform: .slack, channelID: room.channelID, threadID: "1764000000.999999")
            var deleted = incident
            deleted.room = gone
            _ = try await restarted.deliver(message, incident: deleted)
            #expect(slack.fake.calls("chat.update").count == 1)
        }
    }

    // MARK: - Helpers

    struct Button: Equatable {
        var actionID: String
        var value: String
        var label: String
    }

    /// A message's blocks, read as a thread root: the first section, the status section, the buttons.
    static func card(of message: FakeSlack.Message) throws -> (announcement: String?, status: String?, buttons: [Button]) {
        let json = try #require(message.blocks, "no blocks")
        let blocks = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        let sections = blocks.filter { $0["type"] as? String == "section" }
        func text(_ block: [String: Any]?) -> String? { (block?["text"] as? [String: Any])?["text"] as? String }
        let status = sections.first { $0["block_id"] as? String == SlackBlocks.statusBlockID }
        let elements = blocks.first { $0["type"] as? String == "actions" }?["elements"] as? [[String: Any]] ?? []
        let buttons = elements.map { element in
            Button(
                actionID: element["action_id"] as? String ?? "", value: element["value"] as? String ?? "",
                label: (element["text"] as? [String: Any])?["text"] as? String ?? "")
        }
        return (text(sections.first), text(status), buttons)
    }
}
