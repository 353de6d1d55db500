import Foundation
import Testing

@testable import IncidentCore

// MARK: - Fixture shared by the engine, timer and template tests

/// The world the engine tests run in: the shipped `bot-config.json` (severities, people, rotations,
/// escalation chain) built in code, a fixed Monday, and the people in it as console users.
enum EngineFixture {
    static let minute: TimeInterval = 60
    static let hour: TimeInterval = 3_600

    static let alice = ChatUser(id: "alice", name: "Alice Adams")
    static let bob = ChatUser(id: "bob", name: "Bob Brown")
    static let carol = ChatUser(id: "carol", name: "Carol Chen")
    static let dave = ChatUser(id: "dave", name: "Dave Diaz")

    /// Monday 2025-11-10 09:00 UTC (10:00 in Berlin, an hour after the weekly hand-off). It is turn 97
    /// of rotations that began on Monday 2024-01-01, so bob is primary and dave is secondary.
    static let monday = date("2025-11-10 09:00")

    /// `"2025-11-10 09:15"` read in UTC.
    static func date(_ text: String) -> Date {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).map { Int($0)! }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4]))!
    }

    /// A time on the fixture's Monday, `"09:15"`.
    static func time(_ hhmm: String) -> Date { date("2025-11-10 " + hhmm) }

    static let severities: [SeverityPolicy] = [
        SeverityPolicy(
            id: "sev1", aliases: ["p0", "critical"], name: "Critical", updateEvery: .minutes(15), ackWithin: .minutes(5),
            page: true, reviewWithin: .hours(48), escalateAfter: .hours(1)),
        SeverityPolicy(
            id: "sev2", aliases: ["p1", "major"], name: "Major", updateEvery: .minutes(30), ackWithin: .minutes(15),
            page: true, reviewWithin: .hours(48)),
        SeverityPolicy(id: "sev3", aliases: ["p2", "minor"], name: "Minor", updateEvery: .hours(2), reviewWithin: .hours(120)),
        SeverityPolicy(id: "sev4", aliases: ["p3", "low"], name: "Low"),
    ]

    static let people: [String: Person] = [
        "alice": Person(name: "Alice Adams", slack: "U0ALICE", rocketchat: "alice", mattermost: "alice", console: "alice"),
        "bob": Person(name: "Bob Brown", slack: "U0BOB", rocketchat: "bob", mattermost: "bob", console: "bob"),
        "carol": Person(name: "Carol Chen", slack: "U0CAROL", rocketchat: "carol", mattermost: "carol", console: "carol"),
        "dave": Person(name: "Dave Diaz", slack: "U0DAVE", rocketchat: "dave", mattermost: "dave", console: "dave"),
        // Reachable on the console only: on other platforms an escalation to erin reaches nobody.
        "erin": Person(name: "Erin Evans", console: "erin"),
    ]

    static let escalation: [EscalationStep] = [
        EscalationStep(after: .zero, notify: [.rotation("primary")]),
        EscalationStep(after: .minutes(5), notify: [.rotation("secondary")]),
        EscalationStep(after: .minutes(15), notify: [.person("carol")]),
    ]

    static func config(
        timeZone: String = "UTC", channelName: String = "incident-{date}-{seq}", overdueAfterCadences: Int = 2,
        monitorFor: TimeSpan? = .minutes(30), escalation: [EscalationStep] = escalation, repeatEscalation: Int = 0,
        templates: [String: String] = [:]
    ) -> KlaxonConfig {
        let weekly = Handoff(weekday: 2, hour: 9, minute: 0)
        return KlaxonConfig(
            incidents: IncidentsConfig(
                channelName: channelName, timeZone: timeZone, overdueAfterCadences: overdueAfterCadences, monitorFor: monitorFor),
            severities: severities,
            people: people,
            oncall: OnCallConfig(
                rotations: [
                    RotationConfig(id: "primary", members: ["alice", "bob"], period: TimeSpan(seconds: 604_800), handoff: weekly, timezone: "Europe/Berlin"),
                    RotationConfig(
                        id: "secondary", members: ["carol", "dave"], period: TimeSpan(seconds: 604_800), handoff: weekly, timezone: "Europe/Berlin"),
                ],
                escalation: escalation, repeatEscalation: repeatEscalation),
            templates: templates)
    }

    static func engine(_ config: KlaxonConfig = config()) throws -> IncidentEngine {
        try IncidentEngine(config: config)
    }

    static func context(_ user: ChatUser = alice, platform: PlatformKind = .console, inboundKey: String? = nil) -> CommandContext {
        CommandContext(
            platform: platform, conversation: Conversation(platform: platform, channelID: "incidents"), user: user,
            inboundKey: inboundKey)
    }
}

/// Plays commands against one incident the way `CommandService` and the store would: the incident an
/// applied decision writes, with its revision bumped, is what the next command reads.
struct EngineScenario {
    let engine: IncidentEngine
    var incident: Incident
    var platform: PlatformKind
    /// The decision of the declaration that started the scenario.
    let declaration: Decision

    init(
        _ severity: String = "sev1", title: String = "Checkout is down", by user: ChatUser = EngineFixture.alice,
        at now: Date = EngineFixture.monday, platform: PlatformKind = .console, engine: IncidentEngine? = nil
    ) throws {
        let engine = try engine ?? EngineFixture.engine()
        let decision = engine.decide(
            .declare(severity: severity, title: title), context: EngineFixture.context(user, platform: platform), incident: nil,
            allocation: (IncidentID(1), 1), now: now)
        var incident = try #require(decision.changes.incidents.last?.incident, "declare wrote no incident: \(decision.reply.text)")
        incident.revision += 1
        self.engine = engine
        self.incident = incident
        self.platform = platform
        self.declaration = decision
    }

    /// Decides `command` at `now` and, when it applies, keeps the incident it wrote.
    @discardableResult
    mutating func run(_ command: IncidentCommand, by user: ChatUser = EngineFixture.alice, at now: Date, inboundKey: String? = nil) -> Decision {
        let decision = engine.decide(command, context: EngineFixture.context(user, platform: platform, inboundKey: inboundKey), incident: incident, now: now)
        if decision.outcome == .applied, let written = decision.changes.incidents.last?.incident {
            incident = written
            incident.revision += 1
        }
        return decision
    }
}

/// Reading what a change set asks for.
extension ChangeSet {
    var writtenIncident: Incident? { incidents.last?.incident }

    /// Texts posted to `target`, in order.
    func postTexts(to target: MessageTarget) -> [String] {
        outbox.compactMap {
            if case .post(target, let text, _) = $0.action { return text }
            return nil
        }
    }

    /// User ids sent a direct message, in order.
    var directMessageRecipients: [String] {
        outbox.compactMap {
            if case .post(.direct(let userID), _, _) = $0.action { return userID }
            return nil
        }
    }

    var invitedUserLists: [[String]] {
        outbox.compactMap {
            if case .invite(let userIDs) = $0.action { return userIDs }
            return nil
        }
    }

    var topicsSet: [String] {
        outbox.compactMap {
            if case .setTopic(let topic) = $0.action { return topic }
            return nil
        }
    }

    func scheduledTimer(_ kind: TimerKind) -> NewTimer? { timers.first { $0.kind == kind } }

    func cancelsTimer(_ kind: TimerKind) -> Bool { cancelTimers.contains { $0.1 == kind } }

