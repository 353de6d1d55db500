import Foundation
import IncidentCore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Delivers the outbox: claims due messages, hands each to its platform, and records the result.
///
/// A message is leased before it is sent and marked delivered with the platform's message id after, so
/// a crash between the two re-sends at most that one message — and the adapters make that re-send
/// harmless where the platform allows (Rocket.Chat's client-chosen `_id`, the console's keyed lines).
/// Messages of one incident go out one at a time in order; different incidents proceed in parallel.
///
/// Each lane (a chat platform's queue, the pager webhooks', email's, tickets') is claimed and delivered on its own, so
/// a slow, rate-limited or refusing platform holds up only itself. What a failure does:
/// - rate limited: the message waits as told; not an attempt.
/// - transient (5xx, time-outs): retried with capped backoff until its failures have lasted `retryFor`.
/// - unauthorized (credentials refused): the message is not at fault, the platform is; its lane is
///   parked (`DaemonHealth`, `/readyz`, `klaxon_platform_unavailable`) and its head message is tried
///   again at a capped backoff until the platform answers, then the lane resumes where it stopped.
/// - permanent (archived channel, deactivated user): dead, with its reason (`klaxon_outbox_dead_total`,
///   `GET /api/outbox?state=dead`).
/// When the store refuses writes, each lane backs off (capped doubling) instead of spinning.
public struct OutboxSender: Service {
    public struct Settings: Sendable {
        public var batchSize = 32
        /// Gives up after this many failed attempts, if set (`outbox.maxAttempts`, kept for older configs);
        /// `retryFor` applies either way.
        public var maxAttempts: Int?
        /// Transient failures are retried this long, counted from the first failure of the run.
        public var retryFor: TimeInterval = 86_400
        /// How long a claimed message is ours before another sender may take it.
        public var lease: TimeInterval = 60
        /// Delay before retrying a transient failure: from 1 s, doubling per attempt up to 5 min, with jitter.
        public var retryBackoff = Backoff(initial: 1, maximum: 300)
        /// Even with nothing due, look again this often (another replica may have written).
        public var idleRecheck: TimeInterval = 30
        /// A parked lane tries its head message after this long, then twice as long each time it is
        /// refused again, up to `maxProbeInterval`.
        public var firstProbe: TimeInterval = 5
        public var maxProbeInterval: TimeInterval = 300
        /// After a failed store write, wait this long before the next claim, doubling up to `maxStoreBackoff`.
        public var storeBackoff: TimeInterval = 1
        public var maxStoreBackoff: TimeInterval = 60
        public init() {}
    }

    /// One claim stream: a named lane, or "other" for rows of lanes nobody serves (a platform not enabled,
    /// an unreadable platform), which are then given a reason and set aside.
    struct Lane: Sendable {
        var lane: OutboxLane
        var filter: OutboxLaneFilter
        var bell: Doorbell
    }

    /// What one lane's drain did.
    struct LaneOutcome {
        var attempted = 0
        var storeFailed = false
    }

    /// What one delivery came to, as a parked lane's probe reads it.
    enum Outcome {
        /// Delivered, or refused for a reason of the message's own: the platform takes our credentials.
        case delivered, answered
        case unauthorized(String)
        /// Rate limited, or no clear answer: nothing learnt about the credentials.
        case retryLater
    }

    private let store: any OutboxStore & IncidentRecords
    private let platforms: [PlatformKind: any ChatPlatform]
    private let pager: (any OutboxClient<PagerNotice>)?
    private let discord: (any OutboxClient<DiscordPost>)?
    private let email: (any OutboxClient<EmailMessage>)?
    private let tickets: (any TicketClient)?
    private let statusHooks: (any OutboxClient<StatusNotice>)?
    private let clock: any WallClock
    private let doorbell: Doorbell
    private let settings: Settings
    private let owner: String
    private let logger: Logger
    private let metrics: any MetricsFactory
    private let delivered: Counter
    private let failed: Counter
    private let lanes: [Lane]
    /// Set: announcements held back by the announce channel's pace are merged into one post.
    private let digests: AnnouncementDigests?
    public let health: DaemonHealth

