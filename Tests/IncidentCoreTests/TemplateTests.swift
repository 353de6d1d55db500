import Foundation
import Testing

@testable import IncidentCore

@Suite("Templates")
struct TemplateTests {
    typealias F = EngineFixture

    /// A value for every variable any default template uses.
    static var everyValue: [String: Any] {
        [
            "id": "INC-7", "title": "Checkout is down", "severity": "SEV1", "severityName": "Critical", "status": "Investigating",
            "declaredAt": "2025-11-10 09:00 UTC", "declaredBy": "<@alice>", "commander": "<@carol>", "updateEvery": "15m",
            "channel": "#incident-2025-11-10-001", "now": "2025-11-10 10:00 UTC", "text": "Rolled back", "time": "10:00 UTC",
            "nextUpdate": "10:15 UTC", "owner": "<@carol>", "sinceLastUpdate": "30 min", "missed": 2, "duration": "1 h",
            "reviewDue": "2025-11-12 10:00 UTC", "endedAt": "2025-11-10 10:00 UTC", "timeToAcknowledge": "4 min",
            "timeToMitigate": "30 min", "timeToResolve": "1 h", "resolution": "Pool resized", "mentions": "<@bob>",
            "reason": "was escalated by <@alice>", "due": "now", "date": "2025-11-10",
            "timeline": [["time": "09:00 UTC", "text": "Declared"], ["time": "09:04 UTC", "text": "Acknowledged"]],
            "count": 3, "more": 2,
            "incidents": [["id": "INC-7", "severity": "SEV1", "title": "Checkout is down", "link": "#incident-2025-11-10-001"]],
        ]
    }

    @Test("every default template renders completely", arguments: DefaultTemplates.all.keys.sorted())
    func defaultRendersCompletely(name: String) throws {
        let text = try TemplateRenderer().render(name, Self.everyValue)
        #expect(!text.isEmpty)
        #expect(!text.contains("{{") && !text.contains("}}"), "\(name) left a tag: \(text)")
        #expect(text.contains("INC-7"), "\(name) does not name the incident")
        #expect(text == text.trimmingCharacters(in: .newlines), "\(name) leaves blank lines at its ends")
    }

    /// Optional sections leave blank lines at a message's end; only those go, whatever their whitespace.
    @Test(
        "blank lines at the end are trimmed, nothing else",
        arguments: [
            ("", ""), ("\n\n", ""), (" \t\n \n", ""), ("Declared", "Declared"), ("Declared\n", "Declared"),
            ("Declared  \n\n", "Declared  "), ("Declared\n \n\t\n", "Declared"), ("\n  Owner: Ann\n\nNext\n\n", "\n  Owner: Ann\n\nNext"),
            ("Line\n\u{00A0}\n\u{3000}", "Line"), ("a\n\nb", "a\n\nb"), ("é\n", "é"),
        ])
    func blankLinesAtTheEnd(text: String, trimmed: String) {
        #expect(TemplateRenderer.trimmingBlankLinesAtTheEnd(text) == trimmed)
    }

