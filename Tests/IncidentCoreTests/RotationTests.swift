import Foundation
import IncidentCore
import Testing

// Expected instants are written out as explicit UTC times, worked out from the zones' published rules
// (Europe/Berlin: CET +01 / CEST +02, switching at 01:00 UTC on the last Sundays of March and October;
// America/New_York: EST -05 / EDT -04, switching at 02:00 local on the second Sunday of March and the first
// Sunday of November), never derived from the code under test.

/// An instant written in ISO 8601 with an explicit UTC designator.
private func utc(_ text: String) throws -> Date {
    try Date(text, strategy: .iso8601)
}

private func rotation(
    _ members: [String], every period: String, handoff: String, zone: String, start: String? = nil, id: String = "primary"
) throws -> RotationConfig {
    let period = try #require(TimeSpan(parsing: period))
    let handoff = try #require(Handoff(parsing: handoff))
    guard let start else { return RotationConfig(id: id, members: members, period: period, handoff: handoff, timezone: zone) }
    return RotationConfig(id: id, members: members, period: period, handoff: handoff, timezone: zone, start: start)
}

private func schedule(
    _ members: [String], every period: String, handoff: String, zone: String, start: String? = nil
) throws -> RotationSchedule {
    RotationSchedule(rotation: try rotation(members, every: period, handoff: handoff, zone: zone, start: start))
}

private func shift(_ person: String, _ start: String, _ end: String, override: Bool = false) throws -> OnCallShift {
    OnCallShift(personID: person, start: try utc(start), end: try utc(end), isOverride: override)
}

private let week: TimeInterval = 7 * 86_400

@Suite("Rotation schedule: regular turns")
struct RotationRegularTurnTests {
    @Test("weekly rotation cycles through its members for many weeks", arguments: [2, 3, 4])
    func weeklyCycle(memberCount: Int) throws {
        let members = ["alice", "bob", "carol", "dave"].prefix(memberCount).map { $0 }
        // No start given: the default 2024-01-01 is a Monday, so the anchor is 2024-01-01 09:00 UTC.
        let schedule = try schedule(members, every: "1w", handoff: "monday 09:00", zone: "UTC")
        let anchor = try utc("2024-01-01T09:00:00Z")
        for turn in 0..<60 {
            let turnStart = anchor.addingTimeInterval(TimeInterval(turn) * week)
            let expected = OnCallShift(
                personID: members[turn % memberCount], start: turnStart, end: turnStart.addingTimeInterval(week), isOverride: false
            )
            // Thursday of that week, mid-shift.
            #expect(schedule.shift(at: turnStart.addingTimeInterval(3 * 86_400)) == expected, "turn \(turn)")
        }
    }

    @Test("the anchor is the first hand-off weekday on or after the start date")
    func anchorAfterStartDate() throws {
        // 2024-01-03 is a Wednesday: the first turn starts on Monday 2024-01-08.
        let schedule = try schedule(["alice", "bob", "carol"], every: "1w", handoff: "monday 09:00", zone: "UTC", start: "2024-01-03")
        #expect(schedule.shift(at: try utc("2024-01-08T09:00:00Z")) == (try shift("alice", "2024-01-08T09:00:00Z", "2024-01-15T09:00:00Z")))
        #expect(schedule.shift(at: try utc("2024-01-05T12:00:00Z")) == (try shift("carol", "2024-01-01T09:00:00Z", "2024-01-08T09:00:00Z")))
    }

    @Test("far from the anchor, across leap and non-leap century years")
    func distantDates() throws {
        let schedule = try schedule(["alice", "bob", "carol"], every: "1w", handoff: "monday 09:00", zone: "UTC")
        // 3974 weeks after 2024-01-01 (3974 ≡ 2 mod 3); 2100 is not a leap year, 2000 was.
        #expect(schedule.shift(at: try utc("2100-03-01T12:00:00Z")) == (try shift("carol", "2100-03-01T09:00:00Z", "2100-03-08T09:00:00Z")))
        // 1253 weeks before it (-1253 ≡ 1 mod 3).
        #expect(schedule.shift(at: try utc("1999-12-31T23:00:00Z")) == (try shift("bob", "1999-12-27T09:00:00Z", "2000-01-03T09:00:00Z")))
    }