    var cancelledKinds: Set<TimerKind> { Set(cancelTimers.map(\.1)) }
}

/// A rejection answers, names the incident where there is one, and changes nothing at all.
func expectRejected(_ decision: Decision, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(decision.outcome == .rejected, "\(decision.reply.text)", sourceLocation: sourceLocation)
    #expect(decision.changes.isEmpty, "a rejection must not change anything", sourceLocation: sourceLocation)
    #expect(decision.reply.visibility == .ephemeral, sourceLocation: sourceLocation)
    #expect(decision.reply.text.contains(text), "\"\(decision.reply.text)\" does not mention \"\(text)\"", sourceLocation: sourceLocation)
}

// MARK: - Declare

@Suite("IncidentEngine: declare")
struct DeclareTests {
    typealias F = EngineFixture

    @Test("the fixture's Monday has bob on primary and dave on secondary")
    func fixtureOnCall() throws {
        let config = F.config()
        let primary = RotationSchedule(rotation: try #require(config.oncall.rotation(id: "primary")))
        let secondary = RotationSchedule(rotation: try #require(config.oncall.rotation(id: "secondary")))
        #expect(primary.onCall(at: F.monday, overrides: []).personID == "bob")
        #expect(secondary.onCall(at: F.monday, overrides: []).personID == "dave")
    }

    @Test("declare fills in the incident and inserts it (no expected revision)")
    func incidentFields() throws {
        let scenario = try EngineScenario("sev1", title: "Checkout is down")
        let changes = scenario.declaration.changes
        #expect(scenario.declaration.outcome == .applied)
        try #require(changes.incidents.count == 1)
        #expect(changes.incidents[0].expectedRevision == nil)

        let incident = try #require(changes.writtenIncident)
        #expect(incident.id == IncidentID(1))
        #expect(incident.title == "Checkout is down")
        #expect(incident.severity == "sev1")
        #expect(incident.status == .declared)
        #expect(incident.platform == .console)
        #expect(incident.origin == Conversation(platform: .console, channelID: "incidents"))
        #expect(incident.channelName == "incident-2025-11-10-001")
        #expect(incident.declaredBy == F.alice)
        #expect(incident.declaredAt == F.monday)
        #expect(incident.lastUpdateAt == F.monday)
        #expect(incident.acknowledgedAt == nil && incident.mitigatedAt == nil && incident.resolvedAt == nil && incident.closedAt == nil)
        #expect(incident.roles.isEmpty)
        #expect(incident.escalationLevel == 0)
    }

    @Test(
        "the channel is named from the day's sequence number",
        arguments: [
            (1, "incident-2025-11-10-001"), (7, "incident-2025-11-10-007"), (42, "incident-2025-11-10-042"), (123, "incident-2025-11-10-123"),
        ])
    func channelNameFromDaySequence(sequence: Int, expected: String) throws {
        let engine = try F.engine()
        let decision = engine.decide(
            .declare(severity: "sev2", title: "Anything"), context: F.context(), incident: nil, allocation: (IncidentID(500), sequence), now: F.monday)
        #expect(decision.changes.writtenIncident?.channelName == expected)
        #expect(decision.reply.text.contains("Channel: #\(expected)"))
    }

    @Test(
        "the outbox opens the room first, announces it in the announce channel's own queue, then the alert with four buttons, then the page and one DM per paged person"
    )
    func outboxOrder() throws {
        let scenario = try EngineScenario("sev1", title: "Checkout is down", by: F.alice)
        var outbox = scenario.declaration.changes.outbox
        try #require(outbox.map(\.action.kind) == ["open_room", "post", "post", "post", "post"])
        #expect(outbox.allSatisfy { $0.incidentID == IncidentID(1) && $0.platform == .console })

        guard case .openRoom(let name, let topic, let announcement, let invite) = outbox[0].action else {
            Issue.record("first action is \(outbox[0].action.kind), not open_room")
            return
        }
        #expect(name == "incident-2025-11-10-001")
        #expect(invite == ["alice", "bob"])
        #expect(topic == "SEV1 · Declared · IC: unassigned · INC-1 Checkout is down")
        #expect(announcement.isEmpty, "channel mode announces with a message of its own")
        // Issue 13: the announcement waits for the announce channel, never in the incident's queue.
        let announced = outbox.remove(at: 1)
        #expect(announced.queue == OutboxQueue.announcements(channel: "incidents"))
        #expect(outbox.allSatisfy { $0.queue == nil })
        guard case .post(.announce, let text, let announceButtons) = announced.action else {
            Issue.record("the announcement is \(announced.action.kind), not a post to the announce channel")
            return
        }
        #expect(announceButtons.isEmpty)
        #expect(text.contains("[SEV1 INCIDENT] Checkout is down"))
        #expect(text.contains("INC-1 declared by <@alice>"))

        guard case .post(.incidentRoom, let alert, let buttons) = outbox[1].action else {
            Issue.record("second action is not a post to the incident room")
            return
        }
        #expect(alert.hasPrefix("🚨 [SEV1 INCIDENT] Checkout is down"))
        #expect(alert.contains("Severity: SEV1 (Critical) · Status: Declared"))
        #expect(alert.contains("Started: 2025-11-10 09:00 UTC · Declared by <@alice>"))
        #expect(alert.contains("Updates every 15m here"))
        #expect(buttons.map(\.action) == ["ack", "update", "resolve", "take-ic"])
        #expect(buttons.map(\.command) == ["ack INC-1", "update INC-1", "resolve INC-1", "role INC-1 ic"])

        guard case .post(.incidentRoom, let page, let pageButtons) = outbox[2].action else {
            Issue.record("third action is not the page in the incident room")
            return
        }
        #expect(page.contains("<@bob>: you are paged for INC-1 (SEV1): Checkout is down"))
        #expect(pageButtons.isEmpty)
        #expect(outbox[3].action == .post(to: .direct(userID: "bob"), text: page, buttons: []))
    }

    @Test("a declarer who is on call is invited once and paged")
    func declarerOnCall() throws {
        let changes = try EngineScenario("sev1", by: F.bob).declaration.changes
        guard case .openRoom(_, _, _, let invite) = changes.outbox.first?.action else {
            Issue.record("no open_room first")
            return
        }
        #expect(invite == ["bob"])
        #expect(changes.directMessageRecipients == ["bob"])
    }

    @Test("on Slack people are invited and paged by their Slack ids")
    func slackIdentities() throws {
        let engine = try F.engine()
        let decision = engine.decide(
            .declare(severity: "sev2", title: "Login broken"), context: F.context(ChatUser(id: "U0ALICE"), platform: .slack),
            incident: nil, allocation: (IncidentID(3), 2), now: F.monday)
        guard case .openRoom(_, _, _, let invite) = decision.changes.outbox.first?.action else {
            Issue.record("no open_room first")
            return
        }
        #expect(invite == ["U0ALICE", "U0BOB"])
        #expect(decision.changes.directMessageRecipients == ["U0BOB"])
        #expect(decision.changes.outbox.allSatisfy { $0.platform == .slack })
        #expect(decision.reply.text.contains("Paged: <@U0BOB>"))
    }

    struct TimerExpectation: Sendable, CustomTestStringConvertible {
        var severity: String
        /// Kind → minutes after the declaration (and its step).
        var timers: [TimerKind: (minutes: Int, step: Int)]
        var testDescription: String { severity }
    }

    @Test(
        "declare starts the timers its severity asks for",
        arguments: [
            TimerExpectation(severity: "sev1", timers: [.ackTimeout: (5, 1), .updateReminder: (15, 0), .longRunning: (60, 0)]),
            TimerExpectation(severity: "sev2", timers: [.ackTimeout: (15, 1), .updateReminder: (30, 0)]),
            TimerExpectation(severity: "sev3", timers: [.updateReminder: (120, 0)]),
            TimerExpectation(severity: "sev4", timers: [:]),
        ])
    func declareTimers(expected: TimerExpectation) throws {
        let changes = try EngineScenario(expected.severity).declaration.changes
        #expect(Set(changes.timers.map(\.kind)) == Set(expected.timers.keys))
        #expect(changes.timers.count == expected.timers.count, "one timer per kind")
        for (kind, want) in expected.timers {
            let timer = try #require(changes.scheduledTimer(kind))
            #expect(timer.dueAt == F.monday.addingTimeInterval(TimeInterval(want.minutes) * F.minute), "\(kind)")
            #expect(timer.step == want.step, "\(kind)")
            #expect(timer.incidentID == IncidentID(1))
        }
        #expect(changes.cancelTimers.isEmpty)
    }

    @Test("the acknowledgement clock needs both paging and an acknowledgement window")
    func ackTimeoutNeedsPageAndWindow() throws {
        var config = F.config()
        config.severities = [
            SeverityPolicy(id: "pager", name: "Pages, no window", page: true),
            SeverityPolicy(id: "window", name: "Window, no page", ackWithin: .minutes(5)),
        ]
        let engine = try F.engine(config)
        for severity in ["pager", "window"] {
            let decision = engine.decide(
                .declare(severity: severity, title: "x"), context: F.context(), incident: nil, allocation: (IncidentID(1), 1), now: F.monday)
            #expect(decision.outcome == .applied)
            #expect(decision.changes.scheduledTimer(.ackTimeout) == nil, "\(severity)")
            #expect(decision.changes.directMessageRecipients == (severity == "pager" ? ["bob"] : []), "\(severity)")
        }
    }

    @Test("declare writes the declaration (and the page) to the timeline")
    func declareTimeline() throws {
        let changes = try EngineScenario("sev1", title: "Checkout is down").declaration.changes
        try #require(changes.timeline.map(\.kind) == [.declared, .page])
        let declared = changes.timeline[0]
        #expect(declared.at == F.monday)
        #expect(declared.actor == F.alice)
        #expect(declared.incidentID == IncidentID(1))
        #expect(declared.text == "SEV1 declared by <@alice>: Checkout is down")
        #expect(changes.timeline[1].text == "Paged <@bob> (declared)")
    }

    @Test("the declare reply is for the whole channel and says where to go and who was paged")
    func declareReply() throws {
        let reply = try EngineScenario("sev1", title: "Checkout is down").declaration.reply
        #expect(reply.visibility == .inChannel)
        #expect(reply.incidentID == IncidentID(1))
        #expect(
            reply.text == """
                Declared INC-1 · SEV1 · Checkout is down
                Channel: #incident-2025-11-10-001
                Paged: <@bob>
                Updates every 15m: /incident update INC-1 <what changed>
                """)
    }

    @Test("the inbound delivery key travels with an applied change set")
    func inboundKeyCopied() throws {
        let engine = try F.engine()
        let decision = engine.decide(
            .declare(severity: "sev1", title: "x"), context: F.context(inboundKey: "console:cmd:42"), incident: nil,
            allocation: (IncidentID(1), 1), now: F.monday)
        #expect(decision.changes.inboundKey == "console:cmd:42")
    }

    @Test("sev4 pages nobody, starts no timer and invites only the declarer")
    func sev4Declare() throws {
        let scenario = try EngineScenario("sev4", title: "Typo on the pricing page")
        let changes = scenario.declaration.changes
        try #require(changes.outbox.map(\.action.kind) == ["open_room", "post", "post"])  // the room, its announcement, the alert
        #expect(changes.directMessageRecipients.isEmpty)
        #expect(changes.timers.isEmpty)
        #expect(changes.timeline.map(\.kind) == [.declared])
        guard case .openRoom(_, _, _, let invite) = changes.outbox[0].action else {
            Issue.record("no open_room first")
            return
        }
        #expect(invite == ["alice"])
        #expect(!scenario.declaration.reply.text.contains("Paged"))
        #expect(!scenario.declaration.reply.text.contains("Updates every"))
        // The alert's optional last line is left out, and no blank line is left behind.
        #expect(!changes.postTexts(to: .incidentRoom)[0].contains("Updates every"))
        #expect(!changes.postTexts(to: .incidentRoom)[0].hasSuffix("\n"))
    }

    @Test("aliases and casual spellings of a severity are accepted", arguments: ["P0", "critical", "SEV-1", "Sev 1"])
    func severityAliases(token: String) throws {
        let engine = try F.engine()
        let decision = engine.decide(.declare(severity: token, title: "x"), context: F.context(), incident: nil, allocation: (IncidentID(1), 1), now: F.monday)
        #expect(decision.changes.writtenIncident?.severity == "sev1")
    }

    @Test("an unknown severity or a missing allocation is refused")
    func declareRefusals() throws {
        let engine = try F.engine()
        expectRejected(
            engine.decide(
                .declare(severity: "sev9", title: "x"), context: F.context(inboundKey: "k"), incident: nil, allocation: (IncidentID(1), 1), now: F.monday),
            mentioning: "Use one of: sev1, sev2, sev3, sev4")
        expectRejected(
            engine.decide(.declare(severity: "sev1", title: "x"), context: F.context(inboundKey: "k"), incident: nil, now: F.monday),
            mentioning: "no incident number was reserved")
    }

    @Test("when nobody on call is reachable on the platform, the room is told so")
    func nobodyReachable() throws {
        var config = F.config()
        config.oncall.escalation = [EscalationStep(after: .zero, notify: [.person("erin")])]
        let engine = try F.engine(config)
        let decision = engine.decide(
            .declare(severity: "sev1", title: "x"), context: F.context(ChatUser(id: "U0ALICE"), platform: .slack), incident: nil,
            allocation: (IncidentID(1), 1), now: F.monday)
        #expect(decision.outcome == .applied)
        #expect(decision.changes.directMessageRecipients.isEmpty)
        #expect(decision.changes.postTexts(to: .incidentRoom).contains { $0.contains("Nobody could be paged") })
        #expect(decision.reply.text.contains("Nobody could be paged on slack"))
    }
}

// MARK: - The lifecycle of an existing incident

@Suite("IncidentEngine: lifecycle")
struct LifecycleTests {
    typealias F = EngineFixture

