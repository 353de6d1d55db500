import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Server
import Storage
import Testing

@Suite("Slack end to end, channel mode")
struct ChannelModeTests {
    @Test func signedDeclareOpensTheIncidentChannel() async throws {
        try await SlackHarness.run { slack in
            let reply = try await slack.slash("declare sev1 Payment processing down")
            #expect(reply.type == "in_channel")
            #expect(reply.text.hasPrefix("Declared INC-1 · SEV1 · Payment processing down"))
            // The answer came before any Slack call: the slow work waits in the outbox.
            #expect(slack.fake.calls.isEmpty)

            try await slack.deliverAll()
            let incident = try await slack.incident(IncidentID(1))
            let create = try #require(slack.fake.calls("conversations.create").first)
            #expect(create["name"] == "incident-2025-12-01-001")
            let channel = try #require(slack.fake.channel(named: "incident-2025-12-01-001"))
            #expect(incident.room == Conversation(platform: .slack, channelID: channel.id))
            #expect(incident.origin == Conversation(platform: .slack, channelID: "C0GENERAL"))

            // Invited: the declarer and whoever is on call (sev1 pages the primary rotation).
            let onCall = try #require(slack.daemon.commands.engine.chatUser(person: primaryOnCall(slack), on: .slack))
            let invite = try #require(slack.fake.calls("conversations.invite").first)
            #expect(invite["channel"] == channel.id)
            #expect(Set(invite["users"]!.split(separator: ",").map(String.init)) == Set(["U0ALICE", onCall.id]))
            #expect(channel.members.isSuperset(of: ["U0ALICE", onCall.id]))
            #expect(channel.topic == "SEV1 · Declared · IC: unassigned · INC-1 Payment processing down")

            // A pinned status card with the topic, the initial alert with its four buttons, then the page.
            let room = slack.fake.messages(in: channel.id)
            #expect(room.first?.text == "📌 Incident status: SEV1 · Declared · IC: unassigned · INC-1 Payment processing down")
            #expect(slack.fake.pinned(in: channel.id).map(\.ts) == [room[0].ts])
            let alert = try #require(room.dropFirst().first)
            #expect(alert.text.hasPrefix("🚨 [SEV1 INCIDENT] Payment processing down"))
            #expect(alert.text.contains("Declared by <@U0ALICE>"))
            // A usage hint is escaped, or Slack would read it as markup.
            #expect(alert.text.contains("/incident update &lt;what changed&gt;"))
            let buttons = try buttonsOf(alert)
            #expect(buttons.map(\.actionID) == ["ack", "update", "resolve", "take-ic"])
            #expect(buttons.map(\.value) == ["ack INC-1", "update INC-1", "resolve INC-1", "role INC-1 ic"])
            #expect(buttons.map(\.label) == ["Acknowledge", "Post update", "Resolve", "I'm the IC"])
            #expect(room.count == 3)
            #expect(room[2].text.hasPrefix("📟 <@\(onCall.id)>: you are paged for INC-1"))

            // The announcement links the new channel.
            let announcement = try #require(slack.fake.messages(in: FakeSlack.announceChannelID).first)
            #expect(announcement.text.contains("Follow it in <#\(channel.id)>."))
            #expect(slack.fake.messages(in: FakeSlack.announceChannelID).count == 1)

            // The page also went as a direct message.
            #expect(slack.fake.calls("conversations.open").map { $0["users"] } == [onCall.id])
            #expect(slack.fake.messages(in: "D" + onCall.id).count == 1)

            // Every call carried the bot token, and the outbox recorded each message's ts.
            #expect(slack.fake.calls.allSatisfy { $0.authorization == "Bearer \(FakeSlack.botToken)" })
            let outbox = try await slack.store.outboxMessages(incident: IncidentID(1))
            #expect(outbox.allSatisfy { $0.state == .delivered })
            let posted = Set(slack.fake.messages.map(\.ts))
            #expect(outbox.compactMap(\.platformMessageID).allSatisfy(posted.contains))
        }
    }

