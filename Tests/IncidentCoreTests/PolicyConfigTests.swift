import Foundation
import Testing

@testable import IncidentCore

/// The policy keys of `bot-config.json` (docs/policy.md): what they load into, and one line naming the
/// JSON path for each thing wrong with them.
@Suite("Policy configuration")
struct PolicyConfigTests {
    /// A small valid config; `policy` is spliced into sev3, `top` into the top level.
    static func json(sev1: String = "", sev3: String = "", top: String = "") -> String {
        """
        {
          "platforms": { "console": {} },
          "people": { "alice": {}, "bob": {}, "carol": {} },
          "groups": { "leads": ["alice", "carol"] },
          "oncall": {
            "rotations": [{ "id": "primary", "members": ["alice", "bob"], "period": "1w", "handoff": "monday 09:00", "timezone": "UTC" }],
            "escalation": [{ "after": "0s", "notify": ["rotation:primary"] }]
          },
          "paging": { "webhooks": [{ "id": "phone", "url": "https://pager.example.com", "secret": "s3cret-s3cret" }] },
          "severities": [
            { "id": "sev1", "name": "Critical", "page": true, "ackWithin": "5m" \(sev1) },
            { "id": "sev3", "name": "Minor" \(sev3) }
          ] \(top)
        }
        """
    }

    static let calendar =
        #", "calendar": { "timeZone": "Europe/Berlin", "workingDays": ["mon", "tue", "wed", "thu", "fri"], "workingHours": "09:00-17:30", "holidays": ["2026-12-24", "12-25"], "sprint": { "length": "2w", "anchor": "2026-01-05" } }"#

    static func problems(_ json: String) -> [String] {
        switch ConfigLoader.load(json: json, environment: [:]) {
        case .success: []
        case .failure(let errors): errors.problems.map(\.description)
        }
    }