    @Test("a start date with one-digit month and day means the same day")
    func shortStartDate() throws {
        let padded = try schedule(["alice", "bob"], every: "1w", handoff: "monday 09:00", zone: "Europe/Berlin", start: "2026-03-02")
        let short = try schedule(["alice", "bob"], every: "1w", handoff: "monday 09:00", zone: "Europe/Berlin", start: "2026-3-2")
        let date = try utc("2026-03-02T08:00:00Z")
        #expect(short.shift(at: date) == padded.shift(at: date))
        #expect(short.shift(at: date) == (try shift("alice", "2026-03-02T08:00:00Z", "2026-03-09T08:00:00Z")))
    }

    @Test("a hand-off belongs to the new shift: one second before, at, and after")
    func exactBoundaries() throws {
        let schedule = try schedule(["alice", "bob", "carol"], every: "1w", handoff: "monday 09:00", zone: "UTC")
        let aliceWeek = try shift("alice", "2024-01-01T09:00:00Z", "2024-01-08T09:00:00Z")
        let bobWeek = try shift("bob", "2024-01-08T09:00:00Z", "2024-01-15T09:00:00Z")
        #expect(schedule.shift(at: try utc("2024-01-08T08:59:59Z")) == aliceWeek)
        #expect(schedule.shift(at: try utc("2024-01-08T09:00:00Z").addingTimeInterval(-0.001)) == aliceWeek)
        #expect(schedule.shift(at: try utc("2024-01-08T09:00:00Z")) == bobWeek)
        #expect(schedule.shift(at: try utc("2024-01-08T09:00:01Z")) == bobWeek)
        #expect(schedule.shift(at: try utc("2024-01-01T09:00:00Z")) == aliceWeek)
    }

    @Test("dates before the anchor count backwards through the members")
    func beforeAnchor() throws {
        let schedule = try schedule(["alice", "bob", "carol"], every: "1w", handoff: "monday 09:00", zone: "UTC")
        // Turn -1.
        #expect(schedule.shift(at: try utc("2024-01-01T08:59:59Z")) == (try shift("carol", "2023-12-25T09:00:00Z", "2024-01-01T09:00:00Z")))
        // Sunday 2023-01-01 is in the turn starting Monday 2022-12-26, 53 weeks before the anchor: -53 ≡ 1 (mod 3).
        #expect(schedule.shift(at: try utc("2023-01-01T12:00:00Z")) == (try shift("bob", "2022-12-26T09:00:00Z", "2023-01-02T09:00:00Z")))
    }

    @Test("two-week turns, before and after the anchor")
    func fortnightly() throws {
        let schedule = try schedule(["alice", "bob"], every: "2w", handoff: "monday 09:00", zone: "UTC", start: "2024-01-01")
        #expect(schedule.shift(at: try utc("2023-12-20T00:00:00Z")) == (try shift("bob", "2023-12-18T09:00:00Z", "2024-01-01T09:00:00Z")))
        #expect(schedule.shift(at: try utc("2024-01-14T23:00:00Z")) == (try shift("alice", "2024-01-01T09:00:00Z", "2024-01-15T09:00:00Z")))
        #expect(schedule.shift(at: try utc("2024-01-16T00:00:00Z")) == (try shift("bob", "2024-01-15T09:00:00Z", "2024-01-29T09:00:00Z")))
        #expect(schedule.shift(at: try utc("2024-01-29T09:00:00Z")) == (try shift("alice", "2024-01-29T09:00:00Z", "2024-02-12T09:00:00Z")))
    }

