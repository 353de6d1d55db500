import AsyncHTTPClient
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

/// "Post update" on Mattermost: the click is answered, then the update form (an interactive dialog) is
/// opened with the click's trigger id; Mattermost POSTs the submission to `/mattermost/dialogs` with the
/// signed `state`, and Klaxon runs `/incident update <INC> <text>` as the person who submitted it.
@Suite("Mattermost update dialog")
struct MattermostDialogTests {
    static let channel = MattermostButtonsTests.channel
    static let actionsURL = MattermostButtonsTests.actionsURL

    /// Declares INC-1, clicks Post update as `username` and returns the dialog the server accepted.
    static func openForm(
        _ fake: FakeMattermost, _ klaxon: TestDaemon, _ client: some TestClientProtocol, as username: String = "alice", triggerID: String = "trigger-update-1"
    ) async throws -> FakeMattermost.Dialog {
        let alert = try await MattermostButtonsTests.declare(fake, klaxon, client)
        let click = try await fake.click("update", on: alert.id, as: username, klaxon: client, triggerID: triggerID)
        #expect(click.status == .ok)
        #expect(click.ephemeralText?.hasPrefix("Opening the update form for INC-1.") == true, "\(click.ephemeralText ?? "nil")")
        let openings = await fake.dialogOpenings(atLeast: 1)
        #expect(openings.count == 1)
        return try #require(openings.first?.dialog, "the server accepted the dialog: \(openings.first?.errorID ?? "no call")")
    }

    static func updates(_ klaxon: TestDaemon) async throws -> [TimelineEntry] {
        try await klaxon.store.timeline(of: IncidentID(1)).filter { $0.kind == .update }
    }

    @Test func theFormsSubmissionPostsTheUpdateAsTheSubmitter() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-dialog")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mattermostActionsURL: Self.actionsURL), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let dialog = try await Self.openForm(fake, klaxon, client)
                #expect(dialog.url == "https://klaxon.example.com/mattermost/dialogs", "beside actionsURL")
                #expect(dialog.userID == "uidalice" && dialog.triggerID == "trigger-update-1")
                #expect(dialog.callbackID == "klaxon-update")
                #expect(dialog.title == "Update INC-1" && dialog.submitLabel == "Post update")
                #expect(!dialog.notifyOnCancel)
                #expect(dialog.elements.map(\.name) == ["update"])
                #expect(dialog.elements.first?.type == "textarea" && dialog.elements.first?.optional == false)
                #expect(dialog.elements.first?.maxLength == 3000)
                #expect(dialog.state.hasPrefix("INC-1:"))
                #expect(!dialog.state.contains(Runbook004.commandToken), "the state carries a MAC, never the key")

                // Nothing written, or only blanks: the form stays open with a message under the text area.
                for fields: [String: any Sendable] in [["update": ""], ["update": "  \n\t "], [:], ["update": 42]] {
                    let empty = try await fake.submit(dialog, fields: fields, klaxon: client)
                    #expect(empty.status == .ok)
                    #expect(empty.errors?["update"]?.hasPrefix("Write what changed") == true, "\(fields)")
                }
                #expect(try await Self.updates(klaxon).isEmpty)

                clock.advance(by: 60)
                let posted = try await fake.submit(dialog, fields: ["update": "Failover to the replica done;\nerror rate back to normal"], klaxon: client)
                #expect(posted.status == .ok && posted.isJSON)
                #expect(posted.errors == nil && posted.error == nil, "{} closes the form")
                let updates = try await Self.updates(klaxon)
                #expect(updates.count == 1)
                #expect(updates.first?.actor?.id == "alice", "run as the person who submitted it")
                #expect(updates.first?.text == "Update: Failover to the replica done;\nerror rate back to normal", "the text as written, lines kept")

                // The same submission again (a proxy repeating it): nothing happens twice.
                let again = try await fake.submit(dialog, fields: ["update": "Failover to the replica done;\nerror rate back to normal"], klaxon: client)
                #expect(again.status == .ok && again.errors == nil)
                #expect(try await Self.updates(klaxon).count == 1)

