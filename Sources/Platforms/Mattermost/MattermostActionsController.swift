import Foundation
import Hummingbird
import IncidentCore
import Logging
import NIOCore

/// `POST /mattermost/actions`: a click on one of Klaxon's interactive buttons, POSTed by the Mattermost
/// server (see `MattermostActions.swift` for the request and how the context is signed).
///
/// The context's token must be Klaxon's HMAC over the action and incident, or the answer is 401 and nothing
/// happens. The command is rebuilt from the action and the incident, never taken from the request, and run
/// as the person who clicked, through the same gateway as a typed command. The answer is
/// `{"ephemeral_text": …}`, which only the clicker sees; a change is posted in the channel for everyone
/// through the outbox, as for the slash command.
///
/// "Post update" carries no text, so it opens a form (an interactive dialog, see `MattermostDialogs.swift`)
/// whose submission comes back to `POST /mattermost/dialogs`. The form is opened only after the click has
/// been answered: Mattermost's web app shows a dialog only if it arrives for the trigger id that the
/// click's own answer hands the app, and a dialog opened before that answer reaches it is dropped.
struct MattermostActionsController: Sendable {
    let gateway: any InboundCommands
    let signer: MattermostActionSigner
    /// Finds the clicker's username when the request has no `user_name` (older servers).
    let users: MattermostUserLookup?
    /// Opens the update form; nil without `actionsURL` (Klaxon then has no address to give for it).
    let updateDialog: MattermostUpdateDialog?
    let client: MattermostClient?
    let maxBodyBytes: Int
    let logger: Logger

    /// Older servers accept a trigger id for 3 s after the click, and the click's answer has gone out
    /// just before: the call to open the form must not take longer than what is left.
    static let openDialogTimeout = TimeAmount.seconds(2)

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("mattermost/actions") { request, _ -> Response in
            let body = try await request.collectBody(limit: maxBodyBytes)
            let click: MattermostActionRequest
            do {
                click = try JSONDecoder().decode(MattermostActionRequest.self, from: Data(body.readableBytesView))
            } catch {
                return Response.error("expected the JSON body of a Mattermost button click (user_id, channel_id, context)", status: .badRequest)
            }
            guard let verified = click.verifiedAction(signer) else {
                // The context is not logged: it holds the (wrong) token.
                logger.warning(
                    "Mattermost button click with an invalid token refused", metadata: ["channel_id": "\(click.channelID)", "user_id": "\(click.userID)"])
                return Response.error("invalid action token", status: .unauthorized)
            }
            if verified.action == "update", let updateDialog, let client, let triggerID = click.triggerID {
                let incident = verified.incident
                let answer = try Response.json(
                    MattermostActionResponse(
                        ephemeralText: "Opening the update form for \(incident). If it does not appear, type `/incident update \(incident) <what changed>`."))
                let request = updateDialog.openRequest(triggerID: triggerID, incident: incident, userID: click.userID)
                return Self.answer(answer) {
                    do {
                        try await client.openDialog(request, timeout: Self.openDialogTimeout)
                    } catch {
                        // The clicker was already told what to type should the form not appear.
                        logger.warning(
                            "could not open the Mattermost update form",
                            metadata: ["incident": "\(incident)", "user_id": "\(click.userID)", "error": "\(error)"])
                    }
                }
            }
            let answer = await run(verified.action, on: verified.incident, click: click)
            return try Response.json(MattermostActionResponse(ephemeralText: answer))
        }
    }

    /// `response`, with `afterwards` run once its last byte has been handed to the connection, inside the
    /// request's own task (so shutdown waits for it, and nothing outlives the server). The same device
    /// Hummingbird uses internally (`ResponseBody.withPostWriteClosure`).
    static func answer(_ response: Response, afterwards: @escaping @Sendable () async -> Void) -> Response {
        var response = response
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            try await body.write(writer)
            await afterwards()
        }
        return response
    }

    /// What the clicker is told.
    private func run(_ action: String, on incident: IncidentID, click: MattermostActionRequest) async -> String {
        if action == "update" {
            // No form to open (no `actionsURL`, or no trigger id from an old server): the update is typed.
            return "To post an update to \(incident), type `/incident update \(incident) <what changed>`."
        }
        var username = click.username
        if username == nil { username = await users?.user(id: click.userID)?.username }
        guard let username else {
            return "Klaxon could not tell who clicked. Type `/incident \(Self.typed(action, incident))` instead."
        }
        let text: String
        switch action {
        case "ack": text = "ack \(incident)"
        case "resolve": text = "resolve \(incident)"
        case "take-ic": text = "role \(incident) ic @\(username)"
        default:
            // Signed by an earlier version of Klaxon for a button this one no longer has.
            return "This button is no longer supported. Type `/incident help` for the commands."
        }
        let context = CommandContext(
            platform: .mattermost, conversation: Conversation(platform: .mattermost, channelID: click.channelID),
            user: ChatUser(id: username, name: username), inboundKey: click.inboundKey)
        let result = await gateway.handle(text: text, context: context)
        return NeutralMarkup.render(result.reply.text, roomLink: nil)
    }

    /// The command a button stands for, to type by hand.
    private static func typed(_ action: String, _ incident: IncidentID) -> String {
        switch action {
        case "take-ic": "role \(incident) ic @you"
        case "update": "update \(incident) <what changed>"
        default: "\(action) \(incident)"
        }
    }
}
