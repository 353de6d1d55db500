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
}
