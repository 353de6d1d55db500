import Hummingbird
import IncidentCore
import Logging
import ServiceLifecycle

/// Rocket.Chat, both ways: the REST adapter for the outbox, `POST /rocketchat/webhook`, and the poller
/// when `platforms.rocketchat.poll` is set.
public struct RocketChatIntegration: PlatformIntegration {
    public let outbound: any ChatPlatform
    let webhook: RocketChatWebhookController
    /// Present in polling mode; tests step it with `pollOnce()`.
    public let poller: RocketChatPoller?

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        webhook.addRoutes(to: router)
    }

    public var services: [any Service] { poller.map { [$0] } ?? [] }
}

/// Builds the Rocket.Chat integration when `platforms.rocketchat` is configured.
enum RocketChatIntegrationFactory {
    static func make(_ dependencies: IntegrationDependencies) throws -> (any PlatformIntegration)? {
        guard let config = dependencies.config.platforms.rocketchat else { return nil }
        var logger = dependencies.logger
        logger[metadataKey: "platform"] = "rocketchat"
        let client = RocketChatClient(
            serverURL: config.serverURL, userID: config.userId, authToken: config.authToken,
            httpClient: dependencies.httpClient, clock: dependencies.clock, logger: logger)
        let commands = RocketChatCommands(
            gateway: dependencies.gateway,
            filter: RocketChatCommandFilter(triggers: config.triggers, ownUserID: config.userId, oncallMention: config.oncallMention),
            users: RocketChatUserLookup(client: client, clock: dependencies.clock, timeout: dependencies.userLookupAmount, logger: logger), logger: logger)
        if config.webhookToken?.isEmpty ?? true {
            logger.notice("platforms.rocketchat.webhookToken is not set: POST /rocketchat/webhook refuses every call")
        }
        let poller = config.poll.map { poll in
            RocketChatPoller(
                client: client, commands: commands, store: dependencies.store, clock: dependencies.clock, rooms: poll.rooms,
                every: poll.every.timeInterval, lease: Double(dependencies.config.storage.leaseTime.seconds), logger: logger)
        }
        return RocketChatIntegration(
            outbound: RocketChatPlatform(
                client: client, announceChannel: config.announceChannel, mode: dependencies.config.incidents.mode,
                triggers: config.triggers, privateChannels: config.privateChannels, logger: logger),
            webhook: RocketChatWebhookController(
                commands: commands, webhookToken: config.webhookToken, maxBodyBytes: dependencies.config.server.maxBodyBytes, logger: logger),
            poller: poller)
    }
}
