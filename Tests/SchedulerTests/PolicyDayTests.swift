import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import Storage
import Testing

/// A day of one SEV1 under a policy written from runbooks 000, 002, 003 and 004: who is told at which
/// minute, what `unless` keeps quiet, and that each rule fires once across a restart (a real SQLite file,
/// the manual clock).
@Suite("Policy rules over a day, on a SQLite file")
struct PolicyDayTests {
    static let minute: TimeInterval = 60

    /// carol plays the CTO and dave the CEO; bob is the engineer on the incident.
    static func policy(_ config: inout KlaxonConfig) {
        config.editSeverity("sev1") { sev1 in
            sev1.notify = [
                // 000-25: "All P0s … 2. CTO / Engineering lead", whether or not anyone acknowledged.
                PolicyRule(id: "cto", at: .span(.minutes(5)), notify: [.person("carol")]),
                // 000-25: "3. CEO (within 30 min …)", unless the impact is already mitigated.
                PolicyRule(id: "ceo", at: .span(.minutes(30)), notify: [.person("dave")], unless: [.mitigated]),
                // 000-27: "P0 Ongoing > 1 hour 1. Notify CEO directly", acknowledged or not; and leadership's channel.
                PolicyRule(id: "ceo-1h", at: .span(.hours(1)), notify: [.person("dave"), .channel(platform: .console, name: "leadership")]),
                // 004-09: "Mitigate <30min": the engineer is nagged every 30 min until it is.
                PolicyRule(id: "mitigate", at: .span(.minutes(30)), notify: [.person("bob")], unless: [.mitigated], repeatEvery: .minutes(30)),
            ]
            sev1.checkpoints = [
                // 003-07: "Step 2: Communicate (5 minutes)".
                PolicyRule(id: "first-update", at: .span(.minutes(5)), unless: [.updated], say: "Tell stakeholders what you know: /incident update"),
                // 000-10: "By 15 minutes: … Incident commander assigned".
                PolicyRule(id: "ic", at: .span(.minutes(15)), unless: [.roleAssigned(.commander)], say: "Assign an incident commander"),
                // 002-20: "Immediate (Within 2 hours)" after the incident: export and draft the post-mortem.
                PolicyRule(id: "export", at: .span(.hours(2)), from: .resolved, say: "Export the incident data and draft the post-mortem"),
            ]
        }
    }

    /// Rule firings in the timeline: (minute, rule id).
    static func firings(_ timeline: [TimelineEntry], since t0: Date) -> [(Int, String)] {
        timeline.compactMap { entry in
            let minute = Int(entry.at.timeIntervalSince(t0) / 60)
            if entry.kind == .page, entry.text.hasPrefix("Rule ") {
                return (minute, String(entry.text.dropFirst(5).prefix { $0 != " " }))
            }
            if entry.kind == .reminder, entry.text.hasPrefix("Checkpoint ") {
                return (minute, String(entry.text.dropFirst(11).prefix { $0 != " " }))
            }
            return nil
        }
    }

    @Test("a SEV1's day: CTO at 5, CEO at 30 and 60, the nag until mitigated, checkpoints unless met, export 2 h after resolving; a restart doubles nothing")
    func dayOfAnIncident() async throws {
        let directory = try TemporaryDirectory("klaxon-policy-day")
        defer { directory.remove() }
        let path = directory.file("klaxon.sqlite")
        let clock = ManualClock(now: Fixture.monday)
        let t0 = clock.now()
        func at(_ minutes: Double) -> Date { t0.addingTimeInterval(minutes * Self.minute) }

        let first = try await TestDaemon.open(path: path, clock: clock, config: Self.policy)
        let id = try await first.declare("sev1", "Uploads are failing")
        try await first.runTimers(through: at(3))
        await first.run("ack \(id)", as: "bob")
        try await first.runTimers(through: at(10))
        await first.run("role \(id) ic @alice", as: "alice")
        try await first.runTimers(through: at(20))
        await first.run("update \(id) Connection pool exhausted, restarting it", as: "alice")

        // Minute 30: the CEO and the nag are committed (their messages in the outbox), then the process
        // dies before the sender runs.
        try await first.runTimers(through: at(29))
        clock.advance(to: at(30))
        #expect(await first.scheduler.fireDue() == 2)
        try await first.close()

        let second = try await TestDaemon.open(path: path, clock: clock, config: Self.policy)
        #expect(await second.scheduler.fireDue() == 0, "fired before the crash: not again")
        await second.sender.drainOnce()
        try await second.runTimers(through: at(45))
        await second.run("mitigate \(id) Pool restarted", as: "bob")
        try await second.runTimers(through: at(70))
        await second.run("resolve \(id) Uploads work again", as: "bob")
        try await second.runTimers(through: at(24 * 60))

        let timeline = try await second.store.timeline(of: id)
        let fired = Self.firings(timeline, since: t0)
        // Timers due together fire in the order they were armed (the config's order).
        #expect(fired.map(\.0) == [5, 5, 30, 30, 60, 190], "\(fired)")
        #expect(fired.map(\.1) == ["cto", "first-update", "ceo", "mitigate", "ceo-1h", "export"], "\(fired)")
        // Suppressed by `unless`: the IC checkpoint (an IC at minute 10, 000-10) and the nag's repeat at 60
        // (mitigated at 45, 004-09), which then stops; the acknowledgement does not stop the CEO at 60 (000-27).
        #expect(!fired.contains { $0.1 == "ic" })
        #expect(fired.filter { $0.1 == "mitigate" }.map(\.0) == [30], "\(fired)")

        // Direct messages, one each, at the minute the rule fired: carol (the CTO) at 5, dave (the CEO) at
        // 30 and 60, bob nagged at 30 only.
        let lines = try await second.consoleLines()
        func dms(_ person: String) -> [Int] {
            lines.filter { $0.channel == "@\(person)" && $0.text.hasPrefix("📣") }.map { Int($0.at.timeIntervalSince(t0) / 60) }
        }
        #expect(dms("carol") == [5])  // 000-25
        #expect(dms("dave") == [30, 60])  // 000-25, 000-27
        #expect(dms("bob") == [30])  // 004-09
        let leadership = lines.filter { $0.channel == "leadership" }
        #expect(leadership.map { Int($0.at.timeIntervalSince(t0) / 60) } == [60])  // 000-27
        #expect(leadership.first?.text.hasPrefix("📣 \(id) (SEV1) Uploads are failing · Mitigated · open 1 h") == true, "\(leadership)")
        let room = try #require(try await second.store.incident(id)?.room?.channelID)
        let checkpoints = lines.filter { $0.channel == room && $0.text.hasPrefix("⏱️") }
        #expect(checkpoints.map { Int($0.at.timeIntervalSince(t0) / 60) } == [5, 190])  // 003-07, 002-20
        #expect(checkpoints.first?.text == "⏱️ \(id) checkpoint (5 min after declaration): Tell stakeholders what you know: /incident update @alice")
        // Every rule fired or was stopped: none is left pending (the 48 h review reminder is).
        #expect(try await second.store.pendingTimers(of: id).map(\.kind) == [.reviewReminder])
        try await second.close()
    }

