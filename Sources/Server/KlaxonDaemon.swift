import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import IncidentCore
import Logging
import NIOCore
import Platforms
import Prometheus
import Scheduler
import ServiceLifecycle
import UnixSignals

/// The daemon, wired: core engine, store, platforms, outbox sender and HTTP. `klaxon serve` builds one
/// and runs it; the end-to-end tests build the same thing with a temporary store and port 0.
public struct KlaxonDaemon: Sendable {
    public let config: KlaxonConfig
    public let store: any IncidentStore
    public let clock: any WallClock
    public let logger: Logger
    public let metrics: KlaxonMetrics
    public let commands: CommandService
    public let gateway: CommandGateway
    public let sender: OutboxSender
    public let scheduler: TimerScheduler
    /// Prunes dedupe keys, delivered messages and console lines (`retention`).
    public let retention: RetentionService
    /// Post-mortem drafts as files (`postmortems.directory`).
    public let postmortems: PostmortemWriter
    /// `/status`, rendered once per published change.
    public let statusPage: StatusPageCache
    /// Parked platforms and store write failures: what `/readyz` reports.
    public let health: DaemonHealth
    /// Checks that the store answers (background and `/readyz`).
    public let storeProbe: StoreProbe
    /// Rung after every commit so the sender and the scheduler wake at once instead of on their next recheck.
    public let outboxBell: Doorbell
    public let timerBell: Doorbell
    /// Slack, Rocket.Chat, Mattermost: whichever the config enables.
    public let integrations: [any PlatformIntegration]

