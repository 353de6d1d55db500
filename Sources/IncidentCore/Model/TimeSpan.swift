import Foundation

/// A length of time as written in `bot-config.json`: `"90s"`, `"15m"`, `"2h"`, `"1d"`, `"1w"`, or
/// combined, `"1h30m"`. Whole seconds; never negative.
public struct TimeSpan: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }
    public static func minutes(_ m: Int64) -> TimeSpan { TimeSpan(seconds: m * 60) }
    public static func hours(_ h: Int64) -> TimeSpan { TimeSpan(seconds: h * 3600) }
    public static func days(_ d: Int64) -> TimeSpan { TimeSpan(seconds: d * 86_400) }
    public static let zero = TimeSpan(seconds: 0)

    private static let units: [(Character, Int64)] = [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]

    /// The longest duration Klaxon accepts anywhere, in `bot-config.json` or in a command: one year
    /// (365 days). Every timer, override and cadence stays far inside what dates and the store's
    /// millisecond integers can hold, so no typed number can overflow them.
    public static let maximum = TimeSpan(seconds: 365 * 86_400)

    /// Why a written duration was refused.
    public enum ParseProblem: Error, Sendable, Hashable {
        /// Not digits followed by units (`"-5m"`, `"soon"`, `"4"`).
        case notADuration
        /// Well formed but longer than `maximum` (or too long to count at all).
        case tooLong
    }

    /// Parses `"1h30m"` and friends, refusing anything longer than `maximum`.
    public static func parse(_ text: String) -> Result<TimeSpan, ParseProblem> {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty else { return .failure(.notADuration) }
        var total: Int64 = 0
        var digits = ""
        var sawUnit = false
        var overflowed = false
        for character in trimmed {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else if let unit = Self.units.first(where: { $0.0 == character }), !digits.isEmpty {
                // Keep reading after an overflow: a malformed tail still makes it "not a duration".
                if let value = Int64(digits) {
                    let (product, overflow1) = value.multipliedReportingOverflow(by: unit.1)
                    let (sum, overflow2) = total.addingReportingOverflow(product)
                    overflowed = overflowed || overflow1 || overflow2
                    total = sum
                } else {
                    overflowed = true
                }
                digits = ""
                sawUnit = true
            } else {
                return .failure(.notADuration)
            }
        }
        guard digits.isEmpty, sawUnit else { return .failure(.notADuration) }
        guard !overflowed, total <= maximum.seconds else { return .failure(.tooLong) }
        return .success(TimeSpan(seconds: total))
    }

    /// Parses `"1h30m"` and friends; `nil` for anything else, negative numbers and durations longer
    /// than `maximum` included.
    public init?(parsing text: String) {
        guard case .success(let span) = Self.parse(text) else { return nil }
        self = span
    }

    public var timeInterval: TimeInterval { TimeInterval(seconds) }

    /// The shortest exact form: `15m`, `1h30m`, `2d`.
    public var description: String {
        if seconds == 0 { return "0s" }
        var rest = seconds
        var out = ""
        for (unit, size) in Self.units where unit != "w" && rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }

    /// How people read an elapsed time in a reply: `47 min`, `2 h 5 min`, `3 d 4 h`.
    public static func humanReadable(_ interval: TimeInterval) -> String {
        // Clamped before converting, as `Int(Double)` traps on NaN and beyond `Int.max`; no real elapsed
        // time comes near a thousand years.
        let bounded = interval.isNaN ? 0 : min(max(interval, 0), 1000 * 365 * 86_400)
        let total = Int(bounded.rounded(.down))
        if total < 60 { return "\(total) s" }
        let minutes = total / 60
        if minutes < 60 { return "\(minutes) min" }
        let hours = minutes / 60
        if hours < 24 { return minutes % 60 == 0 ? "\(hours) h" : "\(hours) h \(minutes % 60) min" }
        let days = hours / 24
        return hours % 24 == 0 ? "\(days) d" : "\(days) d \(hours % 24) h"
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.seconds < rhs.seconds }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let span = TimeSpan(parsing: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "\"\(text)\" is not a duration of at most \(TimeSpan.maximum)"))
        }
        self = span
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
