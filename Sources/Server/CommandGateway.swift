import Foundation
import IncidentCore
import Logging
import Scheduler

/// The door every platform's inbound commands go through: runs the command, counts it, logs it.
public struct CommandGateway: InboundCommands {
    public let service: CommandService
    let metrics: KlaxonMetrics
    let logger: Logger
    /// The store's outage as `StoreProbe` last found it (nil: it answers). While there is one, commands
    /// are answered at once that nothing was saved, instead of waiting on a database that is down (the
    /// PostgreSQL pool queues calls for up to a minute) for an answer the platform has stopped waiting for.
    let storeOutage: @Sendable () -> DaemonHealth.StoreOutage?

    public init(
        service: CommandService, metrics: KlaxonMetrics, logger: Logger, storeOutage: @escaping @Sendable () -> DaemonHealth.StoreOutage? = { nil }
    ) {
        self.service = service
        self.metrics = metrics
        self.logger = logger
        self.storeOutage = storeOutage
    }

    public func handle(text: String, context: CommandContext) async -> CommandService.Result {
        let result: CommandService.Result
        if let outage = storeOutage() {
            // Not audited: the audit log is in the store that is down. The log line below records it.
            result = service.storeUnreachable(text: text)
            logger.warning("command refused: the store does not answer", metadata: ["reason": "\(outage.reason)"])
        } else {
            result = await service.handle(text: text, context: context)
        }
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
