import Foundation
import IncidentCore
import Logging
import Metrics
import ServiceLifecycle

/// Fires durable timers: update reminders, acknowledgement escalation, long-running escalation, the
/// monitoring window and review reminders.
///
/// It keeps nothing in memory but the next due time, which it asks the store for, and sleeps until then
/// or until a commit rings its doorbell — no polling loop. Firing a timer is one transaction: the claim
/// (a lease with owner and expiry) is completed together with the messages it enqueues and the
/// successor timer, so a crash at any point neither loses nor doubles a reminder, and several
/// schedulers sharing one store never fire the same timer twice.
public struct TimerScheduler: Service {
    public struct Settings: Sendable {
        public var batchSize = 64
        /// A claimed timer is ours this long; a crashed scheduler's timers are taken over after it.
        public var lease: TimeInterval = 30
        /// With nothing due, look again this often (another replica may have written).
        public var idleRecheck: TimeInterval = 60
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

    public init(
        store: any IncidentStore, engine: IncidentEngine, clock: any WallClock, doorbell: Doorbell, outboxBell: Doorbell,
        settings: Settings = Settings(), owner: String = "scheduler-\(UUID().uuidString.prefix(8))", logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
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
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if await fireDue() > 0 { continue }
            let recheck = clock.now().addingTimeInterval(settings.idleRecheck)
            let due: Date?
            do {
                due = try await store.nextTimerDue()
            } catch {
                logger.error("could not read the next timer", metadata: ["error": "\(error)"])
                due = clock.now().addingTimeInterval(1)
            }
            await cancelWhenGracefulShutdown {
                await doorbell.wait(until: min(due ?? recheck, recheck), clock: clock)
            }
        }
        logger.info("scheduler stopped")
    }

    /// Fires every timer due now; returns how many were claimed. Tests call it to step the scheduler.
    @discardableResult
    public func fireDue() async -> Int {
        var claimedTotal = 0
        while true {
            let now = clock.now()
            let timers: [ScheduledTimer]
            do {
                timers = try await store.claimDueTimers(now: now, owner: owner, leaseUntil: now.addingTimeInterval(settings.lease), limit: settings.batchSize)
            } catch {
                logger.error("could not claim timers", metadata: ["error": "\(error)"])
                return claimedTotal
            }
            if timers.isEmpty { return claimedTotal }
            claimedTotal += timers.count
            for timer in timers {
                await fire(timer)
            }
            outboxBell.ring()
        }
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
