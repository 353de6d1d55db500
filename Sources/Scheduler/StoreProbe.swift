import Foundation
import IncidentCore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Whether the store answers at all, checked with a short bound: every `interval` on the daemon's clock
/// and whenever `/readyz` asks. What it finds goes to `DaemonHealth` (`/readyz` answers 503 with the
/// reason while the store is unreachable; the command gateway answers commands at once instead of
/// letting them wait for a database that is down) and to `klaxon_store_up`.
///
/// A bound of its own because a store call can wait much longer than a probe may: postgres-nio's pool
/// queues calls while it cannot connect (up to a minute before it gives up), which is right for the
/// workers (they resume where they were when the server is back) but would leave `/readyz` hanging.
/// When the store answers again after an outage, `onRecovery` runs (the daemon rings the sender's and
/// the scheduler's bells, so they retry now rather than at the end of their back-off).
public final class StoreProbe: Service, Sendable {
    public struct Settings: Sendable {
        /// How often the store is checked in the background.
        public var interval: TimeInterval = 2
        /// A check that has no answer after this long counts as unreachable (real time, not the daemon's
        /// clock: it bounds a wait on the network, it schedules nothing).
        public var timeout: TimeInterval = 2
        public init() {}
    }

    private let store: any StoreHealth
    private let health: DaemonHealth
    private let clock: any WallClock
    private let settings: Settings
    private let logger: Logger
    private let onRecovery: @Sendable () -> Void
    private let up: Gauge
    /// The check running now: callers arriving meanwhile share its answer instead of starting another.
    private let running = Mutex<Task<Bool, Never>?>(nil)

    public init(
        store: any StoreHealth, health: DaemonHealth, clock: any WallClock, settings: Settings = Settings(), logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory, onRecovery: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.health = health
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.onRecovery = onRecovery
        self.up = Gauge(label: "klaxon_store_up", factory: metrics)
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await check()
            let (clock, wake) = (self.clock, clock.now().addingTimeInterval(settings.interval))
            try? await cancelWhenGracefulShutdown {
                try await clock.sleep(until: wake)
            }
        }
    }

    /// Checks the store now (or joins the check already running); true if it answered within the bound.
    @discardableResult
    public func check() async -> Bool {
        let task = running.withLock { running -> Task<Bool, Never> in
            if let running { return running }
            let task = Task {
                let answered = await self.probe()
                // Taken only after the lock above is released: the task was stored by then.
                self.running.withLock { $0 = nil }
                return answered
            }
            running = task
            return task
        }
        return await task.value
    }

    private func probe() async -> Bool {
        let started = clock.now()
        let store = self.store
        if let problem = await Self.bounded(seconds: settings.timeout, { try await store.ping() }) {
            up.record(0)
            if health.storeUnreachable(problem, now: started) {
                logger.error("the store does not answer; commands are refused until it does", metadata: ["error": "\(problem)"])
            }
            return false
        }
        up.record(1)
        if health.storeReachable() {
            logger.notice("the store answers again")
            onRecovery()
        }
        return true
    }

    /// nil when `body` returns within `seconds`; else what went wrong (its error, or that it did not
    /// answer in time: it is then cancelled and left to finish on its own).
    static func bounded(seconds: TimeInterval, _ body: @escaping @Sendable () async throws -> Void) async -> String? {
        let answer = FirstAnswer()
        return await withCheckedContinuation { continuation in
            answer.wait(continuation)
            let work = Task {
                do {
                    try await body()
                    answer.give(nil)
                } catch let error as StoreError {
                    answer.give(Self.describe(error))
                } catch {
                    answer.give("\(error)")
                }
            }
            Task {
                try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                if answer.give("no answer within \(Self.plain(seconds)) s") { work.cancel() }
            }
        }
    }

    /// `5` or `0.5`. Not `seconds.formatted()`: its number format loads ICU's locale data, and this text is
    /// built at every probe, so an idle daemon held that data resident (bench/README.md, idle memory).
    static func plain(_ seconds: TimeInterval) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
    }

    private static func describe(_ error: StoreError) -> String {
        switch error {
        case .unavailable(let reason): reason
        default: "\(error)"
        }
    }

    /// The one answer of a bounded call: whichever of the work and the timer gives it first.
    private final class FirstAnswer: Sendable {
        private let state = Mutex<(continuation: CheckedContinuation<String?, Never>?, answered: Bool)>((nil, false))

        func wait(_ continuation: CheckedContinuation<String?, Never>) {
            state.withLock { $0.continuation = continuation }
        }

        /// True if this was the first answer.
        @discardableResult
        func give(_ problem: String?) -> Bool {
            let continuation = state.withLock { state -> CheckedContinuation<String?, Never>? in
                guard !state.answered else { return nil }
                state.answered = true
                return state.continuation
            }
            continuation?.resume(returning: problem)
            return continuation != nil
        }
    }
}
