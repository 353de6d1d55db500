import Foundation

/// What a platform accepts as a channel name.
public struct ChannelNameRules: Sendable, Hashable {
    public var maxLength: Int
    /// Characters kept as they are; everything else becomes `-`.
    public var allowed: Set<Character>
    public var lowercase: Bool

    private static let lowerAlnum = Set("abcdefghijklmnopqrstuvwxyz0123456789")

    /// Slack `conversations.create`: lowercase letters, digits, `-` and `_`, at most 80.
    public static let slack = ChannelNameRules(maxLength: 80, allowed: lowerAlnum.union("-_"), lowercase: true)
    /// Rocket.Chat's default `UTF8_Channel_Names_Validation` is `[0-9a-zA-Z-_.]+`; lowercase keeps names alike.
    public static let rocketChat = ChannelNameRules(maxLength: 100, allowed: lowerAlnum.union("-_."), lowercase: true)
    /// Mattermost channel handles: lowercase letters, digits, `-`, `_`, at most 64.
    public static let mattermost = ChannelNameRules(maxLength: 64, allowed: lowerAlnum.union("-_"), lowercase: true)

    public static func rules(for platform: PlatformKind) -> ChannelNameRules {
        switch platform {
        case .slack, .console: .slack
        case .rocketchat: .rocketChat
        case .mattermost: .mattermost
        }
    }

    /// Makes `raw` acceptable: lowercases, replaces what is not allowed by `-`, folds runs of `-`,
    /// trims separators at the ends, cuts to the length limit.
    public func sanitize(_ raw: String) -> String {
        // Folding changes nothing ASCII, and a Foundation call for it cost as much as the rest of a name.
        let folded = raw.utf8.allSatisfy { $0 < 0x80 } ? raw : raw.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
        var out = ""
        for character in lowercase ? folded.lowercased() : folded {
            if allowed.contains(character) {
                if character == "-", out.last == "-" { continue }
                out.append(character)
            } else if out.last != "-" {
                out.append("-")
            }
        }
        let separators: Set<Character> = ["-", "_", "."]
        var trimmed = Substring(out)
        while let first = trimmed.first, separators.contains(first) { trimmed = trimmed.dropFirst() }
        trimmed = trimmed.prefix(maxLength)
        while let last = trimmed.last, separators.contains(last) { trimmed = trimmed.dropLast() }
        return trimmed.isEmpty ? "incident" : String(trimmed)
    }
}

/// Builds an incident's channel name from `incidents.channelName`.
public struct ChannelNamer: Sendable {
    public var template: String
    public var timeZone: TimeZone

    public init(template: String, timeZone: TimeZone) {
        self.template = template
        self.timeZone = timeZone
    }

    /// `YYYY-MM-DD` in the configured zone: the day `{date}` shows and the day `{seq}` counts within.
    public func day(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return "\((parts.year ?? 0).zeroPadded(4))-\((parts.month ?? 0).zeroPadded(2))-\((parts.day ?? 0).zeroPadded(2))"
    }

    /// `service`: the incident's service (002-10); `{service}` falls back to the title's slug without one.
    public func name(
        id: IncidentID, daySequence: Int, title: String, severity: String, declaredAt: Date, rules: ChannelNameRules, service: String? = nil
    ) -> String {
        let slugRules = ChannelNameRules(maxLength: 40, allowed: rules.allowed, lowercase: true)
        let slug = slugRules.sanitize(title)
        // One pass over the template: each `{name}` it knows is replaced once, and what a value contains
        // is never read as another placeholder.
        var raw = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            raw += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            let placeholder = rest[rest.index(after: open)..<close]
            switch placeholder {
            case "service": raw += service.map(slugRules.sanitize) ?? slug
            case "date": raw += day(of: declaredAt)
            case "seq": raw += daySequence.zeroPadded(3)
            case "id": raw += String(id.number)
            case "slug": raw += slug
            case "severity": raw += severity
            default: raw += rest[open...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        raw += rest
        return rules.sanitize(raw)
    }
}