    public init(
        store: any OutboxStore & IncidentRecords, platforms: [any ChatPlatform], pager: (any OutboxClient<PagerNotice>)? = nil,
        discord: (any OutboxClient<DiscordPost>)? = nil, email: (any OutboxClient<EmailMessage>)? = nil, tickets: (any TicketClient)? = nil,
        statusHooks: (any OutboxClient<StatusNotice>)? = nil, clock: any WallClock, doorbell: Doorbell,
        settings: Settings = Settings(), owner: String = "sender-\(UUID().uuidString.prefix(8))", logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory, health: DaemonHealth? = nil, announcementDigest: AnnouncementDigest? = nil
    ) {
        self.store = store
        self.digests = announcementDigest.map { AnnouncementDigests(store: store, digest: $0, logger: logger) }
        self.platforms = Dictionary(platforms.map { ($0.kind, $0) }, uniquingKeysWith: { first, _ in first })
        self.pager = pager
        self.discord = discord
        self.email = email
        self.tickets = tickets
        self.statusHooks = statusHooks
        self.clock = clock
        self.doorbell = doorbell
        self.settings = settings
        self.owner = owner
        self.logger = logger
        self.metrics = metrics
        self.delivered = Counter(label: "klaxon_outbox_delivered_total", factory: metrics)
        self.failed = Counter(label: "klaxon_outbox_failures_total", factory: metrics)
        // Mail and tickets have lanes only when configured; otherwise their rows (queued before the config
        // changed) reach the "other" lane, which gives them a reason and sets them aside.
        let named =
            self.platforms.keys.map { OutboxLane($0.rawValue) }.sorted() + [.pager]
            + (email == nil ? [] : [.email]) + (tickets == nil ? [] : [.tickets]) + (statusHooks == nil ? [] : [.statusPage])
        self.lanes =
            named.map { Lane(lane: $0, filter: .only($0), bell: Doorbell()) }
            + [Lane(lane: OutboxLane("other"), filter: .excluding(named), bell: Doorbell())]
        let health = health ?? DaemonHealth(metrics: metrics)
        health.register(lanes: named)
        self.health = health
    }

    public func run() async throws {
        logger.info("outbox sender started", metadata: ["owner": "\(owner)"])
        await withTaskGroup(of: Void.self) { group in
            for lane in lanes {
                group.addTask { await run(lane) }
            }
            // The daemon rings one bell; every lane hears it (a doorbell has one waiter).
            group.addTask {
                while !Task.isShuttingDownGracefully, !Task.isCancelled {
                    await cancelWhenGracefulShutdown { await doorbell.wait(until: nil, clock: clock) }
                    for lane in lanes { lane.bell.ring() }
                }
            }
        }
        logger.info("outbox sender stopped")
    }

