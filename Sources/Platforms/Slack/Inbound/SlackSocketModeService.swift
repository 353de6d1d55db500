import Foundation
import IncidentCore
import Logging
import ServiceLifecycle

/// Socket Mode as a daemon service: the client keeps a connection to Slack; each envelope goes to the
/// same `SlackInbound` handlers as the HTTP routes, and the answer rides back on the acknowledgement.
struct SlackSocketModeService: Service {
    let client: SlackSocketModeClient
    let inbound: SlackInbound
    let logger: Logger

    func run() async throws {
        logger.info("slack socket mode started")
        await cancelWhenGracefulShutdown {
            await client.run { envelope, frame in await dispatch(envelope, frame: frame) }
        }
        logger.info("slack socket mode stopped")
    }

    /// The envelope's payload is what the matching HTTP request would carry: the slash command's fields as
    /// a JSON object, the interaction payload, or the `event_callback`.
    func dispatch(_ envelope: SlackSocketFrame, frame: Data) async -> Data? {
        switch envelope.type {
        case "slash_commands":
            // The same payload type as the HTTP form: a command without its required fields is dropped below.
            guard let command = decode(SlackSocketEnvelope<SlackSlashCommand>.self, envelope, frame)?.payload else { return nil }
            let reply = await inbound.slashCommand(command)
            return envelope.acceptsResponsePayload == false ? nil : Data(SlackInbound.json(reply).utf8)
        case "interactive":
            guard let interaction = decode(SlackSocketEnvelope<SlackInteraction>.self, envelope, frame)?.payload else { return nil }
            return await inbound.interaction(interaction).map { Data(SlackInbound.json($0).utf8) }
        case "events_api":
            guard let event = decode(SlackSocketEnvelope<SlackEventEnvelope>.self, envelope, frame)?.payload else { return nil }
            _ = await inbound.event(event, retryAttempt: envelope.retryAttempt)
            return nil
        default:
            logger.debug("slack socket mode: envelope ignored", metadata: ["type": "\(envelope.type)"])
            return nil
        }
    }

    /// The envelope as `type`; nil, with a log line naming what was dropped, when it does not decode (it is
    /// still acknowledged, so Slack does not redeliver what would fail alike).
    private func decode<T: Decodable>(_ type: T.Type, _ envelope: SlackSocketFrame, _ frame: Data) -> T? {
        do {
            return try JSONDecoder().decode(type, from: frame)
        } catch {
            logger.warning(
                "slack socket mode: envelope dropped, cannot decode it",
                metadata: ["type": "\(envelope.type)", "envelope_id": "\(envelope.envelopeID ?? "")", "error": "\(error)"])
            return nil
        }
    }
}