    @Test("daily rotation hands off at the hand-off time every day")
    func daily() throws {
        let schedule = try schedule(["alice", "bob", "carol"], every: "1d", handoff: "18:30", zone: "UTC", start: "2026-01-01")
        // Anchor 2026-01-01 18:30; on 01-05 before 18:30 it is still turn 3.
        #expect(schedule.shift(at: try utc("2026-01-05T12:00:00Z")) == (try shift("alice", "2026-01-04T18:30:00Z", "2026-01-05T18:30:00Z")))
        #expect(schedule.shift(at: try utc("2026-01-05T18:29:59Z")) == (try shift("alice", "2026-01-04T18:30:00Z", "2026-01-05T18:30:00Z")))
        #expect(schedule.shift(at: try utc("2026-01-05T18:30:00Z")) == (try shift("bob", "2026-01-05T18:30:00Z", "2026-01-06T18:30:00Z")))
        #expect(schedule.shift(at: try utc("2025-12-31T23:00:00Z")) == (try shift("carol", "2025-12-31T18:30:00Z", "2026-01-01T18:30:00Z")))
    }

    @Test("12-hour turns are counted in absolute time, so their local time moves with daylight-saving time")
    func twelveHours() throws {
        // Anchor 2026-03-01 08:00 CET = 07:00 UTC; hand-offs stay at 07:00 and 19:00 UTC, which is 09:00 and
        // 21:00 local once Berlin is on summer time.
        let schedule = try schedule(["alice", "bob"], every: "12h", handoff: "08:00", zone: "Europe/Berlin", start: "2026-03-01")
        #expect(schedule.shift(at: try utc("2026-03-01T07:00:00Z")) == (try shift("alice", "2026-03-01T07:00:00Z", "2026-03-01T19:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-03-01T18:59:59Z")) == (try shift("alice", "2026-03-01T07:00:00Z", "2026-03-01T19:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-03-01T19:00:00Z")) == (try shift("bob", "2026-03-01T19:00:00Z", "2026-03-02T07:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-03-01T06:59:59Z")) == (try shift("bob", "2026-02-28T19:00:00Z", "2026-03-01T07:00:00Z")))
        // 747 hours after the anchor: turn 62.
        #expect(schedule.shift(at: try utc("2026-04-01T10:00:00Z")) == (try shift("alice", "2026-04-01T07:00:00Z", "2026-04-01T19:00:00Z")))
    }

    @Test("8-hour turns with three members")
    func eightHours() throws {
        let schedule = try schedule(["alice", "bob", "carol"], every: "8h", handoff: "06:00", zone: "UTC", start: "2026-01-01")
        // 23 hours after the 06:00 anchor: turn 2, which started 16 hours in.
        #expect(schedule.shift(at: try utc("2026-01-02T05:00:00Z")) == (try shift("carol", "2026-01-01T22:00:00Z", "2026-01-02T06:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-01-02T06:00:00Z")) == (try shift("alice", "2026-01-02T06:00:00Z", "2026-01-02T14:00:00Z")))
    }
}

