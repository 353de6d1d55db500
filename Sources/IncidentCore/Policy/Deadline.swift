import Foundation

/// How long until something is due: plain time, or time in the business calendar.
public enum Deadline: Sendable, Hashable, CustomStringConvertible {
    /// `"15m"`, `"24h"`: wall-clock time.
    case span(TimeSpan)
    /// `"1bd"`, `"5bd"`: business days of working time (`calendar`).
    case businessDays(Int)
    /// `"4bh"`: business hours of working time.
    case businessHours(Int)
    /// The close of the next business day.
    case nextBusinessDay
    /// The start of the next sprint (`calendar.sprint`).
    case nextSprint
    /// `"tomorrow 14:00"` (004-22 "Post-incident review tomorrow 2pm"): the next day at that local time,
    /// `minutes` after midnight in `calendar.timeZone`.
    case tomorrowAt(minutes: Int)
    /// `"next business day 10:00"`: the first business day after today, at that local time.
    case nextBusinessDayAt(minutes: Int)

    /// `"15m"`, `"5bd"`, `"4bh"`, `"next business day"`, `"next sprint"`; nil for anything else.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch trimmed {
        case "next business day", "next-business-day", "nbd": self = .nextBusinessDay
        case "next sprint", "next-sprint": self = .nextSprint
        default:
            for (prefix, make) in [("tomorrow", Deadline.tomorrowAt), ("next business day", Deadline.nextBusinessDayAt)] where trimmed.hasPrefix(prefix + " ") {
                var clock = trimmed.dropFirst(prefix.count + 1).trimmingCharacters(in: .whitespaces)
                if clock.hasPrefix("at ") { clock = String(clock.dropFirst(3)).trimmingCharacters(in: .whitespaces) }
                guard let minutes = Self.clockMinutes(clock) else { return nil }
                self = make(minutes)
                return
            }
            for (suffix, make) in [("bd", Deadline.businessDays), ("bh", Deadline.businessHours)] where trimmed.hasSuffix(suffix) {
                let digits = trimmed.dropLast(2)
                guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int(digits) else { return nil }
                self = make(count)
                return
            }
            guard let span = TimeSpan(parsing: trimmed) else { return nil }
            self = .span(span)
        }
    }

    /// Whether the business calendar is needed to count it.
    public var needsCalendar: Bool {
        if case .span = self { return false }
        return true
    }

    public var needsSprint: Bool { self == .nextSprint }

    /// Whether it names a clock time (`tomorrow 14:00`), whose zone is `calendar.timeZone`.
    public var isClockTime: Bool {
        switch self {
        case .tomorrowAt, .nextBusinessDayAt: true
        case .span, .businessDays, .businessHours, .nextBusinessDay, .nextSprint: false
        }
    }

    /// `14:00` or `9:30` → minutes after midnight.
    static func clockMinutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        return hour * 60 + minute
    }

    static func clock(_ minutes: Int) -> String { "\((minutes / 60).zeroPadded(2)):\((minutes % 60).zeroPadded(2))" }

    public var description: String {
        switch self {
        case .span(let span): span.description
        case .businessDays(let count): "\(count)bd"
        case .businessHours(let count): "\(count)bh"
        case .nextBusinessDay: "next business day"
        case .nextSprint: "next sprint"
        case .tomorrowAt(let minutes): "tomorrow \(Self.clock(minutes))"
        case .nextBusinessDayAt(let minutes): "next business day \(Self.clock(minutes))"
        }
    }

    /// For people: `15 min`, `5 business days`, `next business day`.
    public var spoken: String {
        switch self {
        case .span(let span): TimeSpan.humanReadable(span.timeInterval)
        case .businessDays(let count): count == 1 ? "1 business day" : "\(count) business days"
        case .businessHours(let count): count == 1 ? "1 business hour" : "\(count) business hours"
        case .nextBusinessDay: "the end of the next business day"
        case .nextSprint: "the start of the next sprint"
        case .tomorrowAt(let minutes): "tomorrow at \(Self.clock(minutes))"
        case .nextBusinessDayAt(let minutes): "the next business day at \(Self.clock(minutes))"
        }
    }

    /// For "no response …": `within 1 h`, `within 5 business days`, `by the end of the next business day`.
    public var limitPhrase: String {
        switch self {
        case .nextBusinessDay, .nextSprint, .tomorrowAt, .nextBusinessDayAt: "by \(spoken)"
        case .span, .businessDays, .businessHours: "within \(spoken)"
        }
    }

    /// When it falls due, counted from `start`.
    public func due(from start: Date, calendar: BusinessCalendar) -> Date {
        switch self {
        case .span(let span): start.addingTimeInterval(span.timeInterval)
        case .businessDays(let count): calendar.adding(businessDays: count, to: start)
        case .businessHours(let count): calendar.adding(workingSeconds: TimeInterval(count) * 3600, to: start)
        case .nextBusinessDay: calendar.endOfNextBusinessDay(after: start)
        // The loader refuses "next sprint" without `calendar.sprint`, so the fallback is never taken.
        case .nextSprint: calendar.nextSprintStart(after: start) ?? calendar.endOfNextBusinessDay(after: start)
        case .tomorrowAt(let minutes): calendar.tomorrow(atMinutes: minutes, after: start)
        case .nextBusinessDayAt(let minutes): calendar.nextBusinessDay(atMinutes: minutes, after: start)
        }
    }
}
