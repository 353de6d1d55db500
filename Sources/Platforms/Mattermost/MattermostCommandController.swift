import Foundation
import Hummingbird
import IncidentCore
import Logging
import NIOCore

/// `POST /mattermost/commands`: Mattermost's custom slash command (`/incident …`).
///
/// The command token (form field `token`, or `Authorization: Token …`) must equal `commandToken`, else
/// 401 and nothing happens. The answer is `{response_type, text}` straight away: the command commits to
/// the store, and everything slow (creating the channel, posting, paging) is the outbox's work, well
/// within Mattermost's 3-second limit.
///
/// For `oncall`, whose reply shows clock times, the sender's Mattermost time zone is looked up first
/// (`users`, a short deadline and a cache); without an answer the rotation's zone is used.
struct MattermostCommandController: Sendable {
    let gateway: any InboundCommands
    let commandToken: Secret
    let users: MattermostUserLookup?
    let maxBodyBytes: Int
    let logger: Logger

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("mattermost/commands") { request, _ -> Response in
            let body = try await request.collectBody(limit: maxBodyBytes)
            var form = MattermostSlashCommand.Form()
            do {
                form = try MattermostSlashCommand.Form(body: String(decoding: body.readableBytesView, as: UTF8.self))
            } catch {
                // Read as an empty form: refused below for its token (unless the header has it) or its fields.
                logger.warning("Mattermost slash command: cannot decode its form", metadata: ["error": "\(error)"])
            }
            let presented = MattermostSlashCommand.presentedToken(form: form, authorization: request.headers[.authorization])
            guard SharedToken.matches(presented, commandToken) else {
                logger.warning("Mattermost slash command with a wrong token refused", metadata: ["channel": "\(form.channelName ?? "")"])
                return Response.error("invalid token", status: .unauthorized)
            }
            guard let command = MattermostSlashCommand(form: form) else {
                return Response.error("expected a Mattermost slash command (channel_id, user_id, user_name)", status: .badRequest)
            }
            var zone: String?
            if command.isOnCall, let users { zone = await users.timeZone(ofUserID: command.userID) }
            let context = CommandContext(
                platform: .mattermost, conversation: command.conversation, user: command.user, userTimeZone: zone, inboundKey: command.inboundKey)
            let result = await gateway.handle(text: command.text, context: context)
            let visibility: CommandReply.Visibility = result.outcome == .duplicate ? .ephemeral : result.reply.visibility
            return try Response.json(
                MattermostCommandResponse(
                    responseType: visibility.rawValue, text: NeutralMarkup.render(result.reply.text, roomLink: nil)))
        }
    }
}
