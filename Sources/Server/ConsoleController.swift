import Foundation
import Hummingbird
import IncidentCore
import Logging
import NIOCore
import Platforms

/// The console platform's inbound side: `POST /api/commands` takes the `/incident` language as JSON.
/// `klaxon incident …` and `klaxon cmd …` call it.
struct ConsoleController {
    let gateway: CommandGateway
    let store: any IncidentStore
    let clock: any WallClock
    let announceChannel: String
    let maxBodyBytes: Int
    let logger: Logger

    /// `api` is the `/api` group, behind `APITokenMiddleware`.
    func addRoutes(to api: RouterGroup<KlaxonRequestContext>) {
        api.post("commands") { request, requestContext in
            if let refusal = BrowserRequestGuard.refusal(of: request) { return refusal }
            let body = try await request.collectBody(limit: maxBodyBytes)
            let command: ConsoleCommandRequest
            do {
                command = try APIJSON.decoder.decode(ConsoleCommandRequest.self, from: Data(body.readableBytesView))
            } catch {
                return Response.error(
                    "expected JSON {\"text\": \"declare sev1 Payment processing down\", \"user\": \"alice\", \"channel\": \"incidents\"}", status: .badRequest)
            }
            let user = (command.user?.trimmingCharacters(in: .whitespaces)).flatMap { $0.isEmpty ? nil : $0 } ?? "console"
            let channel = (command.channel.map { $0.hasPrefix("#") ? String($0.dropFirst()) : $0 }).flatMap { $0.isEmpty ? nil : $0 } ?? announceChannel
            var context = CommandContext(
                platform: .console,
                conversation: Conversation(platform: .console, channelID: channel, threadID: command.thread),
                user: ChatUser(id: user, name: user),
                inboundKey: command.requestID.map { "console:request:\($0)" })
            context.remoteAddress = requestContext.remoteAddressText
            let result = await gateway.handle(text: command.text, context: context)
            let rendered = NeutralMarkup.render(result.reply.text, roomLink: nil)
            // The console's "chat" shows the command and the reply, like a channel would (not while the store
            // is known to be down: the lines would only hold the answer until it is back).
            // Both lines in one commit (one transaction, not two).
            if !result.storeWasUnreachable {
                var transcript = ChangeSet()
                transcript.consoleMessages = [
                    ConsoleMessage(at: clock.now(), channel: channel, thread: command.thread, text: "@\(user): /incident \(command.text)", kind: "command"),
                    ConsoleMessage(at: clock.now(), channel: channel, thread: command.thread, text: rendered, kind: "reply"),
                ]
                do {
                    try await store.commit(transcript)
                } catch {
                    // The command's own answer stands; only the transcript misses its lines.
                    logger.warning("console transcript lines not saved", metadata: ["channel": "\(channel)", "error": "\(error)"])
                }
            }
            logger.info("console reply", metadata: ["channel": "\(channel)", "text": "\(rendered)"])
            return try Response.json(
                ConsoleCommandResponse(
                    reply: rendered, visibility: result.reply.visibility.rawValue, outcome: result.outcome.rawValue,
                    incident: result.reply.incidentID?.description))
        }
    }
}