@Suite("Rotation schedule: daylight-saving time")
struct RotationDaylightSavingTests {
    @Test("Europe/Berlin, Monday 09:00: hand-offs stay at 09:00 local across both changes")
    func berlinMonday() throws {
        // Turn 0 is Monday 2026-03-02. Summer time starts Sunday 2026-03-29, so turn 3 is an hour short.
        let schedule = try schedule(["alice", "bob", "carol"], every: "1w", handoff: "monday 09:00", zone: "Europe/Berlin", start: "2026-03-02")
        let shortWeek = try shift("alice", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z")
        #expect(schedule.shift(at: try utc("2026-03-29T12:00:00Z")) == shortWeek)
        #expect(schedule.shift(at: try utc("2026-03-30T06:59:59Z")) == shortWeek)
        #expect(schedule.shift(at: try utc("2026-03-30T07:00:00Z")) == (try shift("bob", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-03-30T07:00:01Z")) == (try shift("bob", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z")))

        // Summer time ends Sunday 2026-10-25, so turn 33 (from 2026-10-19) is an hour long.
        let longWeek = try shift("alice", "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z")
        #expect(schedule.shift(at: try utc("2026-10-25T12:00:00Z")) == longWeek)
        #expect(schedule.shift(at: try utc("2026-10-26T07:59:59Z")) == longWeek)
        #expect(schedule.shift(at: try utc("2026-10-26T08:00:00Z")) == (try shift("bob", "2026-10-26T08:00:00Z", "2026-11-02T08:00:00Z")))
    }

    @Test("Europe/Berlin, Sunday 02:30: a skipped hand-off time moves to 03:00, a repeated one takes its first occurrence")
    func berlinSundayNight() throws {
        let schedule = try schedule(["alice", "bob", "carol"], every: "1w", handoff: "sunday 02:30", zone: "Europe/Berlin", start: "2026-03-01")
        // 2026-03-29 02:30 does not exist (02:00 CET jumps to 03:00 CEST = 01:00 UTC).
        #expect(schedule.shift(at: try utc("2026-03-29T00:59:59Z")) == (try shift("alice", "2026-03-22T01:30:00Z", "2026-03-29T01:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-03-29T01:00:00Z")) == (try shift("bob", "2026-03-29T01:00:00Z", "2026-04-05T00:30:00Z")))

        // 2026-10-25 02:30 happens twice: 00:30 UTC (CEST) and 01:30 UTC (CET). The hand-off is the first,
        // and the second does not hand off again.
        #expect(schedule.shift(at: try utc("2026-10-25T00:29:59Z")) == (try shift("alice", "2026-10-18T00:30:00Z", "2026-10-25T00:30:00Z")))
        let fallBackWeek = try shift("bob", "2026-10-25T00:30:00Z", "2026-11-01T01:30:00Z")
        #expect(schedule.shift(at: try utc("2026-10-25T00:30:00Z")) == fallBackWeek)
        #expect(schedule.shift(at: try utc("2026-10-25T01:30:00Z")) == fallBackWeek)
    }

    @Test("Europe/Berlin, daily 09:00: the shift across spring-forward lasts 23 hours")
    func berlinDaily() throws {
        let schedule = try schedule(["alice", "bob"], every: "1d", handoff: "09:00", zone: "Europe/Berlin", start: "2026-03-01")
        #expect(schedule.shift(at: try utc("2026-03-28T12:00:00Z")) == (try shift("bob", "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-03-29T07:00:00Z")) == (try shift("alice", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z")))
    }

    @Test("America/New_York, Monday 09:00 across 2026-03-08 and 2026-11-01")
    func newYorkMonday() throws {
        let schedule = try schedule(["alice", "bob"], every: "1w", handoff: "monday 09:00", zone: "America/New_York", start: "2026-03-02")
        #expect(schedule.shift(at: try utc("2026-03-09T12:59:59Z")) == (try shift("alice", "2026-03-02T14:00:00Z", "2026-03-09T13:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-03-09T13:00:00Z")) == (try shift("bob", "2026-03-09T13:00:00Z", "2026-03-16T13:00:00Z")))
        // Turn 34 starts 2026-10-26 09:00 EDT and ends 2026-11-02 09:00 EST.
        #expect(schedule.shift(at: try utc("2026-11-01T12:00:00Z")) == (try shift("alice", "2026-10-26T13:00:00Z", "2026-11-02T14:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-11-02T13:59:59Z")) == (try shift("alice", "2026-10-26T13:00:00Z", "2026-11-02T14:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-11-02T14:00:00Z")) == (try shift("bob", "2026-11-02T14:00:00Z", "2026-11-09T14:00:00Z")))
    }

    @Test("America/New_York, Sunday 02:30 on spring-forward night moves to 03:00 EDT")
    func newYorkSpringForward() throws {
        let schedule = try schedule(["alice", "bob"], every: "1w", handoff: "sunday 02:30", zone: "America/New_York", start: "2026-03-01")
        #expect(schedule.shift(at: try utc("2026-03-08T06:59:59Z")) == (try shift("alice", "2026-03-01T07:30:00Z", "2026-03-08T07:00:00Z")))
        #expect(schedule.shift(at: try utc("2026-03-08T07:00:00Z")) == (try shift("bob", "2026-03-08T07:00:00Z", "2026-03-15T06:30:00Z")))
    }

    @Test("America/New_York, daily 01:30 on fall-back night hands off at the first 01:30 only")
    func newYorkFallBack() throws {
        let schedule = try schedule(["alice", "bob", "carol"], every: "1d", handoff: "01:30", zone: "America/New_York", start: "2026-10-30")
        // 01:30 on 2026-11-01 is 05:30 UTC (EDT) and again 06:30 UTC (EST).
        #expect(schedule.shift(at: try utc("2026-11-01T05:29:59Z")) == (try shift("bob", "2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z")))
        let longDay = try shift("carol", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z")
        #expect(schedule.shift(at: try utc("2026-11-01T05:30:00Z")) == longDay)
        #expect(schedule.shift(at: try utc("2026-11-01T06:30:00Z")) == longDay)
    }

    @Test(
        "two years of weekly hand-offs are contiguous and all at Monday 09:00 local",
        arguments: ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
    )
    func weeklyHandoffsStayOnLocalTime(zone: String) throws {
        let members = ["alice", "bob", "carol"]
        let schedule = try schedule(members, every: "1w", handoff: "monday 09:00", zone: zone, start: "2025-12-29")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: zone))

        let shifts = schedule.handoffs(after: try utc("2025-12-31T00:00:00Z"), count: 105)
        #expect(shifts.count == 105)
        for (index, current) in shifts.enumerated() {
            let local = calendar.dateComponents([.weekday, .hour, .minute, .second], from: current.start)
            #expect(local.weekday == 2 && local.hour == 9 && local.minute == 0 && local.second == 0, "\(current.start)")
            // Turn 0 started 2025-12-29, so the first hand-off after 12-31 starts turn 1.
            #expect(current.personID == members[(index + 1) % members.count])
            #expect(schedule.shift(at: current.start) == current)
            #expect(schedule.shift(at: current.start.addingTimeInterval(-1)).end == current.start)
            if index + 1 < shifts.count { #expect(current.end == shifts[index + 1].start) }
            // A week is 7 days give or take the one-hour change, never anything else.
            let hours = current.end.timeIntervalSince(current.start) / 3600
            #expect([167, 168, 169].contains(hours), "\(current.start): \(hours) h")
        }
    }
}

@Suite("Rotation schedule: upcoming hand-offs")
struct RotationHandoffTests {
    @Test("the next hand-offs, strictly after the given instant")
    func nextHandoffs() throws {
        let schedule = try schedule(["alice", "bob", "carol"], every: "1w", handoff: "monday 09:00", zone: "Europe/Berlin", start: "2026-03-02")
        #expect(
            schedule.handoffs(after: try utc("2026-03-20T00:00:00Z"), count: 3) == [
                try shift("alice", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"),
                try shift("bob", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"),
                try shift("carol", "2026-04-06T07:00:00Z", "2026-04-13T07:00:00Z"),
            ])
        // A hand-off exactly at the instant is not "after" it.
        #expect(schedule.handoffs(after: try utc("2026-03-23T08:00:00Z"), count: 1) == [try shift("bob", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z")])
        #expect(schedule.handoffs(after: try utc("2026-03-23T07:59:59Z"), count: 1) == [try shift("alice", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z")])
        #expect(schedule.handoffs(after: try utc("2026-03-20T00:00:00Z"), count: 0).isEmpty)
        #expect(schedule.handoffs(after: try utc("2026-03-20T00:00:00Z"), count: -1).isEmpty)
    }
}

@Suite("Rotation schedule: overrides")
struct RotationOverrideTests {
    // Bob's regular week is 2024-01-08 09:00 to 2024-01-15 09:00 UTC.
    private let schedule: RotationSchedule