    @Test("the default reminder, filled in")
    func reminderText() throws {
        let text = try TemplateRenderer().render("reminder", Self.everyValue)
        #expect(
            text == """
                ⏰ <@carol>: INC-7 has had no update for 30 min (SEV1 updates every 15m). 2 reminders were missed while Klaxon was down.
                Post one: /incident update INC-7 <what changed>
                """)
        var onTime = Self.everyValue
        onTime["missed"] = nil
        let withoutMissed = try TemplateRenderer().render("reminder", onTime)
        #expect(!withoutMissed.contains("missed"))
        #expect(withoutMissed.hasPrefix("⏰ <@carol>: INC-7 has had no update for 30 min (SEV1 updates every 15m).\n"))
    }

    @Test("the post-mortem lists the timeline")
    func postmortemTimeline() throws {
        let text = try TemplateRenderer().render("postmortem", Self.everyValue)
        #expect(text.contains("- 09:00 UTC Declared\n- 09:04 UTC Acknowledged"))
        #expect(text.contains("### Root Cause\nPool resized"))
    }

    @Test("nothing is HTML-escaped", arguments: ["update", "page", "escalation", "initialAlert"])
    func noEscaping(name: String) throws {
        var values = Self.everyValue
        let raw = #"R&D <script> "quoted" 'single' & <@U0BOB> <#room>"#
        for key in ["text", "title", "reason", "mentions"] { values[key] = raw }
        let text = try TemplateRenderer().render(name, values)
        #expect(text.contains(raw), "\(name): \(text)")
        #expect(!text.contains("&amp;") && !text.contains("&lt;") && !text.contains("&quot;") && !text.contains("&#39;"))
    }

    @Test("a title with markup reaches the room as typed")
    func engineDoesNotEscape() throws {
        let scenario = try EngineScenario("sev1", title: "DB <primary> & replica \"lag\"")
        let alert = try #require(scenario.declaration.changes.postTexts(to: .incidentRoom).first)
        #expect(alert.hasPrefix("🚨 [SEV1 INCIDENT] DB <primary> & replica \"lag\""))
    }

    @Test("an override replaces its default and leaves the others alone")
    func overrideReplacesDefault() throws {
        let renderer = try TemplateRenderer(overrides: ["page": "PAGE {{mentions}} for {{id}} & {{title}}"])
        #expect(renderer.render("page", Self.everyValue) == "PAGE <@bob> for INC-7 & Checkout is down")
        let defaultEscalation = try TemplateRenderer().render("escalation", Self.everyValue)
        #expect(renderer.render("escalation", Self.everyValue) == defaultEscalation)
    }

    @Test("the engine renders with the config's overrides")
    func engineUsesOverrides() throws {
        let config = F.config(templates: ["initialAlert": "ALERT {{id}}: {{title}} ({{severityName}})", "page": "Wake up {{mentions}}"])
        let scenario = try EngineScenario("sev1", engine: try F.engine(config))
        let room = scenario.declaration.changes.postTexts(to: .incidentRoom)
        #expect(room == ["ALERT INC-1: Checkout is down (Critical)", "Wake up <@bob>"])
    }

    @Test("an invalid override is reported by name", arguments: ["{{#open}} never closed", "{{/close}} without opening", "{{#a}}{{/b}}"])
    func invalidOverride(source: String) throws {
        let error = #expect(throws: TemplateRenderer.InvalidTemplate.self) {
            try TemplateRenderer(overrides: ["reminder": source])
        }
        #expect(error?.name == "reminder")
        #expect(error?.description.hasPrefix("templates.reminder: is not a valid mustache template") == true)
        #expect(throws: TemplateRenderer.InvalidTemplate.self) {
            try IncidentEngine(config: F.config(templates: ["summary": source]))
        }
    }

    @Test("optional sections leave no blank lines behind")
    func optionalSections() throws {
        var values = Self.everyValue
        for key in ["updateEvery", "nextUpdate", "text", "reviewDue", "resolution", "commander"] { values[key] = nil }
        let renderer = try TemplateRenderer()
        #expect(!renderer.render("initialAlert", values).hasSuffix("\n"))
        #expect(renderer.render("initialAlert", values).contains("Incident Commander: unassigned (take it: /incident role ic @you)"))
        #expect(renderer.render("update", values) == "UPDATE [10:00 UTC] INC-7 · SEV1 · Investigating")
        #expect(renderer.render("resolution", values) == "✅ RESOLVED [10:00 UTC] INC-7 · Checkout is down\nDuration: 1 h.")
        let summary = renderer.render("summary", values)
        #expect(!summary.contains("\n\n"))
        #expect(!summary.contains("Fix:") && !summary.contains("Incident Commander:"))
    }
}

@Suite("Channel names")
struct ChannelNameTests {
    typealias F = EngineFixture

    @Test(
        "Slack: lowercase letters, digits, - and _ only, umlauts folded, separators trimmed",
        arguments: [
            ("Payment API Down!", "payment-api-down"),
            ("Störung über Köln", "storung-uber-koln"),
            ("ÄÖÜ äöü", "aou-aou"),
            ("Ünïcödé Çafé", "unicode-cafe"),
            ("a - b", "a-b"),
            ("db -- replica", "db-replica"),
            ("--Hello__World--", "hello__world"),
            ("  spaced   out  ", "spaced-out"),
            ("_under_", "under"),
            ("🔥 Fire in DC-2", "fire-in-dc-2"),
            ("v1.2 rollout", "v1-2-rollout"),
            ("snake_case_name", "snake_case_name"),
            ("!!!", "incident"),
            ("___", "incident"),
            ("", "incident"),
        ])
    func slack(raw: String, expected: String) {
        #expect(ChannelNameRules.slack.sanitize(raw) == expected)
    }

    @Test("Slack names are at most 80 characters and never end in a separator after the cut")
    func slackLength() {
        #expect(ChannelNameRules.slack.sanitize(String(repeating: "a", count: 100)) == String(repeating: "a", count: 80))
        #expect(ChannelNameRules.slack.sanitize(String(repeating: "a", count: 79) + " b") == String(repeating: "a", count: 79))
    }

