import Foundation
import Testing

@testable import IncidentCore

/// Templates per severity over the global ones, and the variable table of docs/templates.md (issue 14,
/// item 3).
@Suite("Templates per severity")
struct SeverityTemplateTests {
    typealias F = EngineFixture

    /// Runbook 000: `@channel` for the worst level only (000-05), a less formal post-mortem below it (000-20).
    private func runbook000Engine() throws -> IncidentEngine {
        var config = F.config(templates: ["announcement": "[{{severity}} INCIDENT] {{title}}"])
        config.severities[0].templates = ["announcement": "<!channel> [{{severity}} INCIDENT] {{title}}"]
        config.severities[1].templates = ["postmortem": "Brief summary of {{id}}: {{title}} ({{duration}})"]
        return try IncidentEngine(config: config)
    }

    private func announcement(_ decision: Decision) -> String? {
        decision.changes.outbox.lazy.compactMap { message -> String? in
            // Channel mode: its own message, in the announce channel's queue.
            if message.queue != nil, case .post(.announce, let announcement, _) = message.action { return announcement }
            if case .openRoom(_, _, let announcement, _) = message.action, !announcement.isEmpty { return announcement }
            return nil
        }.first
    }

    @Test func aSeverityTemplateWinsOverTheGlobalOneForItsIncidentsOnly() throws {
        let engine = try runbook000Engine()
        let sev1 = try EngineScenario("sev1", title: "Site down", engine: engine)
        let sev2 = try EngineScenario("sev2", title: "Uploads slow", engine: engine)
        #expect(announcement(sev1.declaration) == "<!channel> [SEV1 INCIDENT] Site down")  // 000-05
        #expect(announcement(sev2.declaration) == "[SEV2 INCIDENT] Uploads slow", "other levels fall back to templates.announcement")

        // 000-20: the less formal post-mortem for the lower level; the worst keeps the full draft.
        #expect(engine.postmortemReply(sev2.incident, entries: [], now: F.time("10:00")).text == "Brief summary of INC-1: Uploads slow (1 h)")
        #expect(engine.postmortemReply(sev1.incident, entries: [], now: F.time("10:00")).text.hasPrefix("## Incident: Site down"))
    }

    @Test func aSeverityChangeRendersFromTheNewLevel() throws {
        var scenario = try EngineScenario("sev2", title: "Uploads slow", engine: try runbook000Engine())
        scenario.run(.severity(nil, "sev1"), at: F.time("09:10"))
        #expect(scenario.engine.postmortemReply(scenario.incident, entries: [], now: F.time("10:00")).text.hasPrefix("## Incident: Uploads slow"))
    }

    @Test func theInitialStatusCanSayInvestigating() throws {
        // 001-10: "Status: investigating" on the initial notification, where {{status}} says "Declared".
        let engine = try IncidentEngine(config: F.config(templates: ["initialAlert": "Status: {{phase}} · On-call: {{oncall}} · Paged: {{paged}}"]))
        let scenario = try EngineScenario("sev1", title: "Site down", engine: engine)
        #expect(scenario.declaration.changes.postTexts(to: .incidentRoom).first == "Status: investigating · On-call: <@bob>, <@dave> · Paged: <@bob>")
    }

