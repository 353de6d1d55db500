import Foundation
import Testing

@testable import IncidentCore

/// `groups` and `permissions`: who may do what. A refusal says which rule refused and who may, and changes
/// nothing; without `permissions` everyone may do everything, as before.
@Suite("IncidentEngine: permissions")
struct PermissionTests {
    typealias F = EngineFixture

    static func engine(_ permissions: [String: [Grantee]], groups: [String: [String]] = ["leads": ["carol"]]) throws -> IncidentEngine {
        var config = F.config()
        config.groups = groups
        config.permissions = permissions
        return try IncidentEngine(config: config)
    }

    /// Who is on the primary rotation at the fixture's Monday morning, and who is not on call anywhere.
    static func onCallNow(_ engine: IncidentEngine) -> (onCall: String, offCall: String) {
        let now = F.time("09:20")
        let onCall = engine.config.oncall.rotations.map { RotationSchedule(rotation: $0).onCall(at: now, overrides: []).personID }
        let offCall = ["alice", "bob", "carol", "dave"].first { !onCall.contains($0) }!
        return (onCall[0], offCall)
    }

    @Test("without permissions anyone may downgrade the severity (today's behaviour)")
    func openByDefault() throws {
        var scenario = try EngineScenario("sev1", engine: try Self.engine([:]))
        #expect(scenario.run(.severity(nil, "sev3"), by: F.dave, at: F.time("09:10")).outcome == .applied)
    }

    @Test("a severity downgrade by someone without the right is refused, says which rule and who may, and changes nothing")
    func severityRefused() throws {
        var scenario = try EngineScenario("sev1", engine: try Self.engine(["severity": [.role(.commander), .group("leads")]]))
        let before = scenario.incident
        let refused = scenario.run(.severity(nil, "sev3"), by: F.dave, at: F.time("09:10"))
        #expect(refused.outcome == .denied)
        #expect(refused.changes.isEmpty)
        #expect(refused.reply.text == "🚫 You may not severity here: `permissions.severity` allows role:ic, group:leads. Nothing changed.")
        #expect(scenario.incident == before)
        // A lead may; and the IC once dave is made IC (by a lead).
        #expect(scenario.run(.severity(nil, "sev2"), by: F.carol, at: F.time("09:11")).outcome == .applied)
        #expect(scenario.run(.role(nil, .commander, F.dave), by: F.carol, at: F.time("09:12")).outcome == .applied)
        #expect(scenario.run(.severity(nil, "sev3"), by: F.dave, at: F.time("09:13")).outcome == .applied)
    }

    @Test("runbook 000: only the ops lead declares P0; anyone declares lower levels")
    func declarePerSeverity() throws {
        let engine = try Self.engine(["declare:sev1": [.group("leads")]])
        let context = F.context(F.bob)
        let p0 = engine.decide(
            .declare(severity: "p0", title: "Site down"), context: context, incident: nil, allocation: (IncidentID(1), 1), now: F.time("09:00"))
        #expect(p0.outcome == .denied)
        #expect(p0.reply.text.contains("permissions.declare:sev1"))
        let p1 = engine.decide(.declare(severity: "sev2", title: "Slow"), context: context, incident: nil, allocation: (IncidentID(1), 1), now: F.time("09:00"))
        #expect(p1.outcome == .applied)
        let lead = engine.decide(
            .declare(severity: "sev1", title: "Site down"), context: F.context(F.carol), incident: nil, allocation: (IncidentID(2), 2), now: F.time("09:00"))
        #expect(lead.outcome == .applied)
    }

    @Test("oncall: only whoever is on call now may override the rotation or page")
    func onCallOnly() throws {
        let engine = try Self.engine(["oncall.override": [.oncall], "page": [.oncall, .role(.commander)]])
        let (onCall, offCall) = Self.onCallNow(engine)
        let user = { (id: String) in ChatUser(id: id, name: id) }
        let override = IncidentCommand.oncall(.override(user: user("dave"), rotation: "primary", until: .duration(.hours(2))))
        #expect(engine.decide(override, context: F.context(user(offCall)), incident: nil, now: F.time("09:20")).outcome == .denied)
        #expect(engine.decide(override, context: F.context(user(onCall)), incident: nil, now: F.time("09:20")).outcome == .applied)
        #expect(engine.needsOnCall(override))
        #expect(!engine.needsOnCall(.note(nil, text: "x")))
    }

    @Test("members: the declarer, the acknowledger and role holders may resolve; others may not")
    func members() throws {
        var scenario = try EngineScenario("sev2", by: F.alice, engine: try Self.engine(["resolve": [.members]]))
        #expect(scenario.run(.resolve(nil, text: nil), by: F.dave, at: F.time("09:05")).outcome == .denied)
        #expect(scenario.run(.resolve(nil, text: nil), by: F.alice, at: F.time("09:06")).outcome == .applied)
    }

    @Test("alert sources are authenticated at their route, not by permissions")
    func alertSourcesPass() throws {
        let engine = try Self.engine(["declare": [.group("leads")]])
        let context = CommandContext(platform: .console, conversation: Conversation(platform: .console, channelID: "incidents"), user: .alertSource("prod-am"))
        #expect(
            engine.decide(.declare(severity: "sev2", title: "Alert"), context: context, incident: nil, allocation: (IncidentID(1), 1), now: F.time("09:00"))
                .outcome == .applied)
    }

    @Test("config: unknown actions, severities, groups, people and grantees are reported with their path")
    func configProblems() {
        let json = #"""
            {"severities": [{"id": "sev1", "name": "Critical"}, {"id": "sev2", "name": "Major"}],
             "people": {"alice": {"console": "alice"}},
             "groups": {"leads": ["alice", "zed"]},
             "permissions": {"declare:sev9": ["anyone"], "severty": ["anyone"], "ack": ["group:ops", "person:bob", "wizards"], "resolve": ["role:ic", "group:leads", "oncall"]}}
            """#
        guard case .failure(let errors) = ConfigLoader.load(json: json, environment: [:]) else {
            Issue.record("the config should be refused")
            return
        }
        let lines = Set(errors.problems.map(\.description))
        #expect(lines.contains(#"groups.leads[1]: unknown person "zed" (known people: alice)"#), "\(lines)")
        #expect(lines.contains { $0.hasPrefix(#"permissions["declare:sev9"]: unknown severity "sev9""#) }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix(#"permissions.severty: unknown action (did you mean "severity"?)"#) }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix(#"permissions.ack[0]: unknown group "ops""#) }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix(#"permissions.ack[1]: unknown person "bob""#) }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix(#"permissions.ack[2]: "wizards" is not a grantee"#) }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("permissions.resolve") })
    }
}
