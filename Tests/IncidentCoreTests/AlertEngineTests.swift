import Foundation
import Testing

@testable import IncidentCore

/// Alerts in, as the engine decides them: grouping, repeats, severity from labels (raised, never lowered),
/// resolution, reopening, and runbook 001's storm rule (001-06), all on the injected clock.
@Suite("IncidentEngine: alerts")
struct AlertEngineTests {
    typealias F = EngineFixture

    static let source = AlertSourceConfig(
        id: "prod-am", kind: .alertmanager, token: Secret("t0k3n-for-tests"), platform: .console,
        severity: AlertSeverityMapping(label: "severity", map: ["critical": "sev1", "warning": "sev3"], defaultSeverity: "sev3"),
        title: "{{commonLabels.alertname}} on {{commonLabels.service}}", autoResolve: true, reopenWithin: .minutes(30))

    static func engine(storm: StormRule? = StormRule(reports: 10, within: .minutes(5))) throws -> IncidentEngine {
        var config = F.config()
        config.alerts = AlertsConfig(sources: [source], storm: storm)
        return try IncidentEngine(config: config)
    }

    static func alert(_ name: String, _ status: AlertStatus = .firing, severity: String = "warning", instance: String? = nil) -> AlertInstance {
        var labels = ["alertname": "HighErrorRate", "service": "api", "severity": severity]
        labels["instance"] = instance ?? name
        return AlertInstance(
            fingerprint: "fp-\(name)", status: status, labels: labels, annotations: ["summary": "5xx above 5%"],
            generatorURL: "http://prometheus.example.com/graph?g0=\(name)")
    }

    static func notification(_ alerts: [AlertInstance]) -> AlertNotification {
        AlertNotification(
            source: "prod-am", groupKey: "{}:{alertname=\"HighErrorRate\"}",
            status: alerts.contains { $0.status == .firing } ? .firing : .resolved, alerts: alerts,
            groupLabels: ["alertname": "HighErrorRate"], commonLabels: ["alertname": "HighErrorRate", "service": "api"],
            externalURL: "http://alertmanager.example.com:9093")
    }

    /// The incident after a decision, as the store would hand it back.
    static func written(_ decision: Decision, after incident: Incident? = nil) throws -> Incident {
        var written = try #require(decision.changes.incidents.last?.incident)
        written.revision = (decision.changes.incidents.last?.expectedRevision ?? 0) + 1
        return written
    }