    // MARK: ack

    @Test("ack records who and when, moves a declared incident on and stops the acknowledgement clock")
    func ack() throws {
        var scenario = try EngineScenario("sev1")
        let decision = scenario.run(.ack(nil), by: F.bob, at: F.time("09:03"))
        #expect(decision.outcome == .applied)
        let incident = try #require(decision.changes.writtenIncident)
        #expect(incident.acknowledgedAt == F.time("09:03"))
        #expect(incident.acknowledgedBy == F.bob)
        #expect(incident.status == .acknowledged)
        #expect(decision.changes.cancelsTimer(.ackTimeout))
        #expect(decision.changes.cancelledKinds == [.ackTimeout])
        #expect(decision.changes.timers.isEmpty)
        #expect(decision.changes.timeline.map(\.kind) == [.acknowledged])
        #expect(decision.changes.postTexts(to: .incidentRoom) == ["✅ <@bob> acknowledged INC-1 after 3 min. Escalation stopped."])
        #expect(decision.reply.text == "Acknowledged INC-1 after 3 min.")
        #expect(decision.reply.visibility == .inChannel)
        #expect(decision.changes.topicsSet == ["SEV1 · Acknowledged · IC: unassigned · INC-1 Checkout is down"])
    }

    @Test("a second ack is refused and names the first")
    func ackTwice() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:03"))
        expectRejected(scenario.run(.ack(nil), by: F.carol, at: F.time("09:04")), mentioning: "already acknowledged by <@bob> at 09:03 UTC")
    }

