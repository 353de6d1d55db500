import Foundation
import IncidentCore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Fires durable timers: update reminders, acknowledgement escalation, long-running escalation, the
/// monitoring window and review reminders. It also announces rotation hand-offs.
///
/// It keeps nothing in memory but the next due time, which it asks the store for, and sleeps until then
/// or until a commit rings its doorbell — no polling loop. Firing a timer is one transaction: the claim
/// (a lease with owner and expiry) is completed together with the messages it enqueues and the
/// successor timer, so a crash at any point neither loses nor doubles a reminder, and several
/// schedulers sharing one store never fire the same timer twice. Hand-offs need no stored timer: their
/// times follow from the config, and a compare-and-set of the last announced one, committed with the
/// announcement, makes each announced once.
public struct TimerScheduler: Service {
    public struct Settings: Sendable {
        public var batchSize = 64
        /// A claimed timer is ours this long; a crashed scheduler's timers are taken over after it.
        public var lease: TimeInterval = 30
        /// With nothing due, look again this often (another replica may have written).
        public var idleRecheck: TimeInterval = 60
        /// After a failed store write, wait this long before the next claim, doubling up to `maxStoreBackoff`.
        public var storeBackoff: TimeInterval = 1
        public var maxStoreBackoff: TimeInterval = 60
        public init() {}
    }

    private let store: any IncidentStore
    private let engine: IncidentEngine
    private let clock: any WallClock
    private let doorbell: Doorbell
    private let outboxBell: Doorbell
    private let settings: Settings
    private let owner: String
    private let logger: Logger
    private let fired: Counter
    /// The hand-off of each rotation known to be recorded, so the store is only asked when one is new.
    private let knownHandoffs = KnownHandoffs()
    /// Where failed and recovered writes are reported (`/readyz`).
    public let health: DaemonHealth
    /// Told each change set a firing committed, as `CommandService` tells its own: what follows an
    /// incident outside the store (the post-mortem file, the status page) must see timer-driven changes too.
    private let wakeups: Wakeups

    public init(
        store: any IncidentStore, engine: IncidentEngine, clock: any WallClock, doorbell: Doorbell, outboxBell: Doorbell,
        settings: Settings = Settings(), owner: String = "scheduler-\(UUID().uuidString.prefix(8))", logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory, health: DaemonHealth? = nil, wakeups: Wakeups = .none
    ) {
        self.health = health ?? DaemonHealth(metrics: metrics)
        self.wakeups = wakeups
        self.store = store
        self.engine = engine
        self.clock = clock
        self.doorbell = doorbell
        self.outboxBell = outboxBell
        self.settings = settings
        self.owner = owner
        self.logger = logger
        self.fired = Counter(label: "klaxon_timers_fired_total", factory: metrics)
    }

