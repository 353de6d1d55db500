import Foundation
import IncidentCore
import KlaxonTestSupport
import Server
import Storage
import Testing

@testable import Platforms

/// Replies with times read in the zone the asker set in Slack (`users.info` → `tz`).
///
/// The askers are people the config does not know (Zoë, Erin), or know in another zone (Carol, London):
/// a zone configured in `people` would otherwise stand in for Slack's.
///
/// `Fixture.monday` is 2025-12-01 00:00 UTC. The primary rotation hands over on Mondays at 09:00
/// Europe/Berlin, so the current shift ends at 08:00 UTC: 09:00 in Berlin, 03:00 in New York.
@Suite("Slack: replies in the user's time zone")
struct TimeZoneTests {
    static let handoff = Fixture.monday.addingTimeInterval(8 * 3600)

    static func stamp(_ clock: String, in zone: String, at date: Date = handoff) -> String {
        "2025-12-01 \(clock) " + (TimeZone(identifier: zone)?.abbreviation(for: date) ?? zone)
    }

    @Test func oncallShowsTimesInTheAskersZone() async throws {
        try await SlackHarness.run { slack in
            slack.fake.addUser("U0ZOE", timeZone: "America/New_York")
            let reply = try await slack.slash("oncall primary", user: "U0ZOE", userName: "zoe")
            #expect(reply.text.contains("until \(Self.stamp("03:00", in: "America/New_York"))"), "\(reply.text)")
            #expect(slack.fake.calls("users.info").map { $0["user"] } == ["U0ZOE"])

            // Kept: the next question does not ask Slack again.
            let again = try await slack.slash("who", user: "U0ZOE", userName: "zoe")
            #expect(again.text.contains(Self.stamp("03:00", in: "America/New_York")))
            #expect(slack.fake.calls("users.info").count == 1)

            // Someone Slack knows no zone for reads the rotation's; commands without times ask nothing.
            slack.fake.addUser("U0ERIN", timeZone: nil)
            let erin = try await slack.slash("oncall primary", user: "U0ERIN", userName: "erin")
            #expect(erin.text.contains("until \(Self.stamp("09:00", in: "Europe/Berlin"))"), "\(erin.text)")
            _ = try await slack.slash("list", user: "U0FRANK", userName: "frank")
            _ = try await slack.slash("help", user: "U0FRANK", userName: "frank")
            #expect(slack.fake.calls("users.info").map { $0["user"] } == ["U0ZOE", "U0ERIN"])

            // Where the config knows a zone too (Carol: London), Slack's is the one she set last.
            slack.fake.addUser("U0CAROL", timeZone: "America/New_York")
            let carol = try await slack.slash("oncall primary", user: "U0CAROL", userName: "carol")
            #expect(carol.text.contains("until \(Self.stamp("03:00", in: "America/New_York"))"), "\(carol.text)")
        }
    }

    @Test func anOverrideEndTimeIsReadInTheAskersZone() async throws {
        try await SlackHarness.run { slack in
            slack.fake.addUser("U0ZOE", timeZone: "America/New_York")
            let noon = Fixture.monday.addingTimeInterval(17 * 3600)
            let set = try await slack.slash("oncall override <@U0DAVE|dave> primary until 2025-12-01 12:00", user: "U0ZOE", userName: "zoe")
            #expect(set.text.contains("until \(Self.stamp("12:00", in: "America/New_York", at: noon))"), "\(set.text)")
            // Noon in New York is 17:00 UTC.
            let overrides = try await slack.store.overrides(rotation: "primary", activeAt: slack.clock.now())
            #expect(overrides.map(\.end) == [noon])
        }
    }

    @Test func aSlowOrFailingLookupFallsBackToTheRotationsZoneInTime() async throws {
        try await SlackHarness.run(SlackHarness.Options(userLookupTimeout: nil)) { slack in
            slack.fake.addUser("U0ZOE", timeZone: "America/New_York")
            // Slack gives up on a slash command after 3 seconds, so the lookup has a deadline well inside it.
            // Had the reply waited for this answer, it would show the user's own zone (New York): the Berlin
            // time below is what shows the deadline worked, without timing the request here.
            slack.fake.inject("users.info", .slow(seconds: 5))
            let slow = try await slack.slash("oncall primary", user: "U0ZOE", userName: "zoe")
            #expect(slow.text.contains("until \(Self.stamp("09:00", in: "Europe/Berlin"))"), "\(slow.text)")

            // Unknown to Slack: the same.
            let unknown = try await slack.slash("oncall primary", user: "U0NOBODY", userName: "nobody")
            #expect(unknown.text.contains("until \(Self.stamp("09:00", in: "Europe/Berlin"))"))
            #expect(slack.fake.calls("users.info").count == 2)
        }
    }

    @Test func aMentionAsksForTheZoneToo() async throws {
        try await SlackHarness.run { slack in
            slack.fake.addUser("U0ZOE", timeZone: "America/New_York")
            _ = try await slack.event(mention("<@\(FakeSlack.botUserID)> oncall primary", eventID: "Ev0ONCALL", user: "U0ZOE"))
            try await slack.deliverAll()
            let reply = try #require(slack.fake.messages(in: "C0GENERAL").first)
            #expect(reply.text.contains("until \(Self.stamp("03:00", in: "America/New_York"))"), "\(reply.text)")
        }
    }

    @Test func onlyCommandsWithTimesAskForTheZone() {
        #expect(SlackInbound.showsTimes("oncall"))
        #expect(SlackInbound.showsTimes("  On-Call secondary"))
        #expect(SlackInbound.showsTimes("who"))
        #expect(SlackInbound.showsTimes("oncall override <@U1> until 2025-12-01 12:00"))
        #expect(!SlackInbound.showsTimes("declare sev1 oncall is broken"))
        #expect(!SlackInbound.showsTimes("ack"))
        #expect(!SlackInbound.showsTimes(""))
    }
}
