import Foundation
import IncidentCore
import Logging
import Metrics
import Synchronization

/// What the workers know of the daemon's fitness, beyond "the process runs": which outbox lanes are
/// parked because their platform refuses our credentials, whether the store answers (`StoreProbe`) and
/// whether it takes writes. `/readyz`
/// answers 503 with `problems` while there are any; `klaxon_platform_unavailable{platform}` mirrors the
/// parked lanes.
///
/// Transitions, not attempts, are reported back (`park` → true the first time, …), so the workers log
/// one line per change of state however often they retry.
public final class DaemonHealth: Sendable {
    public struct Parked: Sendable, Equatable {
        public var reason: String
        public var since: Date
        /// When the lane next tries its head message.
        public var nextProbe: Date
        /// The wait before `nextProbe`; doubles after each refused probe, up to the sender's cap.
        public var interval: TimeInterval
    }

    public struct StoreFailure: Sendable, Equatable {
        public var error: String
        public var since: Date
        /// Failed writes since `since` (for tests and diagnostics: a busy loop shows here).
        public var attempts: Int
    }

    /// The store did not answer `StoreProbe`'s last check.
    public struct StoreOutage: Sendable, Equatable {
        public var reason: String
        public var since: Date
    }

    private struct State {
        var parked: [OutboxLane: Parked] = [:]
        var storeFailure: StoreFailure?
        var storeWriteFailures = 0
        var storeOutage: StoreOutage?
    }

    private let state = Mutex(State())
    private let metrics: any MetricsFactory

    public init(metrics: any MetricsFactory = MetricsSystem.factory) {
        self.metrics = metrics
    }

    // MARK: Parked lanes

    /// Publishes the gauge at 0 for `lanes`, so dashboards see them before anything goes wrong.
    public func register(lanes: [OutboxLane]) {
        for lane in lanes where parked(lane) == nil { gauge(lane).record(0) }
    }

    public func parked(_ lane: OutboxLane) -> Parked? {
        state.withLock { $0.parked[lane] }
    }

    /// Parks `lane` (first probe after `firstProbe`); true if it was not parked yet.
    @discardableResult
    public func park(_ lane: OutboxLane, reason: String, now: Date, firstProbe: TimeInterval) -> Bool {
        let parked = state.withLock { state -> Bool in
            guard state.parked[lane] == nil else { return false }
            state.parked[lane] = Parked(reason: reason, since: now, nextProbe: now.addingTimeInterval(firstProbe), interval: firstProbe)
            return true
        }
        if parked { gauge(lane).record(1) }
        return parked
    }

    /// A probe was refused again: the next waits twice as long, at most `maxInterval`.
    public func probeRefused(_ lane: OutboxLane, reason: String, now: Date, maxInterval: TimeInterval) {
        state.withLock { state in
            guard var parked = state.parked[lane] else { return }
            parked.interval = min(maxInterval, parked.interval * 2)
            parked.nextProbe = now.addingTimeInterval(parked.interval)
            parked.reason = reason
            state.parked[lane] = parked
        }
    }

    /// The platform answered: true if `lane` was parked.
    @discardableResult
    public func unpark(_ lane: OutboxLane) -> Bool {
        let was = state.withLock { $0.parked.removeValue(forKey: lane) != nil }
        if was { gauge(lane).record(0) }
        return was
    }

    private func gauge(_ lane: OutboxLane) -> Gauge {
        Gauge(label: "klaxon_platform_unavailable", dimensions: [("platform", lane.name)], factory: metrics)
    }

    // MARK: Store writes

    /// A write failed; true if writes worked until now (the worker logs the change once).
    @discardableResult
    public func storeWriteFailed(_ error: any Error, now: Date) -> Bool {
        state.withLock { state in
            state.storeWriteFailures += 1
            if state.storeFailure != nil {
                state.storeFailure?.attempts += 1
                return false
            }
            state.storeFailure = StoreFailure(error: "\(error)", since: now, attempts: 1)
            return true
        }
    }

    /// A write succeeded; true if writes were failing until now.
    @discardableResult
    public func storeWriteSucceeded() -> Bool {
        state.withLock { state in
            defer { state.storeFailure = nil }
            return state.storeFailure != nil
        }
    }

    /// `storeWriteFailed`, logging the change (once, whichever worker sees it first).
    public func recordWriteFailure(_ error: any Error, now: Date, doing what: String, logger: Logger) {
        if storeWriteFailed(error, now: now) {
            logger.error("the store refuses writes; backing off until it takes them again", metadata: ["while": "\(what)", "error": "\(error)"])
        }
    }

    /// `storeWriteSucceeded`, logging the change.
    public func recordWriteSuccess(logger: Logger) {
        if storeWriteSucceeded() {
            logger.notice("the store takes writes again")
        }
    }

    /// How long a worker waits after its `failures`-th failed write in a row: capped doubling, no jitter
    /// (one process, one store, nothing to spread out).
    public static func storeBackoff(failures: Int, first: TimeInterval, max cap: TimeInterval) -> TimeInterval {
        min(cap, first * pow(2, Double(min(max(0, failures - 1), 30))))
    }

    public var storeFailure: StoreFailure? { state.withLock { $0.storeFailure } }

    /// Every failed write the workers reported since the start.
    public var storeWriteFailures: Int { state.withLock { $0.storeWriteFailures } }

    // MARK: Store reachability

    /// The probe found the store unreachable; true if it answered until now (logged once).
    @discardableResult
    public func storeUnreachable(_ reason: String, now: Date) -> Bool {
        state.withLock { state in
            if state.storeOutage != nil {
                state.storeOutage?.reason = reason
                return false
            }
            state.storeOutage = StoreOutage(reason: reason, since: now)
            return true
        }
    }

    /// The probe's check answered; true if the store was unreachable until now.
    @discardableResult
    public func storeReachable() -> Bool {
        state.withLock { state in
            defer { state.storeOutage = nil }
            return state.storeOutage != nil
        }
    }

    public var storeOutage: StoreOutage? { state.withLock { $0.storeOutage } }

    // MARK: Readiness

    /// One line per reason not to be ready; empty when ready.
    public var problems: [String] {
        state.withLock { state in
            var lines: [String] = []
            if let outage = state.storeOutage {
                lines.append("store: unreachable since \(Self.format(outage.since)): \(outage.reason)")
            }
            if let failure = state.storeFailure {
                lines.append("store: writes failing since \(Self.format(failure.since)): \(failure.error)")
            }
            for (lane, parked) in state.parked.sorted(by: { $0.key < $1.key }) {
                lines.append(
                    "\(lane.name): unavailable since \(Self.format(parked.since)), its messages wait (next try \(Self.format(parked.nextProbe))): \(parked.reason)"
                )
            }
            return lines
        }
    }

    private static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