    @Test("Rocket.Chat keeps dots", arguments: [("v1.2 rollout", "v1.2-rollout"), (".hidden.", "hidden"), ("Äpfel.Birnen", "apfel.birnen")])
    func rocketChat(raw: String, expected: String) {
        #expect(ChannelNameRules.rocketChat.sanitize(raw) == expected)
    }

    @Test("Mattermost names are at most 64 characters and have no dots")
    func mattermost() {
        #expect(ChannelNameRules.mattermost.sanitize(String(repeating: "x", count: 100)) == String(repeating: "x", count: 64))
        #expect(ChannelNameRules.mattermost.sanitize(String(repeating: "x", count: 63) + " y") == String(repeating: "x", count: 63))
        #expect(ChannelNameRules.mattermost.sanitize("v1.2") == "v1-2")
    }

    @Test("each platform gets its rules; the console uses Slack's")
    func rulesPerPlatform() {
        #expect(ChannelNameRules.rules(for: .slack) == .slack)
        #expect(ChannelNameRules.rules(for: .console) == .slack)
        #expect(ChannelNameRules.rules(for: .rocketchat) == .rocketChat)
        #expect(ChannelNameRules.rules(for: .mattermost) == .mattermost)
    }

    static let utc = TimeZone(identifier: "UTC")!

    @Test(
        "{slug}, {id}, {severity} and {seq} fill the template",
        arguments: [
            ("inc-{id}-{slug}", "inc-42-payment-api-500s-on-checkout"),
            ("{severity}-{date}-{seq}", "sev1-2025-11-10-003"),
            ("Incident {seq}: {slug}", "incident-003-payment-api-500s-on-checkout"),
        ])
    func template(template: String, expected: String) {
        let namer = ChannelNamer(template: template, timeZone: Self.utc)
        let name = namer.name(
            id: IncidentID(42), daySequence: 3, title: "Payment API: 500s on /checkout", severity: "sev1", declaredAt: F.monday, rules: .slack)
        #expect(name == expected)
    }

    @Test("the slug is cut to 40 characters")
    func slugLength() {
        let namer = ChannelNamer(template: "{slug}", timeZone: Self.utc)
        let title = "The quarterly billing export has been failing for every enterprise tenant since Tuesday"
        let name = namer.name(id: IncidentID(1), daySequence: 1, title: title, severity: "sev2", declaredAt: F.monday, rules: .slack)
        #expect(name == "the-quarterly-billing-export-has-been-fa")
        #expect(name.count == 40)
    }

    @Test(
        "{date} is the day in the configured zone, across midnight",
        arguments: [
            ("Europe/Berlin", "2025-11-10 22:59", "2025-11-10"),
            ("Europe/Berlin", "2025-11-10 23:30", "2025-11-11"),
            ("America/Los_Angeles", "2025-11-11 05:00", "2025-11-10"),
            ("America/Los_Angeles", "2025-11-11 08:00", "2025-11-11"),
            ("Asia/Tokyo", "2025-11-10 14:59", "2025-11-10"),
            ("Asia/Tokyo", "2025-11-10 15:00", "2025-11-11"),
            ("UTC", "2025-11-10 23:59", "2025-11-10"),
        ])
    func dateInZone(zone: String, utc: String, expectedDay: String) throws {
        let namer = ChannelNamer(template: "incident-{date}-{seq}", timeZone: try #require(TimeZone(identifier: zone)))
        let at = F.date(utc)
        #expect(namer.day(of: at) == expectedDay)
        #expect(namer.name(id: IncidentID(9), daySequence: 1, title: "x", severity: "sev1", declaredAt: at, rules: .slack) == "incident-\(expectedDay)-001")
    }

    @Test("the engine names and numbers by the day in incidents.timeZone")
    func engineDayInZone() throws {
        let engine = try F.engine(F.config(timeZone: "Europe/Berlin"))
        let lateEvening = F.date("2025-11-10 23:30")  // 00:30 on the 11th in Berlin
        #expect(engine.numberingDay(of: lateEvening) == "2025-11-11")
        let decision = engine.decide(
            .declare(severity: "sev3", title: "x"), context: F.context(), incident: nil, allocation: (IncidentID(5), 1), now: lateEvening)
        #expect(decision.changes.writtenIncident?.channelName == "incident-2025-11-11-001")
    }
}
