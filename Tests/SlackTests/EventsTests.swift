import Foundation
import IncidentCore
import KlaxonTestSupport
import Server
import Storage
import Testing

@testable import Platforms

@Suite("Slack Events API")
struct EventsTests {
    @Test func urlVerificationEchoesTheChallenge() async throws {
        try await SlackHarness.run { slack in
            let sample = try Fixture.object(SlackSamples.urlVerification)
            let result = try await slack.event(sample)
            #expect(result.status == 200)
            #expect(result.json?["challenge"] as? String == "klaxon-challenge-4f1d9a2c7e")
        }
    }

    @Test func mentionRunsTheCommandOnceAcrossRetries() async throws {
        try await SlackHarness.run { slack in
            // An app_mention callback as Slack sends it, addressed to our bot with a command.
            var envelope = try Fixture.object(SlackSamples.appMentionCallback)
            var event = try #require(envelope["event"] as? [String: Any])
            event["text"] = "<@\(FakeSlack.botUserID)> declare sev2 Search is slow"
            event["user"] = "U0ALICE"
            event["channel"] = "C0GENERAL"
            envelope["event"] = event

            let first = try await slack.event(envelope)
            #expect(first.status == 200)
            #expect(first.body.isEmpty)
            // Slack retries when our answer was late: the same event_id, once more and again.
            #expect(try await slack.event(envelope, retry: 1).status == 200)
            #expect(try await slack.event(envelope, retry: 2).status == 200)
            try await slack.deliverAll()

            let incidents = try await slack.store.incidents(includeClosed: true, limit: 10)
            #expect(incidents.count == 1)
            #expect(incidents.first?.title == "Search is slow")
            #expect(incidents.first?.declaredBy.id == "U0ALICE")
            // The answer went to the mention's thread, once.
            let replies = slack.fake.messages(in: "C0GENERAL")
            #expect(replies.count == 1)
            #expect(replies.first?.threadTS == "1764547230.004200")
            #expect(replies.first?.text.hasPrefix("Declared INC-1 · SEV2 · Search is slow") == true)
        }
    }

    @Test func refusedCommandIsAnsweredOnceAcrossRetries() async throws {
        try await SlackHarness.run { slack in
            let envelope = mention("<@\(FakeSlack.botUserID)|klaxon> ack INC-99", eventID: "Ev0REFUSED")
            _ = try await slack.event(envelope)
            _ = try await slack.event(envelope, retry: 1)
            try await slack.deliverAll()
            let replies = slack.fake.messages(in: "C0GENERAL")
            #expect(replies.map(\.text) == ["There is no incident INC-99. /incident list shows the open ones."])
        }
    }

    @Test func ignoresBotsAndItsOwnMessages() async throws {
        try await SlackHarness.run { slack in
            var fromBot = mention("<@\(FakeSlack.botUserID)> declare sev1 Loop", eventID: "Ev0BOT")
            fromBot["event"] = (fromBot["event"] as! [String: Any]).merging(["bot_id": "B0OTHER"]) { $1 }
            _ = try await slack.event(fromBot)
            let fromItself = mention("<@\(FakeSlack.botUserID)> declare sev1 Loop", eventID: "Ev0SELF", user: FakeSlack.botUserID)
            _ = try await slack.event(fromItself)
            var edited = mention("<@\(FakeSlack.botUserID)> declare sev1 Loop", eventID: "Ev0EDIT")
            edited["event"] = (edited["event"] as! [String: Any]).merging(["subtype": "message_changed"]) { $1 }
            _ = try await slack.event(edited)
            // Events Klaxon does not act on are acknowledged and dropped.
            let reaction = try Fixture.object(SlackSamples.reactionAddedCallback)
            #expect(try await slack.event(reaction).status == 200)
            let message = try Fixture.object(SlackSamples.messageCallback)
            #expect(try await slack.event(message).status == 200)
            try await slack.deliverAll()
            #expect(try await slack.store.incidents(includeClosed: true, limit: 10).isEmpty)
            #expect(slack.fake.messages.isEmpty)
        }
    }

    @Test func directMessageToTheBotIsACommand() async throws {
        try await SlackHarness.run { slack in
            var envelope = mention("list", eventID: "Ev0DM")
            envelope["event"] = (envelope["event"] as! [String: Any]).merging(["type": "message", "channel": "D0ALICE", "channel_type": "im"]) { $1 }
            _ = try await slack.event(envelope)
            try await slack.deliverAll()
            #expect(slack.fake.messages(in: "D0ALICE").first?.text == "No open incidents. 🎉")
        }
    }

    @Test func mentionTextIsTheCommand() {
        #expect(SlackInbound.commandText("<@UBOT> declare sev1 x", botUserID: "UBOT") == "declare sev1 x")
        #expect(SlackInbound.commandText("<@UBOT|klaxon>   ack", botUserID: "UBOT") == "ack")
        #expect(SlackInbound.commandText("hey <@UBOT> ack INC-2", botUserID: "UBOT") == "ack INC-2")
        #expect(SlackInbound.commandText("<@UBOT2> ack <@UBOT> list", botUserID: "UBOT") == "list")
        #expect(SlackInbound.commandText("<@UOTHER> list", botUserID: nil) == "list")
        #expect(SlackInbound.commandText("list", botUserID: "UBOT") == "list")
    }
}

/// An `app_mention` event callback by `user` in #general.
func mention(_ text: String, eventID: String, user: String = "U0ALICE", channel: String = "C0GENERAL", threadTS: String? = nil) -> [String: Any] {
    var event: [String: Any] = [
        "type": "app_mention", "text": text, "user": user, "ts": "1764547300.000100", "channel": channel, "event_ts": "1764547300.000100",
    ]
    event["thread_ts"] = threadTS
    return [
        "token": "ignored", "team_id": "T0FAKE", "api_app_id": "A0FAKE", "type": "event_callback",
        "event_id": eventID, "event_time": 1_764_547_300, "event": event,
        "authorizations": [["team_id": "T0FAKE", "user_id": FakeSlack.botUserID, "is_bot": true]],
    ]
}
