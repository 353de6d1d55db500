import Foundation
import Testing

@testable import IncidentCore

/// The policy's rules as pure decisions: which timers each lifecycle event arms or cancels, what a due
/// rule does, and when `unless` keeps it quiet. `PolicyDayTests` (SchedulerTests) runs them on a store.
@Suite("Policy rules in the engine")
struct PolicyRuleTests {
    typealias F = EngineFixture

    static func config(_ edit: (inout KlaxonConfig) -> Void = { _ in }) -> KlaxonConfig {
        var config = F.config()
        config.groups = ["leadership": ["carol", "dave"]]
        config.severities[0].notify = [
            PolicyRule(id: "cto", at: .span(.minutes(5)), notify: [.person("carol")]),
            PolicyRule(id: "ceo", at: .span(.minutes(30)), notify: [.person("dave")], unless: [.acknowledged]),
            PolicyRule(id: "stale", at: .span(.minutes(20)), from: .lastUpdate, notify: [.group("leadership")], unless: [.mitigated]),
        ]
        config.severities[0].checkpoints = [
            PolicyRule(id: "ic", at: .span(.minutes(15)), unless: [.roleAssigned(.commander)], say: "{{id}} needs an IC"),
            PolicyRule(id: "export", at: .span(.hours(2)), from: .resolved, say: "Export the data"),
        ]
        config.incidentTypes = [
            IncidentTypeConfig(
                id: "security", name: "Security",
                notify: [
                    // 000-28: "1. Security team immediately 2. Legal team immediately".
                    PolicyRule(id: "security-team", at: .span(.zero), notify: [.person("erin"), .channel(platform: .console, name: "security")])
                ]),
            IncidentTypeConfig(
                id: "data-loss", name: "Data loss",
                notify: [
                    // 000-29: "Notify executive team immediately".
                    PolicyRule(id: "exec", at: .span(.zero), notify: [.group("leadership")])
                ]),
        ]
        edit(&config)
        return config
    }

    static func engine(_ edit: (inout KlaxonConfig) -> Void = { _ in }) throws -> IncidentEngine {
        try IncidentEngine(config: config(edit))
    }

    static func ruleTimers(_ changes: ChangeSet) -> [String: Date] {
        Dictionary(uniqueKeysWithValues: changes.timers.filter { $0.kind == .policyRule }.map { ($0.rule, $0.dueAt) })
    }

    static func fire(_ scenario: EngineScenario, rule: String, at due: Date, step: Int = 0) -> ChangeSet {
        let timer = ScheduledTimer(id: 7, incidentID: scenario.incident.id, kind: .policyRule, dueAt: due, step: step, rule: rule, leaseOwner: "s")
        return scenario.engine.fire(timer, incident: scenario.incident, now: due)
    }

