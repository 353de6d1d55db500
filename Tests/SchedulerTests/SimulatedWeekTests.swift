import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import Storage
import Testing

/// A week of incidents on the shipped defaults, driven through the real command path, the real scheduler
/// and outbox sender on a SQLite file, with a manual clock. The plan and the expectations come from
/// `SimulatedWeek` (KlaxonTestSupport), computed from the policy alone and shared with the pure-core week
/// in IncidentCoreTests (which runs the same plan through the engine alone, for several seeds, in well
/// under a second); this one proves the same through the store, the scheduler and the outbox. Every
/// reminder is checked: its time and its count, in the timeline and as delivered to the incident's room;
/// and so are the escalations (overdue, acknowledgement timeouts, long-running), reviews and auto-close.
@Suite("A simulated week")
struct SimulatedWeekTests {
    /// The shipped defaults, spelled out: sev1 every 15 min (ack 5 min, long-running 1 h), sev2 every
    /// 30 min (ack 15 min), sev3 every 2 h, sev4 nothing; reviews 48 h / 48 h / 5 days; monitoring 30 min;
    /// the chain primary, secondary at +5 min, carol at +15 min, walked once; overdue at 2 cadences.
    static let policy = WeekPolicy(
        mix: ["sev1", "sev2", "sev2", "sev3", "sev3", "sev3", "sev4"],
        cadence: ["sev1": 900, "sev2": 1800, "sev3": 7200],
        ackWithin: ["sev1": 300, "sev2": 900],
        escalateAfter: ["sev1": 3600],
        reviewWithin: ["sev1": 48 * 3600, "sev2": 48 * 3600, "sev3": 5 * 86400],
        monitorFor: 1800,
        escalationAfter: [0, 300, 900],
        repeatEscalation: 0,
        overdueAfterCadences: 2)

    @Test(
        "300 incidents over seven days: every update reminder at its time, no more, no fewer; escalations, reviews and auto-close on time",
        arguments: [UInt64(20251201)])
    func week(seed: UInt64) async throws {
        let directory = try TemporaryDirectory("klaxon-week")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday)
        let klaxon = try await TestDaemon.open(path: directory.file("week.sqlite"), clock: clock)

        let count = 300
        let events = SimulatedWeek.plan(incidents: count, seed: seed, start: Fixture.monday, policy: Self.policy)
        let end = Fixture.monday.addingTimeInterval(SimulatedWeek.length)
        var ids: [Int: IncidentID] = [:]
        for event in events {
            try await klaxon.runTimers(through: event.at)
            switch event.action {
            case .declare(let severity):
                ids[event.incident] = try await klaxon.declare(severity, "Simulated incident \(event.incident)")
            case .ack: await klaxon.run("ack \(ids[event.incident]!)", as: "bob")
            case .update: await klaxon.run("update \(ids[event.incident]!) Still on it", as: "alice")
            case .severity(let severity): await klaxon.run("severity \(ids[event.incident]!) \(severity)")
            case .resolve: await klaxon.run("resolve \(ids[event.incident]!) Fixed")
            case .close: await klaxon.run("close \(ids[event.incident]!)")
            }
            await klaxon.sender.drainOnce()
        }
        try await klaxon.runTimers(through: end)
        #expect(try await klaxon.store.outboxDepth() == 0)

        let delivered = try await klaxon.consoleLines()
        let byIncident = Dictionary(grouping: events, by: \.incident)
        var totals = (reminders: 0, overdue: 0, ackTimeouts: 0, longRunning: 0)
        for incident in 0..<count {
            let id = try #require(ids[incident])
            let plan = try #require(byIncident[incident])
            let expected = SimulatedWeek.expectations(for: plan, until: end, policy: Self.policy)
            let timeline = try await klaxon.store.timeline(of: id)
            func lines(_ kind: TimelineKind, keepLevel: Bool = false, where include: (String) -> Bool) -> [String] {
                timeline.filter { $0.kind == kind && include($0.text) }.map {
                    "\($0.at) " + SimulatedWeek.Line.withoutRecipients($0.text, keepLevel: keepLevel)
                }
            }

            // Update reminders: the time and the silence of each, none counting "missed" ones.
            let reminders = lines(.reminder) { $0.hasPrefix("Update reminder") }
            #expect(reminders == expected.reminders.map { "\($0.at) " + SimulatedWeek.Line.reminder($0, owner: "alice") }, "\(id): update reminders")
            let room = try #require(try await klaxon.store.incident(id)?.room?.channelID)
            let posts = delivered.filter { $0.channel == room && $0.text.hasPrefix("⏰") }
            #expect(posts.map(\.at) == expected.reminders.map(\.at), "\(id): reminders delivered to #\(room)")
            #expect(!posts.contains { $0.text.contains("missed") }, "\(id): a reminder counted missed ones though none was late")

            // Escalations: overdue (once per silent stretch), the acknowledgement chain, long-running.
            let overdue = lines(.escalation) { $0.contains("(has had no update for") }
            #expect(
                overdue
                    == expected.reminders.compactMap { reminder in
                        SimulatedWeek.Line.overdue(reminder, policy: Self.policy).map { "\(reminder.at) \($0)" }
                    }, "\(id): overdue escalations")
            let ackLines = lines(.escalation, keepLevel: true) { $0.contains("(was not acknowledged within") || $0.hasPrefix("Still unacknowledged") }
            #expect(ackLines == expected.ackTimeouts.map { "\($0.at) " + SimulatedWeek.Line.ackTimeout($0) }, "\(id): acknowledgement timeouts")
            let declaredAt = plan[0].at
            let longRunning = lines(.escalation) { $0.contains("(has been open for") }
            #expect(
                longRunning
                    == expected.longRunning.map {
                        "\($0) " + SimulatedWeek.Line.longRunning(open: $0.timeIntervalSince(declaredAt))
                    }, "\(id): long-running escalation")

            // After the resolution: the review reminder, and the close by the monitoring window.
            let reviews = lines(.reminder) { $0 == SimulatedWeek.Line.review }
            #expect(reviews == (expected.review.map { ["\($0) " + SimulatedWeek.Line.review] } ?? []), "\(id): review reminder")
            if let autoClose = expected.autoClose {
                let incident = try #require(try await klaxon.store.incident(id))
                #expect(incident.status == .closed && incident.closedAt == autoClose, "\(id): closed after the monitoring window")
            }
            totals.reminders += reminders.count
            totals.overdue += overdue.count
            totals.ackTimeouts += ackLines.count
            totals.longRunning += longRunning.count
        }
        // The week is not trivially small: a thousand reminders were checked one by one, and every kind
        // of escalation happened many times.
        #expect(totals.reminders > 1000, "only \(totals.reminders) reminders in the week")
        #expect(totals.overdue > 50 && totals.ackTimeouts > 50 && totals.longRunning > 20, "\(totals)")
        try await klaxon.close()
    }
}
