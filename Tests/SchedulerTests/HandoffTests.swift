import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import Storage
import Testing

/// Rotation hand-offs announced in the announce channel, once each, however many schedulers run.
/// (Where hand-offs fall across DST changes is RotationTests' subject; here the shipped rotations hand
/// off on Mondays at 09:00 Europe/Berlin, 08:00 UTC in winter.)
@Suite("Rotation hand-off announcements")
struct HandoffTests {
    /// Monday 2025-12-01 09:00 in Berlin.
    static let handoff = Fixture.monday.addingTimeInterval(8 * 3600)
    static let week: TimeInterval = 7 * 86400

    /// A scheduler service on the daemon's doorbells that only wakes when told or when something is due.
    static func runScheduler(of klaxon: TestDaemon, clock: ManualClock) -> Task<Void, any Error> {
        var settings = TimerScheduler.Settings()
        settings.idleRecheck = 30 * 86400
        let scheduler = TimerScheduler(
            store: klaxon.store, engine: klaxon.engine, clock: clock, doorbell: klaxon.daemon.timerBell,
            outboxBell: klaxon.daemon.outboxBell, settings: settings, owner: "service", logger: quietLogger)
        return Task { try await scheduler.run() }
    }

    static func announcements(_ klaxon: TestDaemon) async throws -> [ConsoleMessage] {
        try await klaxon.consoleLines().filter { $0.text.hasPrefix("🔄") }
    }

    @Test("the first start records the current shift silently; each later hand-off is announced once, on time, in the announce channel")
    func announcedOnce() async throws {
        let directory = try TemporaryDirectory("klaxon-handoff")
        defer { directory.remove() }
        let path = directory.file("klaxon.sqlite")
        let clock = ManualClock(now: Fixture.monday)
        let klaxon = try await TestDaemon.open(path: path, clock: clock)

        #expect(await klaxon.scheduler.announceHandoffs() == 0)
        await klaxon.sender.drainOnce()
        #expect(try await Self.announcements(klaxon).isEmpty)
        #expect(try await klaxon.store.lastHandoff(rotation: "primary") == Self.handoff.addingTimeInterval(-Self.week))

        clock.advance(to: Self.handoff)
        #expect(await klaxon.scheduler.announceHandoffs() == 2)
        #expect(await klaxon.scheduler.announceHandoffs() == 0)
        await klaxon.sender.drainOnce()
        let posted = try await Self.announcements(klaxon)
        #expect(posted.count == 2)
        #expect(posted.allSatisfy { $0.channel == "incidents" && $0.at == Self.handoff })
        let primary = try #require(posted.first { $0.text.contains("· primary:") })
        #expect(primary.text.contains("primary: @alice is on call from 2025-12-01 09:00"), "\(primary.text)")
        #expect(primary.text.contains("until 2025-12-08 09:00") && primary.text.contains("next: @bob."), "\(primary.text)")
        #expect(!primary.text.contains("late"))
        #expect(posted.contains { $0.text.contains("secondary: @carol is on call") && $0.text.contains("next: @dave.") })

        // A restarted process knows it was announced.
        try await klaxon.close()
        let restarted = try await TestDaemon.open(path: path, clock: clock)
        #expect(await restarted.scheduler.announceHandoffs() == 0)

        // An override active at the hand-off is who takes over.
        await restarted.run("oncall override @dave primary until 2025-12-09 12:00", as: "dave")
        clock.advance(to: Self.handoff.addingTimeInterval(Self.week))
        #expect(await restarted.scheduler.announceHandoffs() == 2)
        await restarted.sender.drainOnce()
        let overridden = try await Self.announcements(restarted).filter { $0.text.contains("· primary:") }.last
        #expect(overridden?.text.contains("primary: @dave (override) is on call from 2025-12-08 09:00") == true, "\(overridden?.text ?? "")")
        try await restarted.close()
    }

