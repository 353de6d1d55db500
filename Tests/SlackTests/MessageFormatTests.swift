import Foundation
import IncidentCore
import Platforms
import Server
import Storage
import Testing

@Suite("Slack payloads and markup")
struct MessageFormatTests {
    @Test func slackMarkupKeepsMentionsAndEscapesTheRest() {
        #expect(SlackMarkup.render("<@U0ALICE> declared it in <#room>", roomLink: "<#C123>") == "<@U0ALICE> declared it in <#C123>")
        #expect(SlackMarkup.render("5xx > 10% & rising on <api>", roomLink: nil) == "5xx &gt; 10% &amp; rising on &lt;api&gt;")
        #expect(SlackMarkup.render("/incident update <what changed>", roomLink: nil) == "/incident update &lt;what changed&gt;")
        #expect(
            SlackMarkup.render("ping <!here> and <!subteam^S123> see <https://x.test/?a=1&b=2|the graph>", roomLink: nil)
                == "ping <!here> and <!subteam^S123> see <https://x.test/?a=1&amp;b=2|the graph>")
        #expect(SlackMarkup.render("a < b and <@U1|bob> and <#C9|ops>", roomLink: nil) == "a &lt; b and <@U1|bob> and <#C9|ops>")
        #expect(SlackMarkup.render("unclosed <@U1", roomLink: nil) == "unclosed &lt;@U1")
        #expect(SlackMarkup.render("Follow it in <#room>.", roomLink: nil) == "Follow it in the incident channel.")
        #expect(SlackMarkup.roomLink(for: Conversation(platform: .slack, channelID: "C1", threadID: "1.2")) == "the incident thread")
        #expect(SlackMarkup.truncate("abcdef", to: 4) == "abc…")
    }

    @Test func blocksCarryButtonsWithActionIDsAndCommands() throws {
        let buttons = [
            MessageButton(action: "ack", label: "Acknowledge", command: "ack INC-7", style: "primary"),
            MessageButton(action: "take-ic", label: "I'm the IC", command: "role INC-7 ic", style: "weird"),
        ]
        let encoded = try JSONEncoder().encode(SlackBlocks.message(text: "*hi*", buttons: buttons))
        let blocks = try #require(try JSONSerialization.jsonObject(with: encoded) as? [[String: Any]])
        #expect(blocks.count == 2)
        #expect(blocks[0]["type"] as? String == "section")
        #expect((blocks[0]["text"] as? [String: String]) == ["type": "mrkdwn", "text": "*hi*"])
        let elements = try #require(blocks[1]["elements"] as? [[String: Any]])
        #expect(elements.map { $0["action_id"] as? String } == ["ack", "take-ic"])
        #expect(elements.map { $0["value"] as? String } == ["ack INC-7", "role INC-7 ic"])
        // Slack knows only `primary` and `danger`.
        #expect(elements[0]["style"] as? String == "primary")
        #expect(elements[1]["style"] == nil)
        #expect(try JSONEncoder().encode(SlackBlocks.message(text: "x", buttons: [])).count > 0)
        #expect(SlackBlocks.message(text: String(repeating: "a", count: 4000), buttons: []).count == 1)
    }

    @Test func formBodiesAsSlackSendsThem() throws {
        let form = FormBody(string: SlackSamples.slashCommandForm)
        let command = try SlackSlashCommand(form: SlackSamples.slashCommandForm)
        #expect(command.command == "/incident")
        #expect(command.text == "declare sev2 Checkout errors")
        #expect(command.userID == "U0ALICE")
        #expect(command.userName == "alice")
        #expect(command.channelID == "C0INCIDENTS")
        #expect(command.responseURL == "https://hooks.slack.com/commands/T0KLAXON/1001/klaxon-response")
        #expect(form["enterprise_name"] == "Klaxon Test Org")

        // The docs' example leaves `/` and `:` unescaped and writes a space as %20.
        let docs = FormBody(string: SlackSamples.slashCommandFormAsDocumented)
        #expect(docs["command"] == "/oncall")
        #expect(docs["enterprise_name"] == "Klaxon Test Org")
        #expect(try SlackSlashCommand(form: SlackSamples.slashCommandFormAsDocumented).triggerID == "2002.3003.b0bc0ffee0ddba11")
        #expect(throws: DecodingError.self) { try SlackSlashCommand(form: "user_id=U1") }

        let encoded = FormBody.encode([("text", "declare sev1 a+b & c=d / é")])
        #expect(FormBody(string: encoded)["text"] == "declare sev1 a+b & c=d / é")
    }

    @Test func formBodyDecodingEdgeCases() {
        let form = FormBody(string: "a=1+2%2B3&&b=%E2%9C%85%20ok&c&d=x=y&e=%zz&f=%4&%ZZ=lost&g=%C3%28&h=%c3%a9")
        #expect(form["a"] == "1 2+3")
        #expect(form["b"] == "✅ ok")
        // A name without `=` has an empty value; only the first `=` splits.
        #expect(form["c"] == "")
        #expect(form["d"] == "x=y")
        // Broken escapes and bytes that are not UTF-8 leave the value empty and drop the name.
        #expect(form["e"] == "")
        #expect(form["f"] == "")
        #expect(form["g"] == "")
        #expect(!form.fields.values.contains("lost"))
        #expect(form["h"] == "é")
        #expect(form.fields.count == 8)
        #expect(FormBody(Data("text=%2Fincident+ack".utf8))["text"] == "/incident ack")
    }

    @Test func interactionPayloadsDecode() throws {
        let form = FormBody(string: SlackSamples.blockActionsForm)
        let actions = try JSONDecoder().decode(SlackInteraction.self, from: Data(try #require(form["payload"]).utf8))
        #expect(actions.type == "block_actions")
        #expect(actions.user.id == "U0ALICE")
        #expect(actions.triggerID == "1001.2002.klaxon0ack")
        #expect(actions.container?.channelID == "C0INCIDENTS")
        #expect(actions.actions?.first?.actionID == "ack")
        #expect(actions.actions?.first?.value == "ack INC-7")

        let submission = try JSONDecoder().decode(SlackInteraction.self, from: Data(SlackSamples.viewSubmission.utf8))
        #expect(submission.type == "view_submission")
        #expect(submission.view?.callbackID == "incident-update")
        #expect(submission.view?.privateMetadata == "INC-7 C0INCIDENTS")
        #expect(submission.view?.state?.values["update-block"]?["update-text"]?.value == "Rolled back the 14:02 deploy")

        // A large modal's envelope (a select menu of hundreds of options), built by the test.
        let large = try SlackSamples.largeModalBlockActions()
        #expect(large.count > 120_000)
        let frame = try JSONDecoder().decode(SlackSocketFrame.self, from: large)
        #expect(frame.type == "interactive")
        let payload = try JSONDecoder().decode(SlackSocketEnvelope<SlackInteraction>.self, from: large).payload
        #expect(payload.type == "block_actions")
    }

    @Test func socketFramesDecode() throws {
        let hello = try JSONDecoder().decode(SlackSocketFrame.self, from: Data(SlackSamples.socketHello.utf8))
        #expect(hello.type == "hello")
        for (sample, reason) in [
            (SlackSamples.socketDisconnectWarning, "warning"),
            (SlackSamples.socketDisconnectRefreshRequested, "refresh_requested"),
            (SlackSamples.socketDisconnectLinkDisabled, "link_disabled"),
            (SlackSamples.socketDisconnectTooMany, "too_many_websockets"),
        ] {
            let frame = try JSONDecoder().decode(SlackSocketFrame.self, from: Data(sample.utf8))
            #expect(frame.type == "disconnect")
            #expect(frame.reason == reason)
        }
        let slash = Data(SlackSamples.socketSlashCommandEnvelope.utf8)
        let envelope = try JSONDecoder().decode(SlackSocketFrame.self, from: slash)
        #expect(envelope.envelopeID == "57e0c0de-0000-4b1d-9000-00000000c0de")
        #expect(envelope.acceptsResponsePayload == true)
        #expect(try JSONDecoder().decode(SlackSocketEnvelope<SlackSlashCommand>.self, from: slash).payload.command == "/klaxon-socket")
        let events = Data(SlackSamples.socketEventsEnvelope.utf8)
        #expect(try JSONDecoder().decode(SlackSocketFrame.self, from: events).retryAttempt == 0)
        let callback = try JSONDecoder().decode(SlackSocketEnvelope<SlackEventEnvelope>.self, from: events).payload
        #expect(callback.eventID == "Ev0SOCKET")
        #expect(callback.event?.type == "app_mention")
    }
}
