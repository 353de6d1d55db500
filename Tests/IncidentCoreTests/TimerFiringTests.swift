import Foundation
import Testing

@testable import IncidentCore

/// A store and scheduler in miniature: keeps one pending timer per kind, as the store does, fires them
/// in due order exactly when due, and feeds every change back the way a commit would.
struct EngineTimerWorld {
    static let leaseOwner = "scheduler-a"

    var scenario: EngineScenario
    private(set) var pending: [TimerKind: ScheduledTimer] = [:]
    private(set) var fired: [(timer: ScheduledTimer, changes: ChangeSet)] = []
    private var nextID: Int64 = 1

    init(_ scenario: EngineScenario) {
        self.scenario = scenario
        apply(scenario.declaration.changes)
    }

    var incident: Incident { scenario.incident }

    private mutating func apply(_ changes: ChangeSet) {
        for (_, kind) in changes.cancelTimers { pending[kind] = nil }
        for timer in changes.timers {
            pending[timer.kind] = ScheduledTimer(
                id: nextID, incidentID: timer.incidentID, kind: timer.kind, dueAt: timer.dueAt, step: timer.step, leaseOwner: Self.leaseOwner)
            nextID += 1
        }
    }

    /// Fires every timer due by `time`, earliest first (ties in the order they were written).
    mutating func runTimers(through time: Date) {
        while let next = pending.values.filter({ $0.dueAt <= time }).min(by: { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }) {
            pending[next.kind] = nil
            let changes = scenario.engine.fire(next, incident: scenario.incident, now: next.dueAt)
            if let written = changes.writtenIncident {
                scenario.incident = written
                scenario.incident.revision += 1
            }
            apply(changes)
            fired.append((next, changes))
        }
    }

    /// Runs the timers due before `time`, then the command.
    @discardableResult
    mutating func run(_ command: IncidentCommand, by user: ChatUser = EngineFixture.alice, at time: Date) -> Decision {
        runTimers(through: time)
        let decision = scenario.run(command, by: user, at: time)
        if decision.outcome == .applied { apply(decision.changes) }
        return decision
    }

    func firings(of kind: TimerKind) -> [(timer: ScheduledTimer, changes: ChangeSet)] {
        fired.filter { $0.timer.kind == kind }
    }
}

@Suite("IncidentEngine: timers")
struct TimerFiringTests {
    typealias F = EngineFixture

    static func stored(_ timer: NewTimer?, id: Int64 = 99, owner: String? = "scheduler-a") throws -> ScheduledTimer {
        let timer = try #require(timer, "no timer was scheduled")
        return ScheduledTimer(id: id, incidentID: timer.incidentID, kind: timer.kind, dueAt: timer.dueAt, step: timer.step, leaseOwner: owner)
    }

    static func timer(_ kind: TimerKind, due: Date, step: Int = 0, id: Int64 = 99, owner: String? = "scheduler-a") -> ScheduledTimer {
        ScheduledTimer(id: id, incidentID: IncidentID(1), kind: kind, dueAt: due, step: step, leaseOwner: owner)
    }

    /// Only the timer's completion: nothing else is written.
    func expectOnlyCompletion(_ changes: ChangeSet, of timer: ScheduledTimer, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(changes.completeTimer?.id == timer.id, sourceLocation: sourceLocation)
        #expect(changes.completeTimer?.owner == timer.leaseOwner, sourceLocation: sourceLocation)
        #expect(changes.incidents.isEmpty, sourceLocation: sourceLocation)
        #expect(changes.timeline.isEmpty, sourceLocation: sourceLocation)
        #expect(changes.outbox.isEmpty, sourceLocation: sourceLocation)
        #expect(changes.timers.isEmpty, sourceLocation: sourceLocation)
        #expect(changes.cancelTimers.isEmpty, sourceLocation: sourceLocation)
    }

    // MARK: update reminders