    /// `userLookupTimeout`: how long a command that shows times waits for the platform to say the asker's
    /// time zone (`IntegrationDependencies.userLookupTimeout`); nil, as `serve` runs, is each platform's default.
    public init(
        config: KlaxonConfig, store: any IncidentStore, clock: any WallClock = SystemClock(), logger: Logger,
        httpClient: HTTPClient = .shared, platforms extraPlatforms: [any ChatPlatform] = [], userLookupTimeout: TimeInterval? = nil
    ) throws {
        // `loadConfig` checked this for the file's host; `--host`, or a caller building the config in
        // code, may have changed it since.
        if let problem = config.server.exposureProblem { throw ConfigErrors(problems: [problem]) }
        self.config = config
        self.store = store
        self.clock = clock
        self.logger = logger
        let metrics = KlaxonMetrics()
        self.metrics = metrics
        let outboxBell = Doorbell()
        let timerBell = Doorbell()
        self.outboxBell = outboxBell
        self.timerBell = timerBell

        let engine = try IncidentEngine(config: config)
        let postmortems = PostmortemWriter(store: store, engine: engine, logger: logger)
        self.postmortems = postmortems
        let statusPage = StatusPageCache(timeZone: TimeZone(identifier: config.incidents.timeZone) ?? .gmt, clock: clock) { [store, config] now in
            try await StatusPageCache.model(store: store, config: config, now: now)
        }
        self.statusPage = statusPage
        // Who wakes for what: the sender for queued messages, the scheduler for timers and hand-offs, the
        // post-mortem files and the status page for changes, the on-call followers (Slack's user group) for
        // on-call changes.
        let onCallBell = Doorbell()
        let wakeups = Wakeups { event in
            switch event {
            case .committed(let changes):
                if !changes.outbox.isEmpty { outboxBell.ring() }
                postmortems.changed(changes)
                statusPage.changed(changes)
                // Overrides move hand-offs, which the scheduler plans for too; a timer matters only if it is
                // due before the scheduler would wake anyway. Cancelled timers need no wake-up.
                if !changes.overrides.isEmpty {
                    timerBell.ring()
                } else if let earliest = changes.timers.map(\.dueAt).min() {
                    timerBell.ring(dueAt: earliest)
                }
            case .outboxQueued:
                outboxBell.ring()
            case .onCallChanged, .pageDelivered:
                onCallBell.ring()
            }
        }
        commands = CommandService(engine: engine, store: store, clock: clock, wakeups: wakeups)
        let health = DaemonHealth(metrics: metrics.factory)
        self.health = health
        // Back from an outage: the sender and the scheduler look again now, not at the end of their back-off.
        storeProbe = StoreProbe(store: store, health: health, clock: clock, logger: logger, metrics: metrics.factory) {
            outboxBell.ring()
            timerBell.ring()
        }
        gateway = CommandGateway(service: commands, metrics: metrics, logger: logger, storeOutage: { health.storeOutage })

        integrations = try Integrations.make(
            IntegrationDependencies(
                config: config, store: store, clock: clock, logger: logger, gateway: gateway, httpClient: httpClient,
                wakeups: wakeups, onCallChange: { await onCallBell.wait(until: $0, clock: clock) }, userLookupTimeout: userLookupTimeout))
        var platforms = extraPlatforms + integrations.map(\.outbound)
        if let console = config.platforms.console {
            platforms.append(ConsolePlatform(store: store, announceChannel: console.announceChannel, mode: config.incidents.mode, clock: clock, logger: logger))
        }
        var settings = OutboxSender.Settings()
        settings.maxAttempts = config.outbox.maxAttempts
        settings.retryFor = TimeInterval(config.outbox.retryFor.seconds)
        settings.lease = TimeInterval(config.storage.leaseTime.seconds)
        var timerSettings = TimerScheduler.Settings()
        timerSettings.lease = TimeInterval(config.storage.leaseTime.seconds)
        // The configured gateways, and the receivers policy rules name by URL (`webhook:https://…`).
        let pagerReceivers = config.paging.webhooks + config.ruleWebhookReceivers
        let pager =
            pagerReceivers.isEmpty ? nil : PagerWebhookClient(webhooks: pagerReceivers, httpClient: httpClient, clock: clock, logger: logger)
        let discord =
            config.discord.webhooks.isEmpty
            ? nil : DiscordWebhookClient(webhooks: config.discord.webhooks, httpClient: httpClient, logger: logger)
        // The EHLO name: this machine's, as servers expect of a client (some log or check it).
        let email = try config.email.smtp.map { smtp in
            try EmailSender(config: smtp, clientName: ProcessInfo.processInfo.hostName, clock: clock, logger: logger)
        }
        let statusHooks =
            config.statusPage.webhooks.isEmpty
            ? nil : StatusWebhookClient(webhooks: config.statusPage.webhooks, httpClient: httpClient, clock: clock, logger: logger)
        sender = OutboxSender(
            store: store, platforms: platforms, pager: pager, discord: discord, email: email,
            tickets: config.tickets.github.map { GitHubIssues(config: $0, httpClient: httpClient, clock: clock, logger: logger) },
            statusHooks: statusHooks, clock: clock, doorbell: outboxBell, settings: settings, logger: logger,
            metrics: metrics.factory, health: health, announcementDigest: try AnnouncementDigest(config: config))
        scheduler = TimerScheduler(
            store: store, engine: engine, clock: clock, doorbell: timerBell, outboxBell: outboxBell, settings: timerSettings, logger: logger,
            metrics: metrics.factory, health: health, wakeups: wakeups)
        retention = RetentionService(store: store, retention: config.retention, clock: clock, logger: logger)
    }

    public func buildRouter() -> Router<KlaxonRequestContext> {
        let router = Router(context: KlaxonRequestContext.self)
        router.add(middleware: RequestDurationMiddleware(metrics: metrics))
        router.add(middleware: ErrorLoggingMiddleware(logger: logger))
        let api = router.group("api").add(middleware: APITokenMiddleware(token: config.server.apiToken))
        APIController(
            store: store, metrics: metrics, severities: config.severities, clock: clock, health: health, storeProbe: storeProbe,
            idFormat: config.incidents.idFormat
        ).addRoutes(to: router, api: api)
        StatusPageController(store: store, config: config, clock: clock, cache: statusPage).addRoutes(to: router)
        ExportController(store: store, engine: commands.engine, clock: clock).addRoutes(to: api)
        OutboxController(store: store, clock: clock, outboxBell: outboxBell, people: config, logger: logger).addRoutes(to: api)
        if let console = config.platforms.console {
            ConsoleController(
                gateway: gateway, store: store, clock: clock, announceChannel: console.announceChannel,
                maxBodyBytes: config.server.maxBodyBytes, logger: logger
            ).addRoutes(to: api)
        }
        for integration in integrations {
            integration.addRoutes(to: router)
        }
        if !config.alerts.sources.isEmpty {
            AlertsController(
                commands: commands, sources: config.alerts.sources, maxBodyBytes: config.server.maxBodyBytes, metrics: metrics, logger: logger
            ).addRoutes(to: router)
        }
        return router
    }

