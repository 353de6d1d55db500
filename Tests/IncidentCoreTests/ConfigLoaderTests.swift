import Foundation
import Testing

@testable import IncidentCore

// MARK: - Fixtures

/// The repository root, found from this file so the tests read the files that ship (the test file may be
/// reached through a symlink, hence the resolving).
private let repositoryRoot = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent()  // IncidentCoreTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()

/// Values for the `${VAR}` references the cases use. The secrets are long enough to be scrubbed.
private let testEnvironment = [
    "SLACK_SIGNING_SECRET": "signing-secret-0123456789abcdef",
    "SLACK_BOT_TOKEN": "test-bot-token-0123456789",
    "ROCKETCHAT_AUTH_TOKEN": "rc-auth-token-0123456789",
    "MATTERMOST_BOT_TOKEN": "mm-bot-token-0123456789",
    "MATTERMOST_COMMAND_TOKEN": "mm-command-token-0123456789",
    "EMPTY": "",
]

private let slackSection = #"{"signingSecret": "${SLACK_SIGNING_SECRET}", "botToken": "${SLACK_BOT_TOKEN}", "announceChannel": "C0INCIDENTS"}"#
private let rocketChatSection =
    #"{"serverURL": "https://chat.example.com", "userId": "klaxonbot", "authToken": "${ROCKETCHAT_AUTH_TOKEN}", "announceChannel": "incidents"}"#
private let mattermostSection =
    #"{"serverURL": "https://mm.example.com", "botToken": "${MATTERMOST_BOT_TOKEN}", "teamId": "t1", "commandToken": "${MATTERMOST_COMMAND_TOKEN}", "announceChannel": "incidents"}"#

private func problemLines(_ result: Result<KlaxonConfig, ConfigErrors>) -> [String] {
    switch result {
    case .success: []
    case .failure(let errors): errors.problems.map(\.description)
    }
}

private func loadedConfig(_ json: String, environment: [String: String] = testEnvironment) throws -> KlaxonConfig {
    try ConfigLoader.load(json: json, environment: environment).get()
}

/// The shipped config with `edits` applied. Each edit sets the value at a path written the way problems
/// name it (`severities[2].updateEvery`) to some JSON text, or removes it (nil). Keys come out sorted,
/// which changes nothing the loader reports except the order of unknown keys within one object.
private func editedDefaultConfig(_ edits: [(path: String, json: String?)]) throws -> String {
    var document = try JSONSerialization.jsonObject(with: Data(ConfigLoader.embeddedDefaultJSON.utf8))
    for edit in edits {
        let newValue = try edit.json.map { try JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) }
        document = setting(newValue, at: pathSteps(edit.path)[...], in: document) ?? [:]
    }
    let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])
    return String(decoding: data, as: UTF8.self)
}

private enum PathStep {
    case key(String)
    case index(Int)
}

/// `severities[2].updateEvery` → key severities, index 2, key updateEvery.
private func pathSteps(_ path: String) -> [PathStep] {
    path.split(separator: ".").flatMap { part -> [PathStep] in
        let pieces = part.split(separator: "[")
        return [.key(String(pieces[0]))] + pieces.dropFirst().map { .index(Int($0.dropLast())!) }
    }
}

private func setting(_ newValue: Any?, at steps: ArraySlice<PathStep>, in container: Any?) -> Any? {
    guard let step = steps.first else { return newValue }
    switch step {
    case .key(let key):
        var object = container as? [String: Any] ?? [:]
        object[key] = setting(newValue, at: steps.dropFirst(), in: object[key])
        return object
    case .index(let index):
        var array = container as? [Any] ?? []
        if let element = setting(newValue, at: steps.dropFirst(), in: array[index]) {
            array[index] = element
        } else {
            array.remove(at: index)
        }
        return array
    }
}

// MARK: - The shipped config

@Suite struct ShippedConfigTests {
    /// The replicas example beside deploy/docker-compose.yml (docs/scaling.md) stays a valid config.
    @Test func replicasExampleLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let json = try String(contentsOf: root.appendingPathComponent("deploy/replicas.config.json"), encoding: .utf8)
        let environment = ["KLAXON_API_TOKEN": "example-api-token-0123456789", "DATABASE_URL": "postgres://klaxon:pw@postgres:5432/klaxon?sslmode=disable"]
        let result = ConfigLoader.load(json: json, environment: environment)
        #expect(problemLines(result) == [])
        let config = try result.get()
        #expect(config.storage.postgres?.poolSize == 8 && config.storage.sqlite == nil)
        #expect(config.storage.leaseTime == TimeSpan(seconds: 10))
    }

    @Test func shippedConfigLoadsWithoutProblemsOrEnvironment() throws {
        let result = ConfigLoader.load(json: ConfigLoader.embeddedDefaultJSON, environment: [:])
        #expect(problemLines(result) == [])
        let config = try result.get()

        #expect(config.server.host == "127.0.0.1")
        #expect(config.server.port == 8080)
        #expect(config.storage.sqlite?.path == "data/klaxon.sqlite")
        #expect(config.logging.level == "info")
        #expect(config.logging.format == .plain)
        #expect(config.platforms.enabled == [.console])
        #expect(config.platforms.console?.announceChannel == "incidents")
        #expect(config.incidents.mode == .channel)
        #expect(config.incidents.channelName == "incident-{date}-{seq}")
        #expect(config.incidents.monitorFor == .minutes(30))
        #expect(config.outbox.retryFor == .hours(24))
        #expect(config.outbox.maxAttempts == nil)
        #expect(config.templates.isEmpty)
    }

    @Test func shippedSeveritiesFollowTheRunbooks() throws {
        let config = try loadedConfig(ConfigLoader.embeddedDefaultJSON)
        #expect(config.severities.map(\.id) == ["sev1", "sev2", "sev3", "sev4"])

        var sev1 = SeverityPolicy(
            id: "sev1", aliases: ["p0", "critical"], name: "Critical", description: "System down, all users affected",
            updateEvery: .minutes(15), ackWithin: .minutes(5), page: true, reviewWithin: .hours(48), escalateAfter: .hours(1)
        )
        // Runbook 004: MTTA < 5 min, MTTM < 30 min, MTTR < 2 h for P1.
        sev1.targets = SeverityTargets(acknowledge: .minutes(5), mitigate: .minutes(30), resolve: .hours(2))
        let sev2 = SeverityPolicy(
            id: "sev2", aliases: ["p1", "major"], name: "Major", description: "Major feature broken, many users affected",
            updateEvery: .minutes(30), ackWithin: .minutes(15), page: true, reviewWithin: .hours(48)
        )
        let sev3 = SeverityPolicy(
            id: "sev3", aliases: ["p2", "minor"], name: "Minor", description: "Minor feature broken, workaround exists",
            updateEvery: .hours(2), page: false, reviewWithin: .hours(5 * 24)
        )
        let sev4 = SeverityPolicy(id: "sev4", aliases: ["p3", "low"], name: "Low", description: "Cosmetic or non-urgent issue")
        #expect(config.severities == [sev1, sev2, sev3, sev4])

        #expect(config.severity(named: "SEV-1")?.id == "sev1")
        #expect(config.severity(named: "P0")?.id == "sev1")
        #expect(config.severity(named: "major")?.id == "sev2")
        #expect(config.severity(named: "low")?.id == "sev4")
    }

    @Test func shippedOnCallHasTwoWeeklyRotationsAndAThreeStepChain() throws {
        let config = try loadedConfig(ConfigLoader.embeddedDefaultJSON)
        #expect(config.people.keys.sorted() == ["alice", "bob", "carol", "dave"])
        #expect(config.people["alice"]?.slack == "U0ALICE")
        #expect(config.personID(for: ChatUser(id: "bob"), on: .console) == "bob")
        #expect(config.personID(for: ChatUser(id: "U0CAROL"), on: .slack) == "carol")

        let primary = try #require(config.oncall.rotation(id: "primary"))
        #expect(primary.members == ["alice", "bob"])
        #expect(primary.period == TimeSpan(seconds: 7 * 86_400))
        #expect(primary.handoff == Handoff(weekday: 2, hour: 9, minute: 0))
        #expect(primary.timezone == "Europe/Berlin")
        #expect(config.oncall.rotation(id: "secondary")?.members == ["carol", "dave"])

        #expect(
            config.oncall.escalation == [
                EscalationStep(after: .zero, notify: [.rotation("primary")]),
                EscalationStep(after: .minutes(5), notify: [.rotation("secondary")]),
                EscalationStep(after: .minutes(15), notify: [.person("carol")]),
            ])
        #expect(config.oncall.repeatEscalation == 0)
    }

    @Test func embeddedDefaultIsTheRepositoryFile() throws {
        let file = try String(contentsOf: repositoryRoot.appendingPathComponent("bot-config.json"), encoding: .utf8)
        #expect(ConfigLoader.embeddedDefaultJSON == file)
    }

    @Test func templateNamesAreTheDefaultTemplates() {
        #expect(Set(ConfigLoader.templateNames) == Set(DefaultTemplates.all.keys))
    }
}

