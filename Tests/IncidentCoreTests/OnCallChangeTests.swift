import Foundation
import Testing

@testable import IncidentCore

/// The moments a rotation's on-call person changes, which the scheduler announces: regular hand-offs and
/// the starts and ends of overrides.
@Suite("On-call changes: hand-offs and overrides")
struct OnCallChangeTests {
    typealias F = EngineFixture
    /// The fixture's Monday hand-off: 09:00 Berlin is 08:00 UTC.
    static let shiftStart = F.time("08:00")
    static let nextShift = shiftStart.addingTimeInterval(7 * 86400)

    static func override(_ person: String, _ from: String, _ to: String) -> OnCallOverride {
        OnCallOverride(rotationID: "primary", personID: person, start: F.time(from), end: F.time(to), createdBy: "U0ALICE")
    }

    @Test func withoutOverridesTheLatestChangeIsTheShiftStart() throws {
        let engine = try F.engine()
        let latest = engine.latestHandoffs(at: F.monday)
        #expect(latest == [RotationHandoff(rotationID: "primary", at: Self.shiftStart), RotationHandoff(rotationID: "secondary", at: Self.shiftStart)])
        #expect(engine.nextHandoff(after: F.monday) == Self.nextShift)
    }

    @Test func anOverridesStartAndEndAreChangesOfItsRotationOnly() throws {
        let engine = try F.engine()
        let overrides = ["primary": [Self.override("carol", "10:00", "14:00")]]
        #expect(engine.nextHandoff(after: F.time("09:30"), overrides: overrides) == F.time("10:00"))
        #expect(engine.nextHandoff(after: F.time("10:00"), overrides: overrides) == F.time("14:00"))
        #expect(engine.nextHandoff(after: F.time("14:00"), overrides: overrides) == Self.nextShift)
        func latest(_ time: String) -> [Date] { engine.latestHandoffs(at: F.time(time), overrides: overrides).map(\.at) }
        #expect(latest("09:59") == [Self.shiftStart, Self.shiftStart])
        #expect(latest("10:00") == [F.time("10:00"), Self.shiftStart])
        #expect(latest("13:59") == [F.time("10:00"), Self.shiftStart])
        #expect(latest("14:00") == [F.time("14:00"), Self.shiftStart])
    }

    @Test func overridesBeforeTheShiftStartDoNotCount() throws {
        let engine = try F.engine()
        let overrides = ["primary": [Self.override("carol", "05:00", "07:00")]]
        #expect(engine.latestHandoffs(at: F.monday, overrides: overrides).first?.at == Self.shiftStart)
    }

    @Test func announcementsSayWhichKindOfChangeItIs() throws {
        let engine = try F.engine()
        let carol = Self.override("carol", "10:00", "14:00")
        let start = engine.handoffChanges(RotationHandoff(rotationID: "primary", at: F.time("10:00")), overrides: [carol], now: F.time("10:00"))
        #expect(start.handoff == RotationHandoff(rotationID: "primary", at: F.time("10:00")))
        #expect(
            start.postTexts(to: .announce) == [
                "🔄 On-call override · primary: <@carol> is on call (set by U0ALICE) from 2025-11-10 11:00 GMT+1 until 2025-11-10 15:00 GMT+1; next: <@bob>."
            ])
        let end = engine.handoffChanges(RotationHandoff(rotationID: "primary", at: F.time("14:00")), overrides: [carol], now: F.time("14:00"))
        #expect(end.postTexts(to: .announce).first?.hasPrefix("🔄 On-call override ended · primary: <@bob> is on call from 2025-11-10 15:00 GMT+1") == true)
        let regular = engine.handoffChanges(
            RotationHandoff(rotationID: "primary", at: Self.nextShift), overrides: [], now: Self.nextShift.addingTimeInterval(120))
        #expect(regular.postTexts(to: .announce).first?.hasPrefix("🔄 On-call hand-off · primary: <@alice> is on call") == true)
        #expect(regular.postTexts(to: .announce).first?.hasSuffix("(announced late: Klaxon was down at the hand-off)") == true)
    }
}

@Suite("Which commands consult the rotation")
struct ConsultsOnCallTests {
    typealias F = EngineFixture

    /// Everyone on both rotations replaced by carol all day: any decision that asks who is on call changes.
    static let overrides: [String: [OnCallOverride]] = [
        "primary": [OnCallOverride(rotationID: "primary", personID: "carol", start: F.time("00:00"), end: F.time("23:00"), createdBy: "alice")],
        "secondary": [OnCallOverride(rotationID: "secondary", personID: "carol", start: F.time("00:00"), end: F.time("23:00"), createdBy: "alice")],
    ]

    private func outcomes(_ command: IncidentCommand, on scenario: EngineScenario) -> (plain: Decision, overridden: Decision) {
        let context = F.context()
        let now = F.time("09:40")
        return (
            scenario.engine.decide(command, context: context, incident: scenario.incident, allocation: (IncidentID(2), 2), now: now),
            scenario.engine.decide(command, context: context, incident: scenario.incident, allocation: (IncidentID(2), 2), now: now, overrides: Self.overrides)
        )
    }

    @Test("the commands that do not consult it decide the same with or without overrides")
    func othersIgnoreOverrides() throws {
        var resolved = try EngineScenario("sev1")
        resolved.run(.resolve(nil, text: "fixed"), at: F.time("09:30"))
        let open = try EngineScenario("sev1")
        let commands: [(IncidentCommand, EngineScenario)] = [
            (.ack(nil), open), (.update(nil, text: "still looking"), open), (.status(nil, .identified, text: "found it"), open),
            (.role(nil, .commander, F.bob), open), (.note(nil, text: "a note"), open), (.mitigate(nil, text: nil), open),
            (.resolve(nil, text: nil), open), (.close(nil, text: nil), resolved), (.reopen(nil), resolved),
        ]
        for (command, scenario) in commands {
            #expect(!IncidentEngine.consultsOnCall(command))
            let (plain, overridden) = outcomes(command, on: scenario)
            #expect(plain.outcome == .applied, "\(command.verb) was not applied: \(plain.reply.text)")
            #expect(plain.reply.text == overridden.reply.text, "\(command.verb)")
            #expect(plain.changes.outbox.map(\.action) == overridden.changes.outbox.map(\.action), "\(command.verb)")
            #expect(plain.changes.timers == overridden.changes.timers, "\(command.verb)")
        }
    }

    @Test("the ones that do, do change with an override (so the list above is not vacuous)")
    func pagingCommandsSeeOverrides() throws {
        let scenario = try EngineScenario("sev3")
        for command: IncidentCommand in [.declare(severity: "sev1", title: "Down"), .severity(nil, "sev1"), .page(nil, .rotation("primary")), .escalate(nil)] {
            #expect(IncidentEngine.consultsOnCall(command))
            let (plain, overridden) = outcomes(command, on: scenario)
            #expect(plain.changes.outbox.map(\.action) != overridden.changes.outbox.map(\.action), "\(command.verb)")
        }
        #expect(IncidentEngine.consultsOnCall(.oncall(.show(rotation: nil))))
    }
}