    @Test("a reminder speaks to the declarer when there is no IC, and the next one follows a cadence later")
    func reminderToDeclarer() throws {
        let scenario = try EngineScenario("sev1", by: F.alice)
        let timer = try Self.stored(scenario.declaration.changes.scheduledTimer(.updateReminder))
        #expect(timer.dueAt == F.time("09:15"))
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: F.time("09:15"))
        #expect(
            changes.postTexts(to: .incidentRoom) == [
                """
                ⏰ <@alice>: INC-1 has had no update for 15 min (SEV1 updates every 15m).
                Post one: /incident update INC-1 <what changed>
                """
            ])
        #expect(changes.postTexts(to: .announce).isEmpty, "one reminder is no escalation")
        try #require(changes.timeline.map(\.kind) == [.reminder])
        #expect(changes.timeline[0].text == "Update reminder to <@alice>: no update for 15 min")
        #expect(changes.timeline[0].actor == nil)
        let next = try #require(changes.scheduledTimer(.updateReminder))
        #expect(next.dueAt == F.time("09:30"))
        #expect(next.step == 1)
        #expect(changes.completeTimer?.id == 99 && changes.completeTimer?.owner == "scheduler-a")
        #expect(changes.incidents.map(\.expectedRevision) == [scenario.incident.revision])
    }

    @Test("a reminder speaks to the IC once there is one")
    func reminderToCommander() throws {
        var scenario = try EngineScenario("sev1", by: F.alice)
        scenario.run(.role(nil, .commander, F.carol), at: F.time("09:02"))
        let changes = scenario.engine.fire(Self.timer(.updateReminder, due: F.time("09:15")), incident: scenario.incident, now: F.time("09:15"))
        #expect(changes.postTexts(to: .incidentRoom).first?.hasPrefix("⏰ <@carol>: INC-1 has had no update for 15 min") == true)
        #expect(changes.timeline.first?.text == "Update reminder to <@carol>: no update for 15 min")
    }

    @Test("after downtime (dueAt + 3.5 cadences) one reminder covers the missed ones, and the next stays on the original grid")
    func reminderAfterDowntime() throws {
        let scenario = try EngineScenario("sev1")
        let timer = try Self.stored(scenario.declaration.changes.scheduledTimer(.updateReminder))
        let cadence = 15 * F.minute
        let now = timer.dueAt.addingTimeInterval(3.5 * cadence)  // 10:07:30
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: now)

        // Due at 09:15, 09:30, 09:45 and 10:00, none posted on time: this one post stands for all four.
        let reminders = changes.postTexts(to: .incidentRoom).filter { $0.hasPrefix("⏰") }
        #expect(
            reminders == [
                """
                ⏰ <@alice>: INC-1 has had no update for 1 h 7 min (SEV1 updates every 15m). 4 reminders were missed while Klaxon was down.
                Post one: /incident update INC-1 <what changed>
                """
            ])
        #expect(changes.timeline.first?.text == "Update reminder to <@alice>: no update for 1 h 7 min (4 missed while Klaxon was down)")
        let next = try #require(changes.scheduledTimer(.updateReminder))
        #expect(next.dueAt == timer.dueAt.addingTimeInterval(4 * cadence))
        #expect(next.dueAt == F.time("10:15"))
        #expect(next.step == 4, "four reminders are now owed since the last update")
        #expect(changes.timers.count == 1)
        // Four cadences of silence are past the overdue threshold: the chain hears of it, once.
        #expect(changes.postTexts(to: .announce).count == 1)
        #expect(changes.writtenIncident?.escalationLevel == 1)
    }

    struct Downtime: Sendable, CustomTestStringConvertible {
        var firedAt: String
        var missed: Int
        var next: String
        var step: Int
        var testDescription: String { "fired at \(firedAt)" }
    }

    @Test(
        "how many reminders one late reminder stands for, and when the next is due",
        arguments: [
            Downtime(firedAt: "09:29", missed: 0, next: "09:30", step: 1),
            Downtime(firedAt: "09:30", missed: 2, next: "09:45", step: 2),
            Downtime(firedAt: "09:47", missed: 3, next: "10:00", step: 3),
            Downtime(firedAt: "10:14", missed: 4, next: "10:15", step: 4),
        ])
    func downtimeTable(_ downtime: Downtime) throws {
        let scenario = try EngineScenario("sev1")
        let timer = Self.timer(.updateReminder, due: F.time("09:15"))
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: F.time(downtime.firedAt))
        let text = try #require(changes.postTexts(to: .incidentRoom).first)
        if downtime.missed == 0 {
            #expect(!text.contains("missed"))
        } else {
            #expect(text.contains(" \(downtime.missed) reminders were missed while Klaxon was down."), "\(text)")
        }
        #expect(changes.postTexts(to: .incidentRoom).filter { $0.hasPrefix("⏰") }.count == 1, "never a burst")
        #expect(changes.scheduledTimer(.updateReminder)?.dueAt == F.time(downtime.next))
        #expect(changes.scheduledTimer(.updateReminder)?.step == downtime.step)
    }

    @Test("a reminder a little late is not a missed one", arguments: [0.0, 1.0, 14.0])
    func reminderSlightlyLate(minutesLate: Double) throws {
        let scenario = try EngineScenario("sev1")
        let timer = Self.timer(.updateReminder, due: F.time("09:15"))
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: timer.dueAt.addingTimeInterval(minutesLate * F.minute))
        #expect(changes.postTexts(to: .incidentRoom).first?.contains("missed") == false)
        #expect(changes.scheduledTimer(.updateReminder)?.dueAt == F.time("09:30"))
        #expect(changes.scheduledTimer(.updateReminder)?.step == 1)
    }

    @Test(
        "overdue escalation happens exactly once, when the reminders since the last update reach the threshold",
        arguments: [1, 2, 3])
    func overdueEscalatesOnce(threshold: Int) throws {
        var scenario = try EngineScenario("sev1", engine: try F.engine(F.config(overdueAfterCadences: threshold)))
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:01"))
        var timer = try Self.stored(scenario.declaration.changes.scheduledTimer(.updateReminder))
        var escalatedAt: [Int] = []
        for reminder in 1...6 {
            let changes = scenario.engine.fire(timer, incident: scenario.incident, now: timer.dueAt)
            #expect(changes.postTexts(to: .incidentRoom).first?.hasPrefix("⏰") == true)
            if !changes.postTexts(to: .announce).isEmpty { escalatedAt.append(reminder) }
            scenario.incident = try #require(changes.writtenIncident)
            timer = try Self.stored(changes.scheduledTimer(.updateReminder), id: timer.id + 1)
        }
        #expect(escalatedAt == [threshold])
        #expect(scenario.incident.escalationLevel == 1)
    }

    @Test("the overdue escalation says how long it has been quiet")
    func overdueText() throws {
        let scenario = try EngineScenario("sev1")
        let changes = scenario.engine.fire(Self.timer(.updateReminder, due: F.time("09:30"), step: 1), incident: scenario.incident, now: F.time("09:30"))
        let expected = "⚠️ INC-1 (SEV1) has had no update for 30 min (2× the 15m cadence). Escalating to <@dave>.\nAcknowledge with /incident ack INC-1"
        #expect(changes.postTexts(to: .announce) == [expected])
        #expect(changes.postTexts(to: .incidentRoom).last == expected)
        #expect(changes.directMessageRecipients == ["dave"])
        #expect(changes.invitedUserLists == [["dave"]])
    }

    enum Silenced: String, Sendable, CaseIterable {
        case resolved, closed, noCadence
    }

    @Test("a reminder for a resolved or closed incident, or a severity without a cadence, only completes", arguments: Silenced.allCases)
    func reminderSilenced(_ state: Silenced) throws {
        var scenario = try EngineScenario(state == .noCadence ? "sev4" : "sev1")
        switch state {
        case .resolved: scenario.run(.resolve(nil, text: nil), at: F.time("09:10"))
        case .closed: scenario.run(.close(nil, text: nil), at: F.time("09:10"))
        case .noCadence: break
        }
        let timer = Self.timer(.updateReminder, due: F.time("09:15"))
        expectOnlyCompletion(scenario.engine.fire(timer, incident: scenario.incident, now: F.time("09:15")), of: timer)
    }

    // MARK: acknowledgement timeout

    /// Fires the declaration's ack timeout and each successor on time; what each firing did.
    func walkAckChain(_ scenario: inout EngineScenario) throws -> [(due: Date, step: Int, reached: [String], text: String)] {
        var walk: [(Date, Int, [String], String)] = []
        var next = scenario.declaration.changes.scheduledTimer(.ackTimeout)
        var id: Int64 = 1
        while let timer = next {
            let stored = try Self.stored(timer, id: id)
            let changes = scenario.engine.fire(stored, incident: scenario.incident, now: timer.dueAt)
            #expect(changes.completeTimer?.id == id)
            walk.append((timer.dueAt, timer.step, changes.directMessageRecipients, changes.postTexts(to: .announce).first ?? ""))
            scenario.incident = try #require(changes.writtenIncident)
            next = changes.scheduledTimer(.ackTimeout)
            id += 1
            if id > 20 { Issue.record("the acknowledgement chain never ends"); break }
        }
        return walk
    }

    /// docs/paging.md: each step's `after` is counted from when the step before it fired, the second
    /// step's wait is the severity's `ackWithin`. Before issue #14 the code read `after` as an offset from
    /// the declaration (carol at +15) while the docs said "15 minutes after that"; the code now does what
    /// the docs say.
    @Test("an unacknowledged sev1 walks the chain: secondary at +5m, carol 15m after that, then the chain is exhausted")
    func ackChain() throws {
        var scenario = try EngineScenario("sev1")
        let walk = try walkAckChain(&scenario)
        #expect(walk.map(\.due) == [F.time("09:05"), F.time("09:20"), F.time("09:25")])
        #expect(walk.map(\.step) == [1, 2, 3])
        #expect(walk.map(\.reached) == [["dave"], ["carol"], []])
        try #require(walk.count == 3)
        #expect(walk[0].text == "⚠️ INC-1 (SEV1) was not acknowledged within 5 min. Escalating to <@dave>.\nAcknowledge with /incident ack INC-1")
        #expect(walk[1].text.contains("was not acknowledged within 20 min. Escalating to <@carol>."))
        #expect(walk[2].text == "⚠️ INC-1 (SEV1) Checkout is down is still unacknowledged after 25 min.")
        #expect(scenario.incident.escalationLevel == 2)
    }

    @Test("the exhausted message goes to the room too and schedules nothing")
    func ackChainExhausted() throws {
        let scenario = try EngineScenario("sev1")
        let timer = Self.timer(.ackTimeout, due: F.time("09:20"), step: 3)
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: F.time("09:20"))
        #expect(
            changes.postTexts(to: .incidentRoom) == [
                "⚠️ INC-1 is still unacknowledged after 20 min and the escalation chain is exhausted. Anyone: /incident ack INC-1"
            ])
        #expect(changes.timers.isEmpty)
        #expect(changes.timeline.map(\.kind) == [.escalation])
        #expect(changes.completeTimer?.id == 99)
    }

    @Test("repeatEscalation walks the chain again, restarting after the acknowledgement window")
    func ackChainRepeated() throws {
        var scenario = try EngineScenario("sev1", engine: try F.engine(F.config(repeatEscalation: 1)))
        let walk = try walkAckChain(&scenario)
        #expect(walk.map(\.due) == ["09:05", "09:20", "09:25", "09:30", "09:45", "09:50"].map(F.time))
        #expect(walk.map(\.step) == [1, 2, 3, 4, 5, 6])
        #expect(walk.map(\.reached) == [["dave"], ["carol"], ["bob"], ["dave"], ["carol"], []])
        #expect(walk.last?.text.contains("still unacknowledged after 50 min") == true)
    }

    @Test("sev2 waits its own acknowledgement window before the first step and between rounds")
    func ackChainSev2() throws {
        var scenario = try EngineScenario("sev2")
        let walk = try walkAckChain(&scenario)
        #expect(walk.map(\.due) == [F.time("09:15"), F.time("09:30"), F.time("09:45")])
        #expect(walk.map(\.reached) == [["dave"], ["carol"], []])
    }

    @Test("an acknowledged or resolved incident stops the walk: only the timer completes", arguments: [false, true])
    func ackTimeoutAfterAck(resolveInstead: Bool) throws {
        var scenario = try EngineScenario("sev1")
        if resolveInstead {
            scenario.run(.resolve(nil, text: nil), at: F.time("09:04"))
        } else {
            scenario.run(.ack(nil), by: F.bob, at: F.time("09:04"))
        }
        let timer = Self.timer(.ackTimeout, due: F.time("09:05"), step: 1)
        expectOnlyCompletion(scenario.engine.fire(timer, incident: scenario.incident, now: F.time("09:05")), of: timer)
    }

    // MARK: long-running, monitoring window, review

    @Test("a long-running incident goes one step up the chain, once")
    func longRunning() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:03"))
        let timer = try Self.stored(scenario.declaration.changes.scheduledTimer(.longRunning))
        #expect(timer.dueAt == F.time("10:00"))
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: F.time("10:00"))
        #expect(changes.postTexts(to: .announce) == ["⚠️ INC-1 (SEV1) has been open for 1 h. Escalating to <@dave>.\nAcknowledge with /incident ack INC-1"])
        #expect(changes.directMessageRecipients == ["dave"])
        #expect(changes.writtenIncident?.escalationLevel == 1)
        #expect(changes.timers.isEmpty)
        #expect(changes.completeTimer?.id == 99)
    }

    @Test("without an escalation chain a long-running incident is announced")
    func longRunningWithoutChain() throws {
        let scenario = try EngineScenario("sev1", engine: try F.engine(F.config(escalation: [])))
        let changes = scenario.engine.fire(Self.timer(.longRunning, due: F.time("10:00")), incident: scenario.incident, now: F.time("10:00"))
        #expect(changes.postTexts(to: .announce) == ["⏳ INC-1 (SEV1) Checkout is down has been open for 1 h."])
        #expect(changes.directMessageRecipients.isEmpty)
    }

    @Test("a long-running timer for a resolved incident only completes")
    func longRunningResolved() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.resolve(nil, text: nil), at: F.time("09:50"))
        let timer = Self.timer(.longRunning, due: F.time("10:00"))
        expectOnlyCompletion(scenario.engine.fire(timer, incident: scenario.incident, now: F.time("10:00")), of: timer)
    }

    @Test("the monitoring window closes a resolved incident with the summary")
    func monitoringWindowCloses() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:04"))
        let resolve = scenario.run(.resolve(nil, text: "Pool resized"), at: F.time("10:00"))
        let timer = try Self.stored(resolve.changes.scheduledTimer(.monitoringWindow))
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: timer.dueAt)
        let incident = try #require(changes.writtenIncident)
        #expect(incident.status == .closed)
        #expect(incident.closedAt == F.time("10:30"))
        #expect(incident.resolvedAt == F.time("10:00"))
        #expect(changes.timeline.map(\.text) == ["Closed by Klaxon after the monitoring window (no further issues reported)"])
        let room = changes.postTexts(to: .incidentRoom)
        #expect(room.count == 1 && room == changes.postTexts(to: .announce))
        #expect(room.first?.contains("Duration: 2025-11-10 09:00 UTC to 2025-11-10 10:00 UTC = 1 h") == true, "start to end = duration")
        #expect(room.first?.contains("Time to acknowledge: 4 min · to mitigate: 1 h · to resolve: 1 h") == true)
        #expect(room.first?.contains("Fix: Pool resized") == true)
        #expect(changes.topicsSet == ["SEV1 · Closed · IC: unassigned · INC-1 Checkout is down"])
        #expect(changes.incidents.map(\.expectedRevision) == [scenario.incident.revision])
    }

    @Test("the monitoring window leaves a reopened (or already closed) incident alone", arguments: [false, true])
    func monitoringWindowReopened(closedInstead: Bool) throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.resolve(nil, text: nil), at: F.time("10:00"))
        if closedInstead {
            scenario.run(.close(nil, text: nil), at: F.time("10:10"))
        } else {
            scenario.run(.reopen(nil), at: F.time("10:10"))
        }
        let timer = Self.timer(.monitoringWindow, due: F.time("10:30"))
        expectOnlyCompletion(scenario.engine.fire(timer, incident: scenario.incident, now: F.time("10:30")), of: timer)
    }

    @Test("the review reminder goes to the room and the announce channel")
    func reviewReminder() throws {
        var scenario = try EngineScenario("sev1")
        let close = scenario.run(.close(nil, text: nil), at: F.time("10:00"))
        let timer = try Self.stored(close.changes.scheduledTimer(.reviewReminder))
        #expect(timer.dueAt == F.date("2025-11-12 10:00"))
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: timer.dueAt)
        let expected = """
            📝 The post-incident review of INC-1 (Checkout is down) is due now.
            Blameless: focus on systems, not people. Draft: /incident postmortem INC-1
            """
        #expect(changes.postTexts(to: .incidentRoom) == [expected])
        #expect(changes.postTexts(to: .announce) == [expected])
        #expect(changes.timeline.map(\.kind) == [.reminder])
        #expect(changes.timers.isEmpty)
        #expect(changes.writtenIncident?.status == .closed)
    }

    @Test("001-18: with a post-mortem author, the review reminder names them and is sent to them directly")
    func reviewReminderToAuthor() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.role(nil, .author, F.dave), at: F.time("09:30"))
        let close = scenario.run(.close(nil, text: nil), at: F.time("10:00"))
        let timer = try Self.stored(close.changes.scheduledTimer(.reviewReminder))
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: timer.dueAt)
        let text = try #require(changes.postTexts(to: .incidentRoom).first)
        #expect(text.contains("<@\(F.dave.id)>: you write the post-mortem."), "\(text)")  // 001-18
        #expect(changes.postTexts(to: .direct(userID: F.dave.id)) == [text])  // 001-18
    }

    // MARK: completion

    @Test("every firing completes the timer it was given, under its lease", arguments: TimerKind.allCases)
    func completesTimer(_ kind: TimerKind) throws {
        var config = F.config()
        config.severities[0].checkpoints = [PolicyRule(id: "c", at: .span(.hours(1)), say: "Still on it?")]
        var scenario = try EngineScenario("sev1", engine: try F.engine(config))
        if kind == .monitoringWindow || kind == .reviewReminder { scenario.run(.resolve(nil, text: nil), at: F.time("09:30")) }
        if kind == .alertDigest {
            var group = AlertGroupState(source: "prod-am", groupKey: "g")
            var news = PendingAlertNews()
            news.firing = 1
            news.lines = ["🔥 HighErrorRate"]
            group.pending = news
            scenario.incident.alertGroup = group
        }
        var leased = Self.timer(kind, due: F.time("10:00"), step: 1, id: 4_242, owner: "replica-2")
        if kind == .policyRule { leased.rule = "severity:checkpoint.c" }
        let changes = scenario.engine.fire(leased, incident: scenario.incident, now: F.time("10:00"))
        #expect(changes.completeTimer?.id == 4_242)
        #expect(changes.completeTimer?.owner == "replica-2")
        #expect(!changes.outbox.isEmpty, "each kind has something to say in this state")
        let unleased = Self.timer(kind, due: F.time("10:00"), step: 1, id: 7, owner: nil)
        #expect(scenario.engine.fire(unleased, incident: scenario.incident, now: F.time("10:00")).completeTimer?.owner == "")
    }
}

