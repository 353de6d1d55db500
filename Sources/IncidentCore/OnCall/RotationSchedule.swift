import Foundation
import Synchronization

/// One stretch of time during which one person is on call for a rotation.
public struct OnCallShift: Sendable, Hashable {
    public var personID: String
    /// Inclusive.
    public var start: Date
    /// Exclusive: at `end` the next shift has begun.
    public var end: Date
    /// Whether an override put this person on call rather than the regular turn order.
    public var isOverride: Bool

    public init(personID: String, start: Date, end: Date, isOverride: Bool) {
        self.personID = personID
        self.start = start
        self.end = end
        self.isOverride = isOverride
    }
}

/// Who is on call for one rotation, when, and when the hand-offs fall. Pure arithmetic over the
/// rotation's configuration; the store only supplies overrides.
///
/// Turns are numbered from the anchor, the first hand-off at or after local midnight of the rotation's
/// `start` day that falls on the hand-off weekday (if one is set) at the hand-off time. Turn 0 belongs to
/// the first member, turn 1 to the second, and so on round the list; turns before the anchor have negative
/// numbers and count backwards through the same cycle.
///
/// How hand-offs are spaced depends on the period:
/// - A whole number of days (`1d`, `1w`, `2w`): hand-offs fall every that many *calendar days in the
///   rotation's time zone*, always at the hand-off wall-clock time, so a Monday 09:00 hand-off stays at
///   Monday 09:00 across daylight-saving changes, and a shift that spans a change is an hour shorter or
///   longer in absolute time.
/// - Anything else (`12h`, `8h`, `36h`): hand-offs fall every `period` seconds from the anchor, so the
///   local clock time of the hand-offs moves by an hour when daylight-saving time starts or ends.
///
/// Wall-clock times that the zone skips or repeats are resolved the way `Calendar` does with
/// `.nextTime` and `.first`: a hand-off at 02:30 on a spring-forward night (when 02:00 jumps to 03:00)
/// happens at the first instant that exists after the gap, 03:00; a hand-off at a time that occurs twice
/// on a fall-back night happens at its first occurrence.
public struct RotationSchedule: Sendable {
    public let rotation: RotationConfig

    /// How far apart consecutive hand-offs are.
    private enum Spacing: Sendable {
        case calendarDays(Int)
        case seconds(Int64)
    }

    private let calendar: Calendar
    private let spacing: Spacing
    /// The local day of turn 0's hand-off (used to count calendar days).
    private let anchorDay: CivilDay
    /// The instant turn 0 begins.
    private let anchor: Date

    /// The schedule of every rotation in `config`, by rotation id; a rotation `init` would refuse (one a
    /// validated config cannot hold) is left out, for whoever asks for it to find out.
    public static func all(_ config: OnCallConfig) -> [String: RotationSchedule] {
        let valid = config.rotations.filter { rotation in
            !rotation.members.isEmpty && rotation.period.seconds > 0 && TimeZone(identifier: rotation.timezone) != nil
                && CivilDay(parsing: rotation.start) != nil
        }
        return Dictionary(valid.map { ($0.id, RotationSchedule(rotation: $0)) }, uniquingKeysWith: { first, _ in first })
    }

    /// `rotation`'s schedule from `prepared` (made by `all`) when it is there for this very rotation, else
    /// made now.
    public static func of(_ rotation: RotationConfig, in prepared: [String: RotationSchedule]) -> RotationSchedule {
        if let schedule = prepared[rotation.id], schedule.rotation == rotation { return schedule }
        return RotationSchedule(rotation: rotation)
    }

    /// `rotation` must come from a validated config: a known IANA time zone, a `YYYY-MM-DD` start date,
    /// at least one member and a period longer than zero. Anything else is a programming error and traps.
    public init(rotation: RotationConfig) {
        precondition(!rotation.members.isEmpty, "rotation \(rotation.id) has no members")
        precondition(rotation.period.seconds > 0, "rotation \(rotation.id) has a period of zero")
        guard let zone = TimeZone(identifier: rotation.timezone) else {
            preconditionFailure("rotation \(rotation.id) has an unknown time zone \(rotation.timezone)")
        }
        guard let startDay = CivilDay(parsing: rotation.start) else {
            preconditionFailure("rotation \(rotation.id) has a start date that is not YYYY-MM-DD: \(rotation.start)")
        }

        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        self.rotation = rotation
        self.calendar = calendar

        let secondsPerDay: Int64 = 86_400
        if rotation.period.seconds % secondsPerDay == 0 {
            spacing = .calendarDays(Int(rotation.period.seconds / secondsPerDay))
        } else {
            spacing = .seconds(rotation.period.seconds)
        }

        // The hand-off time is never before midnight, so the first hand-off at or after the start day's
        // midnight is on the start day itself, or on the first later day with the right weekday.
        var day = startDay
        if let weekday = rotation.handoff.weekday {
            day = day.adding(days: (weekday - day.weekday + 7) % 7)
        }
        anchorDay = day
        anchor = Self.handoffInstant(on: day, at: rotation.handoff, in: calendar)
    }

