import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Server
import Storage
import Testing

@Suite("Slack Socket Mode")
struct SocketModeTests {
    static let socketMode: SlackHarness.Options = {
        var options = SlackHarness.Options()
        options.socketMode = true
        return options
    }()

    @Test func envelopesGoToTheSameHandlersAndAreAcknowledged() async throws {
        try await SlackHarness.run(Self.socketMode) { slack in
            let fake = slack.fake
            #expect(await eventually { fake.openSockets == 1 })
            #expect(fake.calls("apps.connections.open").first?.authorization == "Bearer \(FakeSlack.appToken)")

            // A slash command (a slash_commands envelope, with our text): the reply rides on the ack.
            try fake.socketSend(slashEnvelope(id: "env-1", text: "declare sev2 Over the socket", trigger: "trigger-1"))
            #expect(await eventually { fake.ack(for: "env-1") != nil })
            let payload = try #require(fake.ack(for: "env-1")?["payload"] as? [String: Any])
            #expect(payload["response_type"] as? String == "in_channel")
            #expect((payload["text"] as? String)?.hasPrefix("Declared INC-1 · SEV2 · Over the socket") == true)

            // An event (an events_api envelope, with our mention): acknowledged without payload.
            var events = try Fixture.object(SlackSamples.socketEventsEnvelope)
            var callback = events["payload"] as! [String: Any]
            callback["event"] = (callback["event"] as! [String: Any]).merging(["text": "<@\(FakeSlack.botUserID)> ack INC-1", "user": "U0BOB"]) { $1 }
            events["payload"] = callback
            events["envelope_id"] = "env-2"
            try fake.socketSend(json(events))
            #expect(await eventually { fake.ack(for: "env-2") != nil })
            #expect(fake.ack(for: "env-2")?["payload"] == nil)
            #expect(try await slack.incident(IncidentID(1)).acknowledgedBy?.id == "U0BOB")

            // An interaction: the modal's validation errors ride on the ack.
            let submission = try JSONSerialization.data(withJSONObject: [
                "envelope_id": "env-3", "type": "interactive", "accepts_response_payload": true,
                "payload": viewSubmission(text: "", metadata: "INC-1 C0GENERAL"),
            ])
            fake.socketSend(String(decoding: submission, as: UTF8.self))
            #expect(await eventually { fake.ack(for: "env-3") != nil })
            let errors = try #require(fake.ack(for: "env-3")?["payload"] as? [String: Any])
            #expect(errors["response_action"] as? String == "errors")
        }
    }

    @Test func reconnectsOnDisconnectWithoutLosingOrDoublingACommand() async throws {
        try await SlackHarness.run(Self.socketMode) { slack in
            let fake = slack.fake
            #expect(await eventually { fake.openSockets == 1 })

            // Slack asks for a refresh (a `refresh_requested` frame): a new connection replaces the old one.
            fake.socketSend(SlackSamples.socketDisconnectRefreshRequested)
            fake.socketClose()
            #expect(await eventually { fake.socketsConnected == 2 && fake.openSockets == 1 })

            // A command arrives and the socket drops at once, before or after our ack went out; Slack sends
            // the envelope again on the next connection. It runs once, and both deliveries are acknowledged.
            let envelope = try slashEnvelope(id: "env-drop", text: "declare sev1 Dropped socket", trigger: "trigger-drop")
            fake.socketSend(envelope)
            fake.socketClose()
            #expect(await eventually { fake.socketsConnected == 3 && fake.openSockets == 1 })
            fake.socketSend(envelope)
            #expect(await eventually { fake.acks.filter { $0.contains("env-drop") }.count >= 1 })
            // Every delivery is audited once it has been decided (applied, or answered "Already done"), so two
            // audit lines for the command mean both runs are over: no wall-clock wait for a second incident.
            let bothDecided = try await eventually {
                try await slack.store.auditEntries(AuditQuery()).filter { $0.text.contains("Dropped socket") }.count == 2
            }
            let audited = try await slack.store.auditEntries(AuditQuery()).map { "\($0.outcome): \($0.text)" }
            #expect(bothDecided, "\(audited)")
            let incidents = try await slack.store.incidents(includeClosed: true, limit: 10)
            #expect(incidents.map(\.title) == ["Dropped socket"])

            // A warning comes a while before Slack closes the connection. The next one opens at once, and what
            // still arrives on the old one is handled; after a grace period Klaxon closes the old one itself.
            fake.socketSend(SlackSamples.socketDisconnectWarning)
            #expect(await eventually { fake.socketsConnected == 4 && fake.openSockets == 2 })
            try fake.socketSend(slashEnvelope(id: "env-late", text: "list", trigger: "trigger-late"), on: 3)
            #expect(await eventually { fake.ack(for: "env-late") != nil })
            #expect(await eventually { slack.clock.sleeperCount == 1 })
            slack.clock.advance(by: 16)
            #expect(await eventually { fake.openSockets == 1 })
            try fake.socketSend(slashEnvelope(id: "env-after", text: "list", trigger: "trigger-after"))
            #expect(await eventually { fake.ack(for: "env-after") != nil })
            let list = try #require(fake.ack(for: "env-after")?["payload"] as? [String: Any])
            #expect((list["text"] as? String)?.contains("Dropped socket") == true)
        }
    }

    @Test func acknowledgementCarriesThePayloadAsIs() throws {
        #expect(SlackSocketModeClient.acknowledgement(envelopeID: "a\"b", payload: nil) == #"{"envelope_id":"a\"b"}"#)
        #expect(
            SlackSocketModeClient.acknowledgement(envelopeID: "x", payload: Data(#"{"text":"hi"}"#.utf8)) == #"{"envelope_id":"x","payload":{"text":"hi"}}"#)
    }

    /// A `slash_commands` envelope with Klaxon's command and ids.
    func slashEnvelope(id: String, text: String, trigger: String) throws -> String {
        var envelope = try Fixture.object(SlackSamples.socketSlashCommandEnvelope)
        var payload = envelope["payload"] as! [String: Any]
        payload["command"] = "/incident"
        payload["text"] = text
        payload["user_id"] = "U0ALICE"
        payload["user_name"] = "alice"
        payload["trigger_id"] = trigger
        envelope["payload"] = payload
        envelope["envelope_id"] = id
        return try json(envelope)
    }

    func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }
}