    init() throws {
        schedule = try RotationSchedule(rotation: rotation(["alice", "bob"], every: "1w", handoff: "monday 09:00", zone: "UTC", start: "2024-01-01"))
    }

    private func override(_ person: String, _ start: String, _ end: String, rotation: String = "primary") throws -> OnCallOverride {
        OnCallOverride(rotationID: rotation, personID: person, start: try utc(start), end: try utc(end), createdBy: "bob")
    }

    @Test("an active override replaces the person for its window; the regular shift around it is trimmed")
    func activeOverride() throws {
        let overrides = [try override("carol", "2024-01-09T10:00:00Z", "2024-01-09T18:00:00Z")]
        let carol = try shift("carol", "2024-01-09T10:00:00Z", "2024-01-09T18:00:00Z", override: true)
        #expect(schedule.onCall(at: try utc("2024-01-09T12:00:00Z"), overrides: overrides) == carol)
        #expect(schedule.onCall(at: try utc("2024-01-09T10:00:00Z"), overrides: overrides) == carol)
        #expect(schedule.onCall(at: try utc("2024-01-09T17:59:59Z"), overrides: overrides) == carol)
        // Before and after it, bob again, with his shift cut at the override's edges.
        #expect(
            schedule.onCall(at: try utc("2024-01-09T09:59:59Z"), overrides: overrides) == (try shift("bob", "2024-01-08T09:00:00Z", "2024-01-09T10:00:00Z")))
        #expect(
            schedule.onCall(at: try utc("2024-01-09T18:00:00Z"), overrides: overrides) == (try shift("bob", "2024-01-09T18:00:00Z", "2024-01-15T09:00:00Z")))
    }