    /// The regular shift (no overrides) covering `date`.
    public func shift(at date: Date) -> OnCallShift {
        regularShift(turn: turn(containing: date))
    }

    /// The shift at `date` with overrides applied. `overrides` is the list the store returns for this
    /// rotation, taken to be in creation order, oldest first: of the overrides whose [start, end) contains
    /// `date`, the last in the list wins. Overrides for other rotations and empty windows are ignored.
    ///
    /// The returned window is the stretch around `date` during which the answer holds: an override's own
    /// window less any part where a newer override takes over, or the regular shift less any part covered
    /// by an override.
    public func onCall(at date: Date, overrides: [OnCallOverride]) -> OnCallShift {
        let candidates = overrides.filter { $0.rotationID == rotation.id && $0.start < $0.end }
        guard let winnerIndex = candidates.lastIndex(where: { $0.start <= date && date < $0.end }) else {
            // No override is active at `date`, so every candidate lies wholly before or after it.
            let regular = shift(at: date)
            let window = Self.window(from: regular.start, to: regular.end, around: date, lessEach: candidates)
            return OnCallShift(personID: regular.personID, start: window.start, end: window.end, isOverride: false)
        }
        let winner = candidates[winnerIndex]
        // Newer overrides outrank the winner where they overlap it; none of them is active at `date`,
        // or it would have won.
        let newer = candidates[(winnerIndex + 1)...]
        let window = Self.window(from: winner.start, to: winner.end, around: date, lessEach: newer)
        return OnCallShift(personID: winner.personID, start: window.start, end: window.end, isOverride: true)
    }

    /// The next `count` regular hand-offs strictly after `date`, each as the shift it starts.
    public func handoffs(after date: Date, count: Int) -> [OnCallShift] {
        guard count > 0 else { return [] }
        // The shift covering `date` began at or before it, so the first hand-off strictly after `date`
        // starts the turn after it.
        let firstTurn = turn(containing: date) + 1
        return (firstTurn..<firstTurn + count).map(regularShift(turn:))
    }

    // MARK: Turns

    private func regularShift(turn: Int) -> OnCallShift {
        let members = rotation.members
        let memberIndex = ((turn % members.count) + members.count) % members.count
        return OnCallShift(
            personID: members[memberIndex], start: start(ofTurn: turn), end: start(ofTurn: turn + 1), isOverride: false
        )
    }

    /// The turn whose [start, next start) contains `date`.
    private func turn(containing date: Date) -> Int {
        var turn: Int
        switch spacing {
        case .calendarDays(let days):
            let localDay = CivilDay(of: date, in: calendar)
            turn = Self.floorDivide(localDay.daysSinceEpoch - anchorDay.daysSinceEpoch, by: days)
        case .seconds(let seconds):
            turn = Int((date.timeIntervalSince(anchor) / TimeInterval(seconds)).rounded(.down))
        }
        // The estimate is off by one when `date` is on a hand-off day but before the hand-off time, and
        // could be off around skipped or repeated local times; walk to the right turn.
        while start(ofTurn: turn) > date { turn -= 1 }
        while start(ofTurn: turn + 1) <= date { turn += 1 }
        return turn
    }

    private func start(ofTurn turn: Int) -> Date {
        switch spacing {
        case .calendarDays(let days):
            Self.handoffInstant(on: anchorDay.adding(days: turn * days), at: rotation.handoff, in: calendar)
        case .seconds(let seconds):
            anchor.addingTimeInterval(TimeInterval(Int64(turn) * seconds))
        }
    }

    /// The hand-off time on `day` in the calendar's zone; skipped times move to the first instant after
    /// the gap, repeated times take their first occurrence.
    private static func handoffInstant(on day: CivilDay, at handoff: Handoff, in calendar: Calendar) -> Date {
        // Every command that pages asks who is on call, and each answer resolves a few hand-off instants;
        // Calendar's wall-clock resolution is slow and its answer for a day never changes.
        let key = HandoffInstantKey(zone: calendar.timeZone.identifier, day: day, hour: handoff.hour, minute: handoff.minute)
        if let known = handoffInstants.withLock({ $0[key] }) { return known }
        let instant = resolveHandoffInstant(on: day, at: handoff, in: calendar)
        handoffInstants.withLock { cache in
            // A handful of days per rotation is what is asked for; the bound only guards odd callers.
            if cache.count >= 4096 { cache.removeAll(keepingCapacity: true) }
            cache[key] = instant
        }
        return instant
    }