                await klaxon.drain()
                let posts = await fake.posts(in: Self.channel).map(\.message)
                #expect(posts.contains { $0.contains("Failover to the replica done") }, "the update is posted for everyone")
            }
            try await klaxon.close()
        }
    }

    /// Mattermost's web app shows a dialog only for the trigger id the click's answer hands it, so the
    /// form must be opened after the click is answered. The fake holds every call to open a dialog until
    /// the test has the click's answer: had Klaxon opened the form first, that call would have run into
    /// Klaxon's deadline and the answer would be the typed-command fallback, not "Opening the update form".
    /// No clock is read: the order alone decides.
    @Test func theClickIsAnsweredBeforeTheFormIsOpened() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-dialog")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mattermostActionsURL: Self.actionsURL), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let alert = try await MattermostButtonsTests.declare(fake, klaxon, client)
                await fake.stallDialogOpenings()
                let click = try await fake.click("update", on: alert.id, as: "alice", klaxon: client)
                #expect(click.ephemeralText?.hasPrefix("Opening the update form for INC-1.") == true, "\(click.ephemeralText ?? "")")
                #expect(await fake.dialogOpenings.isEmpty)
                await fake.releaseDialogOpenings()
                let openings = await fake.dialogOpenings(atLeast: 1)
                #expect(openings.map(\.status) == [200])
                #expect(openings.first?.dialog?.userID == "uidalice")
            }
            try await klaxon.close()
        }
    }

    @Test func anUpdateTheIncidentRefusesKeepsTheFormOpenWithTheReason() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-dialog")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mattermostActionsURL: Self.actionsURL), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let dialog = try await Self.openForm(fake, klaxon, client, as: "bob")
                let closed = try await MattermostTests.command("close INC-1 \"Scaled the pool\"", fake: fake, client: client)
                #expect((closed.json?["text"] as? String)?.contains("INC-1") == true)

                let late = try await fake.submit(dialog, fields: ["update": "One more thing"], klaxon: client)
                #expect(late.status == .ok)
                let reason = try #require(late.errors?["update"])
                #expect(reason.contains("INC-1"), "\(reason)")
                #expect(try await Self.updates(klaxon).isEmpty)
            }
            try await klaxon.close()
        }
    }

    @Test func forgedOrAlteredSubmissionsAreRefusedAndChangeNothing() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-dialog")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mattermostActionsURL: Self.actionsURL), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let dialog = try await Self.openForm(fake, klaxon, client)
                let timeline = try await klaxon.store.timeline(of: IncidentID(1)).count
                let outbox = try await klaxon.store.outboxDepth()

                let parts = dialog.state.split(separator: ":").map(String.init)
                try #require(parts.count == 3)
                let token = parts[2]
                let flipped = String(token.dropLast()) + (token.hasSuffix("0") ? "1" : "0")
                let ackToken = try #require(await fake.posts(in: Self.channel).flatMap(\.actions).first { $0.id == "ack" }?.context["token"])
                let otherKey = MattermostActionSigner(secret: Secret("some-other-token"))
                let states = [
                    "INC-2:\(parts[1]):\(token)", "INC-1:\(parts[1])x:\(token)", "INC-1:\(parts[1]):\(flipped)", "INC-1:\(parts[1]):\(ackToken)",
                    otherKey.dialogState(callbackID: "klaxon-update", incident: IncidentID(1), userID: "uidalice", nonce: parts[1]),
                    "INC-1:\(parts[1])", "INC-1:\(parts[1]):\(token):extra", "", "INC-1::\(token)",
                ]
                for state in states {
                    let answer = try await fake.submit(dialog, fields: ["update": "forged"], state: state, klaxon: client)
                    #expect(answer.status == .unauthorized, "state \(state.prefix(12))…")
                }
                // Alice's form submitted by someone else, or passed off as another dialog.
                #expect(try await fake.submit(dialog, fields: ["update": "forged"], as: "bob", klaxon: client).status == .unauthorized)
                #expect(try await fake.submit(dialog, fields: ["update": "forged"], callbackID: "other", klaxon: client).status == .unauthorized)
                // Even a cancellation is checked first.
                #expect(try await fake.submit(dialog, fields: [:], as: "bob", cancelled: true, klaxon: client).status == .unauthorized)

                let notJSON = try await client.execute(
                    uri: "/mattermost/dialogs", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "state=x"))
                #expect(notJSON.status == .badRequest)
                let noUser = try await client.execute(
                    uri: "/mattermost/dialogs", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"callback_id":"klaxon-update","state":"\#(dialog.state)","submission":{"update":"x"}}"#))
                #expect(noUser.status == .badRequest)

                #expect(try await klaxon.store.timeline(of: IncidentID(1)).count == timeline)
                #expect(try await klaxon.store.outboxDepth() == outbox)

                // The genuine one still works, and a cancellation of it changes nothing.
                let cancelled = try await fake.submit(dialog, fields: [:], cancelled: true, klaxon: client)
                #expect(cancelled.status == .ok && cancelled.errors == nil)
                #expect(try await fake.submit(dialog, fields: ["update": "genuine"], klaxon: client).errors == nil)
                #expect(try await Self.updates(klaxon).map(\.text) == ["Update: genuine"])
            }
            try await klaxon.close()
        }
    }

    @Test func aFormThatCannotOpenLeavesTheCommandToType() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-dialog")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mattermostActionsURL: Self.actionsURL), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let alert = try await MattermostButtonsTests.declare(fake, klaxon, client)
                // As when Klaxon's call comes after the trigger id has expired.
                await fake.setTriggerValidity(-1)
                let click = try await fake.click("update", on: alert.id, as: "alice", klaxon: client)
                #expect(click.status == .ok)
                #expect(click.ephemeralText?.contains("type `/incident update INC-1 <what changed>`") == true, "\(click.ephemeralText ?? "nil")")
                let openings = await fake.dialogOpenings(atLeast: 1)
                #expect(openings.map(\.status) == [400])
                #expect(openings.first?.errorID == "interactive_message.decode_trigger_id.expired")
                #expect(openings.first?.dialog == nil)
            }
            try await klaxon.close()
        }
    }

    @Test func withoutATriggerIDPostUpdateAnswersWithTheCommand() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-dialog")
        defer { directory.remove() }

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(
                Runbook004.config(mattermost: url, mattermostActionsURL: Self.actionsURL), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let alert = try await MattermostButtonsTests.declare(fake, klaxon, client)
                // A server older than 5.6 sends no trigger id, and no form can be opened.
                let click = try await fake.click("update", on: alert.id, as: "alice", klaxon: client, triggerID: nil)
                #expect(click.ephemeralText == "To post an update to INC-1, type `/incident update INC-1 <what changed>`.")
                #expect(await fake.dialogOpenings.isEmpty)
            }
            try await klaxon.close()
        }
    }

    @Test func theFakeRefusesTriggerIDsTheServerDidNotMake() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        try await withLiveServer(fake.router()) { url in
            let client = MattermostClient(serverURL: url, botToken: Secret("mm-bot-access-token"), httpClient: .shared, clock: clock, logger: quietLogger)
            let form = MattermostUpdateDialog(url: "https://klaxon.example.com/mattermost/dialogs", signer: MattermostActionSigner(secret: Secret("k")))
            let refusals = [
                ("", "interactive_message.decode_trigger_id.missing_data"), ("made-up", "interactive_message.decode_trigger_id.verify_signature_failed"),
            ]
            for (triggerID, expected) in refusals {
                do throws(ChatServerFailure) {
                    try await client.openDialog(form.openRequest(triggerID: triggerID, incident: IncidentID(1), userID: "uidalice"))
                    Issue.record("trigger id \(triggerID.debugDescription) was accepted")
                } catch .refused(let status, let code, _) {
                    #expect(status == 400 && code == expected)
                } catch {
                    Issue.record("unexpected \(error)")
                }
            }
            #expect(await fake.dialogOpenings(atLeast: 2).allSatisfy { $0.dialog == nil })
        }
    }

    @Test func theDialogURLSitsBesideTheActionsURL() {
        #expect(
            MattermostUpdateDialog.url(besideActionsURL: "https://klaxon.example.com/mattermost/actions") == "https://klaxon.example.com/mattermost/dialogs")
        #expect(
            MattermostUpdateDialog.url(besideActionsURL: "https://proxy.example.com:8443/klaxon/mattermost/actions")
                == "https://proxy.example.com:8443/klaxon/mattermost/dialogs")
        #expect(MattermostUpdateDialog.url(besideActionsURL: "http://10.0.0.5:8080/mattermost/actions?x=1") == "http://10.0.0.5:8080/mattermost/dialogs")
        #expect(MattermostUpdateDialog.url(besideActionsURL: "/mattermost/actions") == nil)
        #expect(MattermostUpdateDialog.url(besideActionsURL: "not a url") == nil)
    }

    @Test func dialogStates() {
        let signer = MattermostActionSigner(secret: Secret("mm-slash-command-token"))
        let nonce = MattermostUpdateDialog.nonce(forTriggerID: "trigger-1")
        #expect(nonce == MattermostUpdateDialog.nonce(forTriggerID: "trigger-1") && nonce != MattermostUpdateDialog.nonce(forTriggerID: "trigger-2"))
        #expect(nonce.count == 32 && nonce.allSatisfy(\.isHexDigit))
        let state = signer.dialogState(callbackID: "klaxon-update", incident: IncidentID(7), userID: "uidalice", nonce: nonce)
        let verified = signer.verifiedDialogState(state, callbackID: "klaxon-update", userID: "uidalice")
        #expect(verified?.incident == IncidentID(7) && verified?.nonce == nonce)
        #expect(signer.verifiedDialogState(state, callbackID: "klaxon-update", userID: "uidbob") == nil)
        #expect(signer.verifiedDialogState(state, callbackID: "klaxon-other", userID: "uidalice") == nil)
        #expect(signer.verifiedDialogState(state, callbackID: "klaxon-update", userID: "uidalice\n") == nil)
        #expect(MattermostActionSigner(secret: Secret("another")).verifiedDialogState(state, callbackID: "klaxon-update", userID: "uidalice") == nil)
        // A button's token for the same incident never passes as a dialog's.
        let buttonToken = signer.token(action: "update", incident: IncidentID(7))
        #expect(signer.verifiedDialogState("INC-7:\(nonce):\(buttonToken)", callbackID: "klaxon-update", userID: "uidalice") == nil)
    }
}