    /// The variables docs/templates.md documents, read from its table.
    private static func documentedVariables() throws -> [(name: String, scope: String)] {
        let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/templates.md"), encoding: .utf8)
        let table = try #require(text.components(separatedBy: "## Variables").last)
        return table.split(separator: "\n").compactMap { line -> (String, String)? in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, cells[0].hasPrefix("`") else { return nil }
            return (cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")), cells[1])
        }
    }

    @Test func everyVariableOfEveryTemplateIsDocumentedAndProvided() throws {
        let documented = try Self.documentedVariables()
        let names = Set(documented.map(\.name))
        #expect(documented.count > 50, "the table was read")

        // An incident with everything set: roles, acknowledgement, a public status, every fact.
        var config = F.config()
        config.incidents.links = ["statusPage": "https://status.example.com"]
        config.severities[0].description = "All hands"
        config.incidentTypes = [IncidentTypeConfig(id: "security", name: "Security")]
        var scenario = try EngineScenario("sev1", title: "Site down", engine: try IncidentEngine(config: config))
        scenario.run(.ack(nil), by: F.bob, at: F.time("09:02"))
        #expect(scenario.run(.setType(nil, "security"), at: F.time("09:02")).outcome == .applied)
        for (role, user) in [(IncidentRole.commander, F.carol), (.techLead, F.dave), (.comms, F.alice), (.scribe, F.bob), (.author, F.carol)] {
            scenario.run(.role(nil, role, user), at: F.time("09:03"))
        }
        scenario.run(.status(nil, .identified, text: "Certificate expired"), at: F.time("09:04"))
        for fact in IncidentFact.allCases {
            let input: FactInput =
                fact.isTime ? .time(.clock(hour: 8, minute: fact == .lastKnownGood ? 30 : fact == .startedAt ? 40 : 50)) : .text("the \(fact.rawValue)")
            #expect(scenario.run(.set(nil, FactAssignment(fact: fact, input: input)), at: F.time("09:05")).outcome == .applied, "\(fact)")
        }
        let values = scenario.engine.values(scenario.incident, now: F.time("09:10"))
        // Every value the engine gives every template is in the table…
        for key in values.keys {
            let documentedName = key.hasPrefix("is_") ? "is_<severity id>" : key
            #expect(names.contains(documentedName), "\(key) is not documented in docs/templates.md")
        }
        // …and every variable the table says every template has is there.
        for variable in documented where variable.scope == "every" {
            let key = variable.name == "is_<severity id>" ? "is_sev1" : variable.name
            #expect(values[key] != nil, "\(variable.name) is documented for every template but not provided")
        }
        // The message-specific ones are provided by their messages.
        let onCall = scenario.engine.onCallValues(on: .console, at: F.monday, overrides: [:])
        #expect(onCall["oncall"] as? String == "<@bob>, <@dave>")
        #expect(onCall["oncall_primary"] as? String == "<@bob>")
        let summary = scenario.engine.summaryValues(scenario.incident, endedAt: F.time("10:00"))
        for key in ["endedAt", "duration", "timeToAcknowledge", "timeToMitigate", "timeToResolve"] {
            #expect(summary[key] != nil, "summary lacks \(key)")
            #expect(names.contains(key))
        }
        #expect(values["timeToDetect"] as? String == "10 min")
        #expect(values["links"] as? [String: String] == ["statusPage": "https://status.example.com"])
        #expect((values["facts"] as? [[String: String]])?.count == IncidentFact.allCases.count)
    }

    @Test func aTemplateUsingEveryVariableRendersThemAll() throws {
        var config = F.config(templates: [
            "update": "#{{updateNumber}} {{phase}} IC {{commander}} TL {{techLead}} comms {{comms}} scribe {{scribe}} "
                + "impact {{impact}} service {{service}} started {{startedAt}} ttd {{timeToDetect}} {{links.statusPage}}"
                + "{{#facts}} [{{name}}={{value}}]{{/facts}}"
        ])
        config.incidents.links = ["statusPage": "https://status.example.com"]
        var scenario = try EngineScenario("sev1", title: "payments: Payment processing down", engine: try IncidentEngine(config: config))
        scenario.run(.role(nil, .commander, F.carol), at: F.time("09:01"))
        scenario.run(.role(nil, .techLead, F.dave), at: F.time("09:01"))
        scenario.run(.role(nil, .comms, F.alice), at: F.time("09:01"))
        scenario.run(.role(nil, .scribe, F.bob), at: F.time("09:01"))
        scenario.run(.set(nil, FactAssignment(fact: .impact, input: .text("All payments fail"))), at: F.time("09:02"))
        scenario.run(.set(nil, FactAssignment(fact: .startedAt, input: .time(.clock(hour: 8, minute: 45)))), at: F.time("09:02"))
        let update = scenario.run(.update(nil, text: "Rolling back"), at: F.time("09:15"))
        #expect(
            update.changes.postTexts(to: .incidentRoom) == [
                "#1 investigating IC <@carol> TL <@dave> comms <@alice> scribe <@bob> impact All payments fail service payments "
                    + "started 2025-11-10 08:45 UTC ttd 15 min https://status.example.com [impact=All payments fail] [startedAt=2025-11-10 08:45 UTC] [service=payments]"
            ])
    }
}