    @Test("expired, future, empty and other rotations' overrides leave the regular shift alone")
    func inactiveOverrides() throws {
        let overrides = [
            try override("carol", "2023-06-01T00:00:00Z", "2023-06-02T00:00:00Z"),
            try override("dave", "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z"),
            try override("erin", "2024-01-10T00:00:00Z", "2024-01-10T00:00:00Z"),
            try override("frank", "2024-01-10T12:00:00Z", "2024-01-10T06:00:00Z"),
            try override("gina", "2024-01-10T00:00:00Z", "2024-01-11T00:00:00Z", rotation: "secondary"),
        ]
        let date = try utc("2024-01-10T08:00:00Z")
        #expect(schedule.onCall(at: date, overrides: overrides) == (try shift("bob", "2024-01-08T09:00:00Z", "2024-01-15T09:00:00Z")))
        #expect(schedule.onCall(at: date, overrides: overrides) == schedule.shift(at: date))
        #expect(schedule.onCall(at: date, overrides: []) == schedule.shift(at: date))
    }

    @Test("overlapping overrides: the one created last wins where they overlap")
    func overlappingOverrides() throws {
        let dave = try override("dave", "2024-01-09T10:00:00Z", "2024-01-09T18:00:00Z")
        let erin = try override("erin", "2024-01-09T12:00:00Z", "2024-01-09T14:00:00Z")

        // Erin's was created after Dave's: she has 12:00–14:00, Dave the rest of his window on either side.
        let daveThenErin = [dave, erin]
        #expect(
            schedule.onCall(at: try utc("2024-01-09T13:00:00Z"), overrides: daveThenErin)
                == (try shift("erin", "2024-01-09T12:00:00Z", "2024-01-09T14:00:00Z", override: true)))
        #expect(
            schedule.onCall(at: try utc("2024-01-09T11:00:00Z"), overrides: daveThenErin)
                == (try shift("dave", "2024-01-09T10:00:00Z", "2024-01-09T12:00:00Z", override: true)))
        #expect(
            schedule.onCall(at: try utc("2024-01-09T14:00:00Z"), overrides: daveThenErin)
                == (try shift("dave", "2024-01-09T14:00:00Z", "2024-01-09T18:00:00Z", override: true)))

        // Dave's was created after Erin's and covers it entirely.
        let erinThenDave = [erin, dave]
        #expect(
            schedule.onCall(at: try utc("2024-01-09T13:00:00Z"), overrides: erinThenDave)
                == (try shift("dave", "2024-01-09T10:00:00Z", "2024-01-09T18:00:00Z", override: true)))
    }

    @Test("an override across a regular hand-off keeps its whole window")
    func overrideAcrossHandoff() throws {
        let overrides = [try override("carol", "2024-01-14T00:00:00Z", "2024-01-16T00:00:00Z")]
        #expect(
            schedule.onCall(at: try utc("2024-01-15T09:00:00Z"), overrides: overrides)
                == (try shift("carol", "2024-01-14T00:00:00Z", "2024-01-16T00:00:00Z", override: true)))
        #expect(
            schedule.onCall(at: try utc("2024-01-16T00:00:00Z"), overrides: overrides) == (try shift("alice", "2024-01-16T00:00:00Z", "2024-01-22T09:00:00Z")))
    }
}

