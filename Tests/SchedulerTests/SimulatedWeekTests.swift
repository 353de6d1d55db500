import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import Storage
import Testing

/// A week of incidents on the shipped defaults, driven through the real command path, the real scheduler
/// and outbox sender on a SQLite file, with a manual clock. The expected reminders are computed here from
/// the policy alone (a grid of the severity's cadence counted from the last update, re-timed by a
/// severity change, stopped by resolve or close), and every reminder is checked: its time and its count,
/// in the timeline and as delivered to the incident's room.
@Suite("A simulated week")
struct SimulatedWeekTests {
    /// Cadences of the shipped defaults, in seconds (sev4 has none).
    static let cadence: [String: TimeInterval] = ["sev1": 900, "sev2": 1800, "sev3": 7200]
    static let reviewWithin: [String: TimeInterval] = ["sev1": 48 * 3600, "sev2": 48 * 3600, "sev3": 5 * 86400]
    static let monitorFor: TimeInterval = 1800

    enum Action: Equatable {
        case declare(severity: String)
        case ack, update
        case severity(String)
        case resolve, close
    }

    struct Event {
        var at: Date
        var incident: Int
        var action: Action
        /// Ties (same second) run in the order they were planned.
        var order: Int
    }

    /// 300 incidents over seven days. Paging incidents are acknowledged in time, the others sometimes;
    /// some are updated or re-classified; nearly all are resolved after 10 min to 3 h (half of those
    /// closed by hand before the monitoring window closes them); a few slow ones stay open to the end.
    static func plan(incidents: Int, seed: UInt64) -> [Event] {
        var random = SeededGenerator(seed: seed)
        var events: [Event] = []
        func add(_ at: TimeInterval, _ incident: Int, _ action: Action) {
            events.append(Event(at: Fixture.monday.addingTimeInterval(at.rounded()), incident: incident, action: action, order: events.count))
        }
        let severities = ["sev1", "sev2", "sev2", "sev3", "sev3", "sev3", "sev4"]
        let ackWithin: [String: Int] = ["sev1": 300, "sev2": 900]
        for incident in 0..<incidents {
            let declared = TimeInterval(Int.random(in: 0..<(7 * 86400), using: &random))
            var severity = severities.randomElement(using: &random)!
            add(declared, incident, .declare(severity: severity))
            let staysOpen = (severity == "sev3" || severity == "sev4") && Int.random(in: 0..<100, using: &random) < 5
            let life = staysOpen ? 8 * 86400 - declared : TimeInterval(Int.random(in: 600...(3 * 3600), using: &random))
            let end = declared + life
            // Acknowledged before resolution; in time when the severity pages.
            if let within = ackWithin[severity] {
                add(declared + TimeInterval(Int.random(in: 20..<within, using: &random)), incident, .ack)
            } else if Bool.random(using: &random) {
                add(declared + TimeInterval(Int.random(in: 20..<min(900, Int(life)), using: &random)), incident, .ack)
            }
            var moments = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                declared + TimeInterval(Int.random(in: 60..<Int(min(life, 86400)), using: &random))
            }
            moments.sort()
            let reclassifyAt = Int.random(in: 0..<100, using: &random) < 20 ? moments.popLast() : nil
            for moment in moments { add(moment, incident, .update) }
            if let reclassifyAt {
                let other = ["sev1", "sev2", "sev3", "sev4"].filter { $0 != severity }.randomElement(using: &random)!
                add(reclassifyAt, incident, .severity(other))
                severity = other
            }
            guard !staysOpen else { continue }
            if Int.random(in: 0..<100, using: &random) < 5 {
                add(end, incident, .close)
            } else {
                add(end, incident, .resolve)
                if Bool.random(using: &random) {
                    add(end + TimeInterval(Int.random(in: 60...1200, using: &random)), incident, .close)
                }
            }
        }
        return events.sorted { ($0.at, $0.order) < ($1.at, $1.order) }
    }

    /// What the policy says, for one incident: update reminders (times), review reminder, auto-close.
    struct Expected {
        var reminders: [Date] = []
        var review: Date?
        var autoClose: Date?
    }

    static func expectations(for events: [Event], until end: Date) -> Expected {
        var expected = Expected()
        var severity = ""
        var lastUpdate = Date.distantPast
        var next: Date?
        var resolved: (at: Date, severity: String, byClose: Bool)?
        var closedByHand = false
        func remind(through date: Date) {
            while let due = next, due <= date {
                expected.reminders.append(due)
                next = due.addingTimeInterval(cadence[severity]!)
            }
        }
        for event in events {
            // Timers due at the same moment as a command fire before it (the test steps them first).
            remind(through: event.at)
            switch event.action {
            case .declare(let initial):
                severity = initial
                lastUpdate = event.at
                next = cadence[severity].map { event.at.addingTimeInterval($0) }
            case .ack:
                break
            case .update:
                lastUpdate = event.at
                next = cadence[severity].map { event.at.addingTimeInterval($0) }
            case .severity(let new):
                severity = new
                next = cadence[new].map { max(event.at, lastUpdate.addingTimeInterval($0)) }
            case .resolve:
                next = nil
                resolved = (event.at, severity, false)
            case .close:
                next = nil
                if resolved == nil { resolved = (event.at, severity, true) } else { closedByHand = true }
            }
        }
        remind(through: end)
        if let resolved {
            expected.review = reviewWithin[resolved.severity].map { resolved.at.addingTimeInterval($0) }.flatMap { $0 <= end ? $0 : nil }
            if !resolved.byClose, !closedByHand {
                let close = resolved.at.addingTimeInterval(monitorFor)
                expected.autoClose = close <= end ? close : nil
            }
        }
        return expected
    }

    @Test("300 incidents over seven days: every update reminder at its time, no more, no fewer; reviews and auto-close on time", arguments: [UInt64(20251201)])
    func week(seed: UInt64) async throws {
        let directory = try TemporaryDirectory("klaxon-week")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday)
        let klaxon = try await TestDaemon.open(path: directory.file("week.sqlite"), clock: clock)

        let count = 300
        let events = Self.plan(incidents: count, seed: seed)
        let end = Fixture.monday.addingTimeInterval(8 * 86400)
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
        var totalReminders = 0
        for incident in 0..<count {
            let id = try #require(ids[incident])
            let expected = Self.expectations(for: events.filter { $0.incident == incident }, until: end)
            let reminders = try await klaxon.reminders(of: id)
            #expect(reminders.map(\.at) == expected.reminders, "\(id): update reminders")
            #expect(!reminders.contains { $0.text.contains("missed") }, "\(id): a reminder counted missed ones though none was late")
            let room = try #require(try await klaxon.store.incident(id)?.room?.channelID)
            let posts = delivered.filter { $0.channel == room && $0.text.hasPrefix("⏰") }
            #expect(posts.map(\.at) == expected.reminders, "\(id): reminders delivered to #\(room)")
            totalReminders += reminders.count

            let timeline = try await klaxon.store.timeline(of: id)
            let reviews = timeline.filter { $0.kind == .reminder && $0.text.hasPrefix("Post-incident review") }.map(\.at)
            #expect(reviews == (expected.review.map { [$0] } ?? []), "\(id): review reminder")
            if let autoClose = expected.autoClose {
                let incident = try #require(try await klaxon.store.incident(id))
                #expect(incident.status == .closed && incident.closedAt == autoClose, "\(id): closed after the monitoring window")
            }
        }
        // The week is not trivially small: thousands of reminders were checked one by one.
        #expect(totalReminders > 1000, "only \(totalReminders) reminders in the week")
        try await klaxon.close()
    }
}