    @Test("three schedulers on one file race a hand-off: each rotation's is announced once")
    func racingSchedulers() async throws {
        let directory = try TemporaryDirectory("klaxon-handoff-race")
        defer { directory.remove() }
        let path = directory.file("klaxon.sqlite")
        let clock = ManualClock(now: Fixture.monday)
        let one = try await TestDaemon.open(path: path, clock: clock)
        let two = try await TestDaemon.open(path: path, clock: clock)
        let third = TimerScheduler(
            store: two.store, engine: two.engine, clock: clock, doorbell: Doorbell(), outboxBell: Doorbell(), owner: "third", logger: quietLogger)
        let schedulers = [one.scheduler, two.scheduler, third]

        for round in 0..<4 {
            clock.advance(to: Self.handoff.addingTimeInterval(Double(round) * Self.week))
            let announced = await withTaskGroup(of: Int.self) { group in
                for scheduler in schedulers {
                    group.addTask { await scheduler.announceHandoffs() }
                }
                return await group.reduce(0, +)
            }
            // Round 0 is the first sight for whoever gets there first: recorded, or announced if the
            // recording came first; never more than one message per rotation.
            #expect(announced <= 2)
            if round > 0 { #expect(announced == 2, "round \(round)") }
        }
        await one.sender.drainOnce()
        await two.sender.drainOnce()
        // Each text names its rotation and hand-off time: no text twice means no hand-off twice.
        let texts = try await Self.announcements(one).map(\.text)
        #expect(Set(texts).count == texts.count, "\(texts)")
        #expect(texts.count >= 6)
        try await one.close()
        try await two.close()
    }

    @Test("down across three hand-offs: only the latest is announced, once, and says it is late")
    func downtime() async throws {
        let directory = try TemporaryDirectory("klaxon-handoff-down")
        defer { directory.remove() }
        let path = directory.file("klaxon.sqlite")
        let clock = ManualClock(now: Fixture.monday)
        let before = try await TestDaemon.open(path: path, clock: clock)
        await before.scheduler.announceHandoffs()
        try await before.close()

        let latest = Self.handoff.addingTimeInterval(2 * Self.week)
        clock.advance(to: latest.addingTimeInterval(2 * 3600))
        let after = try await TestDaemon.open(path: path, clock: clock)
        #expect(await after.scheduler.announceHandoffs() == 2)
        await after.sender.drainOnce()
        let posted = try await Self.announcements(after)
        #expect(posted.count == 2)
        #expect(posted.allSatisfy { $0.text.contains("from 2025-12-15 09:00") && $0.text.contains("announced late") }, "\(posted.map(\.text))")
        #expect(try await after.store.lastHandoff(rotation: "secondary") == latest)
        try await after.close()
    }

    @Test("the running service wakes at the hand-off by itself")
    func serviceWakesAtHandoff() async throws {
        let directory = try TemporaryDirectory("klaxon-handoff-service")
        defer { directory.remove() }
        let clock = ManualClock(now: Self.handoff.addingTimeInterval(-3600))
        let klaxon = try await TestDaemon.open(path: directory.file("klaxon.sqlite"), clock: clock)
        let service = Self.runScheduler(of: klaxon, clock: clock)
        #expect(try await eventually { try await klaxon.store.lastHandoff(rotation: "primary") != nil && clock.sleeperCount == 1 })
        clock.advance(to: Self.handoff)
        #expect(try await eventually { try await klaxon.store.lastHandoff(rotation: "primary") == Self.handoff }, "no announcement at the hand-off")
        #expect(try await eventually { try await klaxon.store.outboxDepth() == 2 })
        service.cancel()
        _ = await service.result
        try await klaxon.close()
    }

    @Test("an override set from chat is announced when it starts and when it ends, once each, by the running service")
    func overrideStartAndEnd() async throws {
        let directory = try TemporaryDirectory("klaxon-override")
        defer { directory.remove() }
        // Monday 10:00 UTC, two hours into alice's primary shift.
        let start = Self.handoff.addingTimeInterval(2 * 3600)
        let clock = ManualClock(now: start)
        let klaxon = try await TestDaemon.open(path: directory.file("klaxon.sqlite"), clock: clock)
        let service = Self.runScheduler(of: klaxon, clock: clock)
        #expect(try await eventually { try await klaxon.store.lastHandoff(rotation: "primary") != nil && clock.sleeperCount == 1 })

        // Alice's zone is Europe/Berlin (people.alice.timezone), so 14:00 is 13:00 UTC.
        await klaxon.run("oncall override @bob primary until 2025-12-01 14:00", as: "alice")
        let end = start.addingTimeInterval(3 * 3600)
        #expect(try await eventually { try await klaxon.store.lastHandoff(rotation: "primary") == start }, "override start not announced")
        #expect(await eventually { clock.sleeperCount == 1 })
        await klaxon.sender.drainOnce()
        var posted = try await Self.announcements(klaxon)
        #expect(posted.count == 1)
        #expect(
            posted.last?.text
                == "🔄 On-call override · primary: @bob is on call (set by @alice) from 2025-12-01 11:00 GMT+1 until 2025-12-01 14:00 GMT+1; next: @alice.",
            "\(posted.last?.text ?? "")")

        clock.advance(to: end.addingTimeInterval(-1))
        #expect(await eventually { clock.sleeperCount == 1 })
        #expect(try await klaxon.store.lastHandoff(rotation: "primary") == start, "announced before the override ended")
        clock.advance(to: end)
        #expect(try await eventually { try await klaxon.store.lastHandoff(rotation: "primary") == end }, "override end not announced")
        #expect(await eventually { clock.sleeperCount == 1 })
        await klaxon.sender.drainOnce()
        posted = try await Self.announcements(klaxon)
        #expect(posted.count == 2)
        #expect(
            posted.last?.text == "🔄 On-call override ended · primary: @alice is on call from 2025-12-01 14:00 GMT+1 until 2025-12-08 09:00 GMT+1; next: @bob.",
            "\(posted.last?.text ?? "")")
        #expect(await klaxon.scheduler.announceHandoffs() == 0)
        service.cancel()
        _ = await service.result
        try await klaxon.close()
    }
}