@Suite("Escalation resolver")
struct EscalationResolverTests {
    private let config: OnCallConfig
    /// Primary (weekly) has alice on 2024-01-03; secondary (daily) is on its third turn, dave's.
    private let date: Date

    init() throws {
        config = OnCallConfig(rotations: [
            try rotation(["alice", "bob"], every: "1w", handoff: "monday 09:00", zone: "UTC", start: "2024-01-01", id: "primary"),
            try rotation(["carol", "alice", "dave"], every: "1d", handoff: "09:00", zone: "UTC", start: "2024-01-01", id: "secondary"),
        ])
        date = try utc("2024-01-03T12:00:00Z")
    }

    private let targets: [NotifyTarget] = [
        .rotation("primary"), .person("carol"), .rotation("secondary"), .person("alice"), .person("erin"), .rotation("primary"),
    ]

    @Test("rotations become whoever is on call, persons stay, duplicates go, order stays")
    func rotationsAndPeople() {
        #expect(EscalationResolver.people(for: targets, config: config, at: date, overrides: [:]) == ["alice", "carol", "dave", "erin"])
    }

    @Test("overrides decide who a rotation resolves to")
    func withOverrides() throws {
        let secondaryToAlice = OnCallOverride(
            rotationID: "secondary", personID: "alice", start: try utc("2024-01-03T00:00:00Z"), end: try utc("2024-01-04T00:00:00Z"), createdBy: "dave"
        )
        #expect(EscalationResolver.people(for: targets, config: config, at: date, overrides: ["secondary": [secondaryToAlice]]) == ["alice", "carol", "erin"])

        let primaryToErin = OnCallOverride(
            rotationID: "primary", personID: "erin", start: try utc("2024-01-03T00:00:00Z"), end: try utc("2024-01-04T00:00:00Z"), createdBy: "alice"
        )
        #expect(
            EscalationResolver.people(for: targets, config: config, at: date, overrides: ["primary": [primaryToErin]]) == ["erin", "carol", "dave", "alice"])
    }

    @Test("an unknown rotation is skipped, and no targets means no one")
    func edgeCases() {
        #expect(EscalationResolver.people(for: [.rotation("nope"), .person("bob")], config: config, at: date, overrides: [:]) == ["bob"])
        #expect(EscalationResolver.people(for: [], config: config, at: date, overrides: [:]).isEmpty)
    }
}
