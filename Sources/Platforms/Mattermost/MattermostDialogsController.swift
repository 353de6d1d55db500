import Foundation
import Hummingbird
import IncidentCore
import Logging
import NIOCore

/// `POST /mattermost/dialogs`: the submission of the "Post update" form, POSTed by the Mattermost server
/// (see `MattermostDialogs.swift` for the request and how the `state` is signed).
///
/// The state's token must be Klaxon's HMAC over the form, the incident, the submitting user and the click
/// that opened it, or the answer is 401 and nothing happens. The text is run as
/// `/incident update <INC> <text>` for the person who submitted it, through the same gateway as a typed
/// command; the update is posted in the incident's channel for everyone through the outbox.
///
/// Answers: `{}` closes the form; `{"errors": {"update": …}}` keeps it open with the message under the
/// text area: for an empty text, and for an update the incident refuses (closed, unknown), so the person
/// sees why and keeps what they wrote.
struct MattermostDialogsController: Sendable {
    let gateway: any InboundCommands
    let signer: MattermostActionSigner
    /// The submission names the user by id only: their username is what Klaxon mentions and `people` lists.
    let users: MattermostUserLookup?
    let maxBodyBytes: Int
    let logger: Logger

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("mattermost/dialogs") { request, _ -> Response in
            let body = try await request.collectBody(limit: maxBodyBytes)
            let submission: MattermostDialogSubmission
            do {
                submission = try JSONDecoder().decode(MattermostDialogSubmission.self, from: Data(body.readableBytesView))
            } catch {
                return Response.error("expected the JSON body of a Mattermost dialog submission (user_id, callback_id, state)", status: .badRequest)
            }
            guard let verified = submission.verifiedUpdate(signer) else {
                // The state is not logged: it holds the (wrong) token.
                logger.warning(
                    "Mattermost dialog submission with an invalid state refused",
                    metadata: ["callback_id": "\(submission.callbackID)", "user_id": "\(submission.userID)"])
                return Response.error("invalid dialog state", status: .unauthorized)
            }
            // Sent only with `notify_on_cancel`, which Klaxon does not ask for; there is nothing to undo.
            if submission.cancelled { return try Response.json(MattermostDialogResponse.close) }
            return try Response.json(await update(verified.incident, nonce: verified.nonce, submission: submission))
        }
    }

    private func update(_ incident: IncidentID, nonce: String, submission: MattermostDialogSubmission) async -> MattermostDialogResponse {
        let field = MattermostUpdateDialog.field
        // The form refuses an empty text itself; a client that does not, or a text of blanks, is answered here.
        let text = (submission.submission[field] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else {
            return MattermostDialogResponse(errors: [field: "Write what changed: it is posted to \(incident) for everyone."])
        }
        guard let username = await users?.user(id: submission.userID)?.username else {
            return MattermostDialogResponse(
                errors: [field: "Klaxon could not look you up in Mattermost just now. Submit again, or type `/incident update \(incident) <what changed>`."])
        }
        let context = CommandContext(
            platform: .mattermost, conversation: Conversation(platform: .mattermost, channelID: submission.channelID),
            user: ChatUser(id: username, name: username), inboundKey: MattermostDialogSubmission.inboundKey(nonce: nonce))
        let result = await gateway.handle(text: "update \(incident) \(text)", context: context)
        switch result.outcome {
        case .applied, .answered, .duplicate:
            return .close
        case .rejected, .denied, .invalid, .failed:
            return MattermostDialogResponse(errors: [field: NeutralMarkup.render(result.reply.text, roomLink: nil)])
        }
    }
}
