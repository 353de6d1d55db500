import Hummingbird
import IncidentCore
import Logging
import Platforms
import ServiceLifecycle

/// Mattermost, both ways: the `api/v4` adapter for the outbox and `POST /mattermost/commands`.
public struct MattermostIntegration: PlatformIntegration {
    public let outbound: any ChatPlatform
    let commands: MattermostCommandController

    public func addRoutes(to router: Router<BasicRequestContext>) {
        commands.addRoutes(to: router)
    }

    public var services: [any Service] { [] }
}

/// Builds the Mattermost integration when `platforms.mattermost` is configured.
enum MattermostIntegrationFactory {
    static func make(_ dependencies: IntegrationDependencies) throws -> (any PlatformIntegration)? {
        guard let config = dependencies.config.platforms.mattermost else { return nil }
        var logger = dependencies.logger
        logger[metadataKey: "platform"] = "mattermost"
        let client = MattermostClient(
            serverURL: config.serverURL, botToken: config.botToken, httpClient: dependencies.httpClient,
            clock: dependencies.clock, logger: logger)
        return MattermostIntegration(
            outbound: MattermostPlatform(
                client: client, teamID: config.teamId, announceChannel: config.announceChannel,
                mode: dependencies.config.incidents.mode, clock: dependencies.clock, logger: logger),
            commands: MattermostCommandController(
                gateway: dependencies.gateway, commandToken: config.commandToken,
                maxBodyBytes: dependencies.config.server.maxBodyBytes, logger: logger))
    }
}
