import Foundation
import Testing

@testable import IncidentCore

/// What the runbook-rules audit found missing and the engine now does: help that explains the levels
/// (000-01), the IC's own update cadence (002-15), a monitoring window per severity and per resolution
/// (002-19), public-facing incidents (000-04, 002-07), rules' own emails (000-13, 004-21), reviews at a
/// clock time (004-22), acknowledging from the alert channel (004-17) and per-type templates.
@Suite("Runbook clocks: cadence, monitoring, public-facing, rule emails, clock deadlines")
struct RunbookClocksTests {
    typealias F = EngineFixture

    static let parser = CommandParser(severities: F.severities, rotationIDs: ["primary", "secondary"])

    // MARK: 000-01 help

    @Test("000-01: /incident help and help declare list every severity with its description, worst first; declare's mistakes too")
    func helpListsSeverities() throws {
        var config = F.config()
        config.severities[0].description = "Complete outage, all users affected"
        config.incidentTypes = [IncidentTypeConfig(id: "security", name: "Security", description: "Breach suspected")]
        let engine = try F.engine(config)
        let help = engine.decide(.help(verb: nil), context: F.context(), incident: nil, now: F.monday).reply.text
        #expect(
            help.contains("Severities (worst first):\n• SEV1 (p0, critical) · Critical: Complete outage, all users affected\n• SEV2 (p1, major) · Major"),
            "\(help)")
        #expect(help.contains("• SEV4 (p3, low) · Low · the default when none is given"), "\(help)")
        #expect(help.contains("Types (--type <type>):\n• security · Security: Breach suspected"), "\(help)")
        let declareHelp = engine.decide(.help(verb: "declare"), context: F.context(), incident: nil, now: F.monday).reply.text
        #expect(declareHelp.contains("• SEV1 (p0, critical) · Critical: Complete outage"), "\(declareHelp)")
        // The parser knows the configured levels too: a wrong one lists them.
        let parser = CommandParser(severities: config.severities, rotationIDs: [])
        guard case .failure(let error) = parser.parse("declare sev9 Outage") else {
            Issue.record("sev9 parsed")
            return
        }
        #expect(error.message.contains("• SEV1 (p0, critical) · Critical: Complete outage, all users affected"), "\(error.message)")
    }

    // MARK: 002-15 cadence

    @Test(
        "002-15: cadence parses durations, off and default, and refuses what it cannot read",
        arguments: [
            ("cadence 10m", IncidentCommand.cadence(nil, .every(.minutes(10)))),
            ("cadence INC-4 1h", .cadence(IncidentID(4), .every(.hours(1)))),
            ("every off", .cadence(nil, .off)),
            ("cadence default", .cadence(nil, .severityDefault)),
        ])
    func cadenceParses(_ text: String, _ expected: IncidentCommand) throws {
        #expect(try Self.parser.parse(text).get() == expected)
    }

    @Test(
        "002-15: cadence refuses a missing, zero, too short or unreadable duration with its usage",
        arguments: ["cadence", "cadence 0m", "cadence 30s", "cadence soon", "cadence 10m extra"])
    func cadenceRefuses(_ text: String) {
        guard case .failure(let error) = Self.parser.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(error.usage == CommandVerb.cadence.usage)
    }

    @Test("002-15: the IC's cadence re-times the reminder from the last update, survives a severity change, off stops it, default restores the severity's")
    func cadenceRetimesReminders() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.update(nil, text: "Looking at the pool"), at: F.time("09:04"))
        let set = scenario.run(.cadence(nil, .every(.minutes(10))), by: F.carol, at: F.time("09:06"))
        #expect(set.outcome == .applied)
        #expect(set.reply.text == "INC-1: updates every 10m. Next update due by 09:14 UTC.")
        #expect(set.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("09:14"))
        #expect(set.changes.postTexts(to: .incidentRoom) == ["⏲️ Updates on INC-1 are now due every 10m (set by <@carol>). Next update due by 09:14 UTC."])
        #expect(set.changes.timeline.map(\.text) == ["Update cadence: every 10m, set by <@carol>"])
        #expect(scenario.engine.values(scenario.incident, now: F.time("09:06"))["updateEvery"] as? String == "10m")

        // The reminder keeps the new cadence.
        let timer = try TimerFiringTests.stored(set.changes.scheduledTimer(.updateReminder))
        let fired = scenario.engine.fire(timer, incident: scenario.incident, now: F.time("09:14"))
        #expect(fired.scheduledTimer(.updateReminder)?.dueAt == F.time("09:24"))
        // An update's "next update" follows it too.
        let update = scenario.run(.update(nil, text: "Pool raised"), at: F.time("09:20"))
        #expect(update.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("09:30"))
        // A severity change keeps the IC's cadence.
        let lowered = scenario.run(.severity(nil, "sev2"), at: F.time("09:21"))
        #expect(lowered.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("09:30"))

        expectRejected(scenario.run(.cadence(nil, .every(.minutes(10))), at: F.time("09:22")), mentioning: "already has that update cadence")
        let off = scenario.run(.cadence(nil, .off), at: F.time("09:22"))
        #expect(off.changes.cancelsTimer(.updateReminder))
        #expect(off.reply.text == "INC-1: updates without reminders.")
        let back = scenario.run(.cadence(nil, .severityDefault), at: F.time("09:23"))
        // SEV2 updates every 30 min, counted from the update at 09:20.
        #expect(back.changes.scheduledTimer(.updateReminder)?.dueAt == F.time("09:50"))
        #expect(back.reply.text.contains("every 30m"))

        scenario.run(.resolve(nil, text: nil), at: F.time("09:40"))
        expectRejected(scenario.run(.cadence(nil, .every(.minutes(5))), at: F.time("09:41")), mentioning: "Reopen it first")
    }

    @Test("002-15: cadence is a permission action like the other verbs")
    func cadencePermission() throws {
        let engine = try PermissionTests.engine(["cadence": [.role(.commander)]])
        var scenario = try EngineScenario("sev1", engine: engine)
        let refused = scenario.run(.cadence(nil, .every(.minutes(10))), by: F.bob, at: F.time("09:05"))
        #expect(refused.outcome == .denied)
        #expect(refused.reply.text.contains("`permissions.cadence`"))
        #expect(refused.changes.timers.isEmpty)
        scenario.run(.role(nil, .commander, F.bob), at: F.time("09:06"))
        #expect(scenario.run(.cadence(nil, .every(.minutes(10))), by: F.bob, at: F.time("09:07")).outcome == .applied)
    }

    // MARK: 002-19 monitoring windows

    @Test(
        "002-19: --monitor parses before or after the resolution's text",
        arguments: [
            ("resolve --monitor 1h Fixed forward", IncidentCommand.resolve(nil, text: "Fixed forward", monitor: .hours(1))),
            ("resolve INC-2 Fixed forward --monitor 1h", .resolve(IncidentID(2), text: "Fixed forward", monitor: .hours(1))),
            ("resolve Fixed forward --monitor=90m", .resolve(nil, text: "Fixed forward", monitor: .minutes(90))),
            ("resolve --monitor=2h", .resolve(nil, text: nil, monitor: .hours(2))),
            ("resolve Restarted the database", .resolve(nil, text: "Restarted the database", monitor: nil)),
        ])
    func monitorParses(_ text: String, _ expected: IncidentCommand) throws {
        #expect(try Self.parser.parse(text).get() == expected)
    }

    @Test("002-19: --monitor needs a duration", arguments: ["resolve --monitor", "resolve --monitor soon Fixed", "resolve --monitor=0s"])
    func monitorRefuses(_ text: String) {
        guard case .failure(let error) = Self.parser.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(error.usage == CommandVerb.resolve.usage)
    }

    @Test("002-19: the window is --monitor, else the severity's monitorFor, else incidents.monitorFor")
    func monitoringWindows() throws {
        var config = F.config(monitorFor: .minutes(30))
        config.severities[1].monitorFor = .minutes(45)
        let engine = try F.engine(config)

        var restart = try EngineScenario("sev1", engine: engine)
        let global = restart.run(.resolve(nil, text: "Restarted"), at: F.time("10:00"))
        #expect(global.changes.scheduledTimer(.monitoringWindow)?.dueAt == F.time("10:30"))
        #expect(global.reply.text == "Resolved INC-1 after 1 h. Monitoring for 30 min, then it closes.")

        var severity = try EngineScenario("sev2", engine: engine)
        #expect(severity.run(.resolve(nil, text: "Restarted"), at: F.time("10:00")).changes.scheduledTimer(.monitoringWindow)?.dueAt == F.time("10:45"))

        var fixForward = try EngineScenario("sev2", engine: engine)
        let asked = fixForward.run(.resolve(nil, text: "Fixed forward", monitor: .hours(1)), at: F.time("10:00"))
        #expect(asked.changes.scheduledTimer(.monitoringWindow)?.dueAt == F.time("11:00"))
        #expect(asked.changes.timeline.contains { $0.kind == .resolved && $0.text.hasSuffix("monitoring for 1h (--monitor)") })
        #expect(asked.reply.text.hasSuffix("Monitoring for 1 h, then it closes."))

        var none = try EngineScenario("sev1", engine: try F.engine(F.config(monitorFor: nil)))
        let kept = none.run(.resolve(nil, text: "Fixed"), at: F.time("10:00"))
        #expect(kept.changes.scheduledTimer(.monitoringWindow) == nil)
        #expect(kept.reply.text == "Resolved INC-1 after 1 h.")
    }

    // MARK: 000-04 public-facing, 002-07 ack publishes

    @Test("000-04: an `if: public-facing` rule stays quiet, keeping its turn, until the incident is public-facing")
    func publicFacingCondition() throws {
        let engine = try PolicyRuleTests.engine { config in
            config.severities[2].checkpoints = [
                PolicyRule(
                    id: "public-update", at: .span(.hours(2)), from: .lastUpdate, onlyIf: [.publicFacing], repeatEvery: .hours(2),
                    say: "Public-facing: post the update")
            ]
        }
        var scenario = try EngineScenario("sev3", engine: engine)
        let quiet = PolicyRuleTests.fire(scenario, rule: "severity:checkpoint.public-update", at: F.time("11:00"))
        #expect(quiet.outbox.isEmpty && quiet.timeline.isEmpty)
        #expect(PolicyRuleTests.ruleTimers(quiet) == ["severity:checkpoint.public-update": F.time("13:00")])

        #expect(scenario.run(.set(nil, FactAssignment(fact: .publicFacing, input: .text("yes"))), at: F.time("11:30")).outcome == .applied)
        #expect(scenario.incident.isPublicFacing)
        let spoken = PolicyRuleTests.fire(scenario, rule: "severity:checkpoint.public-update", at: F.time("13:00"))
        #expect(spoken.postTexts(to: .incidentRoom).first?.contains("Public-facing: post the update") == true, "\(spoken.postTexts(to: .incidentRoom))")

        // Published on the status page counts as public unless the fact says no.
        var published = try EngineScenario("sev3", engine: engine)
        published.run(.status(nil, .investigating, text: "We are looking into slow uploads"), at: F.time("09:10"))
        #expect(published.incident.isPublicFacing)
        published.run(.set(nil, FactAssignment(fact: .publicFacing, input: .text("no"))), at: F.time("09:11"))
        #expect(!published.incident.isPublicFacing)
    }

    @Test(
        "publicFacing reads yes/no; customers reads a list of addresses; revenue is free text",
        arguments: [
            ("set public yes", IncidentFact.publicFacing, "yes"), ("set publicFacing off", .publicFacing, "no"),
            ("set customers ops@acme.example; it@globex.example ops@acme.example", .customers, "ops@acme.example, it@globex.example"),
            ("set customers <mailto:ops@acme.example|ops@acme.example>", .customers, "ops@acme.example"),
            ("set revenue \"$12,000\"", .revenueLost, "$12,000"),
        ])
    func newFactsParse(_ text: String, _ fact: IncidentFact, _ value: String) throws {
        #expect(try Self.parser.parse(text).get() == .set(nil, FactAssignment(fact: fact, input: .text(value))))
    }

    @Test(
        "a public-facing flag that is not yes/no, or a customer list with a non-address, is refused",
        arguments: [
            ("set public maybe", "publicFacing is yes or no"), ("set customers ops@acme.example, nobody", "\"nobody\" is not an email address"),
        ])
    func newFactsRefuse(_ text: String, _ message: String) {
        guard case .failure(let error) = Self.parser.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(error.message.contains(message), "\(error.message)")
    }

    @Test("002-07: acknowledging an incident marked public-facing puts it on the status page; a private one stays off it; a published one gets no second entry")
    func ackPublishes() throws {
        var scenario = try EngineScenario("sev1")
        scenario.run(.set(nil, FactAssignment(fact: .publicFacing, input: .text("yes"))), at: F.time("09:01"))
        #expect(!scenario.incident.isPublished)
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:03"))
        #expect(
            scenario.incident.publicUpdates == [
                PublicUpdate(at: F.time("09:03"), state: .investigating, text: "We are aware of the problem (INC-1) and an engineer is investigating.")
            ])

        var unpublished = try EngineScenario("sev1")
        unpublished.run(.ack(nil), by: F.bob, at: F.time("09:03"))
        #expect(!unpublished.incident.isPublished)

        var published = try EngineScenario("sev1")
        published.run(.status(nil, .investigating, text: "Checkout is slow"), at: F.time("09:01"))
        published.run(.ack(nil), by: F.bob, at: F.time("09:03"))
        #expect(published.incident.publicUpdates?.count == 1)
    }

    // MARK: 000-13 / 004-21 rule emails

    @Test("000-13, 004-21: an email: rule with a say sends that text and subject, to the customers fact's addresses")
    func ruleEmailsItsOwnText() throws {
        let engine = try PolicyRuleTests.engine { config in
            config.severities[0].notify = [
                PolicyRule(
                    id: "customers", at: .span(.hours(1)), notify: [.email(.customers), .email(.address("support@example.com"))],
                    say: "We're aware that {{title}}. Next update within the hour.\nOwner: {{owner}}", subject: "Service disruption: {{title}} & more")
            ]
        }
        var scenario = try EngineScenario("sev1", title: "uploads fail", engine: engine)
        scenario.run(.set(nil, FactAssignment(fact: .customers, input: .text("ops@acme.example, it@globex.example"))), at: F.time("09:10"))
        let changes = PolicyRuleTests.fire(scenario, rule: "severity:notify.customers", at: F.time("10:00"))
        let mails = changes.outbox.compactMap { message -> EmailMessage? in
            if case .email(let mail) = message.action { return mail }
            return nil
        }
        try #require(mails.count == 1)
        #expect(mails[0].to == ["ops@acme.example", "it@globex.example", "support@example.com"])
        #expect(mails[0].subject == "Service disruption: uploads fail & more")
        #expect(mails[0].text == "We're aware that uploads fail. Next update within the hour.\nOwner: Alice Adams")
        #expect(mails[0].html == "<p>We&#39;re aware that uploads fail. Next update within the hour.<br>\nOwner: Alice Adams</p>")
        #expect(mails[0].reason == "rule customers")
        #expect(changes.timeline.contains { $0.text.contains("the affected customers (email)") })

        // Without the fact, only the fixed address.
        let bare = try EngineScenario("sev1", title: "uploads fail", engine: engine)
        let fewer = PolicyRuleTests.fire(bare, rule: "severity:notify.customers", at: F.time("10:00")).outbox.compactMap { message -> [String]? in
            if case .email(let mail) = message.action { return mail.to }
            return nil
        }
        #expect(fewer == [["support@example.com"]])
    }

    // MARK: 004-22 clock deadlines

    @Test("004-22: tomorrow 14:00 and next business day 10:00 parse, print and fall due in the calendar's zone")
    func clockDeadlines() throws {
        #expect(Deadline(parsing: "tomorrow 14:00") == .tomorrowAt(minutes: 14 * 60))
        #expect(Deadline(parsing: "Tomorrow at 9:30") == .tomorrowAt(minutes: 9 * 60 + 30))
        #expect(Deadline(parsing: "next business day 10:00") == .nextBusinessDayAt(minutes: 600))
        #expect(Deadline(parsing: "tomorrow 25:00") == nil)
        #expect(Deadline(parsing: "tomorrow") == nil)
        #expect(Deadline.tomorrowAt(minutes: 840).description == "tomorrow 14:00")
        let berlin = BusinessCalendar(timeZone: TimeZone(identifier: "Europe/Berlin")!)
        // Friday 2025-11-14 16:00 UTC (17:00 in Berlin).
        let friday = F.date("2025-11-14 16:00")
        #expect(Deadline.tomorrowAt(minutes: 840).due(from: friday, calendar: berlin) == F.date("2025-11-15 13:00"))
        #expect(Deadline.nextBusinessDayAt(minutes: 600).due(from: friday, calendar: berlin) == F.date("2025-11-17 09:00"))
    }

    @Test("004-22: a clock deadline needs a calendar, and says so")
    func clockDeadlineNeedsCalendar() {
        let json = PolicyConfigTests.json(sev1: #", "checkpoints": [{ "id": "review", "from": "resolved", "at": "tomorrow 14:00", "say": "Review" }]"#)
        #expect(
            PolicyConfigTests.problems(json) == [
                #"severities[0].checkpoints[0].at: "tomorrow 14:00" is a time of day: add a "calendar" (its timeZone says whose 14:00)"#
            ])
    }

    // MARK: 001-21 checklist

    @Test("001-21: incidents.checklist becomes action items at resolution, posted once; a second resolution adds none")
    func checklistAtResolution() throws {
        var config = F.config()
        config.incidents.checklist = ["Customer comms sent", "Post-mortem published"]
        var scenario = try EngineScenario("sev1", engine: try F.engine(config))
        scenario.run(.action(nil, .add(text: "Add a pool alert", owner: nil, due: nil)), at: F.time("09:10"))
        let resolved = scenario.run(.resolve(nil, text: "Fixed"), at: F.time("09:30"))
        #expect(
            resolved.changes.postTexts(to: .incidentRoom).contains(
                "📋 After-incident checklist for INC-1 (tick one off: /incident action done <n>):\n2. Customer comms sent\n3. Post-mortem published"))
        #expect(scenario.incident.actionItems?.map(\.text) == ["Add a pool alert", "Customer comms sent", "Post-mortem published"])
        scenario.run(.reopen(nil), at: F.time("09:40"))
        let again = scenario.run(.resolve(nil, text: "Fixed again"), at: F.time("09:50"))
        #expect(!again.changes.postTexts(to: .incidentRoom).contains { $0.hasPrefix("📋") })
        #expect(scenario.incident.actionItems?.count == 3)
        #expect(scenario.engine.summaryValues(scenario.incident, endedAt: F.time("10:00"))["actionItems"] != nil)
    }

    // MARK: per-type templates

    @Test("an incident type's template wins over its severity's and the global one")
    func typeTemplates() throws {
        var config = F.config(templates: ["announcement": "global {{id}}"])
        config.severities[0].templates = ["announcement": "severity {{id}}"]
        config.incidentTypes = [IncidentTypeConfig(id: "security", name: "Security")]
        config.incidentTypes[0].templates = ["announcement": "🔒 security {{id}}"]
        let engine = try F.engine(config)
        var incident = try EngineScenario("sev1", engine: engine).incident
        #expect(engine.render("announcement", engine.values(incident, now: F.monday), for: incident) == "severity INC-1")
        incident.type = "security"
        #expect(engine.render("announcement", engine.values(incident, now: F.monday), for: incident) == "🔒 security INC-1")
        incident.severity = "sev2"
        #expect(engine.render("announcement", engine.values(incident, now: F.monday), for: incident) == "🔒 security INC-1")
        incident.type = nil
        #expect(engine.render("announcement", engine.values(incident, now: F.monday), for: incident) == "global INC-1")
    }
}