    @Test("declaring arms one timer per rule counted from the declaration or the last update")
    func declareArms() throws {
        let scenario = try EngineScenario("sev1", engine: Self.engine())
        #expect(
            Self.ruleTimers(scenario.declaration.changes) == [
                "severity:notify.cto": F.time("09:05"),
                "severity:notify.ceo": F.time("09:30"),
                "severity:notify.stale": F.time("09:20"),
                "severity:checkpoint.ic": F.time("09:15"),
            ])
    }

    @Test("a due notification rule pages its people: room mention, direct message, invitation (000-25)")
    func notifies() throws {
        let scenario = try EngineScenario("sev1", engine: Self.engine())
        let changes = Self.fire(scenario, rule: "severity:notify.cto", at: F.time("09:05"))
        #expect(changes.completeTimer?.id == 7)
        #expect(changes.directMessageRecipients == ["carol"])
        #expect(changes.invitedUserLists == [["carol"]])
        let room = try #require(changes.postTexts(to: .incidentRoom).first)
        #expect(room == "📣 INC-1 (SEV1) Checkout is down · Declared · open 5 min\n<@carol>: you are notified (SEV1 rule cto, 5 min after declaration).")
        #expect(changes.timeline.map(\.text) == ["Rule cto (SEV1, 5 min after declaration): notified <@carol>"])
        #expect(changes.timers.isEmpty, "no repeat: fired once")
    }

    @Test("unless acknowledged: after an ack the CEO rule completes and says nothing (000-25's 'if nobody has it')")
    func unlessAcknowledged() throws {
        var scenario = try EngineScenario("sev1", engine: Self.engine())
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:10"))
        let changes = Self.fire(scenario, rule: "severity:notify.ceo", at: F.time("09:30"))
        #expect(changes.completeTimer?.id == 7)
        #expect(changes.outbox.isEmpty && changes.timeline.isEmpty && changes.timers.isEmpty && changes.incidents.isEmpty)
    }

    @Test("unless role:ic assigned: the checkpoint is quiet once someone is IC (000-10), otherwise it prompts the owner")
    func checkpoint() throws {
        var scenario = try EngineScenario("sev1", engine: Self.engine())
        let prompt = Self.fire(scenario, rule: "severity:checkpoint.ic", at: F.time("09:15"))
        #expect(prompt.postTexts(to: .incidentRoom) == ["⏱️ INC-1 checkpoint (15 min after declaration): INC-1 needs an IC <@alice>"])
        scenario.run(.role(nil, .commander, F.bob), at: F.time("09:12"))
        let quiet = Self.fire(scenario, rule: "severity:checkpoint.ic", at: F.time("09:15"))
        #expect(quiet.outbox.isEmpty)
    }

    @Test("an update re-arms the rules counted from the last update; mitigation silences them")
    func lastUpdate() throws {
        var scenario = try EngineScenario("sev1", engine: Self.engine())
        let update = scenario.run(.update(nil, text: "Still looking"), at: F.time("09:12"))
        #expect(Self.ruleTimers(update.changes) == ["severity:notify.stale": F.time("09:32")])
        let stale = Self.fire(scenario, rule: "severity:notify.stale", at: F.time("09:32"))
        #expect(Set(stale.directMessageRecipients) == ["carol", "dave"], "group:leadership")
        scenario.run(.mitigate(nil, text: nil), at: F.time("09:40"))
        #expect(Self.fire(scenario, rule: "severity:notify.stale", at: F.time("09:52")).outbox.isEmpty)
    }

    @Test("resolving cancels the open-incident rules and arms those counted from the resolution; they outlive the close")
    func resolve() throws {
        var scenario = try EngineScenario("sev1", engine: Self.engine())
        let resolved = scenario.run(.resolve(nil, text: "Fixed"), at: F.time("09:40"))
        #expect(
            Set(resolved.changes.cancelRuleTimers.map(\.1)) == [
                "severity:notify.cto", "severity:notify.ceo", "severity:notify.stale", "severity:checkpoint.ic",
            ])
        #expect(Self.ruleTimers(resolved.changes) == ["severity:checkpoint.export": F.time("11:40")])
        // A rule of the open incident that was already claimed when the resolution came: it does nothing.
        #expect(Self.fire(scenario, rule: "severity:notify.ceo", at: F.time("09:45")).outbox.isEmpty)
        scenario.run(.close(nil, text: nil), at: F.time("10:10"))
        let export = Self.fire(scenario, rule: "severity:checkpoint.export", at: F.time("11:40"))
        #expect(export.postTexts(to: .incidentRoom).first?.contains("Export the data") == true)  // 002-20
    }

    @Test("a reopening replays nothing that was due, and re-arms what is still to come")
    func reopen() throws {
        var scenario = try EngineScenario("sev1", engine: Self.engine())
        scenario.run(.resolve(nil, text: nil), at: F.time("09:10"))
        let reopened = scenario.run(.reopen(nil), at: F.time("09:12"))
        #expect(reopened.changes.cancelRuleTimers.map(\.1) == ["severity:checkpoint.export"])
        #expect(
            Self.ruleTimers(reopened.changes) == [
                "severity:notify.ceo": F.time("09:30"), "severity:notify.stale": F.time("09:32"), "severity:checkpoint.ic": F.time("09:15"),
            ])
    }

    @Test("repeat: again every interval while the rule still applies")
    func repeats() throws {
        let engine = try Self.engine { config in
            config.severities[0].notify = [
                PolicyRule(id: "nag", at: .span(.minutes(30)), notify: [.person("bob")], unless: [.mitigated], repeatEvery: .minutes(30))
            ]
        }
        var scenario = try EngineScenario("sev1", engine: engine)
        let first = Self.fire(scenario, rule: "severity:notify.nag", at: F.time("09:30"))
        #expect(first.timers.map(\.dueAt) == [F.time("10:00")])
        #expect(first.timers.map(\.step) == [1])
        scenario.run(.mitigate(nil, text: nil), at: F.time("09:50"))
        let second = Self.fire(scenario, rule: "severity:notify.nag", at: F.time("10:00"), step: 1)
        #expect(second.outbox.isEmpty && second.timers.isEmpty, "mitigated: quiet, and no further repeat")
    }

    @Test("a rule naming a webhook tells it once, with the rule's people, whatever its filters; other page webhooks hear as for any page")
    func webhooks() throws {
        let engine = try Self.engine { config in
            config.paging = PagingConfig(webhooks: [
                PagerWebhook(id: "phone", url: "https://pager.example.com", secret: Secret("s"), severities: ["sev2"]),
                PagerWebhook(id: "sms", url: "https://sms.example.com", secret: Secret("t")),
            ])
            config.severities[0].notify = [PolicyRule(id: "ceo", at: .span(.hours(1)), notify: [.person("dave"), .webhook("phone")])]
        }
        let scenario = try EngineScenario("sev1", engine: engine)
        let changes = Self.fire(scenario, rule: "severity:notify.ceo", at: F.time("10:00"))
        let notices = changes.outbox.compactMap { message -> PagerNotice? in
            if case .pagerWebhook(let notice) = message.action { return notice }
            return nil
        }
        #expect(notices.map(\.webhook).sorted() == ["phone", "sms"], "phone named by the rule (its severity filter aside), sms as for any page")
        #expect(notices.allSatisfy { $0.people.map(\.id) == ["dave"] && $0.event == .page })
    }

    @Test("a rule the config no longer has completes and does nothing")
    func unknownRule() throws {
        let scenario = try EngineScenario("sev1", engine: Self.engine())
        let changes = Self.fire(scenario, rule: "severity:notify.gone", at: F.time("09:05"))
        #expect(changes.completeTimer?.id == 7)
        #expect(changes.outbox.isEmpty && changes.timeline.isEmpty)
    }

    // MARK: Incident types

    @Test("declare --type security arms the type's rules; they reach a person and a channel (000-28, 004-24)")
    func declareWithType() throws {
        let engine = try Self.engine()
        let decision = engine.decide(
            .declare(severity: "sev2", title: "Suspicious logins", type: "security"), context: F.context(), incident: nil,
            allocation: (IncidentID(1), 1), now: F.monday)
        #expect(decision.outcome == .applied)
        var incident = try #require(decision.changes.writtenIncident)
        #expect(incident.type == "security")
        #expect(Self.ruleTimers(decision.changes) == ["type.security:notify.security-team": F.monday])
        #expect(decision.reply.text.hasPrefix("Declared INC-1 · SEV2 · Security · Suspicious logins"))
        incident.revision += 1
        let timer = ScheduledTimer(
            id: 3, incidentID: incident.id, kind: .policyRule, dueAt: F.monday, step: 0, rule: "type.security:notify.security-team", leaseOwner: "s")
        let fired = engine.fire(timer, incident: incident, now: F.monday)
        #expect(fired.directMessageRecipients == ["erin"])
        let crossPost = try #require(fired.outbox.first { if case .post(.channel(name: "security"), _, _) = $0.action { true } else { false } })
        #expect(crossPost.platform == .console)
        #expect(crossPost.incidentID == incident.id)
        #expect(engine.topic(incident).hasPrefix("SEV2 · Security · Declared"))
    }

    @Test("/incident type sets the type, arms its rules, stops the old type's and shows in the topic and summary")
    func setType() throws {
        var scenario = try EngineScenario("sev1", engine: Self.engine())
        let security = scenario.run(.setType(nil, "security"), by: F.bob, at: F.time("09:03"))
        #expect(security.outcome == .applied)
        #expect(security.reply.text == "INC-1 is now a Security incident.")
        #expect(Self.ruleTimers(security.changes) == ["type.security:notify.security-team": F.time("09:03")])
        #expect(security.changes.timeline.map(\.kind) == [.type])
        let dataLoss = scenario.run(.setType(nil, "data-loss"), at: F.time("09:04"))
        #expect(dataLoss.changes.cancelRuleTimers.map(\.1) == ["type.security:notify.security-team"])
        #expect(Self.ruleTimers(dataLoss.changes) == ["type.data-loss:notify.exec": F.time("09:04")])
        let closed = scenario.run(.close(nil, text: "Restored from backup"), at: F.time("10:00"))
        #expect(closed.changes.postTexts(to: .announce).last?.contains("Type: Data loss") == true)
        expectRejected(scenario.run(.setType(nil, "data-loss"), at: F.time("10:01")), mentioning: "already a Data loss incident")
    }

    @Test("an unknown type is refused with the list of types, and changes nothing")
    func unknownType() throws {
        var scenario = try EngineScenario("sev1", engine: Self.engine())
        expectRejected(
            scenario.run(.setType(nil, "securty"), at: F.time("09:03")), mentioning: "Unknown incident type \"securty\". Types: security, data-loss.")
        let declared = scenario.engine.decide(
            .declare(severity: "sev1", title: "x", type: "nope"), context: F.context(), incident: nil, allocation: (IncidentID(2), 2), now: F.monday)
        #expect(declared.outcome == .rejected)
        #expect(declared.changes.isEmpty)
    }

    // MARK: Escalation chains

    @Test("a severity's own chain replaces oncall.escalation for its pages and its acknowledgement walk (004-05)")
    func severityChain() throws {
        let engine = try Self.engine { config in
            config.severities[1].ackWithin = nil
            config.severities[1].escalation = [
                EscalationStep(after: .zero, notify: [.person("carol")]),
                EscalationStep(after: .minutes(10), notify: [.group("leadership")]),
            ]
        }
        var scenario = try EngineScenario("sev2", engine: engine)
        #expect(scenario.declaration.changes.directMessageRecipients == ["carol"], "P1: its own first step, not the global one")
        // No ackWithin: the second step waits its own `after`.
        let walk = try #require(scenario.declaration.changes.scheduledTimer(.ackTimeout))
        #expect(walk.dueAt == F.time("09:10"))
        let fired = scenario.engine.fire(
            ScheduledTimer(id: 1, incidentID: scenario.incident.id, kind: .ackTimeout, dueAt: walk.dueAt, step: walk.step, leaseOwner: "s"),
            incident: scenario.incident, now: walk.dueAt)
        #expect(Set(fired.directMessageRecipients) == ["carol", "dave"])
        scenario.run(.escalate(nil), at: F.time("09:12"))
        #expect(scenario.incident.escalationLevel == 1)
    }
}