    @Test("every policy key loads into the model")
    func loads() throws {
        let sev1 = #"""
            , "respondWithin": "15m",
            "escalation": [{ "after": "0s", "notify": ["group:leads"] }, { "after": "10m", "notify": ["person:bob"] }],
            "notify": [
              { "id": "ceo", "at": "1h", "notify": ["person:carol", "channel:console:leadership", "webhook:phone"] },
              { "at": "30m", "from": "lastUpdate", "notify": ["rotation:primary"], "unless": ["mitigated", "updated"], "repeat": "30m" }
            ],
            "checkpoints": [{ "id": "ic", "at": "15m", "unless": "role:ic assigned", "say": "Who is IC, {{owner}}?" }]
            """#
        let config = try ConfigLoader.load(
            json: Self.json(
                sev1: sev1, sev3: #", "respondWithin": "next business day""#,
                top: Self.calendar + #", "incidentTypes": [{ "id": "security", "name": "Security", "notify": [{ "notify": ["person:carol"] }] }]"#),
            environment: [:]
        ).get()
        let policy = try #require(config.severity(id: "sev1"))
        #expect(policy.respondWithin == .span(.minutes(15)))
        #expect(
            policy.escalation == [
                EscalationStep(after: .zero, notify: [.group("leads")]), EscalationStep(after: .minutes(10), notify: [.person("bob")]),
            ])
        #expect(
            policy.notify == [
                PolicyRule(id: "ceo", at: .span(.hours(1)), notify: [.person("carol"), .channel(platform: .console, name: "leadership"), .webhook("phone")]),
                PolicyRule(
                    id: "2", at: .span(.minutes(30)), from: .lastUpdate, notify: [.rotation("primary")], unless: [.mitigated, .updated],
                    repeatEvery: .minutes(30)),
            ])
        #expect(policy.checkpoints == [PolicyRule(id: "ic", at: .span(.minutes(15)), unless: [.roleAssigned(.commander)], say: "Who is IC, {{owner}}?")])
        #expect(config.severity(id: "sev3")?.respondWithin == .nextBusinessDay)
        let calendar = try #require(config.calendar)
        #expect(calendar.timeZone.identifier == "Europe/Berlin")
        #expect(calendar.workingDays == [2, 3, 4, 5, 6])
        #expect(calendar.opens == 9 * 60 && calendar.closes == 17 * 60 + 30)
        #expect(calendar.holidays == ["2026-12-24", "12-25"])
        #expect(calendar.sprint == .init(lengthDays: 14, anchor: .init(year: 2026, month: 1, day: 5)))
        #expect(
            config.incidentTypes == [
                IncidentTypeConfig(id: "security", name: "Security", notify: [PolicyRule(id: "1", at: .span(.zero), notify: [.person("carol")])])
            ])
        #expect(
            config.policyRules(severity: "sev1", type: "security").map(\.key) == [
                "respond", "severity:notify.ceo", "severity:notify.2", "severity:checkpoint.ic", "type.security:notify.1",
            ])
    }

    @Test("004-25: an `if` group is any of / all of its members, nested; severity: and type: compare the incident's; a plain list stays all-of")
    func conditionGroups() throws {
        let sev1 = #"""
            , "meeting": "https://meet.example.com/review",
            "notify": [
              { "id": "cto", "at": "1h", "notify": ["person:carol"], "if": { "anyOf": ["severity:sev1", { "allOf": ["type:security", "public-facing"] }] }, "unless": "mitigated" },
              { "id": "both", "at": "1h", "notify": ["person:bob"], "if": ["type:security", "public-facing"] }
            ]
            """#
        let config = try ConfigLoader.load(
            json: Self.json(sev1: sev1, top: #", "incidentTypes": [{ "id": "security", "meeting": "https://meet.example.com/security" }]"#), environment: [:]
        ).get()
        let rules = try #require(config.severity(id: "sev1")).notify
        #expect(rules[0].onlyIf == [.anyOf([.severity("sev1"), .allOf([.type("security"), .publicFacing])])])  // 004-25
        #expect(rules[1].onlyIf == [.type("security"), .publicFacing])
        #expect(config.severity(id: "sev1")?.meeting == "https://meet.example.com/review")  // 000-19
        #expect(config.incidentType(id: "security")?.meeting == "https://meet.example.com/security")  // 000-19

        let declared = Date(timeIntervalSince1970: 1_800_000_000)
        func incident(severity: String, type: String?, publicFacing: Bool) -> Incident {
            var incident = Incident(
                id: IncidentID(1), title: "t", severity: severity, platform: .console, origin: Conversation(platform: .console, channelID: "c"),
                channelName: "c", declaredBy: ChatUser(id: "u"), declaredAt: declared)
            incident.type = type
            if publicFacing { incident.facts = [IncidentFact.publicFacing.rawValue: FactValue(text: "yes", setAt: declared, setBy: nil)] }
            return incident
        }
        let group = try #require(rules[0].onlyIf?.first)
        #expect(group.holds(for: incident(severity: "sev1", type: nil, publicFacing: false), since: declared))  // 004-25 "if major outage"
        #expect(group.holds(for: incident(severity: "sev3", type: "security", publicFacing: true), since: declared))  // 004-25
        #expect(!group.holds(for: incident(severity: "sev3", type: "security", publicFacing: false), since: declared))
        #expect(!group.holds(for: incident(severity: "sev3", type: nil, publicFacing: true), since: declared))
        #expect(group.leaves == [.severity("sev1"), .type("security"), .publicFacing])
        #expect(group.description == "any of (severity:sev1, all of (type:security, public-facing))")
    }

    @Test("the shipped bot-config.json keeps loading: the policy keys are all optional")
    func shippedConfig() throws {
        let config = try ConfigLoader.load(json: ConfigLoader.embeddedDefaultJSON, environment: [:]).get()
        #expect(config.calendar == nil && config.incidentTypes.isEmpty)
        #expect(config.severities.allSatisfy { $0.notify.isEmpty && $0.checkpoints.isEmpty && $0.escalation == nil && $0.respondWithin == nil })
    }

    /// (where the mistake goes, the exact problem lines).
    static let cases: [(sev1: String, sev3: String, top: String, expected: [String])] = [
        // The old key that silently did nothing now says what to use instead (runbook-rules side finding B).
        (
            "", #", "ackWithin": "1h""#, "",
            [
                #"severities[1].ackWithin: does nothing without "page": true (it times the escalation of a page); for a response clock without paging use "respondWithin" instead"#
            ]
        ),
        // respondWithin
        (
            "", #", "respondWithin": "1bd""#, "",
            [#"severities[1].respondWithin: "1bd" counts business time: add a "calendar" (timeZone, workingDays, workingHours, holidays)"#]
        ),
        (
            "", #", "respondWithin": "next sprint""#, #", "calendar": { "timeZone": "UTC" }"#,
            [#"severities[1].respondWithin: "next sprint" needs calendar.sprint (length and anchor)"#]
        ),
        (
            "", #", "respondWithin": "soon""#, "",
            [
                #"severities[1].respondWithin: "soon" is not a duration, a business duration ("5bd", "4bh"), "next business day", "next sprint", "tomorrow HH:MM" or "next business day HH:MM""#
            ]
        ),
        ("", #", "respondWithin": "1.5bd""#, Self.calendar, [#"severities[1].respondWithin: "1.5bd" is not a business duration such as "1bd" or "4bh""#]),
        ("", #", "respondWithin": "0s""#, "", ["severities[1].respondWithin: must be longer than 0s"]),
        // escalation
        (#", "escalation": []"#, "", "", ["severities[0].escalation: must list at least one step (leave it out to use oncall.escalation)"]),
        (
            #", "escalation": [{ "after": "0s", "notify": ["channel:console:ops"] }]"#, "", "",
            [
                #"severities[0].escalation[0].notify[0]: "channel:console:ops": an escalation step notifies people (rotation:, person:, group:) or mailboxes (email:); put channels and webhooks in a severity's "notify" rules"#
            ]
        ),
        (
            #", "escalation": [{ "after": "0s", "notify": ["person:carl"] }]"#, "", "",
            [#"severities[0].escalation[0].notify[0]: no person "carl" in people (did you mean "carol"?)"#]
        ),
        (#", "escalation": [{ "notify": ["person:bob"] }]"#, "", "", ["severities[0].escalation[0].after: missing required field"]),
        // notify rules
        (#", "notify": [{ "at": "5m" }]"#, "", "", ["severities[0].notify[0].notify: missing required field"]),
        (#", "notify": [{ "notify": ["group:lead"] }]"#, "", "", [#"severities[0].notify[0].notify[0]: no group "lead" in groups (did you mean "leads"?)"#]),
        (
            #", "notify": [{ "notify": ["channel:slack:security"] }]"#, "", "",
            ["severities[0].notify[0].notify[0]: platform slack is not enabled in platforms (enabled: console)"]
        ),
        (
            #", "notify": [{ "notify": ["webhook:phon"] }]"#, "", "",
            [#"severities[0].notify[0].notify[0]: no webhook "phon" in paging.webhooks (did you mean "phone"?)"#]
        ),
        (
            #", "notify": [{ "notify": ["rotation:primry"] }]"#, "", "",
            [#"severities[0].notify[0].notify[0]: no rotation "primry" in oncall.rotations (did you mean "primary"?)"#]
        ),
        (
            #", "notify": [{ "notify": ["leads"] }]"#, "", "",
            [
                #"severities[0].notify[0].notify[0]: "leads" is not one of "rotation:<id>", "person:<id>", "group:<name>", "email:<address>", "channel:<platform>:<name>", "webhook:<id>", "webhook:<url>", "discord:<id>" (did you mean "group:leads"?)"#
            ]
        ),
        (
            #", "notify": [{ "notify": ["channel:discord:x"] }]"#, "", "",
            [
                #"severities[0].notify[0].notify[0]: "channel:discord:x" is not one of "rotation:<id>", "person:<id>", "group:<name>", "email:<address>", "channel:<platform>:<name>", "webhook:<id>", "webhook:<url>", "discord:<id>""#
            ]
        ),
        (#", "notify": [{ "notify": [] }]"#, "", "", ["severities[0].notify[0].notify: must list at least one target"]),
        (
            #", "notify": [{ "notify": ["person:bob"], "unless": "acknowleged" }]"#, "", "",
            [
                #"severities[0].notify[0].unless: "acknowleged" is not a condition (acknowledged, mitigated, resolved, updated, public-facing, role:<ic|lead|comms|scribe|author> assigned, severity:<id>, type:<id>)"#
            ]
        ),
        (
            #", "notify": [{ "notify": ["person:bob"], "unless": ["mitigated", "role:boss assigned"] }]"#, "", "",
            [
                #"severities[0].notify[0].unless[1]: "role:boss assigned" is not a condition (acknowledged, mitigated, resolved, updated, public-facing, role:<ic|lead|comms|scribe|author> assigned, severity:<id>, type:<id>)"#
            ]
        ),
        // 004-25: condition groups, and the severities and types they name.
        (
            #", "notify": [{ "notify": ["person:bob"], "if": { "anyOf": [] } }]"#, "", "",
            [#"severities[0].notify[0].if.anyOf: must list at least one condition"#]
        ),
        (
            #", "notify": [{ "notify": ["person:bob"], "if": { "oneOf": ["mitigated"] } }]"#, "", "",
            [#"severities[0].notify[0].if: a condition group is {"anyOf": [...]} or {"allOf": [...]}, with that one key"#]
        ),
        (
            #", "notify": [{ "notify": ["person:bob"], "if": [{ "anyOf": ["severity:sev1", { "allOf": ["public-facing", "acked"] }, "resovled"] }] }]"#, "", "",
            [
                #"severities[0].notify[0].if[0].anyOf[2]: "resovled" is not a condition (acknowledged, mitigated, resolved, updated, public-facing, role:<ic|lead|comms|scribe|author> assigned, severity:<id>, type:<id>)"#
            ]
        ),
        (
            #", "notify": [{ "notify": ["person:bob"], "if": { "anyOf": ["severity:sev2", "type:security"] } }]"#, "", "",
            [
                #"severities[0].notify[0].if: no severity "sev2" in severities (did you mean "sev1"?); no incident type "security" in incidentTypes"#
            ]
        ),
        (#", "meeting": "zoom room 3""#, "", "", [#"severities[0].meeting: "zoom room 3" is not an http or https URL"#]),
        (
            #", "notify": [{ "notify": ["person:bob"], "from": "paged" }]"#, "", "",
            [#"severities[0].notify[0].from: "paged" is not one of declared, acknowledged, lastUpdate, mitigated, resolved"#]
        ),
        (#", "notify": [{ "notify": ["person:bob"], "repeat": "0s" }]"#, "", "", ["severities[0].notify[0].repeat: must be longer than 0s"]),
        (
            #", "notify": [{ "notify": ["person:bob"], "when": "5m" }]"#, "", "",
            [#"severities[0].notify[0].when: unknown key (known keys: id, at, from, notify, unless, if, repeat, say, subject)"#]
        ),
        (
            #", "notify": [{ "id": "x", "notify": ["person:bob"] }, { "id": "x", "notify": ["person:bob"] }]"#, "", "",
            [#"severities[0].notify[1].id: "x" is also the id of severities[0].notify[0]; rule ids in one list must differ"#]
        ),
        // checkpoints
        (#", "checkpoints": [{ "at": "15m" }]"#, "", "", ["severities[0].checkpoints[0].say: missing required field"]),
        (#", "checkpoints": [{ "say": "Assign an IC" }]"#, "", "", ["severities[0].checkpoints[0].at: missing required field"]),
        (#", "checkpoints": [{ "at": "15m", "say": "{{#open}} unclosed" }]"#, "", "", []),
        // calendar
        ("", "", #", "calendar": { "workingDays": ["mon"] }"#, ["calendar.timeZone: missing required field"]),
        (
            "", "", #", "calendar": { "timeZone": "Europe/Berln" }"#,
            [#"calendar.timeZone: "Europe/Berln" is not a known time zone (did you mean "Europe/Berlin"?)"#]
        ),
        (
            "", "", #", "calendar": { "timeZone": "UTC", "workingDays": ["mon", "fryday"] }"#,
            [#"calendar.workingDays[1]: "fryday" is not a weekday (mon, tue, … or monday, tuesday, …)"#]
        ),
        (
            "", "", #", "calendar": { "timeZone": "UTC", "workingHours": "17:00-09:00" }"#,
            [#"calendar.workingHours: "17:00-09:00" is not working hours such as "09:00-17:00" (opening before closing, same day)"#]
        ),
        (
            "", "", #", "calendar": { "timeZone": "UTC", "holidays": ["2026-02-30"] }"#,
            [#"calendar.holidays[0]: "2026-02-30" is not a date such as "2026-12-24" (or "12-25" for every year)"#]
        ),
        (
            "", "", #", "calendar": { "timeZone": "UTC", "sprint": { "length": "36h", "anchor": "2026-01-05" } }"#,
            [#"calendar.sprint.length: "1d12h" is not whole days (sprints are counted in days, e.g. "2w")"#]
        ),
        ("", "", #", "calendar": { "timeZone": "UTC", "sprint": { "length": "2w" } }"#, ["calendar.sprint.anchor: missing required field"]),
        (
            "", "", #", "calendar": { "timeZone": "UTC", "weekend": [] }"#,
            [#"calendar.weekend: unknown key (known keys: timeZone, workingDays, workingHours, holidays, sprint)"#]
        ),
        // discord
        (#", "notify": [{ "notify": ["discord:public"] }]"#, "", "", [#"severities[0].notify[0].notify[0]: no webhook "public" in discord.webhooks"#]),
        (
            #", "notify": [{ "notify": ["discord:publc"] }]"#, "",
            #", "discord": { "webhooks": [{ "id": "public", "url": "https://discord.com/api/webhooks/1/abc" }] }"#,
            [#"severities[0].notify[0].notify[0]: no webhook "publc" in discord.webhooks (did you mean "public"?)"#]
        ),
        (
            "", "", #", "discord": { "webhooks": [{ "id": "public", "url": "discord-webhook-token" }] }"#,
            ["discord.webhooks[0].url: is not an http(s) URL (a Discord incoming webhook URL, https://discord.com/api/webhooks/…)"]
        ),
        (
            "", "", #", "discord": { "webhooks": [{ "id": "a", "url": "https://d.example/1" }, { "id": "a", "url": "https://d.example/2" }] }"#,
            [#"discord.webhooks[1].id: "a" is also the id of discord.webhooks[0]; webhook ids must differ"#]
        ),
        // incidentTypes
        (
            "", "", #", "incidentTypes": [{ "id": "security" }, { "id": "security" }]"#,
            [#"incidentTypes[1].id: "security" is also the id of incidentTypes[0]; incident type ids must differ"#]
        ),
        ("", "", #", "incidentTypes": [{ "name": "Security" }]"#, ["incidentTypes[0].id: missing required field"]),
        (
            "", "", #", "incidentTypes": [{ "id": "security", "channels": [] }]"#,
            [#"incidentTypes[0].channels: unknown key (known keys: id, name, description, notify, checkpoints, templates, meeting)"#]
        ),
        (
            "", "", #", "incidentTypes": [{ "id": "security", "notify": [{ "notify": ["person:eve"] }] }]"#,
            [#"incidentTypes[0].notify[0].notify[0]: no person "eve" in people"#]
        ),
    ]

    @Test("each mistake is one line naming its path", arguments: 0..<cases.count)
    func problem(_ index: Int) {
        let sample = Self.cases[index]
        let found = Self.problems(Self.json(sev1: sample.sev1, sev3: sample.sev3, top: sample.top))
        if sample.expected.isEmpty {
            // A `say` that is not valid mustache: reported, whatever the library's wording.
            #expect(found.count == 1 && found[0].hasPrefix("severities[0].checkpoints[0].say: is not a valid mustache template"), "\(found)")
        } else {
            #expect(found == sample.expected)
        }
    }

    // That bot-config.schema.json describes exactly these keys (policyRule, checkpoint, calendar, incidentTypes,
    // discord), with the same required ones, is checked with every other object by ConfigSchemaTests.
}
