import Foundation
import Testing

@testable import IncidentCore

/// Room-wide mentions in user text come out as `@` + zero-width space + the word.
@Suite("Broadcast mentions in user text")
struct BroadcastMentionsTests {
    static let zwsp = "\u{200B}"

    @Test(arguments: [
        ("<!channel> wake up", "@\u{200B}channel wake up"),
        ("<!here> and <!everyone>", "@\u{200B}here and @\u{200B}everyone"),
        ("<!here|here> labelled", "@\u{200B}here labelled"),
        ("<!subteam^S0OPS|@ops-team> please", "@\u{200B}ops-team please"),
        ("<!subteam^S0OPS> please", "@\u{200B}group please"),
        ("<!group>", "@\u{200B}group"),
        ("@here @channel @everyone @all", "@\u{200B}here @\u{200B}channel @\u{200B}everyone @\u{200B}all"),
        ("@HERE, @All! (@channel)", "@\u{200B}HERE, @\u{200B}All! (@\u{200B}channel)"),
        ("@here.", "@\u{200B}here."),
        ("<@here> <@all>", "@\u{200B}here @\u{200B}all"),
    ])
    func broadcastsAreNeutralized(input: String, expected: String) {
        #expect(BroadcastMentions.neutralized(input) == expected)
    }

    @Test(arguments: [
        "ping @allison and @hereford", "mail ops@all.example", "<@U0ALICE> and <@bob>", "<#C0INCIDENTS>",
        "<https://status.example.com|status>", "<!date^1392734382^{date}|Feb 18>", "5xx > 10% on <api>", "a < b > c", "@",
        "no mentions at all",
    ])
    func everythingElseIsKept(input: String) {
        #expect(BroadcastMentions.neutralized(input) == input)
    }

    @Test func theEngineNeutralizesUserTextButNotTemplates() throws {
        var config = KlaxonConfig(severities: [SeverityPolicy(id: "sev1", name: "Critical")])
        config.templates["announcement"] = "<!channel> {{title}} in <#room>"
        let context = CommandContext(
            platform: .slack, conversation: Conversation(platform: .slack, channelID: "C0GENERAL"), user: ChatUser(id: "U0ALICE", name: "alice"))
        func declared(_ config: KlaxonConfig) throws -> (title: String, texts: [String]) {
            let decision = try IncidentEngine(config: config).decide(
                .declare(severity: "sev1", title: "<!here> DB down @all"), context: context, incident: nil,
                allocation: (IncidentID(1), 1), now: Date(timeIntervalSince1970: 1_764_000_000))
            let incident = try #require(decision.changes.incidents.first?.incident)
            let posted: [String] = decision.changes.outbox.flatMap { message -> [String] in
                switch message.action {
                case .openRoom(_, let topic, let announcement, _): [topic, announcement]
                case .post(_, let text, _): [text]
                default: []
                }
            }
            return (incident.title, [decision.reply.text] + posted)
        }
        let neutral = try declared(config)
        #expect(neutral.title == "@\(Self.zwsp)here DB down @\(Self.zwsp)all")
        #expect(neutral.texts.allSatisfy { !$0.contains("<!here>") && !$0.contains("@all") })
        // The admin's template keeps its `<!channel>`.
        #expect(neutral.texts.contains { $0.contains("<!channel> @\(Self.zwsp)here DB down") })

        config.incidents.allowBroadcastMentions = true
        #expect(try declared(config).title == "<!here> DB down @all")
    }
}
