import Foundation
import IncidentCore
import Logging

/// The door every platform's inbound commands go through: runs the command, counts it, logs it.
public struct CommandGateway: Sendable {
    public let service: CommandService
    let metrics: KlaxonMetrics
    let logger: Logger

    public init(service: CommandService, metrics: KlaxonMetrics, logger: Logger) {
        self.service = service
        self.metrics = metrics
        self.logger = logger
    }

    public func handle(text: String, context: CommandContext) async -> CommandService.Result {
        let result = await service.handle(text: text, context: context)
        metrics.recordCommand(platform: context.platform, verb: result.verb, outcome: result.outcome)
        guard logger.logLevel <= .info else { return result }
        var metadata: Logger.Metadata = [
            "platform": "\(context.platform)", "user": "\(context.user.displayName)", "channel": "\(context.conversation.channelID)",
            "verb": "\(result.verb?.rawValue ?? "unparsed")", "outcome": "\(result.outcome.rawValue)",
        ]
        if let id = result.reply.incidentID { metadata["incident"] = "\(id)" }
        logger.info("command", metadata: metadata)
        return result
    }
}
