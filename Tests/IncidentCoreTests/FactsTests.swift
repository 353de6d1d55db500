import Foundation
import Testing

@testable import IncidentCore

/// `/incident set <fact> <value>`, `/incident status`, and the facts in templates (issue 14, item 2).
@Suite("Facts")
struct FactsTests {
    typealias F = EngineFixture

    private let parser = CommandParser(severities: F.severities, rotationIDs: ["primary", "secondary"])

    private func parsed(_ text: String) -> IncidentCommand? {
        if case .success(let command) = parser.parse(text) { return command }
        return nil
    }

    private func refusal(_ text: String) -> CommandUsageError? {
        if case .failure(let error) = parser.parse(text) { return error }
        return nil
    }

    // MARK: Parsing

    @Test func setParsesTextAndTimeFacts() throws {
        #expect(parsed(#"set impact "Uploads fail for EU users""#) == .set(nil, FactAssignment(fact: .impact, input: .text("Uploads fail for EU users"))))
        #expect(parsed("set INC-3 users-affected ~1500") == .set(IncidentID(3), FactAssignment(fact: .usersAffected, input: .text("~1500"))))
        #expect(parsed("set startedAt 14:05") == .set(nil, FactAssignment(fact: .startedAt, input: .time(.clock(hour: 14, minute: 5)))))
        #expect(parsed("set started 10m ago") == .set(nil, FactAssignment(fact: .startedAt, input: .time(.ago(.minutes(10))))))
        #expect(parsed("set detected 1h30m ago") == .set(nil, FactAssignment(fact: .detectedAt, input: .time(.ago(.minutes(90))))))
        #expect(
            parsed("set lkg 2025-11-10 08:40")
                == .set(nil, FactAssignment(fact: .lastKnownGood, input: .time(.local(year: 2025, month: 11, day: 10, hour: 8, minute: 40)))))
        #expect(parsed("set detectedAt now") == .set(nil, FactAssignment(fact: .detectedAt, input: .time(.now))))
        let instant = try #require(parsed("set detectedAt 2025-11-10T08:50Z"))
        #expect(instant == .set(nil, FactAssignment(fact: .detectedAt, input: .time(.instant(F.time("08:50"))))))
        #expect(parsed("set startedAt 2025-11-10T09:50:00+01:00") == .set(nil, FactAssignment(fact: .startedAt, input: .time(.instant(F.time("08:50"))))))
        #expect(parsed("set root_cause Connection pool exhausted") == .set(nil, FactAssignment(fact: .rootCause, input: .text("Connection pool exhausted"))))
        #expect(parsed("set service payments") == .set(nil, FactAssignment(fact: .service, input: .text("payments"))))
        #expect(parsed("set") == .set(nil, nil), "set alone lists the facts")
        #expect(parsed("facts INC-2") == .set(IncidentID(2), nil))
        #expect(parsed("status") == .statusCard(nil), "status alone shows the card")
        #expect(parsed("status INC-3") == .statusCard(IncidentID(3)))
        #expect(parsed("oncall ping") == .oncall(.mention), "what @oncall resolves to (004-14)")
        #expect(parsed("who mention") == .oncall(.mention))
        #expect(refusal("oncall ping now")?.message == #"Unexpected "now" after oncall."#)
    }

    @Test(arguments: [
        ("set impct broken", #"Unknown fact "impct". Did you mean "impact"?"#),
        (
            "set weather sunny",
            "Facts: impact, usersAffected, startedAt, detectedAt, detectedBy, lastKnownGood, rootCause, fix, service, revenueLost, publicFacing, customers, meeting."
        ),
        ("set impact", "set impact needs a value, e.g. /incident set impact"),
        ("set startedAt soon", #""soon" is not a time: write 14:05, 2026-01-15T14:05Z, 2026-01-15 14:05 or 10m ago."#),
        ("set startedAt 25:00", "is not a time"),
        ("set startedAt 5x ago", #""5x ago" is not a time ago"#),
        ("set detectedAt 2025-02-30 10:00", "is not a time"),
    ])
    func setRefusesWhatItCannotRead(input: String, message: String) throws {
        let error = try #require(refusal(input))
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.usage == CommandVerb.set.usage)
    }

    @Test func clockTimesMeanTheLatestPastOne() throws {
        let utc = try #require(TimeZone(identifier: "UTC"))
        #expect(FactTime.clock(hour: 8, minute: 40).resolve(now: F.monday, zone: utc) == F.time("08:40"))
        // "23:50" typed at 00:10 is yesterday's.
        let justAfterMidnight = F.date("2025-11-11 00:10")
        #expect(FactTime.clock(hour: 23, minute: 50).resolve(now: justAfterMidnight, zone: utc) == F.date("2025-11-10 23:50"))
        // Local times are read in the incidents' zone: 09:40 in Berlin is 08:40 UTC in November.
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        #expect(FactTime.clock(hour: 9, minute: 40).resolve(now: F.monday, zone: berlin) == F.time("08:40"))
        #expect(FactTime.ago(.minutes(10)).resolve(now: F.monday, zone: utc) == F.time("08:50"))
    }

    // MARK: The engine

    @Test func settingAFactIsATimelineEntryAndAChangeOfTheIncident() throws {
        var scenario = try EngineScenario("sev1", title: "Uploads failing")
        let decision = scenario.run(.set(nil, FactAssignment(fact: .impact, input: .text("Uploads fail for EU users"))), at: F.time("09:05"))
        #expect(decision.outcome == .applied)
        #expect(decision.reply.text == "Impact of INC-1: Uploads fail for EU users")
        #expect(decision.changes.incidents.count == 1, "the incident is written, with its revision checked")
        let entry = try #require(decision.changes.timeline.first)
        #expect(entry.kind == .fact)
        #expect(entry.text == "Impact: Uploads fail for EU users · set by <@alice>")
        #expect(scenario.incident.fact(.impact)?.text == "Uploads fail for EU users")
        #expect(scenario.incident.fact(.impact)?.setBy == F.alice)

        // A change says what it replaced; the same value again changes nothing.
        let changed = scenario.run(.set(nil, FactAssignment(fact: .impact, input: .text("Uploads fail everywhere"))), at: F.time("09:06"))
        #expect(changed.changes.timeline.first?.text == "Impact: Uploads fail everywhere (was: Uploads fail for EU users) · set by <@alice>")
        expectRejected(
            scenario.run(.set(nil, FactAssignment(fact: .impact, input: .text("Uploads fail everywhere"))), at: F.time("09:07")), mentioning: "already")
    }

    @Test func timesAreResolvedCheckedForTheFutureAndKeptInOrder() throws {
        var scenario = try EngineScenario("sev1", title: "Uploads failing")
        let started = scenario.run(.set(nil, FactAssignment(fact: .startedAt, input: .time(.clock(hour: 8, minute: 40)))), at: F.time("09:05"))
        #expect(started.outcome == .applied)
        #expect(scenario.incident.fact(.startedAt)?.time == F.time("08:40"))
        #expect(scenario.incident.fact(.startedAt)?.text == "2025-11-10 08:40 UTC")

        expectRejected(
            scenario.run(.set(nil, FactAssignment(fact: .detectedAt, input: .time(.instant(F.time("10:00"))))), at: F.time("09:06")),
            mentioning: "is in the future")
        expectRejected(
            scenario.run(.set(nil, FactAssignment(fact: .detectedAt, input: .time(.clock(hour: 8, minute: 30)))), at: F.time("09:06")),
            mentioning: "detectedAt 2025-11-10 08:30 UTC is before startedAt 2025-11-10 08:40 UTC")
        expectRejected(
            scenario.run(.set(nil, FactAssignment(fact: .lastKnownGood, input: .time(.clock(hour: 8, minute: 50)))), at: F.time("09:06")),
            mentioning: "is after startedAt")
        #expect(scenario.run(.set(nil, FactAssignment(fact: .detectedAt, input: .time(.ago(.minutes(20))))), at: F.time("09:06")).outcome == .applied)
        #expect(scenario.incident.fact(.detectedAt)?.time == F.time("08:46"))
    }

    @Test func factsMaySetAfterTheEndForThePostMortem() throws {
        var scenario = try EngineScenario("sev2", title: "Checkout slow")
        scenario.run(.close(nil, text: "Pool resized"), at: F.time("10:00"))
        #expect(scenario.incident.status == .closed)
        let decision = scenario.run(.set(nil, FactAssignment(fact: .rootCause, input: .text("Pool too small"))), at: F.time("11:00"))
        #expect(decision.outcome == .applied)
        let draft = scenario.engine.postmortemReply(scenario.incident, entries: [], now: F.time("11:00")).text
        #expect(draft.contains("### Root Cause\nPool too small"), "\(draft)")
    }

    @Test func aServiceBeforeAColonNamesTheChannelAndIsAFact() throws {
        // 002-10: "#incident-2024-01-15-payments" from "/incident SEV1 payments: Payment processing down".
        let engine = try F.engine(F.config(channelName: "incident-{date}-{service}"))
        let scenario = try EngineScenario("sev1", title: "payments: Payment processing down", engine: engine)
        #expect(scenario.incident.title == "Payment processing down")
        #expect(scenario.incident.service == "payments")
        #expect(scenario.incident.channelName == "incident-2025-11-10-payments")
        #expect(scenario.declaration.reply.text.contains("Service: payments (from the title"))
        #expect(scenario.declaration.changes.timeline.contains { $0.kind == .fact && $0.text == "Service: payments · from the title" })

        // Without a service `{service}` is the slug; a colon inside a time is no service.
        let plain = try EngineScenario("sev1", title: "Errors since 14:05 on checkout", engine: engine)
        #expect(plain.incident.service == nil)
        #expect(plain.incident.title == "Errors since 14:05 on checkout")
        #expect(plain.incident.channelName == "incident-2025-11-10-errors-since-14-05-on-checkout")
    }

    @Test func anOnCallPingMentionsWhoeverIsOnCallNow() throws {
        let engine = try F.engine()
        let decision = engine.decide(.oncall(.mention), context: F.context(), incident: nil, now: F.monday)
        #expect(decision.outcome == .answered)
        #expect(decision.reply.text == "📣 @oncall: <@bob> (primary), <@dave> (secondary)")
        #expect(decision.reply.visibility == .inChannel, "everyone sees it, and those named are notified")
    }

    @Test func statusCardAndFactListShowTheFacts() throws {
        var scenario = try EngineScenario("sev1", title: "Uploads failing")
        scenario.run(.role(nil, .techLead, F.carol), at: F.time("09:02"))
        scenario.run(.set(nil, FactAssignment(fact: .impact, input: .text("Uploads fail for EU users"))), at: F.time("09:05"))
        scenario.run(.update(nil, text: "Looking at the load balancer"), at: F.time("09:10"))
        let card = scenario.engine.statusCardReply(scenario.incident, now: F.time("09:30")).text
        #expect(card.hasPrefix("INC-1 · SEV1 · Declared · Uploads failing"))
        #expect(card.contains("open for 30 min · updates posted: 1"), "\(card)")
        #expect(card.contains("Incident Commander: unassigned · Tech Lead: <@carol>"))
        #expect(card.contains("Impact: Uploads fail for EU users"))

        let list = scenario.engine.factsReply(scenario.incident).text
        #expect(list.contains("• impact (Impact): Uploads fail for EU users"))
        #expect(list.contains("• rootCause (Root cause): not set · e.g."))
        #expect(scenario.engine.factsReply(nil).text.hasPrefix("Facts: /incident set [INC-n] <fact> <value>"))
    }

    @Test func theSummaryCarriesFactsAndTheReviewDate() throws {
        var scenario = try EngineScenario("sev1", title: "Uploads failing")
        scenario.run(.set(nil, FactAssignment(fact: .impact, input: .text("Uploads fail for EU users"))), at: F.time("09:05"))
        scenario.run(.set(nil, FactAssignment(fact: .rootCause, input: .text("Expired certificate"))), at: F.time("09:20"))
        scenario.run(.set(nil, FactAssignment(fact: .fix, input: .text("Renewed the certificate"))), at: F.time("09:25"))
        let closed = scenario.run(.close(nil, text: "Certificate renewed"), at: F.time("09:30"))
        let summary = try #require(closed.changes.postTexts(to: .announce).first { $0.hasPrefix("INCIDENT SUMMARY") })
        // 000-32: What / Duration / Impact / Root cause / Fix / Post-incident review: Date.
        #expect(summary.contains("Impact: Uploads fail for EU users"))
        #expect(summary.contains("Root cause: Expired certificate"))
        #expect(summary.contains("Fix: Renewed the certificate"), "the fix fact wins over the resolution text")
        #expect(!summary.contains("Fix: Certificate renewed"))
        #expect(summary.contains("Post-incident review due by 2025-11-12 09:30 UTC"), "sev1 reviews within 48h")
    }
}
