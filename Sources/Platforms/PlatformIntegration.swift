import AsyncHTTPClient
import Foundation
import Hummingbird
import IncidentCore
import Logging
import ServiceLifecycle

/// One chat platform, both ways: the outbound adapter the outbox sender uses, the inbound HTTP routes,
/// and any long-running inbound worker (Slack Socket Mode, Rocket.Chat polling).
public protocol PlatformIntegration: Sendable {
    var outbound: any ChatPlatform { get }
    func addRoutes<Context: RequestContext>(to router: Router<Context>)
    /// Started in the daemon's `ServiceGroup` after the outbox sender.
    var services: [any Service] { get }
}

/// What an integration may use. Everything inbound goes through `gateway`, the same path as the console.
public struct IntegrationDependencies: Sendable {
    public var config: KlaxonConfig
    public var store: any IncidentStore
    public var clock: any WallClock
    public var logger: Logger
    public var gateway: any InboundCommands
    public var httpClient: HTTPClient
    /// Told what an integration did outside the gateway (a reply it queued, a page it delivered).
    public var wakeups: Wakeups
    /// Returns when who is on call may have changed, or at the given time; a service that follows the
    /// on-call (Slack's user group) waits on it. Only that one service may wait on it at a time.
    public var onCallChange: @Sendable (_ until: Date) async -> Void
    /// How long (seconds) a command that shows times waits for the platform to say the asker's time zone; nil: the
    /// platform's own default, well inside the 3 s a chat platform gives a command (Slack 0.7 s,
    /// Rocket.Chat and Mattermost 0.8 s). Tests on a loaded machine give their in-process fakes longer.
    public var userLookupTimeout: TimeInterval?

    public init(
        config: KlaxonConfig, store: any IncidentStore, clock: any WallClock, logger: Logger, gateway: any InboundCommands, httpClient: HTTPClient,
        wakeups: Wakeups, onCallChange: @escaping @Sendable (_ until: Date) async -> Void, userLookupTimeout: TimeInterval? = nil
    ) {
        self.config = config
        self.store = store
        self.clock = clock
        self.logger = logger
        self.gateway = gateway
        self.httpClient = httpClient
        self.wakeups = wakeups
        self.onCallChange = onCallChange
        self.userLookupTimeout = userLookupTimeout
    }
}

/// Builds the integrations that `bot-config.json` enables.
public enum Integrations {
    public static func make(_ dependencies: IntegrationDependencies) throws -> [any PlatformIntegration] {
        var integrations: [any PlatformIntegration] = []
        if let slack = try SlackIntegrationFactory.make(dependencies) { integrations.append(slack) }
        if let rocketChat = try RocketChatIntegrationFactory.make(dependencies) { integrations.append(rocketChat) }
        if let mattermost = try MattermostIntegrationFactory.make(dependencies) { integrations.append(mattermost) }
        return integrations
    }
}
