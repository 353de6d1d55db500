import Foundation

/// `incidents.idFormat`: how incident ids are shown, e.g. `INC-{year}-{seq:3}` → `INC-2026-001` (runbook
/// 002-20, 002-23, 002-24). The default `INC-{n}` is the plain number every build before it showed.
///
/// Placeholders: `{n}` (the incident number, counted over all time), `{seq}` (the number within the
/// format's period: within the day when the format has `{day}` or `{date}`, else the month with
/// `{month}`, else the year with `{year}`, else all time), `{year}`, `{month}`, `{day}`, `{date}`
/// (YYYY-MM-DD). `{n:3}` and `{seq:3}` pad with zeros to that many digits. Dates are read in
/// `incidents.timeZone`.
public struct IncidentLabelFormat: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case number(width: Int)
        case sequence(width: Int)
        case year, month, day, date
    }

    public let parts: [Part]
    public let source: String

    public static let standard = IncidentLabelFormat(source: "INC-{n}", parts: [.literal("INC-"), .number(width: 0)])

    private init(source: String, parts: [Part]) {
        self.source = source
        self.parts = parts
    }

    /// Why a format cannot be used; `description` finishes "incidents.idFormat: …".
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        case unknownPlaceholder(String)
        case noNumber
        case adjacentPlaceholders(String)
        case literalCharacters(String)
        case width(String)

        public var description: String {
            switch self {
            case .unknownPlaceholder(let name): "unknown placeholder {\(name)} (known: {n}, {seq}, {year}, {month}, {day}, {date}; {n:3} and {seq:3} pad)"
            case .noNumber: "must contain {n} or {seq} so that every incident gets its own id"
            case .adjacentPlaceholders(let text): "placeholders need a letter or sign between them (at \(text)), or ids could not be read back"
            case .literalCharacters(let text): "\(text) may hold letters, digits and - _ . # only, so that an id is one word in chat"
            case .width(let text): "\(text): the padding must be between 1 and 9"
            }
        }
    }

    public static func parse(_ source: String) -> Result<IncidentLabelFormat, Problem> {
        var parts: [Part] = []
        var rest = Substring(source)
        while !rest.isEmpty {
            if rest.first == "{", let close = rest.firstIndex(of: "}") {
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                let pieces = inside.split(separator: ":", maxSplits: 1).map(String.init)
                var width = 0
                if pieces.count == 2 {
                    guard let padding = Int(pieces[1]), (1...9).contains(padding) else { return .failure(.width("{\(inside)}")) }
                    width = padding
                }
                let part: Part
                switch (pieces.first ?? "", pieces.count == 2) {
                case ("n", _): part = .number(width: width)
                case ("seq", _): part = .sequence(width: width)
                case ("year", false): part = .year
                case ("month", false): part = .month
                case ("day", false): part = .day
                case ("date", false): part = .date
                default: return .failure(.unknownPlaceholder(String(inside)))
                }
                if let last = parts.last, !last.isLiteral { return .failure(.adjacentPlaceholders("{\(inside)}")) }
                parts.append(part)
                rest = rest[rest.index(after: close)...]
            } else {
                let end = rest.dropFirst().firstIndex(of: "{") ?? rest.endIndex
                let literal = String(rest[..<end])
                guard literal.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || "-_.#".contains($0) }) else {
                    return .failure(.literalCharacters(CommandParser.quoted(literal)))
                }
                // Digits next to a number would run into it: `INC{n}` is fine, `7{n}` is not.
                parts.append(.literal(literal))
                rest = rest[end...]
            }
        }
        guard parts.contains(where: \.isCounter) else { return .failure(.noNumber) }
        return .success(IncidentLabelFormat(source: source, parts: parts))
    }

    public var isStandard: Bool { parts == Self.standard.parts }

    /// Whether the format counts `{seq}`, and so needs a sequence from the store.
    public var usesSequence: Bool { parts.contains { if case .sequence = $0 { true } else { false } } }

    /// The period `{seq}` counts within at `date`: `2026-01-15`, `2026-01`, `2026` or `all`.
    public func scope(of date: Date, zone: TimeZone) -> String {
        let (year, month, day) = Self.civil(date, zone: zone)
        if parts.contains(.day) || parts.contains(.date) { return "\(year.zeroPadded(4))-\(month.zeroPadded(2))-\(day.zeroPadded(2))" }
        if parts.contains(.month) { return "\(year.zeroPadded(4))-\(month.zeroPadded(2))" }
        if parts.contains(.year) { return "\(year.zeroPadded(4))" }
        return "all"
    }

    /// The id of incident `number`, the `sequence`-th of its period, declared at `date`.
    public func label(number: Int, sequence: Int?, date: Date, zone: TimeZone) -> String {
        let (year, month, day) = Self.civil(date, zone: zone)
        return parts.map { part in
            switch part {
            case .literal(let text): text
            case .number(let width): number.zeroPadded(width)
            case .sequence(let width): (sequence ?? number).zeroPadded(width)
            case .year: year.zeroPadded(4)
            case .month: month.zeroPadded(2)
            case .day: day.zeroPadded(2)
            case .date: "\(year.zeroPadded(4))-\(month.zeroPadded(2))-\(day.zeroPadded(2))"
            }
        }.joined()
    }

    /// Whether `word` is written in this format (letters compared ignoring case), so that commands can
    /// name an incident by it.
    public func matches(_ word: some StringProtocol) -> Bool {
        var rest = Substring(word.uppercased())
        for part in parts {
            switch part {
            case .literal(let text):
                guard rest.hasPrefix(text.uppercased()) else { return false }
                rest = rest.dropFirst(text.count)
            case .date:
                let digits = rest.prefix(10)
                guard digits.count == 10, digits.enumerated().allSatisfy({ index, c in [4, 7].contains(index) ? c == "-" : c.isASCII && c.isNumber }) else {
                    return false
                }
                rest = rest.dropFirst(10)
            case .number, .sequence, .year, .month, .day:
                let digits = rest.prefix { $0.isASCII && $0.isNumber }
                guard !digits.isEmpty else { return false }
                rest = rest.dropFirst(digits.count)
            }
        }
        return rest.isEmpty
    }

    private static func civil(_ date: Date, zone: TimeZone) -> (Int, Int, Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return (parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}

extension IncidentLabelFormat.Part {
    var isLiteral: Bool { if case .literal = self { true } else { false } }
    var isCounter: Bool {
        switch self {
        case .number, .sequence: true
        default: false
        }
    }
}