    /// The HTTP server. `port` overrides the config (tests pass 0 and learn the port from `onServerRunning`).
    public func buildApplication(port: Int? = nil, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let server = config.server
        let limits = ConnectionLimits(server: server, logger: logger)
        return Application(
            router: buildRouter(),
            server: .http1(
                configuration: HTTP1Channel.Configuration(
                    additionalChannelHandlers: [
                        RequestReadTimeoutHandler(headerTimeout: limits.headerTimeout, bodyTimeout: limits.bodyTimeout, idleTimeout: limits.idleTimeout)
                    ],
                    idleTimeout: limits.idleTimeout)),
            configuration: .init(
                address: .hostname(server.host, port: port ?? server.port), serverName: "klaxon",
                availableConnectionsDelegate: limits.delegate),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// All long-running parts in one group, in dependency order (shutdown runs in reverse: HTTP stops
    /// taking commands first, then the sender finishes its batch). `storeServices` (the PostgreSQL
    /// store's connection pool) come first, so they stop last, after everything that uses the store.
    public func serviceGroup(
        port: Int? = nil, signals: [UnixSignal] = [.sigterm, .sigint], storeServices: [any Service] = [],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> ServiceGroup {
        let inbound = integrations.flatMap(\.services).map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        var configuration = ServiceGroupConfiguration(
            services: storeServices.map { .init(service: $0) } + [
                .init(service: storeProbe), .init(service: sender), .init(service: scheduler), .init(service: retention),
            ]
                + (postmortems.isEnabled ? [.init(service: postmortems)] : []) + inbound
                + [.init(service: buildApplication(port: port, onServerRunning: onServerRunning))],
            gracefulShutdownSignals: signals,
            cancellationSignals: [],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = Self.maximumGracefulShutdown
        configuration.maximumCancellationDuration = Self.maximumCancellation
        return ServiceGroup(configuration: configuration)
    }

    /// How long a graceful stop may take before what is still running is cancelled, and how long the
    /// cancellation may take before the process ends itself (`fatalError`, from swift-service-lifecycle).
    /// A stop must end: an orchestrator kills the process after its own grace period (Kubernetes: 30 s)
    /// anyway, and nothing is lost by ending it (every acknowledged command is committed; a message or
    /// timer the process held is taken again once its lease runs out, by this process after a restart or
    /// by another replica). The test suite has seen a replica that lived through a PostgreSQL outage not
    /// stop within 45 s of SIGTERM: once its outbox sender, once its scheduler, never logged their stop
    /// (the last one did stop when cancelled; its scheduler did not). The cause, most likely a store call
    /// that neither returns nor hears cancellation, is not found yet; these bounds are what make such a
    /// stop end. The PostgreSQL store's waits that do not hear cancellation log the work they still wait
    /// on 5 s after their caller was cancelled (`UncancellableWork`), so the next occurrence says where.
    static let maximumGracefulShutdown: Duration = .seconds(25)
    static let maximumCancellation: Duration = .seconds(5)
}

/// Records how long each request took, by route (errors included: they are answers too).
struct RequestDurationMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: KlaxonMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        defer { metrics.requestDuration(route: context.endpointPath ?? "unmatched").record(ContinuousClock.now - start) }
        return try await next(request, context)
    }
}

/// Logs unexpected errors once, and turns them into a 500 without details (which might hold secrets).
struct ErrorLoggingMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            return Response.error("internal error", status: .internalServerError)
        }
    }
}
