import Hummingbird
import IncidentCore
import Logging
import ServiceLifecycle

/// Mattermost, both ways: the `api/v4` adapter for the outbox, `POST /mattermost/commands`,
/// `POST /mattermost/actions` (button clicks) and `POST /mattermost/dialogs` (the update form).
public struct MattermostIntegration: PlatformIntegration {
    public let outbound: any ChatPlatform
    let commands: MattermostCommandController
    let actions: MattermostActionsController
    let dialogs: MattermostDialogsController

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        commands.addRoutes(to: router)
        // Mounted even without `actionsURL`, so that buttons and forms opened before it was removed still answer.
        actions.addRoutes(to: router)
        dialogs.addRoutes(to: router)
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
        let signer = MattermostActionSigner(secret: config.commandToken)
        let users = MattermostUserLookup(client: client, clock: dependencies.clock, timeout: dependencies.userLookupAmount, logger: logger)
        var updateDialog: MattermostUpdateDialog?
        if let actionsURL = config.actionsURL {
            if let url = MattermostUpdateDialog.url(besideActionsURL: actionsURL) {
                updateDialog = MattermostUpdateDialog(url: url, signer: signer)
            } else {
                logger.warning("platforms.mattermost.actionsURL is not an absolute URL: Post update answers with the command to type")
            }
        }
        return MattermostIntegration(
            outbound: MattermostPlatform(
                client: client, teamID: config.teamId, announceChannel: config.announceChannel,
                mode: dependencies.config.incidents.mode, privateChannels: config.privateChannels,
                buttons: config.actionsURL.map { MattermostButtons(url: $0, signer: signer) }, clock: dependencies.clock, logger: logger),
            commands: MattermostCommandController(
                gateway: dependencies.gateway, commandToken: config.commandToken, users: users,
                maxBodyBytes: dependencies.config.server.maxBodyBytes, logger: logger),
            actions: MattermostActionsController(
                gateway: dependencies.gateway, signer: signer, users: users, updateDialog: updateDialog, client: client,
                maxBodyBytes: dependencies.config.server.maxBodyBytes, logger: logger),
            dialogs: MattermostDialogsController(
                gateway: dependencies.gateway, signer: signer, users: users, maxBodyBytes: dependencies.config.server.maxBodyBytes, logger: logger))
    }
}
