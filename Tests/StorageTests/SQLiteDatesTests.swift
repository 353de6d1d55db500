import Foundation
import IncidentCore
import Testing

@testable import Storage

/// The store's last line against absurd dates: converting one to milliseconds clamps instead of trapping.
@Suite("SQLite dates")
final class SQLiteDatesTests {
    private let databases = TemporaryDatabases()

    @Test func datesBeyondInt64MillisecondsClampInsteadOfTrapping() {
        #expect(SQLiteDates.milliseconds(Date(timeIntervalSince1970: 1e300)) == .max)
        #expect(SQLiteDates.milliseconds(Date(timeIntervalSince1970: -1e300)) == .min)
        #expect(SQLiteDates.milliseconds(Date(timeIntervalSince1970: .infinity)) == .max)
        #expect(SQLiteDates.milliseconds(Date(timeIntervalSince1970: .nan)) == 0)
        #expect(SQLiteDates.milliseconds(Date(timeIntervalSince1970: 1_763_000_000.0004)) == 1_763_000_000_000)
        #expect(SQLiteDates.milliseconds(Date(timeIntervalSince1970: -0.0006)) == -1)
    }

    @Test func anOverrideEndingAtAnAbsurdDateIsStoredAndReadBack() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        var changes = ChangeSet()
        changes.overrides = [
            OnCallOverride(
                rotationID: "db", personID: "carol", start: StoreFixtures.t0, end: Date(timeIntervalSince1970: 1e300), createdBy: "U0ALICE")
        ]
        try await store.commit(changes)
        let stored = try await store.overrides(rotation: "db", activeAt: StoreFixtures.t0)
        #expect(stored.map(\.end) == [SQLiteDates.date(milliseconds: .max)])
        try await store.close()
    }
}