    private struct HandoffInstantKey: Hashable, Sendable {
        var zone: String
        var day: CivilDay
        var hour: Int
        var minute: Int
    }

    private static let handoffInstants = Mutex<[HandoffInstantKey: Date]>([:])

    private static func resolveHandoffInstant(on day: CivilDay, at handoff: Handoff, in calendar: Calendar) -> Date {
        // Some zones skip midnight on their daylight-saving day (America/Santiago); noon goes only with a
        // whole skipped day (Pacific/Apia, 2011-12-30), so it reliably names the day to set the time on.
        let (year, month, dayOfMonth) = day.components
        let noonComponents = DateComponents(year: year, month: month, day: dayOfMonth, hour: 12)
        if let noon = calendar.date(from: noonComponents),
            let instant = calendar.date(
                bySettingHour: handoff.hour, minute: handoff.minute, second: 0, of: noon,
                matchingPolicy: .nextTime, repeatedTimePolicy: .first, direction: .forward
            )
        {
            return instant
        }
        // Not reached with the Gregorian calendar; Calendar's plain resolution is the closest fallback.
        let wallClock = DateComponents(year: year, month: month, day: dayOfMonth, hour: handoff.hour, minute: handoff.minute)
        return calendar.date(from: wallClock) ?? day.utcMidnight
    }

    /// [start, end) narrowed to the part around `date` that none of `others` covers. No element of
    /// `others` may contain `date`: each lies wholly before it (trimming the start) or after it (trimming
    /// the end).
    private static func window(
        from start: Date, to end: Date, around date: Date, lessEach others: some Sequence<OnCallOverride>
    ) -> (start: Date, end: Date) {
        var start = start
        var end = end
        for other in others {
            if other.end <= date, other.end > start { start = other.end }
            if other.start > date, other.start < end { end = other.start }
        }
        return (start, end)
    }

    private static func floorDivide(_ dividend: Int, by divisor: Int) -> Int {
        let quotient = dividend / divisor
        return (dividend % divisor != 0 && (dividend < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

/// A calendar date with no time or zone, counted in days since 1970-01-01 so that calendar-day arithmetic
/// is plain integer arithmetic, unaffected by daylight-saving changes.
private struct CivilDay: Sendable, Hashable {
    let daysSinceEpoch: Int

    init(daysSinceEpoch: Int) { self.daysSinceEpoch = daysSinceEpoch }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`).
    init(year: Int, month: Int, day: Int) {
        let shiftedYear = month <= 2 ? year - 1 : year  // count years from March, so February ends them
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        daysSinceEpoch = era * 146_097 + dayOfEra - 719_468
    }

    /// `2026-03-29` (a one-digit month or day, `2026-3-9`, is accepted too); nil for anything that is not
    /// a real date in that form.
    init?(parsing text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, (1...2).contains(parts[1].count), (1...2).contains(parts[2].count),
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        self.init(year: year, month: month, day: day)
        // Rejects 2026-02-30 and the like, which would otherwise roll over into the next month.
        guard components == (year, month, day) else { return nil }
    }

    /// The local date of `date` in the calendar's zone.
    init(of date: Date, in calendar: Calendar) {
        // The zone's offset at that instant turns it into local seconds; whole days of those are the date
        // (cheaper than asking the calendar for components, and the same for the Gregorian calendar).
        let local = date.timeIntervalSince1970 + TimeInterval(calendar.timeZone.secondsFromGMT(for: date))
        self.init(daysSinceEpoch: Int((local / 86_400).rounded(.down)))
    }

    func adding(days: Int) -> CivilDay { CivilDay(daysSinceEpoch: daysSinceEpoch + days) }

    /// 1 = Sunday … 7 = Saturday, as `Calendar` and `Handoff` count; 1970-01-01 was a Thursday.
    var weekday: Int { ((daysSinceEpoch + 4) % 7 + 7) % 7 + 1 }

    var utcMidnight: Date { Date(timeIntervalSince1970: TimeInterval(daysSinceEpoch) * 86_400) }

    /// The inverse of `init(year:month:day:)` (Howard Hinnant's `civil_from_days`).
    var components: (year: Int, month: Int, day: Int) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
