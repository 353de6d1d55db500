import Foundation

/// `calendar`: when the organisation works. Business durations (`"1bd"`, `"4bh"`), "next business day" and
/// "next sprint" are counted in it, so a SEV3 declared on Friday evening is due on Monday, not on Saturday
/// (runbooks 001 and 002), and a SEV4 goes to the next sprint (003, 004).
///
/// Working hours are wall-clock times in `timeZone`: a business day that spans a DST change still runs
/// from 09:00 to 17:00 local time.
public struct BusinessCalendar: Sendable, Hashable {
    public var timeZone: TimeZone
    /// `Calendar` weekdays (1 = Sunday … 7 = Saturday) that are working days.
    public var workingDays: Set<Int>
    /// Minutes after local midnight at which the working day opens and closes (`open < close`).
    public var opens: Int
    public var closes: Int
    /// Days off: `YYYY-MM-DD` for one date, `MM-DD` for the same date every year.
    public var holidays: Set<String>
    public var sprint: Sprint?

    /// Sprints of `length` days, the first starting on `anchor` (a local date) at the opening hour.
    public struct Sprint: Sendable, Hashable {
        public var lengthDays: Int
        public var anchor: DayStamp
        public init(lengthDays: Int, anchor: DayStamp) {
            self.lengthDays = lengthDays
            self.anchor = anchor
        }
    }

    /// A local calendar date.
    public struct DayStamp: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var year: Int
        public var month: Int
        public var day: Int
        public init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        /// `2026-12-24`; nil unless a real date.
        public init?(parsing text: String) {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts.map(\.count) == [4, 2, 2], parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
                let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
            else { return nil }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            guard DateComponents(calendar: calendar, year: year, month: month, day: day).isValidDate else { return nil }
            self.init(year: year, month: month, day: day)
        }

