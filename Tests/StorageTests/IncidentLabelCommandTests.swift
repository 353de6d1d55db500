import Foundation
import IncidentCore
import KlaxonTestSupport
import Storage
import Testing

/// Runbook 002's ids end to end: `incidents.idFormat: "INC-{year}-{seq:3}"` through `CommandService` on a
/// real SQLite file. Ids count within the year (002-20, 002-23: `INC-2024-001`), commands accept them
/// (002-24: `update.sh --id=INC-001` becomes `/incident status INC-2024-001 …`), and `INC-n` still works.
@Suite("Incident labels through commands")
final class IncidentLabelCommandTests {
    private let databases = TemporaryDatabases()

    private func service(clock: ManualClock) async throws -> (CommandService, SQLiteIncidentStore) {
        var incidents = IncidentsConfig(channelName: "incident-{date}-{service}", timeZone: "America/New_York")
        incidents.idFormat = try IncidentLabelFormat.parse("INC-{year}-{seq:3}").get()
        let config = KlaxonConfig(incidents: incidents, severities: [SeverityPolicy(id: "sev1", name: "Critical"), SeverityPolicy(id: "sev2", name: "High")])
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        return (CommandService(engine: try IncidentEngine(config: config), store: store, clock: clock), store)
    }

    private let context = CommandContext(
        platform: .console, conversation: Conversation(platform: .console, channelID: "incidents"), user: ChatUser(id: "alice"))

    @Test func idsCountWithinTheYearAndCommandsAcceptThem() async throws {
        // 2024-12-31 20:00 in New York (01:00 UTC on 2025-01-01): the year is New York's.
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_735_693_200))
        let (service, store) = try await service(clock: clock)
        let first = await service.handle(text: "sev1 payments: Payment processing down", context: context)
        #expect(first.reply.text.hasPrefix("Declared INC-2024-001 · SEV1 · Payment processing down"), "\(first.reply.text)")
        let second = await service.handle(text: "declare sev2 Refunds slow", context: context)
        #expect(second.reply.text.hasPrefix("Declared INC-2024-002"))
        clock.advance(by: 5 * 3600)  // 01:00 on 2025-01-01 in New York
        let third = await service.handle(text: "declare sev2 Login errors", context: context)
        #expect(third.reply.text.hasPrefix("Declared INC-2025-001"), "the count starts again in the new year")

        let status = await service.handle(text: "status INC-2024-002 investigating Looking at the queue", context: context)
        #expect(status.outcome == .applied)
        #expect(status.reply.text.hasPrefix("INC-2024-002 is now Investigating"))
        #expect(try await store.incident(IncidentID(2))?.status == .investigating)
        let typedInLowerCase = await service.handle(text: "/incident ack inc-2024-001", context: context)
        #expect(typedInLowerCase.reply.text.hasPrefix("Acknowledged INC-2024-001"))
        #expect(await service.handle(text: "note INC-3 by number too", context: context).outcome == .applied)

        let unknown = await service.handle(text: "ack INC-2024-009", context: context)
        #expect(unknown.outcome == .rejected)
        #expect(unknown.reply.text == "There is no incident INC-2024-009. /incident list shows the open ones.")
        // A label in free text stays as written.
        _ = await service.handle(text: "note INC-2024-001 related to INC-2024-002", context: context)
        #expect(try await store.timeline(of: IncidentID(1)).last?.text.hasSuffix("related to INC-2024-002") == true)
        try await store.close()
    }
}