    @Test("ack keeps a status that is already past acknowledged")
    func ackKeepsLaterStatus() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.status(nil, .identified, text: "Bad deploy"), at: F.time("09:02"))
        let decision = scenario.run(.ack(nil), by: F.bob, at: F.time("09:03"))
        #expect(decision.changes.writtenIncident?.status == .identified)
        #expect(decision.changes.topicsSet.isEmpty, "the status did not change, nor did the topic")
    }

    // MARK: update

    @Test("update posts, records the time and restarts the reminder a cadence from now")
    func update() throws {
        var scenario = try EngineScenario("sev1")
        let decision = scenario.run(.update(nil, text: "Rolled back the deploy & watching <graphs>"), at: F.time("09:40"))
        let incident = try #require(decision.changes.writtenIncident)
        #expect(incident.lastUpdateAt == F.time("09:40"))
        #expect(incident.status == .declared, "an update changes no status")
        let reminder = try #require(decision.changes.scheduledTimer(.updateReminder))
        #expect(reminder.dueAt == F.time("09:55"))
        #expect(reminder.step == 0)
        #expect(decision.changes.timers.count == 1)
        #expect(
            decision.changes.postTexts(to: .incidentRoom) == [
                """
                UPDATE [09:40 UTC] INC-1 · SEV1 · Declared
                Rolled back the deploy & watching <graphs>
                Next update: 09:55 UTC
                """
            ])
        try #require(decision.changes.timeline.map(\.kind) == [.update])
        #expect(decision.changes.timeline[0].text == "Update: Rolled back the deploy & watching <graphs>")
        #expect(decision.reply.text == "Update posted to INC-1. Next update due by 09:55 UTC.")
        #expect(decision.changes.topicsSet.isEmpty)
    }

    @Test("an update of a severity without a cadence schedules no reminder")
    func updateWithoutCadence() throws {
        var scenario = try EngineScenario("sev4")
        let decision = scenario.run(.update(nil, text: "Ticket filed"), at: F.time("09:40"))
        #expect(decision.changes.timers.isEmpty)
        #expect(decision.changes.postTexts(to: .incidentRoom) == ["UPDATE [09:40 UTC] INC-1 · SEV4 · Declared\nTicket filed"])
        #expect(decision.reply.text == "Update posted to INC-1.")
    }

    @Test("update of a resolved incident is refused with a hint to reopen it")
    func updateResolved() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.resolve(nil, text: nil), at: F.time("10:00"))
        expectRejected(scenario.run(.update(nil, text: "more"), at: F.time("10:05")), mentioning: "INC-1 is resolved. Reopen it first: /incident reopen INC-1")
    }

    // MARK: status

    @Test(
        "status moves an open incident, sets the public status and the topic, and counts as an update",
        arguments: [IncidentStatus.investigating, .identified, .monitoring])
    func status(_ status: IncidentStatus) throws {
        var scenario = try EngineScenario("sev2")
        let decision = scenario.run(.status(nil, status, text: "Public words"), at: F.time("09:20"))
        let incident = try #require(decision.changes.writtenIncident)
        #expect(incident.status == status)
        #expect(incident.publicStatus == "Public words")
        #expect(incident.lastUpdateAt == F.time("09:20"))
        #expect(decision.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("09:50"))
        #expect(decision.changes.topicsSet == ["SEV2 · \(status.label) · IC: unassigned · INC-1 Checkout is down"])
        try #require(decision.changes.timeline.map(\.kind) == [.status])
        #expect(decision.changes.timeline[0].text == "Status \(status.label): Public words")
        #expect(decision.reply.text == "INC-1 is now \(status.label). Next update due by 09:50 UTC.")
    }

    @Test("status without text says the status")
    func statusWithoutText() throws {
        var scenario = try EngineScenario("sev2")
        let decision = scenario.run(.status(nil, .monitoring, text: nil), at: F.time("09:20"))
        #expect(decision.changes.writtenIncident?.publicStatus == "Status: Monitoring")
        #expect(decision.changes.postTexts(to: .incidentRoom).first?.contains("Status: Monitoring") == true)
    }

    @Test("status resolved does what resolve does")
    func statusResolved() throws {
        var viaStatus = try EngineScenario("sev1")
        var viaResolve = try EngineScenario("sev1")
        let a = viaStatus.run(.status(nil, .resolved, text: "Fixed the pool"), at: F.time("10:00"))
        let b = viaResolve.run(.resolve(nil, text: "Fixed the pool"), at: F.time("10:00"))
        #expect(a.outcome == .applied)
        // One difference: a status is public, so `status resolved` also publishes its text.
        var published = try #require(a.changes.writtenIncident)
        #expect(published.publicUpdates == [PublicUpdate(at: F.time("10:00"), state: .resolved, text: "Fixed the pool")])
        published.publicUpdates = nil
        #expect(published == b.changes.writtenIncident)
        #expect(a.changes.outbox == b.changes.outbox)
        #expect(a.changes.timers == b.changes.timers)
        #expect(a.changes.cancelledKinds == b.changes.cancelledKinds)
        #expect(a.reply == b.reply)
        #expect(a.changes.writtenIncident?.status == .resolved)
    }

    @Test("a status the status command may not set is refused", arguments: [IncidentStatus.declared, .acknowledged, .mitigated, .closed])
    func statusNotSettable(_ status: IncidentStatus) throws {
        var scenario = try EngineScenario("sev1")
        expectRejected(
            scenario.run(.status(nil, status, text: nil), at: F.time("09:10")), mentioning: "investigating, identified, mitigating, monitoring, resolved")
    }

    // MARK: severity

    @Test("raising to a paging severity while unacknowledged pages, invites and starts the acknowledgement clock")
    func severityUpPages() throws {
        var scenario = try EngineScenario("sev3")
        let decision = scenario.run(.severity(nil, "sev1"), at: F.time("09:05"))
        let incident = try #require(decision.changes.writtenIncident)
        #expect(incident.severity == "sev1")
        #expect(decision.changes.directMessageRecipients == ["bob"])
        #expect(decision.changes.invitedUserLists == [["bob"]])
        #expect(decision.changes.postTexts(to: .incidentRoom).first == "Severity of INC-1 changed SEV3 → SEV1 by <@alice>.")
        #expect(decision.changes.topicsSet == ["SEV1 · Declared · IC: unassigned · INC-1 Checkout is down"])
        let ack = try #require(decision.changes.scheduledTimer(.ackTimeout))
        #expect(ack.dueAt == F.time("09:10"))
        #expect(ack.step == 1)
        // Re-timed from the last update (the declaration, 09:00), not from now.
        #expect(decision.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("09:15"))
        #expect(decision.changes.scheduledTimer(.longRunning)?.dueAt == F.time("10:00"))
        #expect(decision.changes.timeline.map(\.kind) == [.severity, .page])
        #expect(decision.reply.text == "INC-1 is now SEV1. Next update due by 09:15 UTC.")
    }

    @Test("raising when nobody on call is reachable says so and invites nobody")
    func severityUpNobodyReachable() throws {
        var config = F.config()
        config.oncall.escalation = [EscalationStep(after: .zero, notify: [.person("erin")])]
        let slackAlice = ChatUser(id: "U0ALICE")
        var scenario = try EngineScenario("sev3", by: slackAlice, platform: .slack, engine: try F.engine(config))
        let decision = scenario.run(.severity(nil, "sev1"), by: slackAlice, at: F.time("09:05"))
        #expect(decision.outcome == .applied)
        #expect(decision.changes.postTexts(to: .incidentRoom).contains { $0.contains("Nobody could be paged for INC-1 on slack") })
        #expect(decision.changes.invitedUserLists.isEmpty, "an empty invite cannot be delivered")
        #expect(decision.changes.scheduledTimer(.ackTimeout)?.dueAt == F.time("09:10"), "the chain is still walked")
    }

    @Test("raising between paging levels before the first timeout applies the stricter window, counted from the page")
    func severityUpBetweenPagingLevels() throws {
        // SEV2 must be acknowledged within 15 min, SEV1 within 5.
        var early = try EngineScenario("sev2")
        let soon = early.run(.severity(nil, "sev1"), at: F.time("09:02"))
        #expect(soon.changes.scheduledTimer(.ackTimeout)?.dueAt == F.time("09:05"))
        #expect(soon.changes.scheduledTimer(.ackTimeout)?.step == 1)
        #expect(soon.changes.directMessageRecipients.isEmpty, "already paged at the declaration")

        var late = try EngineScenario("sev2")
        #expect(late.run(.severity(nil, "sev1"), at: F.time("09:10")).changes.scheduledTimer(.ackTimeout)?.dueAt == F.time("09:10"))

        // Lowering keeps the clock that is already running.
        var lowered = try EngineScenario("sev1")
        #expect(lowered.run(.severity(nil, "sev2"), at: F.time("09:02")).changes.scheduledTimer(.ackTimeout) == nil)
        #expect(!lowered.run(.severity(nil, "sev1"), at: F.time("09:03")).changes.cancelsTimer(.ackTimeout))
    }

    @Test("a reminder that would already be overdue after a severity change is due now")
    func severityUpLate() throws {
        var scenario = try EngineScenario("sev3")
        let decision = scenario.run(.severity(nil, "sev1"), at: F.time("09:40"))
        #expect(decision.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("09:40"))
        #expect(decision.changes.scheduledTimer(.ackTimeout)?.dueAt == F.time("09:45"))
    }

    @Test("raising an acknowledged incident pages nobody")
    func severityUpAcknowledged() throws {
        var scenario = try EngineScenario("sev3")
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:01"))
        let decision = scenario.run(.severity(nil, "sev1"), at: F.time("09:05"))
        #expect(decision.changes.directMessageRecipients.isEmpty)
        #expect(decision.changes.invitedUserLists.isEmpty)
        #expect(decision.changes.scheduledTimer(.ackTimeout) == nil)
        #expect(decision.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("09:15"))
    }

    @Test("lowering re-times the reminder from the last update and stops paging and the long-running clock")
    func severityDown() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.update(nil, text: "Looking"), at: F.time("09:10"))
        let decision = scenario.run(.severity(nil, "sev3"), at: F.time("09:20"))
        #expect(decision.changes.writtenIncident?.severity == "sev3")
        #expect(decision.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("11:10"))
        #expect(decision.changes.cancelledKinds == [.ackTimeout, .longRunning])
        #expect(decision.changes.directMessageRecipients.isEmpty)
        #expect(decision.changes.postTexts(to: .incidentRoom) == ["Severity of INC-1 changed SEV1 → SEV3 by <@alice>."])
    }

    @Test("lowering to a severity without a cadence cancels the reminder")
    func severityDownToNoCadence() throws {
        var scenario = try EngineScenario("sev1")
        let decision = scenario.run(.severity(nil, "low"), at: F.time("09:20"))
        #expect(decision.changes.writtenIncident?.severity == "sev4")
        #expect(decision.changes.timers.isEmpty)
        #expect(decision.changes.cancelledKinds == [.updateReminder, .ackTimeout, .longRunning])
        #expect(decision.reply.text == "INC-1 is now SEV4.")
    }

    @Test("an unknown or unchanged severity is refused", arguments: [("sev7", "Unknown severity \"sev7\""), ("sev1", "already SEV1"), ("P0", "already SEV1")])
    func severityRefused(token: String, message: String) throws {
        var scenario = try EngineScenario("sev1")
        expectRejected(scenario.run(.severity(nil, token), at: F.time("09:10")), mentioning: message)
    }

    // MARK: role

    @Test("a new IC is invited and shown in the topic")
    func roleCommander() throws {
        var scenario = try EngineScenario("sev1")
        let decision = scenario.run(.role(nil, .commander, F.carol), at: F.time("09:04"))
        #expect(decision.changes.writtenIncident?.roles[.commander] == F.carol)
        #expect(decision.changes.invitedUserLists == [["carol"]])
        #expect(decision.changes.topicsSet == ["SEV1 · Declared · IC: <@carol> · INC-1 Checkout is down"])
        #expect(decision.changes.postTexts(to: .incidentRoom) == ["<@carol> is now Incident Commander of INC-1."])
        try #require(decision.changes.timeline.map(\.kind) == [.role])
        #expect(decision.changes.timeline[0].text == "<@carol> is Incident Commander (set by <@alice>)")
        #expect(decision.changes.timers.isEmpty && decision.changes.cancelTimers.isEmpty)
    }

    @Test("other roles invite but leave the topic alone")
    func roleScribe() throws {
        var scenario = try EngineScenario("sev1")
        let decision = scenario.run(.role(nil, .scribe, F.dave), at: F.time("09:04"))
        #expect(decision.changes.writtenIncident?.roles == [.scribe: F.dave])
        #expect(decision.changes.invitedUserLists == [["dave"]])
        #expect(decision.changes.topicsSet.isEmpty)
    }

    @Test("giving someone the role they already have, or a role on a closed incident, is refused")
    func roleRefused() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.role(nil, .commander, F.carol), at: F.time("09:04"))
        expectRejected(scenario.run(.role(nil, .commander, F.carol), at: F.time("09:05")), mentioning: "<@carol> is already Incident Commander of INC-1")
        scenario.run(.close(nil, text: nil), at: F.time("10:00"))
        expectRejected(scenario.run(.role(nil, .scribe, F.dave), at: F.time("10:05")), mentioning: "Reopen it first")
    }

    // MARK: note

    @Test("a note goes to the timeline only and is answered privately")
    func note() throws {
        var scenario = try EngineScenario("sev1")
        let before = scenario.incident
        let decision = scenario.run(.note(nil, text: "Customer X called"), by: F.dave, at: F.time("09:07"))
        #expect(decision.outcome == .applied)
        try #require(decision.changes.timeline.count == 1)
        #expect(decision.changes.timeline[0].kind == .note)
        #expect(decision.changes.timeline[0].text == "<@dave>: Customer X called")
        #expect(decision.changes.timeline[0].actor == F.dave)
        #expect(decision.changes.outbox.isEmpty)
        #expect(decision.changes.timers.isEmpty && decision.changes.cancelTimers.isEmpty)
        #expect(decision.changes.writtenIncident == nil, "a note changes nothing about the incident, so it does not write it")
        #expect(scenario.incident == before)
        #expect(decision.reply.visibility == .ephemeral)
        #expect(decision.reply.text == "Noted in the timeline of INC-1.")
    }

    // MARK: mitigate

    @Test("mitigate records the time once")
    func mitigate() throws {
        var scenario = try EngineScenario("sev1")
        let decision = scenario.run(.mitigate(nil, text: "Failed over"), at: F.time("09:30"))
        let incident = try #require(decision.changes.writtenIncident)
        #expect(incident.mitigatedAt == F.time("09:30"))
        #expect(incident.status == .mitigated)
        #expect(decision.changes.topicsSet == ["SEV1 · Mitigated · IC: unassigned · INC-1 Checkout is down"])
        #expect(decision.changes.postTexts(to: .incidentRoom) == ["🩹 INC-1 mitigated after 30 min. Failed over Keep updating until it is resolved."])
        #expect(decision.changes.timers.isEmpty, "mitigated incidents still get reminders: the pending one stays")
        #expect(decision.reply.text == "INC-1 marked mitigated after 30 min.")
        expectRejected(scenario.run(.mitigate(nil, text: nil), at: F.time("09:31")), mentioning: "already mitigated at 09:30 UTC")
    }

    // MARK: resolve

    @Test("resolve stops reminders and escalation, starts the review and monitoring clocks, and tells room and announce channel")
    func resolve() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:04"))
        let decision = scenario.run(.resolve(nil, text: "Restarted the pool"), by: F.bob, at: F.time("11:00"))
        let incident = try #require(decision.changes.writtenIncident)
        #expect(incident.status == .resolved)
        #expect(incident.resolvedAt == F.time("11:00"))
        #expect(incident.mitigatedAt == F.time("11:00"), "resolving mitigates when nobody said so before")
        #expect(incident.resolution == "Restarted the pool")
        #expect(decision.changes.cancelledKinds == [.updateReminder, .ackTimeout, .longRunning])
        #expect(decision.changes.scheduledTimer(.reviewReminder)?.dueAt == F.date("2025-11-12 11:00"))
        #expect(decision.changes.scheduledTimer(.monitoringWindow)?.dueAt == F.time("11:30"))
        #expect(decision.changes.timers.count == 2)

        let expected = """
            ✅ RESOLVED [11:00 UTC] INC-1 · Checkout is down
            Restarted the pool
            Duration: 2 h. Post-incident review due by 2025-11-12 11:00 UTC.
            """
        #expect(decision.changes.postTexts(to: .incidentRoom) == [expected])
        #expect(decision.changes.postTexts(to: .announce) == [expected])
        #expect(decision.changes.topicsSet == ["SEV1 · Resolved · IC: unassigned · INC-1 Checkout is down"])
        try #require(decision.changes.timeline.map(\.kind) == [.resolved])
        #expect(decision.changes.timeline[0].text == "Resolved by <@bob>: Restarted the pool")
        #expect(
            decision.reply
                == CommandReply(text: "Resolved INC-1 after 2 h. Monitoring for 30 min, then it closes.", visibility: .inChannel, incidentID: IncidentID(1)))
        expectRejected(scenario.run(.resolve(nil, text: nil), at: F.time("11:01")), mentioning: "INC-1 is already resolved")
    }

    @Test("resolving keeps an earlier mitigation time; without text or review the message has no empty parts")
    func resolveWithoutTextOrReview() throws {
        var scenario = try EngineScenario("sev4")
        scenario.run(.mitigate(nil, text: nil), at: F.time("09:10"))
        let decision = scenario.run(.resolve(nil, text: nil), at: F.time("09:30"))
        #expect(decision.changes.writtenIncident?.mitigatedAt == F.time("09:10"))
        #expect(decision.changes.scheduledTimer(.reviewReminder) == nil)
        #expect(decision.changes.postTexts(to: .announce) == ["✅ RESOLVED [09:30 UTC] INC-1 · Checkout is down\nDuration: 30 min."])
    }

    @Test("without a monitoring window, resolve leaves the incident resolved")
    func resolveWithoutMonitoring() throws {
        var scenario = try EngineScenario("sev1", engine: try F.engine(F.config(monitorFor: nil)))
        let decision = scenario.run(.resolve(nil, text: nil), at: F.time("09:30"))
        #expect(decision.changes.scheduledTimer(.monitoringWindow) == nil)
        #expect(decision.changes.scheduledTimer(.reviewReminder) != nil)
    }

    // MARK: close

    @Test("close of an open incident resolves it, then closes it with a summary of MTTA, MTTM and MTTR")
    func closeFromOpen() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:04"))
        scenario.run(.role(nil, .commander, F.carol), at: F.time("09:05"))
        scenario.run(.mitigate(nil, text: nil), at: F.time("09:30"))
        let decision = scenario.run(.close(nil, text: "Rolled back"), at: F.time("11:00"))
        let incident = try #require(decision.changes.writtenIncident)
        #expect(incident.status == .closed)
        #expect(incident.resolvedAt == F.time("11:00"))
        #expect(incident.closedAt == F.time("11:00"))
        #expect(incident.mitigatedAt == F.time("09:30"))
        #expect(incident.resolution == "Rolled back")
        #expect(decision.changes.timeline.map(\.kind) == [.resolved, .closed])
        #expect(decision.changes.scheduledTimer(.monitoringWindow) == nil, "closed already: nothing to monitor")
        #expect(decision.changes.scheduledTimer(.reviewReminder)?.dueAt == F.date("2025-11-12 11:00"))
        #expect(decision.changes.cancelledKinds == [.updateReminder, .ackTimeout, .longRunning, .monitoringWindow])

        let summary = """
            INCIDENT SUMMARY · INC-1 · SEV1
            What: Checkout is down
            Duration: 2025-11-10 09:00 UTC to 2025-11-10 11:00 UTC = 2 h
            Time to acknowledge: 4 min · to mitigate: 30 min · to resolve: 2 h
            Fix: Rolled back
            Incident Commander: <@carol>
            Post-incident review due by 2025-11-12 11:00 UTC
            Timeline: /incident timeline INC-1 · Post-mortem draft: /incident postmortem INC-1
            """
        let room = decision.changes.postTexts(to: .incidentRoom)
        let announce = decision.changes.postTexts(to: .announce)
        #expect(room.count == 2 && announce.count == 2)
        #expect(room.first?.hasPrefix("✅ RESOLVED [11:00 UTC] INC-1") == true)
        #expect(room.last == summary)
        #expect(announce.last == summary)
        #expect(decision.changes.topicsSet.last == "SEV1 · Closed · IC: <@carol> · INC-1 Checkout is down")
        #expect(decision.reply.text == "Closed INC-1. Summary posted.")
        expectRejected(scenario.run(.close(nil, text: nil), at: F.time("11:01")), mentioning: "INC-1 is already closed")
    }

    @Test("closing an unacknowledged incident says n/a for the time to acknowledge")
    func closeUnacknowledged() throws {
        var scenario = try EngineScenario("sev3")
        let decision = scenario.run(.close(nil, text: nil), at: F.time("09:45"))
        #expect(decision.changes.postTexts(to: .announce).last?.contains("Time to acknowledge: n/a · to mitigate: 45 min · to resolve: 45 min") == true)
    }

    @Test("close of a resolved incident stops the monitoring window and posts only the summary")
    func closeFromResolved() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.resolve(nil, text: nil), at: F.time("10:00"))
        let decision = scenario.run(.close(nil, text: "Pool size raised"), at: F.time("10:10"))
        let incident = try #require(decision.changes.writtenIncident)
        #expect(incident.status == .closed)
        #expect(incident.resolvedAt == F.time("10:00"))
        #expect(incident.closedAt == F.time("10:10"))
        #expect(incident.resolution == "Pool size raised")
        #expect(decision.changes.cancelsTimer(.monitoringWindow))
        #expect(decision.changes.timers.isEmpty)
        #expect(decision.changes.timeline.map(\.kind) == [.closed])
        try #require(decision.changes.postTexts(to: .incidentRoom).count == 1)
        // The incident lasted until it was resolved; the summary's "start to end = duration" agrees.
        #expect(decision.changes.postTexts(to: .incidentRoom)[0].contains("Duration: 2025-11-10 09:00 UTC to 2025-11-10 10:00 UTC = 1 h"))
    }

    @Test("close keeps the fix given at resolve")
    func closeKeepsResolution() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.resolve(nil, text: "Rolled back"), at: F.time("10:00"))
        let decision = scenario.run(.close(nil, text: "Something else"), at: F.time("10:10"))
        #expect(decision.changes.writtenIncident?.resolution == "Rolled back")
        #expect(decision.changes.postTexts(to: .announce).first?.contains("Fix: Rolled back") == true)
    }

    // MARK: reopen

    @Test(
        "reopen brings a resolved or closed incident back to investigating with a fresh reminder",
        arguments: [false, true])
    func reopen(closedFirst: Bool) throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.resolve(nil, text: nil), at: F.time("10:00"))
        if closedFirst { scenario.run(.close(nil, text: nil), at: F.time("10:05")) }
        let decision = scenario.run(.reopen(nil), by: F.bob, at: F.time("10:20"))
        let incident = try #require(decision.changes.writtenIncident)
        #expect(incident.status == .investigating)
        #expect(incident.resolvedAt == nil && incident.closedAt == nil && incident.mitigatedAt == nil)
        #expect(incident.lastUpdateAt == F.time("10:20"))
        #expect(decision.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("10:35"))
        // SEV1 escalates after an hour open, counted again from the reopening.
        #expect(decision.changes.scheduledTimer(.longRunning)?.dueAt == F.time("11:20"))
        #expect(decision.changes.timers.count == 2)
        #expect(decision.changes.cancelledKinds == [.monitoringWindow, .reviewReminder])
        #expect(decision.changes.postTexts(to: .incidentRoom) == ["🔁 INC-1 reopened by <@bob>. Status: Investigating."])
        #expect(decision.changes.postTexts(to: .announce) == ["🔁 INC-1 (SEV1) Checkout is down was reopened by <@bob>."])
        #expect(decision.changes.timeline.map(\.kind) == [.reopened])
        #expect(decision.reply.text == "Reopened INC-1. Next update due by 10:35 UTC.")
    }

    @Test("reopening an open incident is refused")
    func reopenOpen() throws {
        var scenario = try EngineScenario("sev1")
        expectRejected(scenario.run(.reopen(nil), at: F.time("09:10")), mentioning: "INC-1 is still open (Declared)")
    }

    // MARK: page

    @Test("page a person: room, DM and invite")
    func pageUser() throws {
        var scenario = try EngineScenario("sev2")
        let decision = scenario.run(.page(nil, .user(F.carol)), at: F.time("09:10"))
        #expect(decision.changes.directMessageRecipients == ["carol"])
        #expect(decision.changes.invitedUserLists == [["carol"]])
        #expect(decision.changes.postTexts(to: .incidentRoom).first?.hasPrefix("📟 <@carol>: you are paged for INC-1 (SEV2)") == true)
        #expect(decision.changes.timeline.last?.text == "Paged <@carol> (paged by <@alice>)")
        #expect(decision.reply.text == "Paged <@carol> for INC-1.")
    }

    @Test("page a rotation reaches whoever holds it now")
    func pageRotation() throws {
        var scenario = try EngineScenario("sev2")
        let decision = scenario.run(.page(nil, .rotation("secondary")), at: F.time("09:10"))
        #expect(decision.changes.directMessageRecipients == ["dave"])
        #expect(decision.reply.text == "Paged <@dave> for INC-1.")
    }

    @Test("page honours an on-call override")
    func pageRotationOverride() throws {
        let scenario = try EngineScenario("sev2")
        let override = OnCallOverride(rotationID: "secondary", personID: "carol", start: F.time("08:00"), end: F.time("18:00"), createdBy: "dave")
        let decision = scenario.engine.decide(
            .page(nil, .rotation("secondary")), context: F.context(), incident: scenario.incident, now: F.time("09:10"),
            overrides: ["secondary": [override]])
        #expect(decision.changes.directMessageRecipients == ["carol"])
    }

    @Test("page an unknown rotation, or on a closed incident, is refused")
    func pageRefused() throws {
        var scenario = try EngineScenario("sev2")
        expectRejected(scenario.run(.page(nil, .rotation("dba")), at: F.time("09:10")), mentioning: "Unknown rotation \"dba\". Rotations: primary, secondary.")
        scenario.run(.close(nil, text: nil), at: F.time("09:20"))
        expectRejected(scenario.run(.page(nil, .user(F.carol)), at: F.time("09:30")), mentioning: "INC-1 is closed")
    }

    // MARK: escalate

    @Test("escalate walks the chain one step at a time and stays on the last step")
    func escalate() throws {
        var scenario = try EngineScenario("sev1")
        var reached: [[String]] = []
        var levels: [Int] = []
        for minute in [10, 11, 12, 13] {
            let decision = scenario.run(.escalate(nil), at: F.monday.addingTimeInterval(TimeInterval(minute) * F.minute))
            reached.append(decision.changes.directMessageRecipients)
            levels.append(scenario.incident.escalationLevel)
            #expect(decision.changes.postTexts(to: .announce).count == 1)
            #expect(decision.changes.invitedUserLists == [decision.changes.directMessageRecipients])
        }
        #expect(reached == [["dave"], ["carol"], ["carol"], ["carol"]])
        #expect(levels == [1, 2, 2, 2])
    }

    @Test("escalate tells room and announce channel why")
    func escalateText() throws {
        var scenario = try EngineScenario("sev1")
        let decision = scenario.run(.escalate(nil), by: F.bob, at: F.time("09:10"))
        let expected = "⚠️ INC-1 (SEV1) was escalated by <@bob>. Escalating to <@dave>.\nAcknowledge with /incident ack INC-1"
        #expect(decision.changes.postTexts(to: .incidentRoom) == [expected])
        #expect(decision.changes.postTexts(to: .announce) == [expected])
        #expect(decision.changes.timeline.map(\.text) == ["Escalation step 2: <@dave> (was escalated by <@bob>)"])
        #expect(decision.reply.text == "Escalated INC-1 to <@dave>.")
    }

    @Test("escalating to a step nobody on the platform can be reached by invites nobody")
    func escalateToNobody() throws {
        var config = F.config()
        config.oncall.escalation = [
            EscalationStep(after: .zero, notify: [.rotation("primary")]), EscalationStep(after: .minutes(5), notify: [.person("erin")]),
        ]
        var scenario = try EngineScenario("sev1", by: ChatUser(id: "U0ALICE"), platform: .slack, engine: try F.engine(config))
        let decision = scenario.run(.escalate(nil), by: ChatUser(id: "U0ALICE"), at: F.time("09:10"))
        #expect(decision.outcome == .applied)
        #expect(decision.reply.text == "Escalated INC-1 to nobody reachable.")
        #expect(decision.changes.postTexts(to: .announce).first?.contains("Escalating to nobody reachable") == true)
        #expect(decision.changes.invitedUserLists.allSatisfy { !$0.isEmpty }, "an empty invite cannot be delivered")
    }

    @Test("escalate without a chain is refused")
    func escalateWithoutChain() throws {
        var scenario = try EngineScenario("sev1", engine: try F.engine(F.config(escalation: [])))
        expectRejected(scenario.run(.escalate(nil), at: F.time("09:10")), mentioning: "No escalation chain")
    }

    // MARK: refusals and revisions

    struct Refusal: Sendable, CustomTestStringConvertible {
        var name: String
        var before: [IncidentCommand]
        var command: IncidentCommand
        var message: String
        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(name: "ack twice", before: [.ack(nil)], command: .ack(nil), message: "already acknowledged"),
        Refusal(name: "ack resolved", before: [.resolve(nil, text: nil)], command: .ack(nil), message: "Reopen it first"),
        Refusal(name: "update closed", before: [.close(nil, text: nil)], command: .update(nil, text: "x"), message: "INC-1 is closed. Reopen it first"),
        Refusal(name: "status resolved", before: [.resolve(nil, text: nil)], command: .status(nil, .identified, text: nil), message: "Reopen it first"),
        Refusal(name: "status resolved twice", before: [.resolve(nil, text: nil)], command: .status(nil, .resolved, text: nil), message: "already resolved"),
        Refusal(name: "severity unknown", before: [], command: .severity(nil, "sev0"), message: "Unknown severity"),
        Refusal(name: "severity same", before: [], command: .severity(nil, "sev1"), message: "already SEV1"),
        Refusal(name: "severity resolved", before: [.resolve(nil, text: nil)], command: .severity(nil, "sev2"), message: "Reopen it first"),
        Refusal(
            name: "role again", before: [.role(nil, .comms, EngineFixture.bob)], command: .role(nil, .comms, EngineFixture.bob),
            message: "already Communications Lead"),
        Refusal(name: "mitigate twice", before: [.mitigate(nil, text: nil)], command: .mitigate(nil, text: nil), message: "already mitigated"),
        Refusal(name: "mitigate resolved", before: [.resolve(nil, text: nil)], command: .mitigate(nil, text: nil), message: "Reopen it first"),
        Refusal(name: "resolve twice", before: [.resolve(nil, text: nil)], command: .resolve(nil, text: nil), message: "already resolved"),
        Refusal(name: "resolve closed", before: [.close(nil, text: nil)], command: .resolve(nil, text: nil), message: "already closed"),
        Refusal(name: "close twice", before: [.close(nil, text: nil)], command: .close(nil, text: nil), message: "already closed"),
        Refusal(name: "reopen open", before: [], command: .reopen(nil), message: "still open"),
        Refusal(name: "page unknown rotation", before: [], command: .page(nil, .rotation("nope")), message: "Unknown rotation"),
        Refusal(name: "page closed", before: [.close(nil, text: nil)], command: .page(nil, .rotation("primary")), message: "Reopen it first"),
        Refusal(name: "escalate resolved", before: [.resolve(nil, text: nil)], command: .escalate(nil), message: "Reopen it first"),
        Refusal(name: "read-only verb", before: [], command: .timeline(nil), message: "answered from the store"),
    ]

    @Test("a refused command changes nothing, not even the inbound key", arguments: refusals)
    func refusal(_ refusal: Refusal) throws {
        var scenario = try EngineScenario("sev1")
        for (index, command) in refusal.before.enumerated() {
            let setup = scenario.run(command, by: F.bob, at: F.monday.addingTimeInterval(TimeInterval(index + 1) * F.minute))
            #expect(setup.outcome == .applied, "setup \(command) was refused: \(setup.reply.text)")
        }
        let revision = scenario.incident.revision
        let decision = scenario.run(refusal.command, at: F.time("09:30"), inboundKey: "console:cmd:refused")
        expectRejected(decision, mentioning: refusal.message)
        #expect(scenario.incident.revision == revision)
    }

    @Test("a command without an incident is refused with its usage")
    func noIncident() throws {
        let engine = try F.engine()
        expectRejected(engine.decide(.ack(nil), context: F.context(), incident: nil, now: F.monday), mentioning: "/incident ack [INC-n]")
    }

    static let everyChange: [IncidentCommand] = [
        .ack(nil), .update(nil, text: "x"), .status(nil, .identified, text: nil), .severity(nil, "sev2"),
        .role(nil, .commander, EngineFixture.carol), .mitigate(nil, text: nil), .resolve(nil, text: nil),
        .close(nil, text: nil), .page(nil, .user(EngineFixture.carol)), .page(nil, .rotation("primary")), .escalate(nil),
    ]

    @Test("every change expects the revision it read, and carries the inbound key", arguments: everyChange)
    func expectedRevision(_ command: IncidentCommand) throws {
        var scenario = try EngineScenario("sev1")
        scenario.incident.revision = 7
        let decision = scenario.run(command, at: F.time("09:20"), inboundKey: "console:cmd:7")
        #expect(decision.outcome == .applied, "\(decision.reply.text)")
        #expect(decision.changes.incidents.count == 1)
        #expect(decision.changes.incidents.first?.expectedRevision == 7)
        #expect(decision.changes.writtenIncident?.revision == 7, "the store bumps the revision, not the engine")
        #expect(decision.changes.inboundKey == "console:cmd:7")
        #expect(decision.changes.timeline.allSatisfy { $0.incidentID == IncidentID(1) && $0.at == F.time("09:20") })
        let both = decision.changes.cancelledKinds.intersection(decision.changes.timers.map(\.kind))
        #expect(both.isEmpty, "a change set that both schedules and cancels \(both) depends on the order the store applies them")
    }

    @Test("a note writes no incident (so it cannot conflict) and carries the inbound key")
    func noteIsAppendOnly() throws {
        var scenario = try EngineScenario("sev1")
        scenario.incident.revision = 7
        let decision = scenario.run(.note(nil, text: "x"), at: F.time("09:20"), inboundKey: "console:cmd:7")
        #expect(decision.outcome == .applied)
        #expect(decision.changes.incidents.isEmpty)
        #expect(decision.changes.inboundKey == "console:cmd:7")
        #expect(decision.changes.timeline.map(\.kind) == [.note])
    }

    @Test("reopen expects the revision it read")
    func reopenExpectedRevision() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.resolve(nil, text: nil), at: F.time("09:30"))
        scenario.incident.revision = 12
        let decision = scenario.run(.reopen(nil), at: F.time("09:40"))
        #expect(decision.changes.incidents.map(\.expectedRevision) == [12])
    }
}