    @Test("respondWithin without paging: a SEV3 declared on Friday evening is overdue at the close of Monday, unless acknowledged (001-04, 002-04)")
    func responseClockInBusinessTime() async throws {
        let directory = try TemporaryDirectory("klaxon-policy-respond")
        defer { directory.remove() }
        let path = directory.file("klaxon.sqlite")
        // Friday 2025-12-05 18:00 UTC.
        let friday = Fixture.monday.addingTimeInterval(4 * 86_400 + 18 * 3600)
        let clock = ManualClock(now: friday)
        func configure(_ config: inout KlaxonConfig) {
            config.calendar = BusinessCalendar(timeZone: TimeZone(identifier: "UTC")!)
            config.editSeverity("sev3") { $0.respondWithin = .nextBusinessDay }
        }
        let daemon = try await TestDaemon.open(path: path, clock: clock, config: configure)
        let quiet = try await daemon.declare("sev3", "Export button does nothing")
        let overdue = try await daemon.declare("sev3", "One user cannot upload a PDF")
        // Monday 2025-12-08 17:00 UTC: the close of the next business day.
        let mondayClose = Fixture.monday.addingTimeInterval(7 * 86_400 + 17 * 3600)
        try await daemon.runTimers(through: mondayClose.addingTimeInterval(-60))
        await daemon.run("ack \(quiet)", as: "bob")
        try await daemon.runTimers(through: mondayClose.addingTimeInterval(86_400))

        let overdueLines = try await daemon.store.timeline(of: overdue).filter { $0.text.hasPrefix("No response") }
        #expect(overdueLines.map(\.at) == [mondayClose])
        #expect(try await daemon.store.timeline(of: quiet).filter { $0.text.hasPrefix("No response") }.isEmpty)
        let announced = try await daemon.consoleLines().filter { $0.channel == "incidents" && $0.text.hasPrefix("⏰ \(overdue)") }
        #expect(announced.count == 1)
        #expect(announced.first?.text.contains("has had no response by the end of the next business day") == true)
        try await daemon.close()
    }

    @Test(
        "declare --type security through the daemon: the security channel and the security person hear at once; the type shows in the topic and summary (000-28, 004-24)"
    )
    func securityType() async throws {
        let directory = try TemporaryDirectory("klaxon-policy-type")
        defer { directory.remove() }
        let path = directory.file("klaxon.sqlite")
        let clock = ManualClock(now: Fixture.monday)
        func configure(_ config: inout KlaxonConfig) {
            config.incidentTypes = [
                IncidentTypeConfig(
                    id: "security", name: "Security",
                    notify: [
                        PolicyRule(id: "security", at: .span(.zero), notify: [.person("carol"), .channel(platform: .console, name: "security")])
                    ])
            ]
        }
        let daemon = try await TestDaemon.open(path: path, clock: clock, config: configure)
        let result = await daemon.run("declare sev2 --type security Suspicious admin logins")
        let id = try #require(result.reply.incidentID)
        #expect(result.reply.text.hasPrefix("Declared \(id) · SEV2 · Security · Suspicious admin logins"))
        #expect(try await daemon.store.incident(id)?.type == "security")
        await daemon.step()
        let lines = try await daemon.consoleLines()
        #expect(lines.filter { $0.channel == "security" }.map(\.text) == ["📣 \(id) (SEV2) Suspicious admin logins · Declared · open 0 s"])  // 004-24
        #expect(lines.filter { $0.channel == "@carol" && $0.text.hasPrefix("📣") }.count == 1)  // 000-28
        await daemon.run("close \(id) False alarm: a new admin", as: "alice")
        await daemon.step()
        let summary = try await daemon.consoleLines().last { $0.channel == "incidents" && $0.text.hasPrefix("INCIDENT SUMMARY") }
        #expect(summary?.text.contains("Type: Security") == true)
        try await daemon.close()
    }
}
