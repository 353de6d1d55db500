import Foundation
import IncidentCore
import Logging
import Metrics
import Platforms
import ServiceLifecycle

/// Delivers the outbox: claims due messages, hands each to its platform, and records the result.
///
/// A message is leased before it is sent and marked delivered with the platform's message id after, so
/// a crash between the two re-sends at most that one message — and the adapters make that re-send
/// harmless where the platform allows (Rocket.Chat's client-chosen `_id`, the console's keyed lines).
/// Messages of one incident go out one at a time in order; different incidents proceed in parallel.
public struct OutboxSender: Service {
    public struct Settings: Sendable {
        public var batchSize = 32
        public var maxAttempts = 12
        /// How long a claimed message is ours before another sender may take it.
        public var lease: TimeInterval = 60
        /// First retry delay; doubles per attempt up to `maxBackoff`, with jitter.
        public var baseBackoff: TimeInterval = 1
        public var maxBackoff: TimeInterval = 300
        /// Even with nothing due, look again this often (another replica may have written).
        public var idleRecheck: TimeInterval = 30
        public init() {}
    }

    private let store: any IncidentStore
    private let platforms: [PlatformKind: any ChatPlatform]
    private let pager: PagerWebhookClient?
    private let clock: any WallClock
    private let doorbell: Doorbell
    private let settings: Settings
    private let owner: String
    private let logger: Logger
    private let delivered: Counter
    private let failed: Counter

    public init(
        store: any IncidentStore, platforms: [any ChatPlatform], pager: PagerWebhookClient? = nil, clock: any WallClock, doorbell: Doorbell,
        settings: Settings = Settings(), owner: String = "sender-\(UUID().uuidString.prefix(8))", logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.store = store
        self.platforms = Dictionary(platforms.map { ($0.kind, $0) }, uniquingKeysWith: { first, _ in first })
        self.pager = pager
        self.clock = clock
        self.doorbell = doorbell
        self.settings = settings
        self.owner = owner
        self.logger = logger
        self.delivered = Counter(label: "klaxon_outbox_delivered_total", factory: metrics)
        self.failed = Counter(label: "klaxon_outbox_failures_total", factory: metrics)
    }

    public func run() async throws {
        logger.info("outbox sender started", metadata: ["owner": "\(owner)"])
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let sent = await drainOnce()
            if sent > 0 { continue }
            let due = (try? await store.nextOutboxDue()) ?? nil
            let recheck = clock.now().addingTimeInterval(settings.idleRecheck)
            await cancelWhenGracefulShutdown {
                await doorbell.wait(until: min(due ?? recheck, recheck), clock: clock)
            }
        }
        logger.info("outbox sender stopped")
    }

    /// Delivers every message due now, one batch at a time; returns how many were attempted.
    /// Tests call it directly to step the sender deterministically.
    @discardableResult
    public func drainOnce() async -> Int {
        var attempted = 0
        while true {
            let now = clock.now()
            let batch: [OutboxMessage]
            do {
                batch = try await store.claimOutbox(now: now, owner: owner, leaseUntil: now.addingTimeInterval(settings.lease), limit: settings.batchSize)
            } catch {
                logger.error("outbox claim failed", metadata: ["error": "\(error)"])
                return attempted
            }
            if batch.isEmpty { return attempted }
            attempted += batch.count
            await withTaskGroup(of: Void.self) { group in
                for message in batch {
                    group.addTask { await self.deliver(message) }
                }
            }
        }
    }

    private func deliver(_ message: OutboxMessage) async {
        var metadata: Logger.Metadata = ["outbox_id": "\(message.id)", "platform": "\(message.platform)", "action": "\(message.action.kind)"]
        if let id = message.incidentID { metadata["incident"] = "\(id)" }
        if case .pagerWebhook(let notice) = message.action {
            await deliver(notice, of: message, metadata: metadata)
            return
        }
        guard let platform = platforms[message.platform] else {
            await settle(message, failure: .permanent("platform \(message.platform) is not enabled in bot-config.json"), metadata: metadata)
            return
        }
        do {
            let incident = try await message.incidentID.asyncMap { try await store.incident($0) } ?? nil
            let delivery = try await platform.deliver(message, incident: incident)
            if let room = delivery.room, let id = message.incidentID {
                try await store.setRoom(room, for: id)
            }
            try await store.markDelivered(message.id, platformMessageID: delivery.platformMessageID, at: clock.now())
            delivered.increment()
            logger.debug("delivered", metadata: metadata)
        } catch let failure as DeliveryFailure {
            await settle(message, failure: failure, metadata: metadata)
        } catch {
            await settle(message, failure: .transient("\(error)"), metadata: metadata)
        }
    }

    /// Pager notices go to the webhook client whatever the message's platform.
    private func deliver(_ notice: PagerNotice, of message: OutboxMessage, metadata: Logger.Metadata) async {
        var metadata = metadata
        metadata["webhook"] = "\(notice.webhook)"
        guard let pager else {
            await settle(message, failure: .permanent("no pager webhook client: paging.webhooks is empty"), metadata: metadata)
            return
        }
        do {
            let delivery = try await pager.deliver(notice, outboxID: message.id)
            try await store.markDelivered(message.id, platformMessageID: delivery.platformMessageID, at: clock.now())
            delivered.increment()
            logger.debug("delivered", metadata: metadata)
        } catch let failure as DeliveryFailure {
            await settle(message, failure: failure, metadata: metadata)
        } catch {
            await settle(message, failure: .transient("\(error)"), metadata: metadata)
        }
    }

    private func settle(_ message: OutboxMessage, failure: DeliveryFailure, metadata: Logger.Metadata) async {
        failed.increment()
        let attempts = message.attempts + 1
        var metadata = metadata
        metadata["attempt"] = "\(attempts)"
        metadata["error"] = "\(failure)"
        do {
            switch failure {
            case .permanent(let reason):
                logger.error("message given up: the platform refused it", metadata: metadata)
                try await store.markDead(message.id, error: reason)
            case _ where attempts >= settings.maxAttempts:
                logger.error("message given up after \(attempts) attempts", metadata: metadata)
                try await store.markDead(message.id, error: "\(failure)")
            case .rateLimited(let retryAfter):
                logger.notice("rate limited; waiting", metadata: metadata)
                try await store.markRetry(message.id, notBefore: clock.now().addingTimeInterval(max(retryAfter, 0.05)), error: "\(failure)")
            case .transient:
                logger.warning("delivery failed; will retry", metadata: metadata)
                try await store.markRetry(message.id, notBefore: clock.now().addingTimeInterval(backoff(attempt: attempts)), error: "\(failure)")
            }
        } catch {
            // The lease expires and the message is claimed again: delayed, not lost.
            logger.error("could not record delivery failure", metadata: metadata.merging(["store_error": "\(error)"]) { $1 })
        }
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, so retries of many messages spread out.
    func backoff(attempt: Int) -> TimeInterval {
        let exponential = min(settings.maxBackoff, settings.baseBackoff * pow(2, Double(max(0, attempt - 1))))
        return exponential / 2 + Double.random(in: 0...(exponential / 2))
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