    static func decided(_ outcome: AlertOutcome, sourceLocation: SourceLocation = #_sourceLocation) throws -> Decision {
        guard case .decided(let decision) = outcome else {
            Issue.record("expected a decision, got a request for a new incident", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return decision
    }

    @Test("a new group declares one incident: title from the template, severity from the worst label, group linked, links posted")
    func declares() throws {
        let engine = try Self.engine()
        let first = Self.notification([Self.alert("a"), Self.alert("b", severity: "critical")])
        let decision = engine.declare(alert: first, source: Self.source, allocation: (IncidentID(1), 1), now: F.time("09:00"), overrides: [:])
        #expect(decision.outcome == .applied)
        let incident = try Self.written(decision)
        #expect(incident.title == "HighErrorRate on api")
        #expect(incident.severity == "sev1", "critical maps to sev1 and is the worst of the two")
        #expect(incident.declaredBy.isAlertSource)
        #expect(incident.alertGroup?.firingCount == 2)
        #expect(decision.changes.alertGroups == [AlertGroupLink(source: "prod-am", groupKey: first.groupKey, incidentID: IncidentID(1))])
        #expect(decision.changes.timeline.filter { $0.kind == .alert }.count == 2)
        #expect(decision.changes.inboundKey?.hasPrefix("alert:prod-am:") == true)
        let posts = decision.changes.postTexts(to: .incidentRoom)
        #expect(
            posts.contains {
                $0.contains("2 firing") && $0.contains("http://prometheus.example.com/graph?g0=a") && $0.contains("http://alertmanager.example.com:9093")
            })
        // The alert source is named, never @-mentioned.
        #expect(!decision.changes.timeline.contains { $0.text.contains("<@alert:") })
    }

    @Test("a repeat notification changes nothing; a new alert adds a line and one post; a lower severity never lowers")
    func repeatsAndNews() throws {
        let engine = try Self.engine(storm: nil)
        let first = Self.notification([Self.alert("a", severity: "critical")])
        var incident = try Self.written(engine.declare(alert: first, source: Self.source, allocation: (IncidentID(1), 1), now: F.time("09:00"), overrides: [:]))

        let repeated = try Self.decided(engine.receive(alert: first, source: Self.source, incident: incident, now: F.time("09:04"), overrides: [:]))
        #expect(repeated.outcome == .answered)
        #expect(repeated.changes.isEmpty)

        let more = Self.notification([Self.alert("a", severity: "critical"), Self.alert("b", severity: "warning")])
        let news = try Self.decided(engine.receive(alert: more, source: Self.source, incident: incident, now: F.time("09:05"), overrides: [:]))
        #expect(news.outcome == .applied)
        #expect(news.changes.timeline.map(\.kind) == [.alert])
        #expect(news.changes.postTexts(to: .incidentRoom).count == 1)
        incident = try Self.written(news)
        #expect(incident.severity == "sev1", "a warning alert does not lower a critical incident")
    }

    @Test("a higher severity in a later notification raises the incident and pages")
    func raises() throws {
        let engine = try Self.engine(storm: nil)
        let incident = try Self.written(
            engine.declare(
                alert: Self.notification([Self.alert("a")]), source: Self.source, allocation: (IncidentID(1), 1), now: F.time("09:00"), overrides: [:]))
        #expect(incident.severity == "sev3")
        let worse = Self.notification([Self.alert("a"), Self.alert("b", severity: "critical")])
        let decision = try Self.decided(engine.receive(alert: worse, source: Self.source, incident: incident, now: F.time("09:10"), overrides: [:]))
        #expect(try Self.written(decision).severity == "sev1")
        #expect(decision.changes.timeline.contains { $0.kind == .severity && $0.text.contains("SEV3 → SEV1") })
        #expect(decision.changes.outbox.contains { if case .post(.direct, _, _) = $0.action { return true } else { return false } }, "sev1 pages")
    }

    @Test("every alert resolved: a line, and with autoResolve the incident resolves; firing again within reopenWithin reopens it, later opens a new one")
    func resolveAndReopen() throws {
        let engine = try Self.engine(storm: nil)
        var incident = try Self.written(
            engine.declare(
                alert: Self.notification([Self.alert("a")]), source: Self.source, allocation: (IncidentID(1), 1), now: F.time("09:00"), overrides: [:]))
        let resolved = try Self.decided(
            engine.receive(
                alert: Self.notification([Self.alert("a", .resolved)]), source: Self.source, incident: incident, now: F.time("09:20"), overrides: [:]))
        incident = try Self.written(resolved)
        #expect(incident.status == .resolved)
        #expect(resolved.changes.timeline.contains { $0.text == "Every alert of the group is resolved" })
        #expect(resolved.changes.timers.contains { $0.kind == .reviewReminder }, "the runbook's review clock starts")

        // A repeat of the resolution changes nothing.
        let again = try Self.decided(
            engine.receive(
                alert: Self.notification([Self.alert("a", .resolved)]), source: Self.source, incident: incident, now: F.time("09:21"), overrides: [:]))
        #expect(again.changes.isEmpty)

        let refire = try Self.decided(
            engine.receive(
                alert: Self.notification([Self.alert("a")]), source: Self.source, incident: incident, now: F.time("09:40"), overrides: [:]))
        let reopened = try Self.written(refire)
        #expect(reopened.status == .investigating)
        #expect(refire.changes.timeline.contains { $0.kind == .reopened })

        // Resolved again, then firing after the 30-minute window: a new incident.
        let second = try Self.written(
            try Self.decided(
                engine.receive(
                    alert: Self.notification([Self.alert("a", .resolved)]), source: Self.source, incident: reopened, now: F.time("09:50"), overrides: [:])))
        guard
            case .declareNew = engine.receive(
                alert: Self.notification([Self.alert("a")]), source: Self.source, incident: second, now: F.time("10:21"), overrides: [:])
        else {
            Issue.record("firing 31 minutes after the resolution must open a new incident")
            return
        }
    }

    @Test("a human's resolution stands against repeats of alerts still firing")
    func humanResolveWins() throws {
        let engine = try Self.engine(storm: nil)
        let firing = Self.notification([Self.alert("a")])
        var scenario = EngineScenario(
            engine: engine,
            incident: try Self.written(
                engine.declare(
                    alert: firing, source: Self.source, allocation: (IncidentID(1), 1), now: F.time("09:00"), overrides: [:])))
        scenario.run(.resolve(nil, text: "rolled back"), by: F.alice, at: F.time("09:10"))
        #expect(scenario.incident.status == .resolved)
        let repeated = try Self.decided(engine.receive(alert: firing, source: Self.source, incident: scenario.incident, now: F.time("09:14"), overrides: [:]))
        #expect(repeated.changes.isEmpty)
    }

    @Test("001-06: more than 10 reports inside 5 minutes raise the severity one level, once per window, saying why")
    func stormRaisesOnce() throws {
        let engine = try Self.engine()
        var incident = try Self.written(
            engine.declare(
                alert: Self.notification([Self.alert("seed")]), source: Self.source, allocation: (IncidentID(1), 1), now: F.time("09:00"), overrides: [:]))
        #expect(incident.severity == "sev3")
        var alerts = [Self.alert("seed")]
        var raises: [Date] = []
        // One new alert every 20 s: the 11th report inside 5 minutes comes at 09:03:40.
        for n in 1...40 {
            alerts.append(Self.alert("n\(n)"))
            let now = F.time("09:00").addingTimeInterval(TimeInterval(n * 20))
            let decision = try Self.decided(engine.receive(alert: Self.notification(alerts), source: Self.source, incident: incident, now: now, overrides: [:]))
            incident = try Self.written(decision)
            if decision.changes.timeline.contains(where: { $0.kind == .severity }) {
                raises.append(now)
                // 11 when the threshold is first passed; 15 (one every 20 s) a window later.
                let count = raises.count == 1 ? 11 : 15
                #expect(decision.changes.timeline.contains { $0.text.contains("after \(count) reports in 5m") }, "\(decision.changes.timeline.map(\.text))")
                #expect(decision.changes.postTexts(to: .announce).contains { $0.contains("\(count) reports in 5m, raised to") })
            }
        }
        // Raised at the 11th report (sev3 → sev2), then not again until 5 minutes later (sev2 → sev1).
        #expect(raises == [F.time("09:03").addingTimeInterval(40), F.time("09:08").addingTimeInterval(40)])
        #expect(incident.severity == "sev1")
        #expect((incident.recentReports?.count ?? 0) == 15, "only the reports inside the window are kept")
    }

    @Test("001-06: /incident report counts toward the storm like an alert")
    func reportsCount() throws {
        let engine = try Self.engine()
        var scenario = try EngineScenario("sev3", engine: engine)
        var last = scenario.run(.report(nil, text: "Customer 0 cannot pay"), by: F.bob, at: F.time("09:01"))
        #expect(last.reply.text == "Report added to INC-1 (1 in the last 5m).")
        #expect(last.changes.timeline.first?.kind == .report)
        for n in 1...10 {
            last = scenario.run(.report(nil, text: "Customer \(n) cannot pay"), by: F.bob, at: F.time("09:01").addingTimeInterval(TimeInterval(n)))
        }
        #expect(scenario.incident.severity == "sev2")
        #expect(last.changes.timeline.contains { $0.kind == .severity })
    }

    @Test("posting is bounded: news within postEvery of the last post waits for one digest post; the last resolution is posted at once")
    func digest() throws {
        let engine = try Self.engine(storm: nil)
        let t0 = F.time("09:00")
        var incident = try Self.written(
            engine.declare(
                alert: Self.notification([Self.alert("a")]), source: Self.source, allocation: (IncidentID(1), 1), now: t0, overrides: [:]))
        var alerts = [Self.alert("a")]
        for (n, seconds) in [10, 20].enumerated() {
            alerts.append(Self.alert("b\(n)"))
            let held = try Self.decided(
                engine.receive(
                    alert: Self.notification(alerts), source: Self.source, incident: incident, now: t0.addingTimeInterval(TimeInterval(seconds)), overrides: [:]
                ))
            #expect(held.changes.postTexts(to: .incidentRoom).isEmpty, "posted within 30 s of the last post")
            #expect(held.changes.timers.map(\.kind) == [.alertDigest])
            #expect(held.changes.timers.first?.dueAt == t0.addingTimeInterval(30))
            #expect(held.changes.timeline.count == 1, "the timeline still gets every alert at once")
            incident = try Self.written(held)
        }
        let timer = ScheduledTimer(id: 1, incidentID: incident.id, kind: .alertDigest, dueAt: t0.addingTimeInterval(30), step: 0, leaseOwner: "s")
        let digest = engine.fire(timer, incident: incident, now: t0.addingTimeInterval(30))
        let posts = digest.postTexts(to: .incidentRoom)
        #expect(posts.count == 1)
        #expect(posts.first?.hasPrefix("🔔 INC-1 · prod-am: 2 firing, 0 resolved") == true, "\(posts)")
        #expect(posts.first?.contains("b0") == true && posts.first?.contains("b1") == true)
        incident = try #require(digest.incidents.last?.incident)
        incident.revision += 1
        #expect(incident.alertGroup?.pending == nil)

        // The group resolving: posted at once, however recent the last post.
        let resolved = try Self.decided(
            engine.receive(
                alert: Self.notification(
                    alerts.map {
                        var alert = $0; alert.status = .resolved; return alert
                    }), source: Self.source, incident: incident,
                now: t0.addingTimeInterval(35), overrides: [:]))
        #expect(resolved.changes.postTexts(to: .incidentRoom).contains { $0.hasPrefix("🔔 INC-1 · prod-am: 0 firing, 3 resolved") })
    }

    @Test("an alert changing more than 5 times in 30 minutes is marked flapping once; its later changes are counted, not listed")
    func flapping() throws {
        let engine = try Self.engine(storm: nil)
        let t0 = F.time("09:00")
        var incident = try Self.written(
            engine.declare(
                alert: Self.notification([Self.alert("steady"), Self.alert("a")]), source: Self.source, allocation: (IncidentID(1), 1), now: t0, overrides: [:])
        )
        var flappingLines = 0
        var listedChanges = 0
        var counted = 0
        for n in 1...9 {
            let status: AlertStatus = n.isMultiple(of: 2) ? .firing : .resolved
            let now = t0.addingTimeInterval(TimeInterval(n * 60))
            let decision = try Self.decided(
                engine.receive(
                    alert: Self.notification([Self.alert("steady"), Self.alert("a", status)]), source: Self.source, incident: incident, now: now, overrides: [:]
                ))
            flappingLines += decision.changes.timeline.filter { $0.text.hasPrefix("Flapping: HighErrorRate (a)") }.count
            listedChanges +=
                decision.changes.timeline.filter { $0.text.hasPrefix("Firing: HighErrorRate (a)") || $0.text.hasPrefix("Resolved: HighErrorRate (a)") }.count
            incident = try Self.written(decision)
            for post in decision.changes.postTexts(to: .incidentRoom) {
                for line in post.split(separator: "\n") where line.hasSuffix("more changes of flapping alerts") {
                    counted += Int(line.split(separator: " ")[1]) ?? 0
                }
            }
        }
        // The declaration was its first change; changes 2…5 are listed, the 6th marks it flapping, 7…10 are counted.
        #expect(listedChanges == 4)
        #expect(flappingLines == 1)
        #expect(incident.alertGroup?.alerts["fp-a"]?.isFlapping == true)
        #expect(counted == 4, "the digest counts the flapping alert's later changes")
    }

    @Test("the delivery key tells a redelivery from news")
    func deliveryKey() {
        let one = Self.notification([Self.alert("a")])
        var same = Self.notification([Self.alert("a")])
        same.externalURL = "http://elsewhere"
        #expect(one.deliveryKey == same.deliveryKey)
        #expect(one.deliveryKey != Self.notification([Self.alert("a"), Self.alert("b")]).deliveryKey)
        #expect(one.deliveryKey != Self.notification([Self.alert("a", .resolved)]).deliveryKey)
    }
}

extension EngineScenario {
    /// A scenario around an incident an alert declared.
    init(engine: IncidentEngine, incident: Incident) {
        self.engine = engine
        self.incident = incident
        self.platform = incident.platform
        self.declaration = Decision(reply: CommandReply(text: ""), outcome: .applied)
    }
}
