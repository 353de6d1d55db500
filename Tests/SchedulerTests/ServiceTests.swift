import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import ServiceLifecycleTestKit
import Storage
import Synchronization
import Testing

/// A flag another task sets; read by polling.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// The scheduler as a running `Service`: it sleeps on the clock and the doorbell, never polls, and stops
/// when asked. The clock is manual; real time is only spent waiting (a few ms) for the service's task.
@Suite("The scheduler service")
struct ServiceTests {
    @Test("run(): fires when the clock passes a due time, re-arms on a commit's doorbell, stops promptly on graceful shutdown")
    func runsOnTheClockAndTheDoorbell() async throws {
        let directory = try TemporaryDirectory("klaxon-service")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday)
        let t0 = clock.now()
        let klaxon = try await TestDaemon.open(path: directory.file("klaxon.sqlite"), clock: clock)
        // No idle recheck within the test: every wake-up comes from a due time or from the doorbell that
        // the daemon's commands ring.
        var settings = TimerScheduler.Settings()
        settings.idleRecheck = 30 * 86400
        let scheduler = TimerScheduler(
            store: klaxon.store, engine: klaxon.engine, clock: clock, doorbell: klaxon.daemon.timerBell,
            outboxBell: klaxon.daemon.outboxBell, settings: settings, owner: "service-under-test", logger: quietLogger)

        let stopped = Flag()
        try await testGracefulShutdown { shutdown in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await scheduler.run()
                    stopped.set()
                }
                #expect(await eventually { clock.sleeperCount == 1 }, "the idle scheduler sleeps on the clock")

                // Reminder due in 2 h; then a sev1 whose acknowledgement times out in 5 min. Only the
                // doorbell of the second commit can tell the sleeping scheduler about the earlier time.
                let slow = try await klaxon.declare("sev3", "Export button broken")
                let fast = try await klaxon.declare("sev1", "Checkout down")
                clock.advance(to: t0.addingTimeInterval(5 * 60))
                #expect(
                    try await eventually { try await klaxon.store.timeline(of: fast).contains { $0.kind == .escalation } },
                    "the acknowledgement timeout did not fire on its own")
                #expect(try await klaxon.reminders(of: slow).isEmpty)

                // Move the clock to each due time in turn; the service fires each on its own.
                let end = t0.addingTimeInterval(2 * 3600)
                while let due = try await klaxon.store.nextTimerDue(), due <= end {
                    clock.advance(to: due)
                    let done = try await eventually {
                        let pending = try await klaxon.store.pendingTimers(of: fast) + klaxon.store.pendingTimers(of: slow)
                        return pending.allSatisfy { $0.dueAt > due && $0.leaseOwner == nil }
                    }
                    #expect(done, "the timers due at \(due) did not fire")
                    if !done { break }
                }
                let quarterHours = (1...8).map { t0.addingTimeInterval(Double($0) * 900) }
                #expect(try await klaxon.reminders(of: fast).map(\.at) == quarterHours)
                #expect(try await klaxon.reminders(of: slow).map(\.at) == [end])

                shutdown.triggerGracefulShutdown()
                #expect(await eventually { stopped.isSet }, "run() did not return after graceful shutdown")
                try await group.waitForAll()
            }
        }
        try await klaxon.close()
    }

    @Test("run(): cancelling the task ends it promptly")
    func cancellation() async throws {
        let directory = try TemporaryDirectory("klaxon-service-cancel")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday)
        let klaxon = try await TestDaemon.open(path: directory.file("klaxon.sqlite"), clock: clock)
        let stopped = Flag()
        let task = Task {
            try await klaxon.scheduler.run()
            stopped.set()
        }
        #expect(await eventually { clock.sleeperCount == 1 })
        task.cancel()
        #expect(await eventually { stopped.isSet })
        #expect(clock.sleeperCount == 0)
        try await klaxon.close()
    }
}

