import Foundation
import Hummingbird
import IncidentCore
import Logging
import NIOCore

/// Rocket.Chat messages that are commands, from the webhook or the poller, through the gateway.
///
/// For `oncall`, whose reply shows clock times, the sender's UTC offset is looked up first (`users`, a
/// short deadline and a cache); without an answer the engine uses `people.<id>.timezone`, else the
/// rotation's zone.
struct RocketChatCommands: Sendable {
    let gateway: any InboundCommands
    let filter: RocketChatCommandFilter
    let users: RocketChatUserLookup?
    let logger: Logger

    enum Outcome: Sendable {
        case ignored(reason: String)
        case handled(CommandService.Result)
    }

    /// `answerInThread`: the transport takes no answer in its response (polling), so the reply is posted in
    /// the message's room and thread, queued with the command (see `CommandContext.replyThread`).
    func handle(_ message: RocketChatInboundMessage, answerInThread: Bool = false) async -> Outcome {
        switch filter.verdict(on: message) {
        case .ignored(let reason):
            logger.trace("Rocket.Chat message ignored", metadata: ["message_id": "\(message.messageID)", "reason": "\(reason)"])
            return .ignored(reason: reason)
        case .command(let text):
            var zone: String?
            if let users, RocketChatCommandFilter.isOnCall(text) { zone = await users.timeZone(ofUserID: message.userID) }
            let context = CommandContext(
                platform: .rocketchat, conversation: message.conversation, user: message.user, userTimeZone: zone, inboundKey: message.inboundKey,
                replyThread: answerInThread ? message.conversation : nil)
            return .handled(await gateway.handle(text: text, context: context))
        }
    }
}

/// `POST /rocketchat/webhook`: Rocket.Chat's outgoing webhook (event "Message Sent").
///
/// The body's `token` must be the configured `webhookToken`, or the answer is 401 and nothing happens.
/// The reply goes back in the response (`{"text": …}`), which Rocket.Chat posts in the room as the
/// integration's user: no REST call, so it is fast and cannot be rate limited. A delivery seen before
/// (same `message_id`) is answered with an empty 200, so Rocket.Chat posts nothing twice.
struct RocketChatWebhookController: Sendable {
    let commands: RocketChatCommands
    let webhookToken: Secret?
    let maxBodyBytes: Int
    let logger: Logger

    /// What Rocket.Chat posts back; `tmid` keeps the reply in the thread the command came from.
    struct Reply: Encodable {
        var text: String
        var tmid: String?
    }

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("rocketchat/webhook") { request, _ -> Response in
            let body = try await request.collectBody(limit: maxBodyBytes)
            let payload: RocketChatWebhookPayload
            do {
                payload = try JSONDecoder().decode(RocketChatWebhookPayload.self, from: Data(body.readableBytesView))
            } catch {
                return Response.error("expected the JSON body of a Rocket.Chat outgoing webhook", status: .badRequest)
            }
            guard SharedToken.matches(payload.token, webhookToken) else {
                logger.warning("Rocket.Chat webhook with a wrong token refused", metadata: ["channel": "\(payload.channelName ?? "")"])
                return Response.error("invalid token", status: .unauthorized)
            }
            guard let message = RocketChatInboundMessage(webhook: payload) else {
                return Response(status: .ok)
            }
            switch await commands.handle(message) {
            case .ignored:
                return Response(status: .ok)
            case .handled(let result) where result.outcome == .duplicate:
                return Response(status: .ok)
            case .handled(let result):
                return try Response.json(Reply(text: NeutralMarkup.render(result.reply.text, roomLink: nil), tmid: message.threadID))
            }
        }
    }
}
