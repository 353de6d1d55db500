import Foundation

/// Dates and durations as people read them in chat, in one time zone.
struct Formatting: Sendable {
    let zone: TimeZone

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    /// `14:30 UTC`
    func clock(_ date: Date) -> String {
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        return (parts.hour ?? 0).zeroPadded(2) + ":" + (parts.minute ?? 0).zeroPadded(2) + " " + zoneName(at: date)
    }

    /// `2026-11-25 14:30 UTC`
    func stamp(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return (parts.year ?? 0).zeroPadded(4) + "-" + (parts.month ?? 0).zeroPadded(2) + "-" + (parts.day ?? 0).zeroPadded(2) + " "
            + (parts.hour ?? 0).zeroPadded(2) + ":" + (parts.minute ?? 0).zeroPadded(2) + " " + zoneName(at: date)
    }

    /// `2026-11-25`
    func day(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return (parts.year ?? 0).zeroPadded(4) + "-" + (parts.month ?? 0).zeroPadded(2) + "-" + (parts.day ?? 0).zeroPadded(2)
    }

    private func zoneName(at date: Date) -> String {
        if zone.identifier == "UTC" || zone.identifier == "GMT" { return "UTC" }
        return zone.abbreviation(for: date) ?? zone.identifier
    }

    /// `47 min`, or `n/a` when one end is missing.
    static func span(from start: Date?, to end: Date?) -> String {
        guard let start, let end else { return "n/a" }
        return TimeSpan.humanReadable(end.timeIntervalSince(start))
    }
}