/// The doorbell is what keeps the scheduler and the sender from polling.
@Suite("Doorbell")
struct DoorbellTests {
    /// Starts `doorbell.wait(until:)` in a task; the flag is set when it returns.
    private func startWaiting(_ doorbell: Doorbell, until deadline: Date?, clock: ManualClock) -> (Task<Void, Never>, Flag) {
        let returned = Flag()
        let task = Task {
            await doorbell.wait(until: deadline, clock: clock)
            returned.set()
        }
        return (task, returned)
    }

    @Test("a ring while nobody waits is kept; many rings leave one wake-up")
    func ringsCoalesce() async {
        let clock = ManualClock(now: Fixture.monday)
        let doorbell = Doorbell()
        doorbell.ring()
        doorbell.ring()
        doorbell.ring()
        await doorbell.wait(until: nil, clock: clock)

        let (task, returned) = startWaiting(doorbell, until: clock.now().addingTimeInterval(60), clock: clock)
        // Asleep on the bell: the three rings left no second wake-up (it would have returned at once).
        #expect(await eventually { clock.sleeperCount == 1 && doorbell.hasSleeper }, "the three rings woke it twice")
        #expect(!returned.isSet)
        doorbell.ring()
        await task.value
        #expect(clock.sleeperCount == 0)
        #expect(!doorbell.hasPendingRing)
    }

    @Test("after a wait that ended at its deadline, the next wait still sleeps until a ring (no spinning)")
    func deadlineThenRing() async {
        let clock = ManualClock(now: Fixture.monday)
        let doorbell = Doorbell()
        let (first, firstReturned) = startWaiting(doorbell, until: clock.now().addingTimeInterval(60), clock: clock)
        #expect(await eventually { clock.sleeperCount == 1 })
        clock.advance(by: 60)
        await first.value
        #expect(firstReturned.isSet)

        for _ in 0..<3 {
            let (task, returned) = startWaiting(doorbell, until: clock.now().addingTimeInterval(60), clock: clock)
            #expect(await eventually { clock.sleeperCount == 1 && doorbell.hasSleeper })
            doorbell.ring()
            await task.value
            // The ring found the worker asleep and woke it. Had the wait returned by itself before the ring
            // (spinning), the ring would have found nobody and been kept for the next wait.
            #expect(returned.isSet)
            #expect(!doorbell.hasPendingRing, "wait() returned with neither a ring nor its deadline")
        }
        // And a wait without deadline that is cancelled returns.
        let (task, returned) = startWaiting(doorbell, until: nil, clock: clock)
        #expect(await eventually { doorbell.hasSleeper })
        #expect(!returned.isSet)
        task.cancel()
        await task.value
        #expect(returned.isSet)
        #expect(!doorbell.hasSleeper)
    }

    @Test("a ring for work due after the sleeper's deadline leaves it asleep; one due earlier wakes it")
    func ringForLaterWork() async {
        let clock = ManualClock(now: Fixture.monday)
        let doorbell = Doorbell()
        let deadline = clock.now().addingTimeInterval(60)
        let (task, returned) = startWaiting(doorbell, until: deadline, clock: clock)
        #expect(await eventually { clock.sleeperCount == 1 })
        #expect(await eventually { doorbell.hasSleeper })
        doorbell.ring(dueAt: deadline)
        doorbell.ring(dueAt: deadline.addingTimeInterval(3600))
        // A ring resumes the sleeper at once, inside ring(): still asleep now means it was left asleep.
        #expect(doorbell.hasSleeper, "work due at or after the deadline woke the sleeper")
        #expect(!doorbell.hasPendingRing)
        #expect(!returned.isSet)
        doorbell.ring(dueAt: deadline.addingTimeInterval(-1))
        await task.value
        #expect(!doorbell.hasSleeper)

        // Nobody asleep: the worker is busy and will decide what to sleep until later, so the ring is kept.
        doorbell.ring(dueAt: clock.now().addingTimeInterval(86400))
        let (second, _) = startWaiting(doorbell, until: clock.now().addingTimeInterval(60), clock: clock)
        await second.value
        #expect(clock.sleeperCount == 0)
    }
}