@Suite("IncidentEngine: a simulated day")
struct SimulatedDayTests {
    typealias F = EngineFixture

    @Test("sev1 from 09:00 to 11:00: reminders every 15 min, an update at 09:40 resets the grid, closed after monitoring")
    func day() throws {
        var world = EngineTimerWorld(try EngineScenario("sev1", title: "Checkout is down"))
        world.run(.ack(nil), by: F.bob, at: F.time("09:03"))
        world.run(.update(nil, text: "Connection pool exhausted, restarting"), by: F.bob, at: F.time("09:40"))
        let resolve = world.run(.resolve(nil, text: "Pool restarted and resized"), by: F.bob, at: F.time("11:00"))
        #expect(resolve.outcome == .applied)
        world.runTimers(through: F.time("12:00"))

        let reminders = world.firings(of: .updateReminder)
        #expect(reminders.map(\.timer.dueAt) == ["09:15", "09:30", "09:55", "10:10", "10:25", "10:40", "10:55"].map(F.time))
        #expect(reminders.allSatisfy { $0.changes.postTexts(to: .incidentRoom).first?.hasPrefix("⏰ <@alice>") == true })
        #expect(reminders.map(\.timer.step) == [0, 1, 0, 1, 2, 3, 4], "the update at 09:40 starts the count again")
        // Two reminders without an update are overdue: once before the update, once after.
        let overdue = reminders.filter { !$0.changes.postTexts(to: .announce).isEmpty }.map(\.timer.dueAt)
        #expect(overdue == [F.time("09:30"), F.time("10:10")])

        #expect(world.firings(of: .ackTimeout).isEmpty, "bob acknowledged at 09:03")
        #expect(world.firings(of: .longRunning).map(\.timer.dueAt) == [F.time("10:00")])
        #expect(world.firings(of: .monitoringWindow).map(\.timer.dueAt) == [F.time("11:30")])
        #expect(world.fired.count == 9)
        #expect(world.fired.allSatisfy { $0.changes.completeTimer?.id == $0.timer.id && $0.changes.completeTimer?.owner == EngineTimerWorld.leaseOwner })

        // 09:30 overdue → dave (step 2); 10:00 long-running → carol (step 3); 10:10 stays on carol.
        let escalated = world.fired.flatMap(\.changes.timeline).filter { $0.kind == .escalation }.map(\.text)
        #expect(escalated.count == 3)
        #expect(escalated.first?.hasPrefix("Escalation step 2: <@dave>") == true)
        #expect(escalated.dropFirst().allSatisfy { $0.hasPrefix("Escalation step 3: <@carol>") })

        #expect(world.incident.status == .closed)
        #expect(world.incident.closedAt == F.time("11:30"))
        #expect(world.pending.count == 1)
        #expect(world.pending[.reviewReminder]?.dueAt == F.date("2025-11-12 11:00"))
    }

    @Test("an unacknowledged sev1: the chain is walked while the reminders keep coming")
    func unacknowledgedMorning() throws {
        var world = EngineTimerWorld(try EngineScenario("sev1"))
        world.runTimers(through: F.time("09:45"))
        #expect(world.firings(of: .ackTimeout).map(\.timer.dueAt) == [F.time("09:05"), F.time("09:20"), F.time("09:25")])
        #expect(world.firings(of: .ackTimeout).map(\.changes.directMessageRecipients) == [["dave"], ["carol"], []])
        #expect(world.firings(of: .updateReminder).map(\.timer.dueAt) == [F.time("09:15"), F.time("09:30"), F.time("09:45")])
        #expect(world.pending[.ackTimeout] == nil)
        #expect(world.pending[.updateReminder]?.dueAt == F.time("10:00"))
        #expect(world.pending[.longRunning]?.dueAt == F.time("10:00"))

        // Acknowledging late still works and the next reminder is unchanged.
        let ack = world.run(.ack(nil), by: F.carol, at: F.time("09:50"))
        #expect(ack.reply.text == "Acknowledged INC-1 after 50 min.")
        #expect(world.pending[.updateReminder]?.dueAt == F.time("10:00"))
    }
}
