import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Server
import Storage
import Testing

/// A signed slash command whose title holds `<!channel>`: the bot must not wake the announce channel.
@Suite("Slack: no broadcast for users")
struct SlackBroadcastMentionTests {
    @Test func aChannelMentionInATitleReachesSlackNeutralized() async throws {
        try await SlackHarness.run { slack in
            let reply = try await slack.slash("declare sev1 <!channel> wake up")
            #expect(reply.type == "in_channel")
            #expect(!reply.text.contains("<!channel>"))
            // Typed as text rather than picked from Slack's menu, it arrives escaped; the same goes.
            _ = try await slack.slash("declare sev2 &lt;!here&gt; also @here")
            try await slack.deliverAll()

            let announced = slack.fake.messages(in: FakeSlack.announceChannelID).map(\.text)
            #expect(announced.count == 2)
            #expect(announced.contains { $0.contains("@\u{200B}channel wake up") })
            #expect(announced.contains { $0.contains("@\u{200B}here also @\u{200B}here") })
            let everything = slack.fake.calls.flatMap { $0.arguments.values }
            #expect(!everything.contains { $0.contains("<!channel>") || $0.contains("<!here>") || $0.contains("@here") })
        }
    }

    @Test func allowBroadcastMentionsKeepsThem() async throws {
        var options = SlackHarness.Options()
        options.edit = { $0.incidents.allowBroadcastMentions = true }
        try await SlackHarness.run(options) { slack in
            _ = try await slack.slash("declare sev1 <!channel> wake up")
            try await slack.deliverAll()
            #expect(slack.fake.messages(in: FakeSlack.announceChannelID).first?.text.contains("<!channel> wake up") == true)
        }
    }
}