    @Test func lifecycleByCommandInTheChannel() async throws {
        try await SlackHarness.run { slack in
            let (id, channel) = try await slack.declare()
            let before = slack.fake.messages(in: channel).count

            let ack = try await slack.slash("ack", user: "U0BOB", userName: "bob", channel: channel)
            #expect(ack.type == "in_channel")
            #expect(ack.text.hasPrefix("Acknowledged INC-1"))
            let update = try await slack.slash("update DB failover in progress &amp; looking &lt;good&gt;", user: "U0BOB", channel: channel)
            #expect(update.text.hasPrefix("Update posted to INC-1."))
            let ic = try await slack.slash("role ic <@U0CAROL|carol>", user: "U0BOB", channel: channel)
            #expect(ic.text == "<@U0CAROL> is now Incident Commander of INC-1.")
            let resolve = try await slack.slash("resolve Failover done", user: "U0CAROL", channel: channel)
            #expect(resolve.text.hasPrefix("Resolved INC-1 after"))
            let close = try await slack.slash("close", user: "U0CAROL", channel: channel)
            #expect(close.text == "Closed INC-1. Summary posted.")
            try await slack.deliverAll()

            let room = slack.fake.messages(in: channel).dropFirst(before).map(\.text)
            #expect(room.contains { $0.hasPrefix("✅ <@U0BOB> acknowledged INC-1") })
            // Free text reaches Slack escaped.
            #expect(room.contains { $0.contains("DB failover in progress &amp; looking &lt;good&gt;") })
            #expect(room.contains("<@U0CAROL> is now Incident Commander of INC-1."))
            #expect(room.contains { $0.hasPrefix("✅ RESOLVED") && $0.contains("Failover done") })
            #expect(room.contains { $0.hasPrefix("INCIDENT SUMMARY · INC-1") })
            // Carol was invited when she became IC, and the topic followed every change.
            #expect(slack.fake.channel(channel)?.members.contains("U0CAROL") == true)
            let topics = slack.fake.calls("conversations.setTopic").compactMap { $0["topic"] }
            #expect(topics.contains("SEV1 · Acknowledged · IC: <@U0CAROL> · INC-1 Payment processing down"))
            #expect(topics.last == "SEV1 · Closed · IC: <@U0CAROL> · INC-1 Payment processing down")
            // So did the pinned card.
            #expect(slack.fake.pinned(in: channel).map(\.text) == ["📌 Incident status: SEV1 · Closed · IC: <@U0CAROL> · INC-1 Payment processing down"])
            // Resolution and summary were announced too.
            let announced = slack.fake.messages(in: FakeSlack.announceChannelID).map(\.text)
            #expect(announced.contains { $0.hasPrefix("✅ RESOLVED") })
            #expect(announced.contains { $0.hasPrefix("INCIDENT SUMMARY · INC-1") })
            #expect(try await slack.incident(id).status == .closed)
        }
    }

    @Test func lifecycleByButtons() async throws {
        try await SlackHarness.run { slack in
            let (id, channel) = try await slack.declare()

            // Acknowledge, as Bob.
            var result = try await slack.click("ack", value: "ack INC-1", channel: channel)
            #expect(result.status == 200)
            #expect(result.body.isEmpty)
            #expect(try await slack.incident(id).acknowledgedBy?.id == "U0BOB")
            // A second click is refused, and only the clicker hears why.
            result = try await slack.click("ack", value: "ack INC-1", user: "U0DAVE", userName: "dave", channel: channel)
            #expect(result.status == 200)
            #expect(slack.fake.responses.count == 1)
            let refusal = try #require(slack.fake.responses.first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
            #expect(refusal["response_type"] as? String == "ephemeral")
            #expect((refusal["text"] as? String)?.hasPrefix("INC-1 was already acknowledged by <@U0BOB>") == true)

            // I'm the IC.
            _ = try await slack.click("take-ic", value: "role INC-1 ic", channel: channel)
            #expect(try await slack.incident(id).roles[.commander] == ChatUser(id: "U0BOB", name: "bob"))

            // Post update: a modal, then its submission.
            let trigger = "trigger-\(UUID().uuidString)"
            _ = try await slack.click("update", value: "update INC-1", channel: channel, triggerID: trigger)
            let open = try #require(slack.fake.calls("views.open").first)
            #expect(open["trigger_id"] == trigger)
            let view = try #require(try JSONSerialization.jsonObject(with: Data(open["view"]!.utf8)) as? [String: Any])
            #expect(view["callback_id"] as? String == "klaxon-update")
            #expect(view["private_metadata"] as? String == "INC-1 \(channel)")

            // An empty update is sent back as a form error, and changes nothing.
            result = try await slack.interact(viewSubmission(text: "   ", metadata: "INC-1 \(channel)"))
            #expect(result.status == 200)
            #expect(result.json?["response_action"] as? String == "errors")
            #expect((result.json?["errors"] as? [String: String])?["update_text"] == "Write what changed.")
            result = try await slack.interact(viewSubmission(text: "Rolled back the deploy", metadata: "INC-1 \(channel)"))
            #expect(result.status == 200)
            #expect(result.body.isEmpty)
            // Slack may deliver the same submission again: one update.
            result = try await slack.interact(viewSubmission(text: "Rolled back the deploy", metadata: "INC-1 \(channel)"))
            #expect(result.body.isEmpty)

            _ = try await slack.click("resolve", value: "resolve INC-1", channel: channel)
            try await slack.deliverAll()
            #expect(try await slack.incident(id).status == .resolved)
            let room = slack.fake.messages(in: channel).map(\.text)
            #expect(room.filter { $0.contains("Rolled back the deploy") }.count == 1)
            #expect(room.contains("<@U0BOB> is now Incident Commander of INC-1."))
            #expect(room.contains { $0.hasPrefix("✅ RESOLVED") })
            let timeline = try await slack.store.timeline(of: id)
            #expect(timeline.filter { $0.kind == .update }.count == 1)

            // An update on a resolved incident is refused inside the form.
            result = try await slack.interact(viewSubmission(text: "More", metadata: "INC-1 \(channel)", viewID: "V2"))
            #expect(result.json?["response_action"] as? String == "errors")
            #expect((result.json?["errors"] as? [String: String])?["update_text"]?.hasPrefix("INC-1 is resolved") == true)
        }
    }

