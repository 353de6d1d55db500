import Foundation
import Testing

@testable import IncidentCore

/// Business time (runbooks 001 and 002: "next business day", "5 business days"; 003 and 004: "next
/// sprint"), counted in working hours of a time zone, across weekends, holidays and DST changes.
@Suite("Business calendar")
struct BusinessCalendarTests {
    /// `"2026-03-27 10:00"` as wall-clock time in `zone`.
    static func local(_ text: String, _ zone: String = "UTC") -> Date {
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).map { Int($0)! }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4]))!
    }

    /// Monday to Friday, 09:00 to 17:00, in `zone`.
    static func office(_ zone: String = "UTC", holidays: Set<String> = [], sprint: BusinessCalendar.Sprint? = nil) -> BusinessCalendar {
        BusinessCalendar(timeZone: TimeZone(identifier: zone)!, holidays: holidays, sprint: sprint)
    }

    // 2026-03-02 is a Monday.

    @Test(
        "one business day is the same time on the next working day",
        arguments: [
            ("2026-03-02 10:00", "2026-03-03 10:00"),  // Monday → Tuesday
            ("2026-03-06 16:00", "2026-03-09 16:00"),  // Friday → Monday, over the weekend
            ("2026-03-07 12:00", "2026-03-09 17:00"),  // Saturday: counting starts Monday 09:00
            ("2026-03-02 07:00", "2026-03-02 17:00"),  // before opening: the whole of Monday
            ("2026-03-02 18:30", "2026-03-03 17:00"),  // after closing: the whole of Tuesday
            ("2026-03-02 17:00", "2026-03-03 17:00"),  // at closing: nothing left of Monday
        ])
    func oneBusinessDay(_ start: String, _ due: String) {
        #expect(Self.office().adding(businessDays: 1, to: Self.local(start)) == Self.local(due))
    }

    @Test("five business days skip the weekend and holidays (001-17: post-mortem within 5 business days)")
    func fiveBusinessDays() {
        let wednesday = Self.local("2026-03-04 10:00")
        #expect(Self.office().adding(businessDays: 5, to: wednesday) == Self.local("2026-03-11 10:00"))
        // A holiday on Friday the 6th pushes it a day.
        #expect(Self.office(holidays: ["2026-03-06"]).adding(businessDays: 5, to: wednesday) == Self.local("2026-03-12 10:00"))
        // Annual holidays (`MM-DD`) apply every year.
        #expect(Self.office(holidays: ["03-06"]).adding(businessDays: 5, to: wednesday) == Self.local("2026-03-12 10:00"))
        // 6 March 2028 is a Monday.
        #expect(Self.office(holidays: ["03-06"]).adding(businessDays: 5, to: Self.local("2028-03-01 10:00")) == Self.local("2028-03-09 10:00"))
    }

    @Test("business hours carry over the close of the day")
    func businessHours() {
        let due = Deadline.businessHours(4).due(from: Self.local("2026-03-02 15:00"), calendar: Self.office())
        #expect(due == Self.local("2026-03-03 11:00"))
    }

    @Test("across the spring DST change a business day keeps the wall-clock time (Europe/Berlin, 29 March 2026)")
    func springForward() {
        let berlin = Self.office("Europe/Berlin")
        let friday = Self.local("2026-03-27 10:00", "Europe/Berlin")
        let monday = berlin.adding(businessDays: 1, to: friday)
        #expect(monday == Self.local("2026-03-30 10:00", "Europe/Berlin"))
        // 71 hours, not 72: the Sunday had 23.
        #expect(monday.timeIntervalSince(friday) == 71 * 3600)
    }

    @Test("across the autumn DST change too (Europe/Berlin, 25 October 2026)")
    func fallBack() {
        let berlin = Self.office("Europe/Berlin")
        let friday = Self.local("2026-10-23 16:30", "Europe/Berlin")
        let monday = berlin.adding(businessDays: 1, to: friday)
        #expect(monday == Self.local("2026-10-26 16:30", "Europe/Berlin"))
        #expect(monday.timeIntervalSince(friday) == 73 * 3600)
        #expect(berlin.endOfNextBusinessDay(after: friday) == Self.local("2026-10-26 17:00", "Europe/Berlin"))
    }

    @Test(
        "next business day: the close of the first working day after today (002-04, 001-04)",
        arguments: [
            ("2026-03-02 10:00", "2026-03-03 17:00"),  // Monday → Tuesday's close
            ("2026-03-06 18:00", "2026-03-09 17:00"),  // Friday evening → Monday's close
            ("2026-03-07 09:00", "2026-03-09 17:00"),  // Saturday → Monday
            ("2026-12-23 11:00", "2026-12-28 17:00"),  // Wednesday before the 24th, 25th (holidays) → Monday
        ])
    func nextBusinessDay(_ start: String, _ due: String) {
        let calendar = Self.office(holidays: ["12-24", "12-25"])
        #expect(calendar.endOfNextBusinessDay(after: Self.local(start)) == Self.local(due))
        #expect(Deadline.nextBusinessDay.due(from: Self.local(start), calendar: calendar) == Self.local(due))
    }

    @Test("a time zone moves working hours: 17:00 in New York is 22:00 UTC")
    func zoneMatters() {
        let newYork = Self.office("America/New_York")
        #expect(newYork.endOfNextBusinessDay(after: Self.local("2026-03-02 12:00")) == Self.local("2026-03-03 22:00"))
        #expect(newYork.isWorking(at: Self.local("2026-03-02 14:00")))  // 09:00 in New York
        #expect(!newYork.isWorking(at: Self.local("2026-03-02 13:59")))
        #expect(!newYork.isWorking(at: Self.local("2026-03-07 16:00")))  // Saturday
    }

    @Test(
        "next sprint: two-week sprints from Monday 5 January 2026 (003-05, 004-04)",
        arguments: [
            ("2026-01-07 10:00", "2026-01-19 09:00"),
            ("2026-01-19 08:59", "2026-01-19 09:00"),  // the sprint's first day, before it opens
            ("2026-01-19 09:00", "2026-02-02 09:00"),  // once it has started, the one after
            ("2025-12-30 10:00", "2026-01-05 09:00"),  // before the anchor
            ("2025-12-01 10:00", "2025-12-08 09:00"),  // sprints run before the anchor too
        ])
    func nextSprint(_ start: String, _ due: String) {
        let calendar = Self.office(sprint: .init(lengthDays: 14, anchor: .init(year: 2026, month: 1, day: 5)))
        #expect(calendar.nextSprintStart(after: Self.local(start)) == Self.local(due))
        #expect(Deadline.nextSprint.due(from: Self.local(start), calendar: calendar) == Self.local(due))
    }

    @Test("a calendar of holidays only never loops forever")
    func noBusinessDayAtAll() {
        let never = BusinessCalendar(timeZone: TimeZone(identifier: "UTC")!, workingDays: [])
        let start = Self.local("2026-03-02 10:00")
        #expect(never.adding(businessDays: 1, to: start) == start.addingTimeInterval(8 * 3600))
        #expect(never.endOfNextBusinessDay(after: start) == start.addingTimeInterval(86_400))
    }

    @Test(
        "deadlines as written",
        arguments: [
            ("15m", Deadline.span(.minutes(15))), ("1bd", .businessDays(1)), ("5BD", .businessDays(5)), ("4bh", .businessHours(4)),
            ("next business day", .nextBusinessDay), ("Next Sprint", .nextSprint),
        ])
    func parsing(_ text: String, _ expected: Deadline) {
        #expect(Deadline(parsing: text) == expected)
    }

    @Test("not deadlines", arguments: ["bd", "1.5bd", "-1bd", "soon", "", "next week", "99999bd"])
    func notDeadlines(_ text: String) {
        #expect(Deadline(parsing: text) == nil)
    }
}