@Suite("Incident types in the command language")
struct IncidentTypeParsingTests {
    let parser = CommandParser(severities: EngineFixture.severities, rotationIDs: ["primary"])

    @Test(
        "declare takes --type before the title, in either spelling (000-28, 004-24)",
        arguments: [
            ("declare sev1 --type security Suspicious logins", IncidentCommand.declare(severity: "sev1", title: "Suspicious logins", type: "security")),
            ("SEV1 --type=Security Suspicious logins", .declare(severity: "sev1", title: "Suspicious logins", type: "security")),
            ("declare --type data-loss Backups missing", .declare(severity: "sev4", title: "Backups missing", type: "data-loss")),
            ("declare sev2 Type confusion in the parser", .declare(severity: "sev2", title: "Type confusion in the parser")),
            ("type security", .setType(nil, "security")),
            ("type INC-7 Data-Loss", .setType(IncidentID(7), "data-loss")),
            ("kind INC-7 security", .setType(IncidentID(7), "security")),
        ])
    func parses(_ text: String, _ expected: IncidentCommand) throws {
        #expect(try parser.parse(text).get() == expected)
    }

    @Test(
        "mistakes get the verb's usage",
        arguments: [
            ("declare sev1 --type", CommandVerb.declare), ("declare sev1 --type= Down", .declare), ("type", .type), ("type security extra", .type),
        ])
    func refuses(_ text: String, _ verb: CommandVerb) {
        guard case .failure(let error) = parser.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(error.usage == verb.usage)
    }

    @Test("the type is listed in list and timeline headers")
    func shown() throws {
        var config = PolicyRuleTests.config()
        config.incidentTypes = [IncidentTypeConfig(id: "security", name: "Security")]
        let engine = try IncidentEngine(config: config)
        var incident = try EngineScenario("sev1", engine: engine).incident
        incident.type = "security"
        #expect(engine.listReply([incident], includeClosed: false, now: EngineFixture.monday).text.contains("• INC-1 · SEV1 · Security · Declared"))
        #expect(engine.timelineReply(incident, entries: []).text.hasPrefix("Timeline of INC-1 · SEV1 · Security · Declared"))
    }
}
