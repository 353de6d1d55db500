import AsyncHTTPClient
import Hummingbird
import IncidentCore
import Logging
import Platforms
import Scheduler
import ServiceLifecycle

/// One chat platform, both ways: the outbound adapter the outbox sender uses, the inbound HTTP routes,
/// and any long-running inbound worker (Slack Socket Mode, Rocket.Chat polling).
public protocol PlatformIntegration: Sendable {
    var outbound: any ChatPlatform { get }
    func addRoutes(to router: Router<KlaxonRequestContext>)
    /// Started in the daemon's `ServiceGroup` after the outbox sender.
    var services: [any Service] { get }
}

/// What an integration may use. Everything inbound goes through `gateway`, the same path as the console.
public struct IntegrationDependencies: Sendable {
    public var config: KlaxonConfig
    public var store: any IncidentStore
    public var clock: any WallClock
    public var logger: Logger
    public var gateway: CommandGateway
    public var httpClient: HTTPClient
    /// Told what an integration did outside the gateway (a reply it queued, a page it delivered).
    public var wakeups: Wakeups
    /// Rung when who is on call may have changed; a service that follows the on-call waits on it.
    public var onCallBell: Doorbell
}

/// Builds the integrations that `bot-config.json` enables.
enum Integrations {
    static func make(_ dependencies: IntegrationDependencies) throws -> [any PlatformIntegration] {
        var integrations: [any PlatformIntegration] = []
        if let slack = try SlackIntegrationFactory.make(dependencies) { integrations.append(slack) }
        if let rocketChat = try RocketChatIntegrationFactory.make(dependencies) { integrations.append(rocketChat) }
        if let mattermost = try MattermostIntegrationFactory.make(dependencies) { integrations.append(mattermost) }
        return integrations
    }
}