// MARK: - The schema

@Suite struct ConfigSchemaTests {
    private func schema() throws -> [String: Any] {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("bot-config.schema.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func schemaIsDraft2020AndClosed() throws {
        let schema = try schema()
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect(schema["additionalProperties"] as? Bool == false)
        #expect(schema["required"] as? [String] == ["severities"])
    }

    /// An object the schema describes by its properties, and where it sits in the example document.
    private struct DescribedObject {
        var path: ConfigPath
        var properties: Set<String>
        var required: Set<String>
        var closed: Bool
    }

    /// A document holding every key the schema describes (one element per array, one entry `x` per map),
    /// with the objects it passed on the way. Leaves are strings: the values need not be valid, only the
    /// shape matters.
    private func example(
        of node: [String: Any], at path: ConfigPath, in schema: [String: Any], into objects: inout [DescribedObject],
        leaves: inout [ConfigPath: [String: Any]]
    ) throws -> JSONValue {
        var node = node
        while let reference = node["$ref"] as? String {
            let name = try #require(reference.split(separator: "/").last.map(String.init))
            node = try #require((schema["$defs"] as? [String: Any])?[name] as? [String: Any], "no $defs/\(name)")
        }
        if let first = (node["anyOf"] as? [[String: Any]])?.first, first["$ref"] == nil { node = first }
        if let properties = node["properties"] as? [String: Any] {
            objects.append(
                DescribedObject(
                    path: path, properties: Set(properties.keys), required: Set(node["required"] as? [String] ?? []),
                    closed: node["additionalProperties"] as? Bool == false))
            return .object(
                try properties.keys.sorted().map { key in
                    JSONMember(
                        key: key,
                        value: try example(of: try #require(properties[key] as? [String: Any]), at: path.key(key), in: schema, into: &objects, leaves: &leaves))
                })
        }
        if let items = node["items"] as? [String: Any] {
            return .array([try example(of: items, at: path.index(0), in: schema, into: &objects, leaves: &leaves)])
        }
        if let entries = node["additionalProperties"] as? [String: Any] {
            return .object([JSONMember(key: "x", value: try example(of: entries, at: path.key("x"), in: schema, into: &objects, leaves: &leaves))])
        }
        if let first = (node["anyOf"] as? [[String: Any]])?.first { return try example(of: first, at: path, in: schema, into: &objects, leaves: &leaves) }
        leaves[path] = node
        return .string("x")
    }

    /// The schema and the config types describe the same keys: every key a type asks for is in the
    /// schema and every key the schema has is asked for, object by object; and the schema's `required`
    /// are the keys the types mark `.required`. Decoding an example with every key of the schema records
    /// what the types asked for.
    @Test func theSchemaAndTheConfigTypesDescribeTheSameKeys() throws {
        let schema = try schema()
        var objects: [DescribedObject] = []
        var leaves: [ConfigPath: [String: Any]] = [:]
        let document = try example(of: schema, at: .root, in: schema, into: &objects, leaves: &leaves)
        let session = ConfigDecodingSession(document: document, environment: [:])
        _ = ConfigLoader.decode(document, in: session)
        #expect(objects.count >= 25)
        for object in objects {
            #expect(object.closed, "\(object.path) is not closed")
            var asked = Set(session.consultedKeys[object.path] ?? [])
            if object.path == .root { asked.insert("$schema") }
            #expect(asked.subtracting(object.properties).isEmpty, "\(object.path): the schema lacks \(asked.subtracting(object.properties).sorted())")
            #expect(object.properties.subtracting(asked).isEmpty, "\(object.path): no type reads \(object.properties.subtracting(asked).sorted())")
            #expect(session.requiredKeys[object.path] ?? [] == object.required, "\(object.path): required")
        }
        // Integer bounds and word lists: the schema's and the rules' are the same.
        for (path, leaf) in leaves {
            if leaf["type"] as? String == "integer" {
                let bounds = (leaf["minimum"] as? Int ?? Int.min)...(leaf["maximum"] as? Int ?? Int.max)
                #expect(session.ranges[path] == bounds, "\(path): the schema says \(bounds), the rules \(String(describing: session.ranges[path]))")
            }
            if let words = leaf["enum"] as? [String] {
                #expect(session.choices[path] == words, "\(path): the schema says \(words)")
            }
        }
        for path in session.ranges.keys { #expect(leaves[path]?["type"] as? String == "integer", "\(path) is an integer the schema does not bound") }
        for path in session.choices.keys { #expect(leaves[path]?["enum"] != nil, "\(path) is a choice the schema does not list") }
        // Every object a type read is one the schema describes.
        let described = Set(objects.map(\.path))
        for path in session.consultedKeys.keys where !described.contains(path) {
            #expect(session.consultedKeys[path]?.allSatisfy { $0 == "x" } ?? true, "\(path) is read but not described")
        }
        #expect(try Set((objectNode(["platforms"], in: schema)["properties"] as? [String: Any] ?? [:]).keys) == Set(PlatformKind.allCases.map(\.rawValue)))
        // The top-level `templates` and each severity's share one definition.
        let templates = ((schema["$defs"] as? [String: Any])?["templates"] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
        #expect(Set(templates.keys) == Set(ConfigLoader.templateNames))
    }

    private func objectNode(_ path: [String], in schema: [String: Any]) throws -> [String: Any] {
        var current = schema
        for name in path {
            current = try #require((current["properties"] as? [String: Any])?[name] as? [String: Any], "no \(name)")
        }
        return current
    }
}

// MARK: - One problem at a time

/// A broken config and exactly the `path: message` lines it must produce.
struct ProblemCase: Sendable, CustomTestStringConvertible {
    /// Edits to the shipped config, or nil when `rawJSON` is the whole document.
    var edits: [(path: String, json: String?)]
    var rawJSON: String?
    var expected: [String]

    var testDescription: String { expected.joined(separator: " | ") }

    static func set(_ path: String, _ json: String, _ expected: String...) -> ProblemCase {
        ProblemCase(edits: [(path, json)], rawJSON: nil, expected: expected)
    }

    static func remove(_ path: String, _ expected: String...) -> ProblemCase {
        ProblemCase(edits: [(path, nil)], rawJSON: nil, expected: expected)
    }

    static func edits(_ edits: [(path: String, json: String?)], _ expected: String...) -> ProblemCase {
        ProblemCase(edits: edits, rawJSON: nil, expected: expected)
    }

    static func raw(_ json: String, _ expected: String...) -> ProblemCase {
        ProblemCase(edits: [], rawJSON: json, expected: expected)
    }
}

private let knownTopLevelKeys =
    "server, storage, logging, platforms, incidents, severities, people, oncall, templates, outbox, paging, alerts, groups, permissions, retention, email, tickets, statusPage, postmortems, calendar, incidentTypes, discord"
private let severityKeys =
    "id, aliases, name, description, updateEvery, ackWithin, page, reviewWithin, escalateAfter, ticket, openAs, targets, templates, respondWithin, escalation, notify, checkpoints, monitorFor, meeting"
private let templateList =
    "initialAlert, announcement, announceDigest, update, reminder, resolution, summary, page, escalation, review, postmortem, emailSubject, emailText, emailHTML, ticketTitle, ticketBody, ticketResolved, publicAcknowledged, ticketReopened, actionItemTitle, actionItemBody"

private let problemCases: [ProblemCase] = [
    // Types, ranges and unknown keys.
    .set("server.port", #""abc""#, #"server.port: expected an integer, got "abc""#),
    .set("server.port", "70000", "server.port: must be between 1 and 65535, got 70000"),
    .set("server.port", "0", "server.port: must be between 1 and 65535, got 0"),
    .set("server.port", "8080.5", "server.port: expected an integer, got 8080.5"),
    .set("server.port", "true", "server.port: expected an integer, got true"),
    .set("server.prot", "8080", #"server.prot: unknown key (did you mean "port"?)"#),
    .set("server.maxBodyBytes", "0", "server.maxBodyBytes: must be at least 1, got 0"),
    .set("server.host", #""  ""#, "server.host: must not be empty"),
    .set("server", #""localhost""#, #"server: expected an object, got "localhost""#),
    .set("sever", "{}", #"sever: unknown key (did you mean "server"?)"#),
    .set("colour", #""red""#, "colour: unknown key (known keys: \(knownTopLevelKeys))"),
    .set("storage.sqlite.path", "5", "storage.sqlite.path: expected a string, got 5"),
    .set("storage.sqlite", "[]", "storage.sqlite: expected an object, got an array"),
    .set("logging.level", #""verbose""#, #"logging.level: "verbose" is not one of trace, debug, info, notice, warning, error, critical"#),
    .set("logging.format", #""xml""#, #"logging.format: "xml" is not one of plain, json"#),
    .set("logging.levle", #""info""#, #"logging.levle: unknown key (did you mean "level"?)"#),

    // Platforms and their secrets.
    .set("platforms", "{}", "platforms: at least one platform must be configured (console needs no credentials)"),
    .set("platforms.console.announceChannel", "true", "platforms.console.announceChannel: expected a string, got true"),
    .set("platforms.discord", "{}", "platforms.discord: unknown key (known keys: console, slack, rocketchat, mattermost)"),
    .edits(
        [("platforms.slack", slackSection), ("platforms.slack.botToken", #""${SLACK_TOKEN}""#)],
        "platforms.slack.botToken: environment variable SLACK_TOKEN is not set"),
    .edits(
        [("platforms.slack", slackSection), ("platforms.slack.botToken", nil)],
        "platforms.slack.botToken: missing required field"),
    .edits(
        [("platforms.slack", slackSection), ("platforms.slack.botToken", "12345")],
        "platforms.slack.botToken: expected a string, got a number"),
    .edits(
        [("platforms.slack", slackSection), ("platforms.slack.signingSecret", #""${EMPTY}""#)],
        "platforms.slack.signingSecret: must not be empty"),
    .edits(
        [("platforms.slack", slackSection), ("platforms.slack.apiBaseURL", #""slack.com/api""#)],
        #"platforms.slack.apiBaseURL: "slack.com/api" is not an http or https URL"#),
    .edits(
        [("platforms.slack", slackSection), ("platforms.slack.botTokn", #""x""#)],
        #"platforms.slack.botTokn: unknown key (did you mean "botToken"?)"#),
    .edits(
        [("platforms.rocketchat", rocketChatSection), ("platforms.rocketchat.triggers", "[]")],
        "platforms.rocketchat.triggers: must list at least one trigger"),
    .edits(
        [("platforms.rocketchat", rocketChatSection), ("platforms.rocketchat.poll", #"{"rooms": ["GENERAL"], "every": "0s"}"#)],
        "platforms.rocketchat.poll.every: must be longer than 0s"),
    .edits(
        [("platforms.rocketchat", rocketChatSection), ("platforms.rocketchat.poll", #"{"every": "10s"}"#)],
        "platforms.rocketchat.poll.rooms: missing required field"),
    .edits(
        [("platforms.mattermost", mattermostSection), ("platforms.mattermost.teamId", "[]")],
        "platforms.mattermost.teamId: expected a string, got an array"),

    // Incidents.
    .set("incidents.mode", #""threads""#, #"incidents.mode: "threads" is not one of channel, thread"#),
    .set(
        "incidents.channelName", #""incident-{date}""#,
        #"incidents.channelName: "incident-{date}" must contain {seq}, {id}, {slug} or {service} so that incidents are told apart"#),
    .set(
        "incidents.channelName", #""inc-{sev}-{seq}""#,
        "incidents.channelName: unknown placeholder {sev} (known: {date}, {seq}, {id}, {slug}, {severity}, {service})"),
    .set("incidents.timeZone", #""Europe/Berln""#, #"incidents.timeZone: "Europe/Berln" is not a known time zone (did you mean "Europe/Berlin"?)"#),
    .set("incidents.overdueAfterCadences", "0", "incidents.overdueAfterCadences: must be at least 1, got 0"),
    .set("incidents.monitorFor", #""soon""#, #"incidents.monitorFor: "soon" is not a duration"#),

    // Severities.
    .set("severities[2].updateEvery", #""-5m""#, #"severities[2].updateEvery: "-5m" is not a duration"#),
    .set("severities[0].ackWithin", "5", #"severities[0].ackWithin: expected a duration such as "15m", got 5"#),
    .set("severities[0].updateEvery", #""0s""#, "severities[0].updateEvery: must be longer than 0s"),
    .set("severities[0].reviewWithin", #""2 days""#, #"severities[0].reviewWithin: "2 days" is not a duration"#),
    .set("severities[0].reviewWithin", #""366d""#, #"severities[0].reviewWithin: "366d" is longer than the maximum of 365d (one year)"#),
    .set(
        "incidents.monitorFor", #""99999999999999999999s""#,
        #"incidents.monitorFor: "99999999999999999999s" is longer than the maximum of 365d (one year)"#),
    .set("severities[0].page", #""yes""#, #"severities[0].page: expected a boolean, got "yes""#),
    .set("severities", "[]", "severities: at least one severity is required"),
    .remove("severities", "severities: missing required field"),
    .remove("severities[0].name", "severities[0].name: missing required field"),
    .set("severities[1].id", #""SEV-1""#, #"severities[1].id: "SEV-1" is already used by severities[0] (sev1)"#),
    .set("severities[1].aliases", #"["p1", "Critical"]"#, #"severities[1].aliases[1]: "Critical" is already used by severities[0] (sev1)"#),
    .set("severities[0].aliases", #"["sev 2"]"#, #"severities[0].aliases[0]: "sev 2" is already used by severities[1] (sev2)"#),
    .set("severities[0].aliases", #"["-"]"#, #"severities[0].aliases[0]: "-" is not a usable alias"#),
    .set("severities[0].id", #""sev 1""#, #"severities[0].id: "sev 1" is not a valid id (letters, digits, ".", "_" and "-", starting with a letter or digit)"#),
    .set("severities[3].colour", #""grey""#, "severities[3].colour: unknown key (known keys: \(severityKeys))"),
    .set("severities[1]", #""sev2""#, #"severities[1]: expected an object, got "sev2""#),

    // People.
    .set("people.bob.slack", #""U0ALICE""#, #"people.bob.slack: "U0ALICE" is also the slack identity of people.alice"#),
    .set("people.alice.timezone", #""Nowhere/Atlantis""#, #"people.alice.timezone: "Nowhere/Atlantis" is not a known time zone"#),
    .set(
        "people.alice.pager", #""555-0100""#,
        "people.alice.pager: unknown key (known keys: name, slack, rocketchat, mattermost, console, timezone, phone, email)"),
    .set(
        "people.erin smith", "{}",
        #"people["erin smith"]: "erin smith" is not a valid person id (letters, digits, ".", "_" and "-", starting with a letter or digit)"#),

    // Rotations.
    .set("oncall.rotations[0].members", #"["alice", "bobb"]"#, #"oncall.rotations[0].members[1]: no person "bobb" in people (did you mean "bob"?)"#),
    .set("oncall.rotations[0].members", "[]", "oncall.rotations[0].members: must list at least one person"),
    .remove("oncall.rotations[0].members", "oncall.rotations[0].members: missing required field"),
    .set("oncall.rotations[0].handoff", #""mon 9am""#, #"oncall.rotations[0].handoff: "mon 9am" is not a hand-off time such as "monday 09:00" or "09:00""#),
    .set("oncall.rotations[0].period", #""3d""#, #"oncall.rotations[0].period: "3d" does not fit handoff "monday 09:00": a weekly hand-off needs whole weeks"#),
    .edits(
        [("oncall.rotations[0].handoff", #""09:00""#), ("oncall.rotations[0].period", #""12h""#)],
        #"oncall.rotations[0].period: "12h" does not fit handoff "09:00": a daily hand-off needs whole days"#),
    .set("oncall.rotations[0].timezone", #""Berlin""#, #"oncall.rotations[0].timezone: "Berlin" is not a known time zone"#),
    .set("oncall.rotations[0].start", #""2024-02-30""#, #"oncall.rotations[0].start: "2024-02-30" is not a date such as "2024-01-01""#),
    // Problems come in document order, and these edited documents have their keys sorted.
    .set(
        "oncall.rotations[1].id", #""primary""#,
        #"oncall.escalation[1].notify[0]: no rotation "secondary" in oncall.rotations"#,
        #"oncall.rotations[1].id: "primary" is already used by oncall.rotations[0]"#),

    // Escalation.
    .set(
        "oncall.escalation[0].notify", #"["primary"]"#,
        #"oncall.escalation[0].notify[0]: "primary" is not one of "rotation:<id>", "person:<id>", "group:<name>", "email:<address>" (did you mean "rotation:primary"?)"#
    ),
    .set(
        "oncall.escalation[1].notify", #"["rotation:secundary"]"#,
        #"oncall.escalation[1].notify[0]: no rotation "secundary" in oncall.rotations (did you mean "secondary"?)"#),
    .set("oncall.escalation[2].notify", #"["person:erin"]"#, #"oncall.escalation[2].notify[0]: no person "erin" in people"#),
    .set("oncall.escalation[2].notify", "[]", "oncall.escalation[2].notify: must list at least one target"),
    .set("oncall.escalation[0].after", #""-1m""#, #"oncall.escalation[0].after: "-1m" is not a duration"#),
    .remove("oncall.escalation[0].after", "oncall.escalation[0].after: missing required field"),
    .set("oncall.repeatEscalation", "-1", "oncall.repeatEscalation: must be at least 0, got -1"),

    // Templates and outbox.
    .set("templates.anouncement", #""x""#, #"templates.anouncement: unknown template (did you mean "announcement"?)"#),
    .set("templates.banner", #""x""#, "templates.banner: unknown template (known templates: \(templateList))"),
    .set("templates.update", "42", "templates.update: expected a string, got 42"),
    .set("severities[0].templates", #"{"anouncement": "x"}"#, #"severities[0].templates.anouncement: unknown template (did you mean "announcement"?)"#),
    .set("severities[0].templates", "[]", "severities[0].templates: expected an object, got an array"),
    .set(
        "incidents.links", #"{"status page": "https://status.example.com"}"#,
        #"incidents.links["status page"]: "status page" is not a usable link name (letters, digits, ".", "_" and "-")"#),
    .set("incidents.links", #"{"statusPage": 7}"#, "incidents.links.statusPage: expected a string, got 7"),
    .set("incidents.idFormat", #""INC-{year}""#, "incidents.idFormat: must contain {n} or {seq} so that every incident gets its own id"),
    .set(
        "incidents.idFormat", #""INC-{yr}-{seq}""#,
        "incidents.idFormat: unknown placeholder {yr} (known: {n}, {seq}, {year}, {month}, {day}, {date}; {n:3} and {seq:3} pad)"),
    .set("incidents.idFormat", "3", "incidents.idFormat: expected a string, got 3"),
    .set(
        "oncall.topicChannels", #"[{"platform": "mattermost", "channel": "devops"}]"#,
        #"oncall.topicChannels[0].platform: "mattermost" is not configured in platforms"#),
    .set(
        "oncall.topicChannels", #"[{"platform": "console", "channel": "devops", "rotation": "primry"}]"#,
        #"oncall.topicChannels[0].rotation: no rotation "primry" in oncall.rotations (did you mean "primary"?)"#),
    .set("oncall.topicChannels", #"[{"platform": "console"}]"#, "oncall.topicChannels[0].channel: missing required field"),
    .set(
        "oncall.topicChannels", #"[{"platform": "console", "channel": "devops", "topic": "x"}]"#,
        "oncall.topicChannels[0].topic: unknown key (known keys: platform, channel, rotation)"),
    .set("outbox.maxAttempts", "0", "outbox.maxAttempts: must be at least 1, got 0"),
    .set("outbox.retryFor", "\"0s\"", "outbox.retryFor: must be longer than 0s"),
    .set("retention.consoleLines", "0", "retention.consoleLines: must be between 1 and 100000000, got 0"),
    .set("server.headerTimeout", "\"soon\"", #"server.headerTimeout: "soon" is not a duration"#),

    // Pager webhooks.
    .set(
        "paging.webhooks", #"[{"id": "sms", "url": "ftp://pager.example.com", "secret": "s3cret-value"}]"#,
        #"paging.webhooks[0].url: "ftp://pager.example.com" is not an http or https URL"#),
    .set("paging.webhooks", #"[{"id": "sms", "url": "https://pager.example.com"}]"#, "paging.webhooks[0].secret: missing required field"),
    .set(
        "statusPage.components", #"[{"id": "api", "name": "API"}, {"id": "API", "name": "Other"}]"#,
        #"statusPage.components[1].id: "API" is also the id of statusPage.components[0]; component ids must differ"#),
    .set(
        "statusPage.links", #"[{"title": "Support", "url": "mailto:help@example.com"}]"#,
        #"statusPage.links[0].url: "mailto:help@example.com" is not an http or https URL"#),
    .set("statusPage.webhooks", #"[{"id": "sp", "url": "https://status.example.com"}]"#, "statusPage.webhooks[0].secret: missing required field"),
    .set("severities[0].targets", #"{"acknowledge": "soon"}"#, #"severities[0].targets.acknowledge: "soon" is not a duration"#),
    .set(
        "paging.webhooks", #"[{"id": "sms", "url": "https://pager.example.com", "secret": "s3cret-value", "severities": ["sev9"]}]"#,
        #"paging.webhooks[0].severities[0]: unknown severity "sev9" (did you mean "sev1"?)"#),
    .set(
        "paging.webhooks", #"[{"id": "sms", "url": "https://pager.example.com", "secret": "s3cret-value", "events": ["paged"]}]"#,
        #"paging.webhooks[0].events[0]: "paged" is not one of page, escalation, acknowledged, resolved"#),
    .set(
        "paging.webhooks",
        #"[{"id": "a", "url": "https://a.example.com", "secret": "s3cret-value"}, {"id": "a", "url": "https://b.example.com", "secret": "s3cret-value"}]"#,
        #"paging.webhooks[1].id: "a" is also the id of paging.webhooks[0]; webhook ids must differ"#),
    .set("paging.webhook", "[]", #"paging.webhook: unknown key (did you mean "webhooks"?)"#),

    // Email (docs/email.md).
    .set("email", #"{"smtp": {"host": "mail.example.com"}}"#, "email.smtp.from: missing required field"),
    .set(
        "email", #"{"smtp": {"host": "mail.example.com", "from": "Klaxon"}}"#,
        #"email.smtp.from: "Klaxon" is not a sender such as "klaxon@example.com" or "Klaxon <klaxon@example.com>""#),
    .set(
        "email", #"{"smtp": {"host": "mail.example.com", "from": "k@example.com", "tls": "ssl"}}"#,
        #"email.smtp.tls: "ssl" is not one of starttls, required, implicit, none"#),
    .set(
        "email", #"{"smtp": {"host": "mail.example.com", "from": "k@example.com", "username": "klaxon"}}"#,
        #"email.smtp.username: AUTH needs a password too: add password ("${SMTP_PASSWORD}") or passwordEnv"#),
    .set(
        "email", #"{"smtp": {"host": "mail.example.com", "from": "k@example.com", "username": "klaxon", "passwordEnv": "NO_SUCH_VARIABLE"}}"#,
        #"email.smtp.passwordEnv: the environment variable "NO_SUCH_VARIABLE" is not set"#),
    .set(
        "email", #"{"smtp": {"host": "mail.example.com", "from": "k@example.com", "username": "klaxon", "password": "${SLACK_BOT_TOKEN}", "tls": "none"}}"#,
        #"email.smtp.tls: "none" would send the password in clear: use "starttls", "required" or "implicit""#),
    .set(
        "email", #"{"smtp": {"host": "mail.example.com", "from": "k@example.com", "usernmae": "klaxon"}}"#,
        #"email.smtp.usernmae: unknown key (did you mean "username"?)"#),
    .set(
        "oncall.escalation[2].notify", #"["email:incidents@example.com"]"#,
        "oncall.escalation[2].notify[0]: email targets need email.smtp (docs/email.md)"),
    .set(
        "oncall.escalation[2].notify", #"["email:incidents"]"#,
        #"oncall.escalation[2].notify[0]: "email:incidents" is not an email target ("email:<address>", "email:person:<id>" or "email:group:<name>")"#),
    ProblemCase(
        edits: [("email", #"{"smtp": {"host": "mail.example.com", "from": "k@example.com"}}"#), ("oncall.escalation[2].notify", #"["email:person:carol"]"#)],
        rawJSON: nil, expected: ["oncall.escalation[2].notify[0]: people.carol has no email"]),
    ProblemCase(
        edits: [("email", #"{"smtp": {"host": "mail.example.com", "from": "k@example.com"}}"#), ("oncall.escalation[2].notify", #"["email:group:leeds"]"#)],
        rawJSON: nil, expected: [#"oncall.escalation[2].notify[0]: no group "leeds" in groups"#]),

    // Tickets (docs/tickets.md).
    .set("tickets", #"{"github": {}}"#, "tickets.github.token: missing required field"),
    .set(
        "tickets", #"{"github": {"token": "${SLACK_BOT_TOKEN}", "apiBaseURL": "api.github.com"}}"#,
        #"tickets.github.apiBaseURL: "api.github.com" is not an http or https URL"#),
    .set("severities[3].ticket", #"{"to": "github:acme/api"}"#, "severities[3].ticket.to: github targets need tickets.github (docs/tickets.md)"),
    .set("severities[3].openAs", #""ticket""#, #"severities[3].openAs: "ticket" needs a ticket: add "ticket": {"to": "github:<owner>/<repo>"}"#),
    .set("severities[3].openAs", #""issue""#, #"severities[3].openAs: "issue" is not one of channel, ticket"#),
    ProblemCase(
        edits: [("tickets", #"{"github": {"token": "${SLACK_BOT_TOKEN}"}}"#), ("severities[3].ticket", #"{"to": "acme/api", "labels": []}"#)],
        rawJSON: nil,
        expected: [
            "severities[3].ticket.labels: must list at least one label",
            #"severities[3].ticket.to: "acme/api" is not a ticket target such as "github:acme/api""#,
        ]),

    // Environment references outside the platforms.
    .set("severities[0].updateEvery", #""${UPDATE_EVERY}""#, "severities[0].updateEvery: environment variable UPDATE_EVERY is not set"),
    .set(
        "server.host", #""${1HOST}""#,
        #"server.host: invalid environment variable reference "${1HOST}": names are letters, digits and "_", not starting with a digit"#),
    .set("server.host", #""${HOST""#, #"server.host: "${" is not closed by "}" (write "$${" for a literal "${")"#),
    .set("server.port", #""${EMPTY:-eighty}""#, #"server.port: expected an integer, got "eighty""#),

    // The document itself.
    .raw(#"{"server": {"port": 8080,}}"#, #"$: malformed JSON at line 1, column 26: expected a key in double quotes, found "}""#),
    .raw(
        "{\n  \"server\": {\n    \"port\": 80\n  \n",
        "$: malformed JSON at line 5, column 1: expected \",\" or \"}\" after an object member, found the end of the document"),
    .raw("", "$: malformed JSON at line 1, column 1: the document is empty"),
    .raw(#"{"severities": [{"id": "sev1", "name": "Critical"}]} x"#, #"$: malformed JSON at line 1, column 54: unexpected "x" after the end of the document"#),
    .raw("[]", "$: expected an object, got an array"),
    .raw(#"{"server": {"port": 1, "port": 2}, "severities": [{"id": "sev1", "name": "Critical"}]}"#, "server.port: duplicate key"),
]

@Suite struct ConfigProblemTests {
    @Test(arguments: problemCases)
    func reportsExactlyTheExpectedProblem(_ problemCase: ProblemCase) throws {
        let json = try problemCase.rawJSON ?? editedDefaultConfig(problemCase.edits)
        let result = ConfigLoader.load(json: json, environment: testEnvironment)
        #expect(problemLines(result) == problemCase.expected)
    }

    @Test func theCaseTableCoversEnoughGround() {
        #expect(problemCases.count >= 40)
    }

    @Test func editingNothingLeavesAValidConfig() throws {
        let json = try editedDefaultConfig([])
        #expect(problemLines(ConfigLoader.load(json: json, environment: [:])) == [])
    }

    @Test func everyProblemIsReportedInDocumentOrder() {
        let json = """
            {
              "server": {"prot": 8080, "host": 5},
              "logging": {"level": "loud"},
              "platforms": {
                "console": {},
                "slack": {"signingSecret": "${SLACK_SIGNING_SECRET}", "botToken": "${NO_SUCH_TOKEN}"}
              },
              "incidents": {"channelName": "incident-{date}", "timeZone": "Mars/Olympus"},
              "severities": [
                {"id": "sev1", "name": "Critical", "updateEvery": "-5m"},
                {"id": "SEV1", "name": "Also critical", "page": "yes"}
              ],
              "people": {"alice": {}},
              "oncall": {
                "rotations": [{"id": "primary", "members": ["alice", "zed"], "period": "1w", "handoff": "monday 9", "timezone": "UTC"}],
                "escalation": [{"after": "0s", "notify": ["rotation:primary", "person:zed"]}]
              }
            }
            """
        let expected = [
            #"server.prot: unknown key (did you mean "port"?)"#,
            "server.host: expected a string, got 5",
            #"logging.level: "loud" is not one of trace, debug, info, notice, warning, error, critical"#,
            "platforms.slack.botToken: environment variable NO_SUCH_TOKEN is not set",
            "platforms.slack.announceChannel: missing required field",
            #"incidents.channelName: "incident-{date}" must contain {seq}, {id}, {slug} or {service} so that incidents are told apart"#,
            #"incidents.timeZone: "Mars/Olympus" is not a known time zone"#,
            #"severities[0].updateEvery: "-5m" is not a duration"#,
            #"severities[1].id: "SEV1" is already used by severities[0] (sev1)"#,
            #"severities[1].page: expected a boolean, got "yes""#,
            #"oncall.rotations[0].members[1]: no person "zed" in people"#,
            #"oncall.rotations[0].handoff: "monday 9" is not a hand-off time such as "monday 09:00" or "09:00""#,
            #"oncall.escalation[0].notify[1]: no person "zed" in people"#,
        ]
        let result = ConfigLoader.load(json: json, environment: testEnvironment)
        #expect(problemLines(result) == expected)
        guard case .failure(let errors) = result else { return }
        #expect(errors.description == expected.joined(separator: "\n"))
    }

    /// A value of the wrong kind is one problem: what it would have held is not reported missing too.
    @Test func aMistypedSectionIsOneProblem() throws {
        let json = try editedDefaultConfig([
            ("platforms.slack", #""yes""#), ("oncall.rotations[0]", "7"),
            ("alerts", #"{"sources": [{"id": "am", "kind": "alertmanager", "tokn": "x", "token": "secret-token-value"}], "storm": []}"#),
        ])
        #expect(
            problemLines(ConfigLoader.load(json: json, environment: testEnvironment)) == [
                #"alerts.sources[0].tokn: unknown key (did you mean "token"?)"#,
                "alerts.storm: expected an object, got an array",
                // The chain still names the rotation that is no longer there, as before the rewrite.
                #"oncall.escalation[0].notify[0]: no rotation "primary" in oncall.rotations"#,
                "oncall.rotations[0]: expected an object, got 7",
                #"platforms.slack: expected an object, got "yes""#,
            ])
    }

    @Test func duplicateKeysAreFoundAtAnyDepth() {
        let json = #"{"severities": [{"id": "sev1", "name": "Critical", "name": "Again"}], "people": {"al": {}, "al": {"slack": "U1"}}}"#
        #expect(problemLines(ConfigLoader.load(json: json, environment: [:])) == ["severities[0].name: duplicate key", "people.al: duplicate key"])
    }

    /// The cross-reference pass works on any config, not only on one the loader built.
    @Test func validateChecksCrossReferencesOfABuiltConfig() {
        var config = KlaxonConfig(severities: [SeverityPolicy(id: "sev1", name: "Critical")], people: ["alice": Person()])
        config.oncall.rotations = [
            RotationConfig(id: "primary", members: ["alice", "alcie"], period: .days(7), handoff: Handoff(weekday: 2, hour: 9, minute: 0), timezone: "UTC")
        ]
        config.oncall.escalation = [EscalationStep(after: .zero, notify: [.rotation("primary"), .rotation("secondary")])]
        config.permissions = ["declare:sev2": [.anyone]]
        #expect(
            config.validate().map(\.description) == [
                #"oncall.rotations[0].members[1]: no person "alcie" in people (did you mean "alice"?)"#,
                #"oncall.escalation[0].notify[1]: no rotation "secondary" in oncall.rotations"#,
                #"permissions["declare:sev2"]: unknown severity "sev2" (did you mean "sev1"?)"#,
            ])
    }

    @Test func problemsDescribeThemselvesAsPathColonMessage() {
        let problem = ConfigProblem(path: "server.port", message: "must be between 1 and 65535, got 0")
        #expect(problem.description == "server.port: must be between 1 and 65535, got 0")
        #expect(ConfigErrors(problems: [problem, problem]).description == "\(problem)\n\(problem)")
    }
}

// MARK: - Defaults

@Suite struct ConfigDefaultTests {
    @Test func missingSectionsTakeTheModelDefaults() throws {
        let config = try loadedConfig(#"{"severities": [{"id": "sev1", "name": "Critical"}]}"#, environment: [:])
        #expect(config.platforms.enabled == [.console])
        #expect(config.platforms.console?.announceChannel == "incidents")
        #expect(config.storage.sqlite?.path == "data/klaxon.sqlite")
        #expect(config.server.host == "127.0.0.1")
        #expect(config.server.port == 8080)
        #expect(config.server.maxBodyBytes == 1 << 20)
        #expect(config.logging.level == "info")
        #expect(config.incidents.mode == .channel)
        #expect(config.incidents.channelName == "incident-{date}-{seq}")
        #expect(config.incidents.timeZone == "UTC")
        #expect(config.incidents.overdueAfterCadences == 2)
        #expect(config.incidents.monitorFor == nil)
        #expect(config.people.isEmpty)
        #expect(config.oncall.rotations.isEmpty)
        #expect(config.oncall.escalation.isEmpty)
        #expect(config.outbox.retryFor == .hours(24))
        #expect(config.outbox.maxAttempts == nil)
        #expect(config.severities == [SeverityPolicy(id: "sev1", name: "Critical")])
        #expect(config.retention.inboundDedupe == .days(7))
        #expect(config.retention.deliveredOutbox == .days(30))
        #expect(config.retention.consoleLines == 10_000)
        #expect(config.server.headerTimeout.seconds == 10 && config.server.maxConnections == 4096)
    }

    /// Files written for the 12-attempt outbox keep loading; the cap still applies beside `retryFor`.
    @Test func anOlderOutboxSectionStillLoads() throws {
        let json = try editedDefaultConfig([("outbox", #"{"maxAttempts": 12}"#), ("retention", #"{"consoleLines": 50, "every": "10m"}"#)])
        let config = try ConfigLoader.load(json: Array(json.utf8), environment: [:]).get()
        #expect(config.outbox.maxAttempts == 12)
        #expect(config.outbox.retryFor == .hours(24))
        #expect(config.retention.consoleLines == 50)
        #expect(config.retention.every == .minutes(10))
    }

    @Test func nullMeansTheSameAsLeavingTheKeyOut() throws {
        let config = try loadedConfig(
            #"""
            {"server": null, "incidents": {"monitorFor": null},
             "severities": [{"id": "sev1", "name": "Critical", "updateEvery": null, "aliases": null}]}
            """#, environment: [:])
        #expect(config.server.port == 8080)
        #expect(config.incidents.monitorFor == nil)
        #expect(config.severities[0].updateEvery == nil)
    }

    @Test func platformsListedReplaceTheConsoleDefault() throws {
        let config = try loadedConfig(#"{"platforms": {"slack": \#(slackSection)}, "severities": [{"id": "sev1", "name": "Critical"}]}"#)
        #expect(config.platforms.enabled == [.slack])
        let slack = try #require(config.platforms.slack)
        #expect(slack.botToken.exposedValue == "test-bot-token-0123456789")
        #expect(slack.apiBaseURL == "https://slack.com/api")
        #expect(slack.appToken == nil)
        #expect(slack.announceChannel == "C0INCIDENTS")
    }

    @Test func allPlatformsTogether() throws {
        let json = #"""
            {"platforms": {"console": {"announceChannel": "ops"}, "slack": \#(slackSection),
                           "rocketchat": \#(rocketChatSection), "mattermost": \#(mattermostSection)},
             "severities": [{"id": "sev1", "name": "Critical"}]}
            """#
        let config = try loadedConfig(json)
        #expect(config.platforms.enabled == [.console, .slack, .rocketchat, .mattermost])
        #expect(config.platforms.announceChannel(for: .console) == "ops")
        #expect(config.platforms.rocketchat?.triggers == ["/incident", "!incident"])
        #expect(config.platforms.rocketchat?.webhookToken == nil)
        #expect(config.platforms.mattermost?.commandToken.exposedValue == "mm-command-token-0123456789")
    }

    @Test func rocketChatPollingAndTriggers() throws {
        let json = #"""
            {"platforms": {"rocketchat": {"serverURL": "http://localhost:3000", "userId": "bot", "authToken": "t0ken-literal",
                           "announceChannel": "incidents", "triggers": ["!sev"], "poll": {"rooms": ["GENERAL", "ops"], "every": "5s"}}},
             "severities": [{"id": "sev1", "name": "Critical"}]}
            """#
        let rocketChat = try #require(try loadedConfig(json).platforms.rocketchat)
        #expect(rocketChat.triggers == ["!sev"])
        #expect(rocketChat.poll?.rooms == ["GENERAL", "ops"])
        #expect(rocketChat.poll?.every == TimeSpan(seconds: 5))
    }

    @Test func pagerWebhooksWithDefaultsAndFilters() throws {
        let json = #"""
            {"severities": [{"id": "sev1", "name": "Critical"}, {"id": "sev2", "name": "Major"}],
             "people": {"alice": {"phone": "+15550100", "email": "alice@example.com"}},
             "paging": {"webhooks": [
                {"id": "sms", "url": "https://sms.example.com/hook", "secret": "${SLACK_SIGNING_SECRET}"},
                {"id": "voice", "url": "http://voice.internal:8080/", "secret": "literal-voice-secret", "severities": ["sev1"],
                 "events": ["page", "acknowledged", "resolved"]}]}}
            """#
        let config = try loadedConfig(json)
        #expect(config.paging.webhooks.map(\.id) == ["sms", "voice"])
        #expect(config.paging.webhooks[0].events == [.page, .escalation])
        #expect(config.paging.webhooks[0].secret.exposedValue == "signing-secret-0123456789abcdef")
        #expect(config.paging.webhooks(for: .page, severity: "sev2").map(\.id) == ["sms"])
        #expect(config.paging.webhooks(for: .page, severity: "sev1").map(\.id) == ["sms", "voice"])
        #expect(config.paging.webhooks(for: .resolved, severity: "sev1").map(\.id) == ["voice"])
        #expect(config.people["alice"]?.phone == "+15550100")
        #expect(config.people["alice"]?.email == "alice@example.com")
    }

    @Test func emailWithItsDefaultsAndTargets() throws {
        let json = #"""
            {"severities": [{"id": "sev1", "name": "Critical"}],
             "people": {"alice": {"email": "alice@example.com"}, "bob": {"email": "bob@example.com"}},
             "groups": {"leads": ["alice", "bob"]},
             "email": {"smtp": {"host": "mail.example.com", "from": "Klaxon <klaxon@example.com>", "username": "klaxon", "passwordEnv": "SLACK_BOT_TOKEN"}},
             "oncall": {"escalation": [{"after": "30m", "notify": ["email:eng-all@example.com", "email:person:alice", "email:group:leads"]}]}}
            """#
        let config = try loadedConfig(json)
        let smtp = try #require(config.email.smtp)
        #expect(smtp.port == 587)
        #expect(smtp.tls == .starttls)
        #expect(smtp.password?.exposedValue == "test-bot-token-0123456789")
        #expect(smtp.passwordEnv == "SLACK_BOT_TOKEN")
        #expect(smtp.timeout == TimeSpan(seconds: 30))
        #expect(config.oncall.escalation.first?.notify == [.email(.address("eng-all@example.com")), .email(.person("alice")), .email(.group("leads"))])
        #expect(config.oncall.escalation.first?.notify.map(\.description) == ["email:eng-all@example.com", "email:person:alice", "email:group:leads"])

        let implicit = try loadedConfig(
            #"""
            {"severities": [{"id": "sev1", "name": "Critical"}],
             "email": {"smtp": {"host": "mail.example.com", "from": "k@example.com", "tls": "implicit", "username": "k", "password": "${SLACK_BOT_TOKEN}"}}}
            """#)
        #expect(implicit.email.smtp?.port == 465)
        #expect(implicit.email.smtp?.password?.exposedValue == "test-bot-token-0123456789")
    }

    @Test func ticketsWithLabelsAndOpenAs() throws {
        let config = try loadedConfig(
            #"""
            {"severities": [
                {"id": "sev1", "name": "Critical", "ticket": {"to": "github:acme/api", "labels": ["bug", "P0-critical"]}},
                {"id": "sev3", "name": "Low", "ticket": {"to": "github:acme/api"}, "openAs": "ticket"}],
             "tickets": {"github": {"token": "${SLACK_BOT_TOKEN}", "apiBaseURL": "https://github.example.com/api/v3/"}}}
            """#)
        #expect(config.tickets.github?.token.exposedValue == "test-bot-token-0123456789")
        #expect(config.tickets.github?.apiBaseURL == "https://github.example.com/api/v3")
        #expect(config.severities[0].ticket == TicketPolicy(to: TicketTarget(owner: "acme", repo: "api"), labels: ["bug", "P0-critical"]))
        #expect(config.severities[0].openAs == .channel)
        #expect(config.severities[1].openAs == .ticket)
        #expect(config.severities[1].ticket?.labels == [])
    }

    @Test func personConsoleIdentityDefaultsToTheirID() throws {
        let config = try loadedConfig(#"{"people": {"erin": {"slack": "U0ERIN"}}, "severities": [{"id": "sev1", "name": "Critical"}]}"#)
        #expect(config.people["erin"]?.console == "erin")
        #expect(config.personID(for: ChatUser(id: "erin"), on: .console) == "erin")
    }

    @Test func templatesOverrideByName() throws {
        let config = try loadedConfig(#"{"templates": {"update": "UPDATE {{text}}", "page": ""}, "severities": [{"id": "sev1", "name": "Critical"}]}"#)
        #expect(config.templates == ["update": "UPDATE {{text}}", "page": ""])
    }

    @Test func schemaKeyIsAcceptedOnlyAtTheTop() {
        let json = #"{"$schema": "./bot-config.schema.json", "server": {"$schema": "x"}, "severities": [{"id": "sev1", "name": "Critical"}]}"#
        #expect(
            problemLines(ConfigLoader.load(json: json, environment: [:])) == [
                #"server["$schema"]: unknown key (known keys: host, port, maxBodyBytes, apiToken, idleTimeout, headerTimeout, bodyTimeout, maxConnections)"#
            ])
    }
}

// MARK: - Environment interpolation

@Suite struct EnvironmentInterpolationTests {
    private func expand(_ text: String, _ environment: [String: String] = [:]) -> EnvironmentInterpolation.Expansion {
        EnvironmentInterpolation.expand(text, environment: environment)
    }

    @Test func replacesReferencesAnywhereInAString() {
        #expect(expand("${A}", ["A": "1"]) == .expanded("1"))
        #expect(expand("x-${A}-${B}-y", ["A": "1", "B": "2"]) == .expanded("x-1-2-y"))
        #expect(expand("no references, $5 and $HOME stay", [:]) == .expanded("no references, $5 and $HOME stay"))
    }

    @Test func fallbacksFollowTheShell() {
        #expect(expand("${A:-fallback}") == .expanded("fallback"))
        #expect(expand("${A:-fallback}", ["A": ""]) == .expanded("fallback"))
        #expect(expand("${A:-fallback}", ["A": "set"]) == .expanded("set"))
        #expect(expand("${A:-}") == .expanded(""))
        #expect(expand("${A}", ["A": ""]) == .expanded(""))
        #expect(expand("${A:-http://x:1}") == .expanded("http://x:1"))
    }

    @Test func doubledDollarWritesALiteralReference() {
        #expect(expand("$${A}", ["A": "1"]) == .expanded("${A}"))
        #expect(EnvironmentInterpolation.containsReference("$${A}") == false)
        #expect(EnvironmentInterpolation.containsReference("x${A}") == true)
    }

    @Test func reportsEveryFailure() {
        #expect(expand("${A}-${B}") == .failed([.unset(name: "A"), .unset(name: "B")]))
        #expect(expand("${1A}") == .failed([.invalidName("1A")]))
        #expect(expand("${A") == .failed([.unterminated]))
    }

    @Test func integersAndBooleansMayComeFromTheEnvironment() throws {
        let json = #"""
            {"server": {"port": "${PORT:-9090}", "maxBodyBytes": "${MAX_BODY}"},
             "severities": [{"id": "sev1", "name": "Critical", "page": "${PAGE:-false}", "updateEvery": "${CADENCE:-10m}"}]}
            """#
        let config = try loadedConfig(json, environment: ["MAX_BODY": "2048", "PAGE": "true"])
        #expect(config.server.port == 9090)
        #expect(config.server.maxBodyBytes == 2048)
        #expect(config.severities[0].page == true)
        #expect(config.severities[0].updateEvery == .minutes(10))
    }

    @Test func aPlainStringIsStillNotAnInteger() {
        let json = #"{"server": {"port": "8080"}, "severities": [{"id": "sev1", "name": "Critical"}]}"#
        #expect(problemLines(ConfigLoader.load(json: json, environment: [:])) == [#"server.port: expected an integer, got "8080""#])
    }

    @Test func variablesOfAbsentPlatformsAreNeverAskedFor() throws {
        // The shipped config mentions no platform but the console; an empty environment is enough.
        _ = try loadedConfig(ConfigLoader.embeddedDefaultJSON, environment: [:])
        let json = #"{"platforms": {"console": {}}, "severities": [{"id": "sev1", "name": "${SEV1_NAME:-Critical}"}]}"#
        #expect(try loadedConfig(json, environment: [:]).severities[0].name == "Critical")
    }
}

// MARK: - Secrets

@Suite struct ConfigSecretTests {
    private let literalToken = "literal-token-written-in-the-file"

    @Test func secretsNeverAppearInProblems() {
        let json = #"""
            {"server": {"host": "${SLACK_SIGNING_SECRET}-${NOPE}", "port": "${SLACK_SIGNING_SECRET}"},
             "platforms": {"slack": {"signingSecret": "${SLACK_SIGNING_SECRET}", "botToken": "\#(literalToken)",
                                     "appToken": 42, "announceChannel": ""}},
             "severities": [{"id": "sev1", "name": "Critical", "updateEvery": "\#(literalToken)"}]}
            """#
        let result = ConfigLoader.load(json: json, environment: testEnvironment)
        let lines = problemLines(result)
        #expect(
            lines == [
                "server.host: environment variable NOPE is not set",
                // The signing secret's variable, used by mistake for the port: its value is scrubbed.
                #"server.port: expected an integer, got "<secret>""#,
                "platforms.slack.appToken: expected a string, got a number",
                "platforms.slack.announceChannel: must not be empty",
                #"severities[0].updateEvery: "<secret>" is not a duration"#,
            ])
        let everything = lines.joined(separator: "\n")
        #expect(!everything.contains(literalToken))
        #expect(!everything.contains(testEnvironment["SLACK_SIGNING_SECRET"]!))
    }

    @Test func secretsNeverAppearInTheConfigsDescription() throws {
        let json = #"""
            {"platforms": {"slack": {"signingSecret": "${SLACK_SIGNING_SECRET}", "botToken": "\#(literalToken)", "appToken": "app-level-token-0123456789", "announceChannel": "C0"},
                           "rocketchat": \#(rocketChatSection), "mattermost": \#(mattermostSection)},
             "severities": [{"id": "sev1", "name": "Critical"}]}
            """#
        let config = try loadedConfig(json)
        let secrets = [literalToken, "app-level-token-0123456789"] + testEnvironment.values.filter { !$0.isEmpty }
        for text in [String(describing: config), String(reflecting: config), "\(config.platforms)"] {
            #expect(text.contains("<secret>"))
            for secret in secrets {
                #expect(!text.contains(secret))
            }
        }
    }
}

// MARK: - The JSON parser and the helpers

@Suite struct ConfigParsingTests {
    @Test func parsesEveryKindOfValueKeepingOrderAndLiterals() throws {
        let value = try JSONParser.parse(Array(#"{"b": [1, -2.5e3, true, false, null], "a": "x", "b": {}}"#.utf8))
        #expect(
            value
                == .object([
                    JSONMember(key: "b", value: .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null])),
                    JSONMember(key: "a", value: .string("x")),
                    JSONMember(key: "b", value: .object([])),
                ]))
    }

    @Test func decodesEscapes() throws {
        let value = try JSONParser.parse(Array(#"["\"\\\/\b\f\n\r\t", "\u00e9\u20ac", "\ud83d\udea8", "🚨 é"]"#.utf8))
        #expect(value == .array([.string("\"\\/\u{8}\u{C}\n\r\t"), .string("é€"), .string("🚨"), .string("🚨 é")]))
    }

    @Test func skipsAByteOrderMark() throws {
        #expect(try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8)) == .object([]))
    }

    @Test(arguments: [
        (#"{"a": 01}"#, "line 1, column 8: expected \",\" or \"}\" after an object member, found \"1\""),
        (#"{"a": 1."#, "line 1, column 9: expected a digit after \".\", found the end of the document"),
        (#"["\x"]"#, "line 1, column 4: invalid escape \\x in a string"),
        (#"["\ud83d"]"#, "line 1, column 9: unpaired surrogate in a \\u escape"),
        ("[\"a\nb\"]", "line 1, column 4: control character in a string (write it as an escape such as \\n)"),
        ("[tru]", "line 1, column 2: expected a value, found \"t\""),
        ("{a: 1}", "line 1, column 2: expected a key in double quotes, found \"a\""),
        ("[1 2]", "line 1, column 4: expected \",\" or \"]\" after an array element, found \"2\""),
        ("{\"a\": 1\n \"b\": 2}", "line 2, column 2: expected \",\" or \"}\" after an object member, found a quotation mark"),
        ("\n\n  é", "line 3, column 3: expected a value, found a non-ASCII character"),
    ])
    func reportsWhereTheSyntaxBreaks(json: String, message: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(Array(json.utf8)) }
        do {
            _ = try JSONParser.parse(Array(json.utf8))
        } catch {
            #expect(error.description == "malformed JSON at \(message)")
        }
    }

    @Test func refusesInvalidUTF8() {
        let bytes: [UInt8] = Array(#"[""#.utf8) + [0xC3, 0x28] + Array(#""]"#.utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes) }
    }

    @Test func refusesAbsurdNesting() {
        let json = String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000)
        do {
            _ = try JSONParser.parse(Array(json.utf8))
            Issue.record("parsed 1000 levels")
        } catch {
            #expect(error.reason == "nested deeper than \(JSONParser.maximumDepth) levels")
        }
    }

    @Test func pathsReadLikeJavaScript() {
        #expect(ConfigPath.root.description == "$")
        #expect(ConfigPath.root.key("severities").index(2).key("updateEvery").description == "severities[2].updateEvery")
        #expect(ConfigPath.root.key("people").key("jean \"jl\" luc").description == #"people["jean \"jl\" luc"]"#)
        #expect(ConfigPath.root.key("people").key("anne-marie").description == "people.anne-marie")
    }

    @Test func suggestionsAreNearMissesOnly() {
        #expect(ConfigText.closest(to: "prot", among: ["host", "port", "maxBodyBytes"]) == "port")
        #expect(ConfigText.closest(to: "Port", among: ["host", "port"]) == "port")
        #expect(ConfigText.closest(to: "updateevry", among: ["updateEvery", "ackWithin"]) == "updateEvery")
        #expect(ConfigText.closest(to: "x", among: ["id", "name"]) == nil)
        #expect(ConfigText.closest(to: "colour", among: ["server", "storage"]) == nil)
        #expect(ConfigText.editDistance(Array("kitten"), Array("sitting")) == 3)
        #expect(ConfigText.editDistance(Array("ab"), Array("ba")) == 1)
        #expect(ConfigText.editDistance([], Array("abc")) == 3)
    }
}

// MARK: - Storage

@Suite struct StorageConfigTests {
    private let password = "pg-password-0123456789"
    private func config(_ storage: String) -> String {
        #"{"storage": \#(storage), "severities": [{"id": "sev1", "name": "Critical"}]}"#
    }
    private var environment: [String: String] {
        ["DATABASE_URL": "postgres://klaxon:\(password)@db.internal:6432/incidents?sslmode=require"]
    }

    @Test func postgresReplacesTheDefaultSQLite() throws {
        let loaded = try loadedConfig(config(#"{"postgres": {"url": "${DATABASE_URL}", "poolSize": 4}}"#), environment: environment)
        #expect(loaded.storage.sqlite == nil)
        let postgres = try #require(loaded.storage.postgres)
        #expect(postgres.poolSize == 4)
        let url = try PostgresURL.parse(postgres.url.exposedValue).get()
        #expect(url == PostgresURL(host: "db.internal", port: 6432, user: "klaxon", password: Secret(password), database: "incidents", sslMode: .require))
        // Neither the config nor the URL's description shows the password.
        #expect(!String(describing: loaded.storage).contains(password))
        #expect(url.description == "postgres://klaxon@db.internal:6432/incidents?sslmode=require")
        #expect(try loadedConfig(config(#"{"postgres": {"url": "${DATABASE_URL}"}}"#), environment: environment).storage.postgres?.poolSize == 8)
        #expect(try loadedConfig(config("{}")).storage.sqlite?.path == "data/klaxon.sqlite")
    }

    /// Issue 16 (lease time) and issue 12 (page throttling): defaults, values and bounds.
    @Test func leaseTimeAndPageThrottle() throws {
        let defaults = try loadedConfig(config("{}"))
        #expect(defaults.storage.leaseTime == TimeSpan(seconds: 10))
        #expect(defaults.paging.throttle == PageThrottleLimits(perPersonEvery: .minutes(1), perHour: 10))
        let set = try loadedConfig(
            #"{"storage": {"leaseTime": "30s"}, "paging": {"throttle": {"perPersonEvery": "5m", "perHour": 3}}, "severities": [{"id": "sev1", "name": "Critical"}]}"#
        )
        #expect(set.storage.leaseTime == TimeSpan(seconds: 30))
        #expect(set.paging.throttle == PageThrottleLimits(perPersonEvery: .minutes(5), perHour: 3))
        let wrong =
            #"{"storage": {"leaseTime": "1s"}, "paging": {"throttle": {"perHour": 0, "perPersonEvry": "2m"}}, "severities": [{"id": "sev1", "name": "Critical"}]}"#
        #expect(
            problemLines(ConfigLoader.load(json: wrong, environment: [:])) == [
                "storage.leaseTime: must be between 3s and 10m (the failover time after a replica dies)",
                "paging.throttle.perHour: must be between 1 and 1000, got 0",
                "paging.throttle.perPersonEvry: unknown key (did you mean \"perPersonEvery\"?)",
            ])
    }

    @Test func sqliteAndPostgresAreExclusive() {
        let json = config(#"{"sqlite": {"path": "x.sqlite"}, "postgres": {"url": "${DATABASE_URL}"}}"#)
        #expect(problemLines(ConfigLoader.load(json: json, environment: environment)) == ["storage: sqlite and postgres are exclusive: set one of them"])
    }

    @Test func badURLsAreNamedWithoutTheirSecret() {
        let cases: [(String, String)] = [
            ("mysql://u:\(password)@h/db", "storage.postgres.url: the URL must start with postgres:// or postgresql://"),
            (
                "postgres://u:\(password)@h/db?sslmode=verify-ca",
                "storage.postgres.url: the URL sslmode=verify-ca is not supported yet (supported: disable, prefer, require, verify-full)"
            ),
            (
                "postgres://u:\(password)@h/db?sslmode=sometimes",
                "storage.postgres.url: the URL has an unknown sslmode (supported: disable, prefer, require, verify-full)"
            ),
            (
                "postgres://u:\(password)@h/db?password=\(password)",
                #"storage.postgres.url: the URL has the parameter "password", which is not supported (only sslmode is)"#
            ),
            ("postgres://:\(password)@h/db", "storage.postgres.url: the URL has no user name"),
            ("postgres:///db", "storage.postgres.url: the URL has no host"),
        ]
        for (url, expected) in cases {
            let lines = problemLines(
                ConfigLoader.load(json: config(#"{"postgres": {"url": "${DATABASE_URL}", "poolSize": 0}}"#), environment: ["DATABASE_URL": url]))
            #expect(lines == [expected, "storage.postgres.poolSize: must be between 1 and 1000, got 0"], "\(url)")
            #expect(!lines.joined().contains(password))
        }
        #expect(problemLines(ConfigLoader.load(json: config(#"{"postgres": {}}"#), environment: [:])) == ["storage.postgres.url: missing required field"])
    }
}
