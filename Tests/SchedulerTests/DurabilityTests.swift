import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import Storage
import Testing

/// Restarts, downtime and crashes: the timers live in the SQLite file, so whatever happens to the process,
/// each reminder is posted once, on its grid.
@Suite("Durable timers across restarts and crashes")
struct DurabilityTests {
    static let minute: TimeInterval = 60

    @Test("a restart in the middle of a cadence loses no reminder and doubles none, even with a reminder committed but not yet sent")
    func restartMidCadence() async throws {
        let directory = try TemporaryDirectory("klaxon-restart")
        defer { directory.remove() }
        let path = directory.file("klaxon.sqlite")
        let clock = ManualClock(now: Fixture.monday)
        let t0 = clock.now()
        func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * Self.minute) }

        let first = try await TestDaemon.open(path: path, clock: clock)
        let id = try await first.declare("sev1", "Checkout returns 502")
        await first.run("ack \(id)", as: "bob")
        try await first.runTimers(through: at(22))
        #expect(try await first.reminders(of: id).map(\.at) == [at(15)])
        // Stopped 7 minutes into the second cadence.
        try await first.close()
        #expect(await first.scheduler.fireDue() == 0, "a closed store fires nothing")

        let second = try await TestDaemon.open(path: path, clock: clock)
        try await second.runTimers(through: at(60))
        #expect(try await second.reminders(of: id).map(\.at) == [at(15), at(30), at(45), at(60)])

        // The 75-minute reminder is committed (its message is in the outbox), then the process dies
        // before the sender runs. The next process delivers it once, and does not fire it again.
        clock.advance(to: at(75))
        #expect(await second.scheduler.fireDue() == 1)
        try await second.close()

        let third = try await TestDaemon.open(path: path, clock: clock)
        #expect(await third.scheduler.fireDue() == 0)
        await third.sender.drainOnce()
        try await third.runTimers(through: at(90))
        let expected = [at(15), at(30), at(45), at(60), at(75), at(90)]
        #expect(try await third.reminders(of: id).map(\.at) == expected)
        #expect(try await third.deliveredReminders(of: id).count == expected.count)
        // Each delivered when it fired; the 75-minute one by the process that started after the crash.
        #expect(try await third.deliveredReminders(of: id).map(\.at) == expected)
        try await third.close()
    }

    @Test("down for 47 minutes of a 15-minute cadence: one reminder saying 3 were missed, then the original grid")
    func downtime() async throws {
        let directory = try TemporaryDirectory("klaxon-downtime")
        defer { directory.remove() }
        let path = directory.file("klaxon.sqlite")
        let clock = ManualClock(now: Fixture.monday)
        let t0 = clock.now()
        func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * Self.minute) }

        let before = try await TestDaemon.open(path: path, clock: clock)
        let id = try await before.declare("sev1", "Database failover stuck")
        await before.run("ack \(id)", as: "bob")
        await before.sender.drainOnce()
        try await before.close()

        clock.advance(to: at(47))
        let after = try await TestDaemon.open(path: path, clock: clock)
        #expect(await after.step() == 1)
        #expect(await after.step() == 0, "the missed reminders must not come as a burst")
        let reminders = try await after.reminders(of: id)
        try #require(reminders.count == 1)
        #expect(reminders[0].at == at(47))
        #expect(reminders[0].text.contains("no update for 47 min"), "\(reminders[0].text)")
        #expect(reminders[0].text.contains("3 missed while Klaxon was down"), "\(reminders[0].text)")
        let delivered = try await after.deliveredReminders(of: id)
        #expect(delivered.count == 1)
        #expect(delivered.first?.text.contains("has had no update for 47 min") == true)
        #expect(delivered.first?.text.contains("3 reminders were missed while Klaxon was down") == true, "\(delivered.first?.text ?? "")")
        let next = try await after.store.pendingTimers(of: id).first { $0.kind == .updateReminder }
        #expect(next?.dueAt == at(60), "the next reminder stays on the 15-minute grid")

        try await after.runTimers(through: at(75))
        let later = try await after.reminders(of: id)
        #expect(later.map(\.at) == [at(47), at(60), at(75)])
        #expect(!later.dropFirst().contains { $0.text.contains("missed") })
        // The silent stretch crossed the overdue threshold (2 cadences) once: one escalation for it.
        let overdue = try await after.store.timeline(of: id).filter { $0.kind == .escalation && $0.text.contains("no update") }
        #expect(overdue.count == 1)
        try await after.close()
    }

    @Test("a reminder only late by less than a cadence is posted as a normal reminder")
    func shortDowntime() async throws {
        let directory = try TemporaryDirectory("klaxon-short-downtime")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday)
        let t0 = clock.now()
        let klaxon = try await TestDaemon.open(path: directory.file("klaxon.sqlite"), clock: clock)
        let id = try await klaxon.declare("sev1", "Search is slow")
        await klaxon.run("ack \(id)", as: "bob")
        clock.advance(to: t0.addingTimeInterval(20 * Self.minute))
        await klaxon.step()
        let reminders = try await klaxon.reminders(of: id)
        #expect(reminders.count == 1)
        #expect(reminders.first.map { !$0.text.contains("missed") } == true, "\(reminders.first?.text ?? "")")
        #expect(try await klaxon.store.pendingTimers(of: id).first { $0.kind == .updateReminder }?.dueAt == t0.addingTimeInterval(30 * Self.minute))
        try await klaxon.close()
    }

    @Test(
        "a crash between claim and commit: nobody fires the timer before the lease expires, the next scheduler fires it once after, and the late commit of the crashed owner is refused"
    )
    func crashBetweenClaimAndCommit() async throws {
        let directory = try TemporaryDirectory("klaxon-crash")
        defer { directory.remove() }
        let path = directory.file("klaxon.sqlite")
        let clock = ManualClock(now: Fixture.monday)
        let t0 = clock.now()
        let lease = TimerScheduler.Settings().lease

        let crashed = try await TestDaemon.open(path: path, clock: clock)
        let id = try await crashed.declare("sev3", "Export button broken")
        await crashed.sender.drainOnce()
        let due = t0.addingTimeInterval(2 * 3600)
        clock.advance(to: due)
        // The crashed process claimed the reminder the way its scheduler does, then died.
        let claimed = try await crashed.store.claimDueTimers(now: due, owner: "crashed-scheduler", leaseUntil: due.addingTimeInterval(lease), limit: 64)
        try #require(claimed.count == 1)
        #expect(claimed[0].kind == .updateReminder && claimed[0].leaseOwner == "crashed-scheduler")
        try await crashed.close()

        let survivor = try await TestDaemon.open(path: path, clock: clock)
        #expect(await survivor.step() == 0)
        #expect(try await survivor.store.nextTimerDue() == due.addingTimeInterval(lease), "the scheduler wakes when the lease expires")
        clock.advance(to: due.addingTimeInterval(lease - 0.001))
        #expect(await survivor.step() == 0, "taken over before the lease expired")
        #expect(try await survivor.reminders(of: id).isEmpty)

        clock.advance(to: due.addingTimeInterval(lease))
        #expect(await survivor.step() == 1)
        #expect(await survivor.step() == 0)
        #expect(try await survivor.reminders(of: id).map(\.at) == [due.addingTimeInterval(lease)])
        #expect(try await survivor.deliveredReminders(of: id).count == 1)

        // The crashed owner comes back and commits what it decided: refused, and nothing changes.
        let incident = try #require(try await survivor.store.incident(id))
        let late = survivor.engine.fire(claimed[0], incident: incident, now: clock.now())
        let timeline = try await survivor.store.timeline(of: id)
        let timers = try await survivor.store.pendingTimers(of: id)
        let outbox = try await survivor.store.outboxMessages(incident: id)
        await #expect(throws: StoreError.leaseLost(claimed[0].id)) {
            try await survivor.store.commit(late)
        }
        #expect(try await survivor.store.timeline(of: id) == timeline)
        #expect(try await survivor.store.pendingTimers(of: id) == timers)
        #expect(try await survivor.store.outboxMessages(incident: id) == outbox)
        #expect(try await survivor.store.incident(id)?.revision == incident.revision)
        #expect(timers.map(\.dueAt) == [due.addingTimeInterval(2 * 3600)], "the successor stays on the grid")
        try await survivor.close()
    }
}