    @Test func refusesBadSignaturesAndReplays() async throws {
        try await SlackHarness.run { slack in
            let body = FormBody.encode([
                ("channel_id", "C0GENERAL"), ("user_id", "U0ALICE"), ("user_name", "alice"), ("command", "/incident"),
                ("text", "declare sev1 Forged"), ("trigger_id", "T-REPLAY"),
            ])
            // A signature by another secret, no signature, a stale and a future timestamp.
            let forged = SlackRequestVerifier.signature(
                signingSecret: Secret("not-the-secret"), timestamp: String(Int(slack.clock.now().timeIntervalSince1970)), body: Data(body.utf8))
            #expect(try await slack.post("/slack/commands", body: body, signature: forged).status == 401)
            #expect(try await slack.post("/slack/commands", body: body, signed: false).status == 401)
            #expect(try await slack.post("/slack/commands", body: body, timestamp: slack.clock.now().addingTimeInterval(-301)).status == 401)
            #expect(try await slack.post("/slack/commands", body: body, timestamp: slack.clock.now().addingTimeInterval(400)).status == 401)
            // A body changed after signing.
            let stamp = String(Int(slack.clock.now().timeIntervalSince1970))
            let signature = SlackRequestVerifier.signature(signingSecret: Secret(Fixture.signingSecret), timestamp: stamp, body: Data(body.utf8))
            #expect(try await slack.post("/slack/commands", body: body + "x", signature: signature).status == 401)
            #expect(
                try await slack.post(
                    "/slack/events", body: #"{"type":"url_verification","challenge":"x"}"#, contentType: "application/json", signature: signature
                ).status == 401)
            #expect(try await slack.post("/slack/interactions", body: "payload=%7B%7D", signature: signature).status == 401)
            #expect(try await slack.store.incidents(includeClosed: true, limit: 10).isEmpty)
            #expect(try await slack.store.outboxDepth() == 0)

            // The genuine request works once; the same signed request replayed changes nothing.
            let first = try await slack.post("/slack/commands", body: body, signature: signature)
            #expect(first.json?["response_type"] as? String == "in_channel")
            let replay = try await slack.post("/slack/commands", body: body, signature: signature)
            #expect(replay.status == 200)
            #expect(replay.json?["response_type"] as? String == "ephemeral")
            #expect((replay.json?["text"] as? String)?.hasPrefix("Already done") == true)
            #expect(try await slack.store.incidents(includeClosed: true, limit: 10).count == 1)

            // Slack's certificate check is acknowledged; an oversized body is refused before anything is read.
            #expect(try await slack.post("/slack/commands", body: "ssl_check=1&token=x", signed: false).status == 200)
            let huge = String(repeating: "a", count: slack.daemon.config.server.maxBodyBytes + 1)
            #expect(try await slack.post("/slack/commands", body: "text=" + huge).status == 413)
        }
    }

    @Test func statusCardIsFoundAgainAfterARestart() async throws {
        try await SlackHarness.run { slack in
            let (id, channel) = try await slack.declare()
            // A new adapter knows nothing of the card it posted before.
            let api = SlackWebAPI(
                baseURL: slack.fake.apiBaseURL, botToken: Secret(FakeSlack.botToken), httpClient: slack.fake.client, clock: slack.clock, logger: testLogger)
            let restarted = SlackPlatform(api: api, announceChannel: FakeSlack.announceChannelName, mode: .channel, clock: slack.clock, logger: testLogger)
            let topic = "SEV2 · Investigating · IC: unassigned · INC-1 Payment processing down"
            let message = OutboxMessage(
                id: 999, platform: .slack, incidentID: id, action: .setTopic(topic: topic), createdAt: slack.clock.now(),
                notBefore: slack.clock.now(), attempts: 0, state: .pending, platformMessageID: nil, lastError: nil)
            _ = try await restarted.deliver(message, incident: try await slack.incident(id))
            #expect(slack.fake.calls("pins.list").count == 1)
            #expect(slack.fake.channel(channel)?.topic == topic)
            #expect(slack.fake.pinned(in: channel).map(\.text) == ["📌 Incident status: " + topic])
        }
    }

    @Test func takenChannelNamesGetASuffix() async throws {
        try await SlackHarness.run { slack in
            slack.fake.addChannel(id: "C0TAKEN1", name: "incident-2025-12-01-001")
            slack.fake.addChannel(id: "C0TAKEN2", name: "incident-2025-12-01-001-2")
            let (_, channel) = try await slack.declare()
            #expect(slack.fake.channel(channel)?.name == "incident-2025-12-01-001-3")
            #expect(
                slack.fake.calls("conversations.create").map { $0["name"] ?? "" } == [
                    "incident-2025-12-01-001", "incident-2025-12-01-001-2", "incident-2025-12-01-001-3",
                ])
            // A first attempt cannot have made any of them, so nothing was looked up.
            #expect(slack.fake.calls("users.conversations").isEmpty)
        }
    }

    @Test func channelNamesAreMadeValidBeforeSending() async throws {
        var options = SlackHarness.Options()
        options.edit = { $0.incidents.channelName = "INC {id} {slug}" }
        try await SlackHarness.run(options) { slack in
            let (_, channel) = try await slack.declare("sev2", "Ünïcode & Spaces: in the Title!")
            #expect(slack.fake.channel(channel)?.name == "inc-1-unicode-spaces-in-the-title")
            #expect(slack.fake.calls("conversations.create").count == 1)
        }
    }

    @Test func permanentErrorsGiveUpAndLetTheRestThrough() async throws {
        try await SlackHarness.run { slack in
            // Slack refuses one update for good: that message is given up, and the incident's next ones still go.
            _ = try await slack.declare()
            slack.fake.inject("chat.postMessage", .slackError("channel_not_found"))
            let channel = try #require(try await slack.incident(IncidentID(1)).room?.channelID)
            _ = try await slack.slash("update first", channel: channel)
            _ = try await slack.slash("update second", channel: channel)
            try await slack.deliverAll()
            let outbox = try await slack.store.outboxMessages(incident: IncidentID(1))
            #expect(outbox.filter { $0.state == .dead }.count == 1)
            #expect(outbox.first { $0.state == .dead }?.lastError?.contains("channel_not_found") == true)
            #expect(slack.fake.messages(in: channel).contains { $0.text.contains("second") })
        }
    }

    // MARK: - Helpers

    struct Button: Equatable {
        var actionID: String
        var value: String
        var label: String
    }

    func buttonsOf(_ message: FakeSlack.Message) throws -> [Button] {
        let json = try #require(message.blocks)
        let blocks = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(blocks.first?["type"] as? String == "section")
        #expect((blocks.first?["text"] as? [String: Any])?["text"] as? String == message.text)
        let actions = try #require(blocks.first { $0["type"] as? String == "actions" })
        let elements = try #require(actions["elements"] as? [[String: Any]])
        return elements.map { element in
            Button(
                actionID: element["action_id"] as? String ?? "", value: element["value"] as? String ?? "",
                label: (element["text"] as? [String: Any])?["text"] as? String ?? "")
        }
    }

    func primaryOnCall(_ slack: SlackHarness) throws -> String {
        let rotation = try #require(slack.daemon.config.oncall.rotation(id: "primary"))
        return RotationSchedule(rotation: rotation).onCall(at: slack.clock.now(), overrides: []).personID
    }
}

/// A `view_submission` of the update modal, shaped like bolt-python's sample.
func viewSubmission(text: String, metadata: String, user: String = "U0BOB", viewID: String = "V1") -> [String: Any] {
    [
        "type": "view_submission",
        "team": ["id": "T0FAKE", "domain": "fake"],
        "user": ["id": user, "username": "bob", "name": "bob", "team_id": "T0FAKE"],
        "api_app_id": "A0FAKE", "token": "ignored", "trigger_id": "111.222.valid",
        "view": [
            "id": viewID, "team_id": "T0FAKE", "type": "modal", "callback_id": "klaxon-update", "private_metadata": metadata,
            "hash": "1596530361.3wRYuk3R",
            "blocks": [
                [
                    "type": "input", "block_id": "update_text", "label": ["type": "plain_text", "text": "What changed?"],
                    "element": ["type": "plain_text_input", "action_id": "text"],
                ]
            ],
            "state": ["values": ["update_text": ["text": ["type": "plain_text_input", "value": text]]]],
        ],
        "response_urls": [],
    ]
}