    public func run() async throws {
        logger.info("scheduler started", metadata: ["owner": "\(owner)"])
        var storeFailures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let (claimed, storeFailed) = await fireDueReporting()
            if storeFailed {
                // Back off instead of spinning on a store that refuses writes (a full disk, a read-only
                // mount); `DaemonHealth` has logged the change once and keeps `/readyz` at 503.
                storeFailures += 1
                let wake = clock.now().addingTimeInterval(
                    DaemonHealth.storeBackoff(failures: storeFailures, first: settings.storeBackoff, max: settings.maxStoreBackoff))
                await cancelWhenGracefulShutdown {
                    await doorbell.wait(until: wake, clock: clock)
                }
                continue
            }
            storeFailures = 0
            if claimed > 0 { continue }
            await announceHandoffs()
            let now = clock.now()
            let recheck = now.addingTimeInterval(settings.idleRecheck)
            let due: Date?
            do {
                due = try await store.nextTimerDue()
            } catch {
                logger.error("could not read the next timer", metadata: ["error": "\(error)"])
                due = now.addingTimeInterval(1)
            }
            let overrides: [String: [OnCallOverride]]
            do {
                overrides = try await overridesAroundNow(now)
            } catch {
                // The next hand-off is then planned from the rotations alone; the recheck corrects it.
                logger.error("could not read on-call overrides to plan the next hand-off", metadata: ["error": "\(error)"])
                overrides = [:]
            }
            let wake = [due, engine.nextHandoff(after: now, overrides: overrides), recheck].compactMap { $0 }.min() ?? recheck
            await cancelWhenGracefulShutdown {
                await doorbell.wait(until: wake, clock: clock)
            }
        }
        logger.info("scheduler stopped")
    }

    /// Fires every timer due now; returns how many were claimed. Tests call it to step the scheduler.
    @discardableResult
    public func fireDue() async -> Int {
        await fireDueReporting().claimed
    }

    /// `fireDue`, and whether it stopped because the store refused the claim (a write).
    private func fireDueReporting() async -> (claimed: Int, storeFailed: Bool) {
        var claimedTotal = 0
        while true {
            let now = clock.now()
            let timers: [ScheduledTimer]
            do {
                timers = try await store.claimDueTimers(now: now, owner: owner, leaseUntil: now.addingTimeInterval(settings.lease), limit: settings.batchSize)
                health.recordWriteSuccess(logger: logger)
            } catch {
                health.recordWriteFailure(error, now: now, doing: "claim timers", logger: logger)
                return (claimedTotal, true)
            }
            if timers.isEmpty { return (claimedTotal, false) }
            claimedTotal += timers.count
            await fireConcurrently(timers)
            outboxBell.ring()
        }
    }

    /// Timers of one incident in due order, one after another (each decides on what the previous one
    /// wrote); different incidents at once, so that their transactions can share a commit when the
    /// scheduler has fallen behind and claimed several.
    private func fireConcurrently(_ timers: [ScheduledTimer]) async {
        guard timers.count > 1 else {
            if let timer = timers.first { await fire(timer) }
            return
        }
        var byIncident: [IncidentID: [ScheduledTimer]] = [:]
        var order: [IncidentID] = []
        for timer in timers {
            if byIncident[timer.incidentID] == nil { order.append(timer.incidentID) }
            byIncident[timer.incidentID, default: []].append(timer)
        }
        await withTaskGroup(of: Void.self) { group in
            for id in order {
                let sequence = byIncident[id] ?? []
                group.addTask {
                    for timer in sequence { await fire(timer) }
                }
            }
        }
    }

    /// Announces each rotation's latest hand-off if nobody has yet; returns how many it announced. The
    /// first time a rotation is seen its current shift is recorded without a message (installing Klaxon
    /// or adding a rotation is not a hand-off); after downtime only the latest hand-off is announced.
    @discardableResult
    public func announceHandoffs() async -> Int {
        let now = clock.now()
        var announced = 0
        let overrides: [String: [OnCallOverride]]
        do {
            overrides = try await overridesAroundNow(now)
        } catch {
            logger.error("could not read on-call overrides; will retry", metadata: ["error": "\(error)"])
            return 0
        }
        for handoff in engine.latestHandoffs(at: now, overrides: overrides) where !knownHandoffs.contains(handoff) {
            let metadata: Logger.Metadata = ["rotation": "\(handoff.rotationID)", "handoff": "\(handoff.at)"]
            do {
                let last = try await store.lastHandoff(rotation: handoff.rotationID)
                if let last, last >= handoff.at {
                    knownHandoffs.insert(handoff)
                    continue
                }
                let isFirst = last == nil
                let changes = engine.handoffChanges(handoff, overrides: overrides[handoff.rotationID] ?? [], now: now, announce: !isFirst)
                try await store.commit(changes)
                knownHandoffs.insert(handoff)
                if !isFirst {
                    announced += 1
                    logger.info("rotation hand-off announced", metadata: metadata)
                }
            } catch StoreError.duplicate {
                // Another scheduler announced it first.
                knownHandoffs.insert(handoff)
            } catch {
                logger.error("could not announce a rotation hand-off; will retry", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
        }
        if announced > 0 { outboxBell.ring() }
        return announced
    }

    /// Per rotation, the overrides that end after its current regular shift began: enough to tell the
    /// latest and the next moment its on-call person changes.
    private func overridesAroundNow(_ now: Date) async throws -> [String: [OnCallOverride]] {
        var result: [String: [OnCallOverride]] = [:]
        for rotation in engine.config.oncall.rotations {
            let shiftStart = RotationSchedule(rotation: rotation).shift(at: now).start
            let overrides = try await store.overrides(rotation: rotation.id, endingAfter: shiftStart)
            if !overrides.isEmpty { result[rotation.id] = overrides }
        }
        return result
    }

    private func fire(_ timer: ScheduledTimer) async {
        let metadata: Logger.Metadata = ["timer": "\(timer.kind.rawValue)", "incident": "\(timer.incidentID)", "step": "\(timer.step)"]
        var leased = timer
        leased.leaseOwner = owner
        // A command may change the incident between our read and our commit: read again and re-decide.
        for _ in 0..<5 {
            do {
                guard let incident = try await store.incident(timer.incidentID) else {
                    var done = ChangeSet()
                    done.completeTimer = (timer.id, owner)
                    try await store.commit(done)
                    return
                }
                let now = clock.now()
                let overrides = try await store.activeOverrides(rotations: engine.config.oncall.rotations, at: now)
                let changes = engine.fire(leased, incident: incident, now: now, overrides: overrides)
                try await store.commit(changes)
                engine.pageThrottle.record(changes)
                wakeups.send(.committed(changes))
                fired.increment()
                logger.info("timer fired", metadata: metadata)
                return
            } catch StoreError.conflict {
                continue
            } catch StoreError.leaseLost {
                // Cancelled by a command (ack, update, resolve) or taken over: nothing to do.
                logger.debug("timer no longer ours", metadata: metadata)
                return
            } catch {
                // The lease runs out and the timer is claimed again: late, never lost.
                logger.error("timer could not be fired; will retry after its lease", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                return
            }
        }
        logger.warning("timer kept conflicting; will retry after its lease", metadata: metadata)
    }
}

/// The latest hand-off per rotation that this scheduler knows to be recorded.
private final class KnownHandoffs: Sendable {
    private let latest = Mutex<[String: Date]>([:])

    func contains(_ handoff: RotationHandoff) -> Bool {
        latest.withLock { $0[handoff.rotationID].map { $0 >= handoff.at } ?? false }
    }

    func insert(_ handoff: RotationHandoff) {
        latest.withLock { $0[handoff.rotationID] = max($0[handoff.rotationID] ?? handoff.at, handoff.at) }
    }
}
