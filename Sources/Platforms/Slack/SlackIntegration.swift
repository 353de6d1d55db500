import Foundation
import Hummingbird
import IncidentCore
import Logging
import ServiceLifecycle

/// Builds the Slack integration when `platforms.slack` is configured.
enum SlackIntegrationFactory {
    static func make(_ dependencies: IntegrationDependencies) throws -> (any PlatformIntegration)? {
        guard let slack = dependencies.config.platforms.slack else { return nil }
        return SlackIntegration(slack, dependencies)
    }
}

/// Slack, both ways: `SlackPlatform` delivers the outbox, `SlackController` takes Slack's requests, and,
/// when configured, Socket Mode and the on-call user group run as services.
public struct SlackIntegration: PlatformIntegration {
    public let outbound: any ChatPlatform
    public let services: [any Service]
    private let controller: SlackController

    init(_ slack: SlackConfig, _ dependencies: IntegrationDependencies) {
        var logger = dependencies.logger
        logger[metadataKey: "platform"] = "slack"
        let clock = dependencies.clock
        let api = SlackWebAPI(baseURL: slack.apiBaseURL, botToken: slack.botToken, httpClient: dependencies.httpClient, clock: clock, logger: logger)

        var services: [any Service] = []
        if let userGroup = slack.oncallUserGroup {
            services.append(
                SlackOnCallGroupSync(
                    config: dependencies.config, store: dependencies.store, api: api, userGroup: userGroup, clock: clock,
                    onCallChange: dependencies.onCallChange,
                    logger: logger))
        }

        let bot = SlackBotIdentity(api: api, clock: clock)
        outbound = SlackPlatform(
            api: api, announceChannel: slack.announceChannel, mode: dependencies.config.incidents.mode, clock: clock, bot: bot, logger: logger,
            wakeups: dependencies.wakeups)
        var lookup = SlackUserDirectory.Settings()
        if let timeout = dependencies.userLookupTimeout { lookup.timeout = timeout }
        let inbound = SlackInbound(
            gateway: dependencies.gateway, api: api, bot: bot,
            users: SlackUserDirectory(api: api, clock: clock, settings: lookup, logger: logger), logger: logger,
            wakeups: dependencies.wakeups)
        controller = SlackController(
            inbound: inbound, verifier: SlackRequestVerifier(signingSecret: slack.signingSecret, clock: clock),
            maxBodyBytes: dependencies.config.server.maxBodyBytes, logger: logger)
        if let appToken = slack.appToken {
            services.append(
                SlackSocketModeService(
                    client: SlackSocketModeClient(api: api, appToken: appToken, clock: clock, logger: logger), inbound: inbound, logger: logger))
        }
        self.services = services
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        controller.addRoutes(to: router)
    }
}
