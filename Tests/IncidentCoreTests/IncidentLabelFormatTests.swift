import Foundation
import Testing

@testable import IncidentCore

/// `incidents.idFormat` (issue 14, item 4; runbook 002-20, 002-23, 002-24: `INC-2024-001`).
@Suite("Incident id format")
struct IncidentLabelFormatTests {
    private let utc = TimeZone(identifier: "UTC")!
    /// 2024-01-15 14:05 UTC, runbook 002's example day.
    private let day = Date(timeIntervalSince1970: 1_705_327_500)

    private func format(_ source: String) throws -> IncidentLabelFormat {
        try IncidentLabelFormat.parse(source).get()
    }

    @Test func labelsCountWithinTheFinestPeriodTheFormatNames() throws {
        let yearly = try format("INC-{year}-{seq:3}")
        #expect(yearly.label(number: 42, sequence: 1, date: day, zone: utc) == "INC-2024-001")
        #expect(yearly.scope(of: day, zone: utc) == "2024")
        #expect(yearly.usesSequence)
        #expect(try format("OPS-{date}-{seq}").scope(of: day, zone: utc) == "2024-01-15")
        #expect(try format("{year}.{month}-{seq:2}").scope(of: day, zone: utc) == "2024-01")
        #expect(try format("INC-{seq:4}").scope(of: day, zone: utc) == "all")
        let plain = try format("P{n:5}")
        #expect(plain.label(number: 42, sequence: nil, date: day, zone: utc) == "P00042")
        #expect(!plain.usesSequence)
        #expect(try format("INC-{n}").isStandard)
        #expect(!yearly.isStandard)
    }

    @Test func commandsRecogniseTheFormatIgnoringCase() throws {
        let yearly = try format("INC-{year}-{seq:3}")
        #expect(yearly.matches("INC-2024-001"))
        #expect(yearly.matches("inc-2024-17"))
        #expect(!yearly.matches("INC-2024"))
        #expect(!yearly.matches("INC-2024-001x"))
        #expect(!yearly.matches("payments"))
        let dated = try format("OPS-{date}-{seq}")
        #expect(dated.matches("OPS-2024-01-15-2"))
        #expect(!dated.matches("OPS-2024-1-15-2"))
    }

    @Test(arguments: [
        ("INC-{year}", "must contain {n} or {seq}"),
        ("INC-{yr}-{seq}", "unknown placeholder {yr}"),
        ("INC-{year}{seq}", "placeholders need a letter or sign between them"),
        ("INC {seq}", "may hold letters, digits and - _ . # only"),
        ("INC-{seq:0}", "the padding must be between 1 and 9"),
        ("INC-{year:4}-{seq}", "unknown placeholder {year:4}"),
    ])
    func unusableFormatsAreRefused(source: String, problem: String) {
        guard case .failure(let error) = IncidentLabelFormat.parse(source) else {
            Issue.record("\(source) was accepted")
            return
        }
        #expect(error.description.contains(problem), "\(error.description)")
    }

    @Test func theEngineLabelsOnlyWhenAFormatIsSet() throws {
        typealias F = EngineFixture
        let plainEngine = try F.engine()
        #expect(plainEngine.labelScope(of: F.monday) == nil)
        #expect(plainEngine.labeled(IncidentID(7), sequence: nil, declaredAt: F.monday).description == "INC-7")

        var config = F.config()
        config.incidents.idFormat = try format("INC-{year}-{seq:3}")
        let engine = try IncidentEngine(config: config)
        #expect(engine.labelScope(of: F.monday) == "2025")
        let id = engine.labeled(IncidentID(7), sequence: 3, declaredAt: F.monday)
        #expect(id.description == "INC-2025-003")
        #expect(id == IncidentID(7), "the same incident, shown by its label")
        // Everything the engine writes names the incident by its label.
        let decision = engine.decide(
            .declare(severity: "sev1", title: "Payment processing down"), context: F.context(), incident: nil,
            allocation: (id, 1), now: F.monday)
        #expect(decision.reply.text.hasPrefix("Declared INC-2025-003 · SEV1 · Payment processing down"))
        #expect(decision.changes.postTexts(to: .incidentRoom).first?.contains("Incident: INC-2025-003") == true)
        // Buttons carry the number, which platforms read back without the store (Slack's modal, Mattermost's dialog).
        let buttons = decision.changes.outbox.lazy.compactMap { message -> [MessageButton]? in
            if case .post(.incidentRoom, _, let buttons) = message.action, !buttons.isEmpty { return buttons }
            return nil
        }.first
        #expect(buttons?.map(\.command) == ["ack INC-7", "update INC-7", "resolve INC-7", "role INC-7 ic"])
    }
}