        public var description: String { "\(year.zeroPadded(4))-\(month.zeroPadded(2))-\(day.zeroPadded(2))" }
        var annual: String { "\(month.zeroPadded(2))-\(day.zeroPadded(2))" }
        public static func < (lhs: DayStamp, rhs: DayStamp) -> Bool { (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day) }
    }

    public init(
        timeZone: TimeZone, workingDays: Set<Int> = [2, 3, 4, 5, 6], opens: Int = 9 * 60, closes: Int = 17 * 60, holidays: Set<String> = [],
        sprint: Sprint? = nil
    ) {
        self.timeZone = timeZone
        self.workingDays = workingDays
        self.opens = opens
        self.closes = closes
        self.holidays = holidays
        self.sprint = sprint
    }

    /// Monday to Friday, 09:00 to 17:00 UTC, no holidays: what business durations mean without `calendar`.
    public static let standard = BusinessCalendar(timeZone: TimeZone(identifier: "UTC")!)

    /// A working day is this many seconds of working time; `"1bd"` is one of them.
    public var workingDaySeconds: TimeInterval { TimeInterval((closes - opens) * 60) }

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// How far ahead the searches below look before giving up: a calendar whose every day is a holiday
    /// has no next business day, and the answer must not be an endless loop.
    static let searchDays = 3 * 366

    // MARK: Days

    func dayStamp(of date: Date) -> DayStamp {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return DayStamp(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    public func isHoliday(_ day: DayStamp) -> Bool {
        holidays.contains(day.description) || holidays.contains(day.annual)
    }

    /// A working weekday that is not a holiday.
    public func isBusinessDay(_ day: DayStamp) -> Bool {
        guard let noon = date(of: day, minutes: 12 * 60) else { return false }
        return workingDays.contains(calendar.component(.weekday, from: noon)) && !isHoliday(day)
    }

    /// Local wall-clock time `minutes` after midnight of `day`. Times inside a DST gap move forward.
    func date(of day: DayStamp, minutes: Int) -> Date? {
        calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: minutes / 60, minute: minutes % 60))
    }

    func day(after day: DayStamp, by count: Int = 1) -> DayStamp {
        let noon = date(of: day, minutes: 12 * 60)!
        return dayStamp(of: calendar.date(byAdding: .day, value: count, to: noon)!)
    }

    /// When `day`'s working hours open and close.
    func workingHours(of day: DayStamp) -> (open: Date, close: Date)? {
        guard isBusinessDay(day), let open = date(of: day, minutes: opens), let close = date(of: day, minutes: closes), open < close else { return nil }
        return (open, close)
    }

    /// Whether `date` falls inside working hours.
    public func isWorking(at date: Date) -> Bool {
        guard let hours = workingHours(of: dayStamp(of: date)) else { return false }
        return hours.open <= date && date < hours.close
    }

    // MARK: Deadlines

    /// `seconds` of working time after `start`, counted only inside working hours: 1 business day
    /// (8 h of a 09:00–17:00 day) after Friday 16:00 is Monday 16:00; after Saturday noon, Monday 17:00.
    public func adding(workingSeconds seconds: TimeInterval, to start: Date) -> Date {
        var remaining = max(0, seconds)
        var day = dayStamp(of: start)
        for _ in 0..<Self.searchDays {
            if let hours = workingHours(of: day) {
                let from = max(start, hours.open)
                if from < hours.close {
                    let available = hours.close.timeIntervalSince(from)
                    if remaining <= available { return from.addingTimeInterval(remaining) }
                    remaining -= available
                }
            }
            day = self.day(after: day)
        }
        return start.addingTimeInterval(seconds)
    }

    /// `count` business days after `start`.
    public func adding(businessDays count: Int, to start: Date) -> Date {
        adding(workingSeconds: TimeInterval(count) * workingDaySeconds, to: start)
    }

    /// The close of the first business day after the day of `date` (runbook 002's SEV4 "next business day":
    /// someone responds during it).
    public func endOfNextBusinessDay(after date: Date) -> Date {
        var day = self.day(after: dayStamp(of: date))
        for _ in 0..<Self.searchDays {
            if let hours = workingHours(of: day) { return hours.close }
            day = self.day(after: day)
        }
        return date.addingTimeInterval(86_400)
    }

    /// The day after the day of `date`, `minutes` after its local midnight (004-22 "review tomorrow 2pm").
    public func tomorrow(atMinutes minutes: Int, after date: Date) -> Date {
        self.date(of: day(after: dayStamp(of: date)), minutes: minutes) ?? date.addingTimeInterval(86_400)
    }

    /// The first business day after the day of `date`, `minutes` after its local midnight (working hours
    /// or not: a review meeting at 10:00 is meant at 10:00).
    public func nextBusinessDay(atMinutes minutes: Int, after date: Date) -> Date {
        var day = self.day(after: dayStamp(of: date))
        for _ in 0..<Self.searchDays {
            if isBusinessDay(day), let at = self.date(of: day, minutes: minutes) { return at }
            day = self.day(after: day)
        }
        return date.addingTimeInterval(86_400)
    }

    /// The opening of the first sprint that starts after `date`; nil without `sprint`.
    public func nextSprintStart(after date: Date) -> Date? {
        guard let sprint, sprint.lengthDays > 0, let anchorDate = self.date(of: sprint.anchor, minutes: 12 * 60) else { return nil }
        let today = dayStamp(of: date)
        guard let todayNoon = self.date(of: today, minutes: 12 * 60) else { return nil }
        // Whole local days between the anchor and today, DST-proof because both are at noon.
        let days = calendar.dateComponents([.day], from: anchorDate, to: todayNoon).day ?? 0
        var index = days >= 0 ? days / sprint.lengthDays : -((-days + sprint.lengthDays - 1) / sprint.lengthDays)
        for _ in 0..<3 {
            let startDay = self.day(after: sprint.anchor, by: index * sprint.lengthDays)
            if let start = self.date(of: startDay, minutes: opens), start > date { return start }
            index += 1
        }
        return nil
    }
}