    private func run(_ lane: Lane) async {
        var storeFailures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let outcome = await drain(lane)
            let wake: Date
            if outcome.storeFailed {
                // Not the doorbell's business: a commit that rings it would mean writes work again, and
                // the next claim finds out anyway.
                storeFailures += 1
                wake = clock.now().addingTimeInterval(
                    DaemonHealth.storeBackoff(failures: storeFailures, first: settings.storeBackoff, max: settings.maxStoreBackoff))
            } else {
                storeFailures = 0
                if outcome.attempted > 0 { continue }
                let recheck = clock.now().addingTimeInterval(settings.idleRecheck)
                do {
                    wake = min(try await nextDue(lane) ?? recheck, recheck)
                } catch {
                    // Not knowing when the next message is due only costs latency: look again at the recheck.
                    logger.warning("could not read when the next outbox message is due", metadata: ["lane": "\(lane.lane.name)", "error": "\(error)"])
                    wake = recheck
                }
            }
            await cancelWhenGracefulShutdown {
                await lane.bell.wait(until: wake, clock: clock)
            }
        }
    }

    /// Delivers every message due now in every lane, the lanes side by side; returns how many were
    /// attempted. Tests call it directly to step the sender deterministically.
    @discardableResult
    public func drainOnce() async -> Int {
        await withTaskGroup(of: Int.self) { group in
            for lane in lanes {
                group.addTask { await drain(lane).attempted }
            }
            return await group.reduce(0, +)
        }
    }

    /// When the sender next has something to do (nil: nothing pending): a parked lane's next probe, not
    /// its messages' due times. Tests move the manual clock there.
    public func nextDue() async throws -> Date? {
        var earliest: Date?
        for lane in lanes {
            if let due = try await nextDue(lane) { earliest = min(earliest ?? due, due) }
        }
        return earliest
    }

    private func nextDue(_ lane: Lane) async throws -> Date? {
        guard let due = try await store.nextOutboxDue(lanes: lane.filter) else { return nil }
        if let parked = health.parked(lane.lane) { return max(due, parked.nextProbe) }
        return due
    }

    /// One lane's due messages, batch after batch; while the lane is parked, only its head message, and
    /// only once its probe is due.
    private func drain(_ lane: Lane) async -> LaneOutcome {
        var outcome = LaneOutcome()
        while true {
            let now = clock.now()
            let probing = health.parked(lane.lane)
            if let probing, now < probing.nextProbe { return outcome }
            let claim: OutboxClaim
            do {
                claim = try await store.claimOutbox(
                    lanes: lane.filter, now: now, owner: owner, leaseUntil: now.addingTimeInterval(settings.lease),
                    limit: probing == nil ? settings.batchSize : 1)
                storeWriteSucceeded()
            } catch {
                storeWriteFailed(error, doing: "claim outbox messages")
                outcome.storeFailed = true
                return outcome
            }
            for entry in claim.setAside {
                countDead(lane: entry.lane)
                logger.error(
                    "outbox message set aside: it cannot be read",
                    metadata: ["outbox_id": "\(entry.id)", "lane": "\(entry.lane)", "error": "\(entry.lastError ?? "")"])
            }
            if claim.messages.isEmpty {
                if claim.setAside.isEmpty { return outcome }
                continue
            }
            outcome.attempted += claim.messages.count
            if let probing, let head = claim.messages.first {
                switch await deliverRenewingLeases([head]).first ?? .retryLater {
                case .delivered, .answered:
                    if health.unpark(lane.lane) {
                        logger.notice(
                            "platform answers again; delivering its queue",
                            metadata: ["platform": "\(lane.lane)", "parked_since": "\(probing.since)"])
                    }
                case .unauthorized(let reason):
                    health.probeRefused(lane.lane, reason: reason, now: clock.now(), maxInterval: settings.maxProbeInterval)
                    return outcome
                case .retryLater:
                    health.probeRefused(lane.lane, reason: probing.reason, now: clock.now(), maxInterval: settings.maxProbeInterval)
                    return outcome
                }
                continue
            }
            _ = await deliverRenewingLeases(claim.messages)
        }
    }

    /// Delivers claimed messages side by side, renewing their leases every third of the lease time until
    /// each is settled: the lease is the failover time after a replica dies, and a slow platform (a
    /// timeout, a Retry-After honoured in the client) must not let it run out while we still deliver,
    /// or another replica would send the same message.
    private func deliverRenewingLeases(_ messages: [OutboxMessage]) async -> [Outcome] {
        let inFlight = InFlightMessages(messages.map(\.id))
        return await withTaskGroup(of: (Int, Outcome)?.self) { group in
            group.addTask {
                await renewLeases(of: inFlight)
                return nil
            }
            for (index, message) in messages.enumerated() {
                group.addTask {
                    let outcome = await self.deliver(message)
                    inFlight.settled(message.id)
                    return (index, outcome)
                }
            }
            var outcomes = [Outcome](repeating: .retryLater, count: messages.count)
            var settled = 0
            while settled < messages.count, let next = await group.next() {
                guard let (index, outcome) = next else { continue }
                outcomes[index] = outcome
                settled += 1
            }
            group.cancelAll()
            return outcomes
        }
    }

    private func renewLeases(of inFlight: InFlightMessages) async {
        while !Task.isCancelled {
            do {
                try await clock.sleep(until: clock.now().addingTimeInterval(settings.lease / 3))
            } catch {
                return
            }
            let ids = inFlight.ids
            guard !ids.isEmpty else { return }
            do {
                _ = try await store.renewOutboxLeases(ids, owner: owner, until: clock.now().addingTimeInterval(settings.lease))
            } catch {
                // Cancelled: every message was settled while the renewal was on its way.
                if Task.isCancelled { return }
                logger.warning(
                    "could not renew outbox leases; another sender may take these messages when the leases run out",
                    metadata: ["count": "\(ids.count)", "error": "\(error)"])
            }
        }
    }

    private func deliver(_ message: OutboxMessage) async -> Outcome {
        var metadata: Logger.Metadata = ["outbox_id": "\(message.id)", "platform": "\(message.platform)", "action": "\(message.action.kind)"]
        if let id = message.incidentID { metadata["incident"] = "\(id)" }
        // Pager notices, emails, status notices and tickets go to their own client whatever the message's
        // platform; Discord posts to the Discord client, in the lane of the platform they were written for.
        switch message.action {
        case .pagerWebhook(let notice):
            metadata["webhook"] = "\(notice.webhook)"
            return await deliver(message, to: pager, missing: "no pager webhook client: paging.webhooks is empty", metadata: metadata) {
                try await $0.deliver(notice, outboxID: message.id)
            }
        case .discordWebhook(let post):
            metadata["webhook"] = "\(post.webhook)"
            return await deliver(message, to: discord, missing: "no Discord webhook client: discord.webhooks is empty", metadata: metadata) {
                try await $0.deliver(post, outboxID: message.id)
            }
        case .email(let mail):
            return await deliver(message, to: email, missing: "no email sender: email.smtp is not configured", metadata: metadata) {
                try await $0.deliver(mail, outboxID: message.id)
            }
        case .ticket(let action):
            // Comment and close read the issue's number off the incident.
            return await deliver(message, to: tickets, missing: "no ticket client: tickets.github is not configured", metadata: metadata) {
                try await $0.deliver(action, incident: try await store.incident(action.incidentID), mayHaveBeenSentBefore: message.mayHaveBeenSentBefore)
            }
        case .statusWebhook(let notice):
            metadata["webhook"] = "\(notice.webhook)"
            return await deliver(message, to: statusHooks, missing: "no status webhook client: statusPage.webhooks is empty", metadata: metadata) {
                try await $0.deliver(notice, outboxID: message.id)
            }
        default:
            return await deliver(
                message, to: platforms[message.platform], missing: "platform \(message.platform) is not enabled in bot-config.json", metadata: metadata
            ) { platform in
                let incident = try await message.incidentID.asyncMap { try await store.incident($0) } ?? nil
                // Announcements held back by the platform's pace go out as one digest (see AnnouncementDigests).
                let post = try await digests?.post(for: message, platform: platform) ?? message
                return try await platform.deliver(post, incident: incident)
            }
        }
    }

    /// Hands `message` to `client` through `send` and records what came of it. A client that is not
    /// configured gives the message up at once (`missing` says why): its config section is empty, so no
    /// retry could help. A failure that is not a `DeliveryFailure` (a store read) is transient.
    private func deliver<Client>(
        _ message: OutboxMessage, to client: Client?, missing: String, metadata: Logger.Metadata,
        _ send: (Client) async throws -> Delivery
    ) async -> Outcome {
        guard let client else {
            return await settle(message, failure: .permanent(missing), metadata: metadata)
        }
        do {
            return await record(try await send(client), of: message, metadata: metadata)
        } catch let failure as DeliveryFailure {
            return await settle(message, failure: failure, metadata: metadata)
        } catch {
            return await settle(message, failure: .transient("\(error)"), metadata: metadata)
        }
    }

    private func record(_ delivery: Delivery, of message: OutboxMessage, metadata: Logger.Metadata) async -> Outcome {
        do {
            if let room = delivery.room, let id = message.incidentID {
                try await store.setRoom(room, for: id)
            }
            if let ticket = delivery.ticket, let id = message.incidentID {
                if case .ticket(let action) = message.action, let item = action.actionItem {
                    try await store.setTicket(ticket, forActionItem: item, of: id)
                } else {
                    try await store.setTicket(ticket, for: id)
                }
            }
            if message.headsDigest {
                try await store.markDigestDelivered(message.id, platformMessageID: delivery.platformMessageID, at: clock.now())
            } else {
                try await store.markDelivered(message.id, platformMessageID: delivery.platformMessageID, at: clock.now())
            }
            storeWriteSucceeded()
        } catch {
            // The lease expires and the message is claimed again; the adapters find their earlier post.
            storeWriteFailed(error, doing: "record a delivery")
        }
        delivered.increment()
        logger.debug("delivered", metadata: metadata)
        return .delivered
    }

    private func settle(_ message: OutboxMessage, failure: DeliveryFailure, metadata: Logger.Metadata) async -> Outcome {
        failed.increment()
        let now = clock.now()
        let lane = message.lane
        var metadata = metadata
        metadata["error"] = "\(failure)"
        var outcome = Outcome.retryLater
        do {
            switch failure {
            case .unauthorized(let reason):
                // Not this message's fault: it keeps its place at the head of its queue, and its lane waits.
                outcome = .unauthorized(reason)
                try await store.postpone(message.id, until: message.notBefore, reason: reason)
                if health.park(lane, reason: reason, now: now, firstProbe: settings.firstProbe) {
                    logger.error("platform refuses our credentials; its messages wait until it answers again", metadata: metadata)
                }
            case .rateLimited(let retryAfter):
                logger.notice("rate limited; waiting", metadata: metadata)
                let until = now.addingTimeInterval(max(retryAfter, 0.05))
                if digests != nil, OutboxQueue.isDigestible(message.queue), !message.headsDigest {
                    // Held by the announce channel's pace: what waits behind it goes out with it, as one post.
                    try await store.holdForDigest(message.id, until: until, reason: "\(failure)")
                } else {
                    try await store.postpone(message.id, until: until, reason: "\(failure)")
                }
            case .permanent(let reason):
                outcome = .answered
                logger.error("message given up: the platform refused it", metadata: metadata)
                try await store.markDead(message.id, error: reason)
                countDead(lane: lane.name)
            case .transient:
                let attempts = message.attempts + 1
                let failingSince = message.failingSince ?? now
                metadata["attempt"] = "\(attempts)"
                if now.timeIntervalSince(failingSince) >= settings.retryFor || attempts >= (settings.maxAttempts ?? .max) {
                    logger.error("message given up after \(attempts) attempts since \(failingSince)", metadata: metadata)
                    try await store.markDead(
                        message.id, error: "gave up after \(attempts) attempts over \(Int(now.timeIntervalSince(failingSince)))s: \(failure)")
                    countDead(lane: lane.name)
                } else {
                    logger.warning("delivery failed; will retry", metadata: metadata)
                    let notBefore = now.addingTimeInterval(settings.retryBackoff.delay(failures: attempts))
                    try await store.markRetry(message.id, notBefore: notBefore, error: "\(failure)", failingSince: failingSince)
                }
            }
            storeWriteSucceeded()
        } catch {
            // The lease expires and the message is claimed again: delayed, not lost.
            storeWriteFailed(error, doing: "record a delivery failure")
        }
        return outcome
    }

    private func countDead(lane: String) {
        Counter(label: "klaxon_outbox_dead_total", dimensions: [("platform", lane)], factory: metrics).increment()
    }

    private func storeWriteFailed(_ error: any Error, doing what: String) {
        health.recordWriteFailure(error, now: clock.now(), doing: what, logger: logger)
    }

    private func storeWriteSucceeded() {
        health.recordWriteSuccess(logger: logger)
    }

}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

/// The ids of the claimed messages still being delivered, shared by the delivering tasks and the task
/// that renews their leases.
final class InFlightMessages: Sendable {
    private let pending: Mutex<Set<Int64>>

    init(_ ids: [Int64]) { pending = Mutex(Set(ids)) }

    var ids: [Int64] { pending.withLock { $0.sorted() } }

    func settled(_ id: Int64) {
        _ = pending.withLock { $0.remove(id) }
    }
}
