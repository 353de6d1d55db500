import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentCore
import KlaxonTestSupport
import NIOCore
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// Interactive buttons on Mattermost (`platforms.mattermost.actionsURL`): the alert carries buttons whose
/// signed context comes back in the server's POST to `/mattermost/actions` when someone clicks.
@Suite("Mattermost buttons")
struct MattermostButtonsTests {
    static let channel = "incident-2025-11-10-001"
    static let actionsURL = "https://klaxon.example.com/mattermost/actions"

    /// Declares INC-1 with a slash command and delivers the outbox; returns the alert post.
    static func declare(_ fake: FakeMattermost, _ klaxon: TestDaemon, _ client: some TestClientProtocol) async throws -> FakeMattermost.Post {
        let answer = try await MattermostTests.command("create \"API response time degraded\"", fake: fake, client: client)
        #expect((answer.json?["text"] as? String)?.hasPrefix("Declared INC-1") == true)
        await klaxon.drain()
        return try #require(await fake.posts(in: channel).first { !$0.actions.isEmpty })
    }

    @Test func theAlertCarriesSignedButtonsInsteadOfCommandText() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-buttons")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mattermostActionsURL: Self.actionsURL), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let alert = try await Self.declare(fake, klaxon, client)
                #expect(alert.message.hasPrefix("🚨 [P1 INCIDENT] API response time degraded"))
                #expect(!alert.message.contains("/incident ack"), "no text fallback when the buttons are real")
                #expect(alert.actions.map(\.id) == ["ack", "update", "resolve", "takeic"])
                #expect(alert.actions.map(\.name) == ["Acknowledge", "Post update", "Resolve", "I'm the IC"])
                #expect(alert.actions.first?.style == "primary")
                #expect(alert.actions.allSatisfy { $0.url == Self.actionsURL })
                let signer = MattermostActionSigner(secret: Secret(Runbook004.commandToken))
                for action in alert.actions {
                    let name = try #require(action.context["action"])
                    #expect(action.context["incident"] == "INC-1")
                    #expect(signer.isValid(try #require(action.context["token"]), action: name, incident: IncidentID(1)))
                }
                #expect(alert.props["klaxon_message_id"]?.hasPrefix("klaxon-") == true)
            }
            try await klaxon.close()
        }
    }

    @Test func clicksRunTheCommandAsTheClicker() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-buttons")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mattermostActionsURL: Self.actionsURL), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let alert = try await Self.declare(fake, klaxon, client)
                clock.advance(by: 120)

                let ack = try await fake.click("ack", on: alert.id, as: "bob", klaxon: client, triggerID: "trigger-ack-1")
                #expect(ack.status == .ok)
                #expect((ack.ephemeralText)?.hasPrefix("Acknowledged INC-1 after") == true)
                #expect(!ack.updatesPost, "the post stays as it is")
                #expect(try await klaxon.store.incident(IncidentID(1))?.acknowledgedBy?.id == "bob")

                // The same delivery again (a proxy retrying): nothing happens twice.
                let again = try await fake.click("ack", on: alert.id, as: "bob", klaxon: client, triggerID: "trigger-ack-1")
                #expect(again.status == .ok)
                #expect(again.ephemeralText?.hasPrefix("Acknowledged") == false, "\(again.ephemeralText ?? "")")
                // A second click (a new trigger id) is refused by the engine and changes nothing either.
                let secondClick = try await fake.click("ack", on: alert.id, as: "alice", klaxon: client)
                #expect((secondClick.ephemeralText)?.hasPrefix("INC-1 was already acknowledged by @bob") == true)
                let acks = try await klaxon.store.timeline(of: IncidentID(1)).filter { $0.kind == .acknowledged }
                #expect(acks.count == 1)

                let takeIC = try await fake.click("takeic", on: alert.id, as: "alice", klaxon: client)
                #expect(takeIC.ephemeralText == "@alice is now Incident Commander of INC-1.")
                #expect(try await klaxon.store.incident(IncidentID(1))?.roles[.commander]?.id == "alice")

                // Post update carries no text: it opens the update form (see MattermostDialogTests).
                let update = try await fake.click("update", on: alert.id, as: "alice", klaxon: client)
                #expect(update.ephemeralText?.hasPrefix("Opening the update form for INC-1.") == true)
                #expect(await fake.dialogOpenings(atLeast: 1).compactMap(\.dialog).map(\.userID) == ["uidalice"])

                // Older servers leave `user_name` out: the clicker is looked up by id.
                let resolve = try await fake.click("resolve", on: alert.id, as: "carol", klaxon: client, sendUserName: false)
                #expect((resolve.ephemeralText)?.hasPrefix("Resolved INC-1") == true)
                let incident = try #require(try await klaxon.store.incident(IncidentID(1)))
                #expect(incident.status == .resolved)
                #expect(try await klaxon.store.timeline(of: IncidentID(1)).contains { $0.kind == .resolved && $0.actor?.id == "carol" })

                await klaxon.drain()
                let posts = await fake.posts(in: Self.channel).map(\.message)
                #expect(posts.contains { $0.hasPrefix("✅ @bob acknowledged INC-1") }, "what a click changed is posted for everyone")
            }
            try await klaxon.close()
        }
    }

    @Test func forgedOrAlteredClicksAreRefusedAndChangeNothing() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-buttons")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mattermostActionsURL: Self.actionsURL), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let alert = try await Self.declare(fake, klaxon, client)
                let ackContext = try #require(alert.actions.first { $0.id == "ack" }).context
                let timeline = try await klaxon.store.timeline(of: IncidentID(1)).count
                let outbox = try await klaxon.store.outboxDepth()

                var resolveWithAckToken = ackContext
                resolveWithAckToken["action"] = "resolve"
                var otherIncident = ackContext
                otherIncident["incident"] = "INC-2"
                var flippedToken = ackContext
                let token = try #require(ackContext["token"])
                flippedToken["token"] = String(token.dropLast()) + (token.hasSuffix("0") ? "1" : "0")
                let signedWithAnotherKey = MattermostActionSigner(secret: Secret("some-other-token"))
                let forged = ["action": "resolve", "incident": "INC-1", "token": signedWithAnotherKey.token(action: "resolve", incident: IncidentID(1))]
                let contexts: [[String: String]] = [
                    resolveWithAckToken, otherIncident, flippedToken, forged, ["action": "resolve", "incident": "INC-1"],
                    ["action": "resolve", "incident": "INC-1", "token": ""], ["action": "resolve", "incident": "INC-1", "token": "zz"], [:],
                ]
                for context in contexts {
                    let answer = try await fake.click("ack", on: alert.id, as: "bob", klaxon: client, context: context)
                    #expect(answer.status == .unauthorized, "context \(context.keys.sorted())")
                }

                let notJSON = try await client.execute(
                    uri: "/mattermost/actions", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "user_id=x"))
                #expect(notJSON.status == .badRequest)
                let noUser = try await client.execute(
                    uri: "/mattermost/actions", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"channel_id":"cidincidents","context":{}}"#))
                #expect(noUser.status == .badRequest)

                let incident = try #require(try await klaxon.store.incident(IncidentID(1)))
                #expect(incident.acknowledgedAt == nil && incident.status == .declared)
                #expect(try await klaxon.store.timeline(of: IncidentID(1)).count == timeline)
                #expect(try await klaxon.store.outboxDepth() == outbox)
            }
            try await klaxon.close()
        }
    }

    @Test func signerTokens() {
        let signer = MattermostActionSigner(secret: Secret("mm-slash-command-token"))
        let token = signer.token(action: "ack", incident: IncidentID(7))
        #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
        #expect(token == signer.token(action: "ack", incident: IncidentID(7)), "deterministic, so a redelivered outbox message posts the same buttons")
        #expect(signer.isValid(token, action: "ack", incident: IncidentID(7)))
        #expect(signer.isValid(token.uppercased(), action: "ack", incident: IncidentID(7)))
        #expect(!signer.isValid(token, action: "resolve", incident: IncidentID(7)))
        #expect(!signer.isValid(token, action: "ack", incident: IncidentID(70)))
        #expect(!signer.isValid(String(token.dropLast(2)), action: "ack", incident: IncidentID(7)))
        #expect(!MattermostActionSigner(secret: Secret("another")).isValid(token, action: "ack", incident: IncidentID(7)))
        #expect(signer.token(action: "ack", incident: IncidentID(1)) != signer.token(action: "ack", incident: IncidentID(11)))
    }
}
