import Foundation

/// The structured facts every runbook's templates ask for (runbook-rules 000-08, 000-30, 000-32, 001-10,
/// 001-13, 002-22, 002-23, 004-22), set with `/incident set <fact> <value>`.
public enum IncidentFact: String, Sendable, Codable, CaseIterable {
    case impact, usersAffected, startedAt, detectedAt, detectedBy, lastKnownGood, rootCause, fix, service
    /// 002-22 "Revenue impact", 002-23 `revenue_lost`: free text (`"$12,000"`, `"~40 orders"`).
    case revenueLost
    /// 000-04 "if public-facing", 000-25 "if user-facing": `yes` or `no`; the `public-facing` policy
    /// condition reads it.
    case publicFacing
    /// 000-13 "Email to affected users", 004-21 "Email affected customers": the addresses an `email:customers`
    /// target mails, comma-separated.
    case customers
    /// 000-19: the review meeting's link (`/incident meeting <url>`), over the severity's or type's
    /// configured `meeting`.
    case meeting

    /// Times are read as times (`14:05`, ISO 8601, `10m ago`) and shown in `incidents.timeZone`; the
    /// others are free text.
    public var isTime: Bool {
        switch self {
        case .startedAt, .detectedAt, .lastKnownGood: true
        case .impact, .usersAffected, .detectedBy, .rootCause, .fix, .service, .revenueLost, .publicFacing, .customers, .meeting: false
        }
    }

    /// Read as `yes` or `no` (`true`/`false`, `on`/`off` too) and stored as `yes` or `no`.
    public var isFlag: Bool { self == .publicFacing }

    /// Read as a list of email addresses and stored as `a@x.example, b@y.example`.
    public var isAddressList: Bool { self == .customers }

    public var label: String {
        switch self {
        case .impact: "Impact"
        case .usersAffected: "Users affected"
        case .startedAt: "Started at"
        case .detectedAt: "Detected at"
        case .detectedBy: "Detected by"
        case .lastKnownGood: "Last known good"
        case .rootCause: "Root cause"
        case .fix: "Fix"
        case .service: "Service"
        case .revenueLost: "Revenue lost"
        case .publicFacing: "Public-facing"
        case .customers: "Affected customers"
        case .meeting: "Review meeting"
        }
    }

    /// What `/incident set` shows beside the name.
    public var example: String {
        switch self {
        case .impact: #""Uploads fail for EU users""#
        case .usersAffected: #""~1500" or "all EU users""#
        case .startedAt: "14:05, 2026-01-15T14:05Z or 25m ago"
        case .detectedAt: "14:12, 2026-01-15T14:12Z or 10m ago"
        case .detectedBy: #""Datadog alert" or @alice"#
        case .lastKnownGood: "13:50 or 2026-01-15T13:50Z"
        case .rootCause: #""Connection pool exhausted""#
        case .fix: #""Raised the pool to 200""#
        case .service: "payments"
        case .revenueLost: #""$12,000" or "~40 orders""#
        case .publicFacing: "yes or no"
        case .customers: "ops@acme.example, it@globex.example"
        case .meeting: "https://meet.example.com/inc-review"
        }
    }

    /// Other words people type for a fact; names match ignoring case, `-`, `_` and spaces.
    private var aliases: [String] {
        switch self {
        case .impact: []
        case .usersAffected: ["users", "affected", "affectedusers"]
        case .startedAt: ["started", "start", "starttime"]
        case .detectedAt: ["detected", "detectiontime"]
        case .detectedBy: ["detector", "reportedby"]
        case .lastKnownGood: ["lkg", "lastgood"]
        case .rootCause: ["cause", "root"]
        case .fix: ["resolution", "permanentfix"]
        case .service: ["component", "system"]
        case .revenueLost: ["revenue", "revenueimpact"]
        case .publicFacing: ["public", "userfacing", "customerfacing"]
        case .customers: ["customeremails", "affectedcustomers"]
        case .meeting: ["bridge", "meetinglink", "reviewmeeting"]
        }
    }

    public static func named(_ word: String) -> IncidentFact? {
        let wanted = SeverityPolicy.normalize(word)
        return allCases.first { fact in
            SeverityPolicy.normalize(fact.rawValue) == wanted || fact.aliases.contains(wanted)
        }
    }
}

/// A fact's stored value. Time facts keep the instant (`time`) and, in `text`, what was typed.
public struct FactValue: Sendable, Codable, Hashable {
    public var text: String
    public var time: Date?
    public var setAt: Date
    public var setBy: ChatUser?

    public init(text: String, time: Date? = nil, setAt: Date, setBy: ChatUser?) {
        self.text = text
        self.time = time
        self.setAt = setAt
        self.setBy = setBy
    }
}

/// What `/incident set <fact> <value>` said, before the engine resolves times against its clock.
public enum FactInput: Sendable, Hashable {
    case text(String)
    case time(FactTime)
}

/// A time as people write it in chat. Relative and clock-only forms need "now" and the incidents' zone,
/// which the pure parser does not have; the engine resolves them (`FactTime.resolve`).
public enum FactTime: Sendable, Hashable {
    case now
    /// `14:05`: the latest such local time that is not in the future.
    case clock(hour: Int, minute: Int)
    /// `2026-01-15 14:05` or `2026-01-15T14:05`: a local time.
    case local(year: Int, month: Int, day: Int, hour: Int, minute: Int)
    /// ISO 8601 with a zone: `2026-01-15T14:05Z`, `2026-01-15T14:05:30+01:00`.
    case instant(Date)
    /// `10m ago`, `1h30m ago`.
    case ago(TimeSpan)

    /// Reads `text`, or says why it is not a time.
    public static func parse(_ text: String) -> Result<FactTime, FactTimeProblem> {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let lowered = trimmed.lowercased()
        if lowered == "now" { return .success(.now) }
        if lowered.hasSuffix("ago") {
            let amount = lowered.dropLast(3).filter { !$0.isWhitespace }
            switch TimeSpan.parse(String(amount)) {
            case .success(let span) where span > .zero: return .success(.ago(span))
            default: return .failure(.relative(trimmed))
            }
        }
        if let clock = clockTime(Substring(trimmed)) { return .success(.clock(hour: clock.hour, minute: clock.minute)) }
        // An instant with a zone: what ISO8601DateFormatter reads, with or without seconds.
        if let date = isoInstant(trimmed) { return .success(.instant(date)) }
        // A local date and time: `YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM`.
        let parts = trimmed.split(whereSeparator: { $0 == " " || $0 == "T" || $0 == "t" })
        if parts.count == 2, case .success(let local) = OverrideLocalTime.parse(date: parts[0], time: parts[1]) {
            return .success(.local(year: local.year, month: local.month, day: local.day, hour: local.hour, minute: local.minute))
        }
        return .failure(.format(trimmed))
    }

    /// The instant meant, in `zone` at `now`.
    public func resolve(now: Date, zone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        switch self {
        case .now:
            return now
        case .ago(let span):
            return now.addingTimeInterval(-span.timeInterval)
        case .instant(let date):
            return date
        case .local(let year, let month, let day, let hour, let minute):
            return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))
        case .clock(let hour, let minute):
            var today = calendar.dateComponents([.year, .month, .day], from: now)
            today.hour = hour
            today.minute = minute
            guard let candidate = calendar.date(from: today) else { return nil }
            // "Started at 23:50" typed at 00:10 means yesterday.
            return candidate <= now ? candidate : calendar.date(byAdding: .day, value: -1, to: candidate)
        }
    }

    private static func clockTime(_ text: Substring) -> (hour: Int, minute: Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        return (hour, minute)
    }

    private static func isoInstant(_ text: String) -> Date? {
        let last = text.last
        guard last == "Z" || last == "z" || text.range(of: #"[+-]\d\d:?\d\d$"#, options: .regularExpression) != nil else { return nil }
        let normalized = text.replacingOccurrences(of: " ", with: "T").uppercased()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: normalized) { return date }
        }
        // Without seconds (`2026-01-15T14:05Z`): add them.
        if let tIndex = normalized.firstIndex(of: "T") {
            let afterT = normalized[normalized.index(after: tIndex)...]
            if afterT.prefix(5).count == 5, afterT.dropFirst(5).first.map({ $0 == "Z" || $0 == "+" || $0 == "-" }) == true {
                let withSeconds = normalized[...tIndex] + afterT.prefix(5) + ":00" + afterT.dropFirst(5)
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime]
                return formatter.date(from: String(withSeconds))
            }
        }
        return nil
    }
}

/// Why a written time is not one; `description` is the reply's sentence.
public enum FactTimeProblem: Error, Sendable, Hashable, CustomStringConvertible {
    case format(String)
    case relative(String)

    public var description: String {
        switch self {
        case .format(let text): "\(CommandParser.quoted(text)) is not a time: write 14:05, 2026-01-15T14:05Z, 2026-01-15 14:05 or 10m ago."
        case .relative(let text): "\(CommandParser.quoted(text)) is not a time ago: write it like 10m ago or 1h30m ago."
        }
    }
}

extension Incident {
    /// The fact's value, if it was set.
    public func fact(_ fact: IncidentFact) -> FactValue? { facts?[fact.rawValue] }

    /// The service the incident is about: the `service` fact (set with `/incident set service …` or from
    /// a `payments: …` title at declare).
    public var service: String? { fact(.service)?.text }

    /// 000-04: whether the public sees the incident: the `publicFacing` fact when set, else whether it
    /// was published on the status page.
    public var isPublicFacing: Bool {
        if let flag = fact(.publicFacing)?.text { return flag == "yes" }
        return isPublished
    }

    /// The `customers` fact's addresses.
    public var customerAddresses: [String] {
        (fact(.customers)?.text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// How `/incident set` reads the values of `publicFacing` and `customers`.
public enum FactValueSyntax {
    /// `yes`/`no` (and `true`/`false`, `on`/`off`, `y`/`n`) → `yes` or `no`.
    public static func flag(_ text: String) -> String? {
        switch text.lowercased().trimmingCharacters(in: .whitespaces) {
        case "yes", "y", "true", "on": "yes"
        case "no", "n", "false", "off": "no"
        default: nil
        }
    }

    /// A word of the list that is not an address.
    public struct NotAnAddress: Error, Hashable { public var word: String }

    /// Addresses separated by commas, semicolons or spaces → `a@x, b@y`; else the first word that is not one.
    public static func addresses(_ text: String) -> Result<String, NotAnAddress> {
        let words = text.split(whereSeparator: { $0 == "," || $0 == ";" || $0.isWhitespace }).map(String.init)
        var kept: [String] = []
        for word in words {
            let address = word.hasPrefix("<") && word.hasSuffix(">") ? String(word.dropFirst().dropLast()) : word
            // Slack sends `<mailto:a@x|a@x>`.
            let bare = address.hasPrefix("mailto:") ? String(address.dropFirst(7).prefix { $0 != "|" }) : address
            guard EmailAddress.isPlausible(bare) else { return .failure(NotAnAddress(word: bare)) }
            if !kept.contains(where: { $0.lowercased() == bare.lowercased() }) { kept.append(bare) }
        }
        return kept.isEmpty ? .failure(NotAnAddress(word: text)) : .success(kept.joined(separator: ", "))
    }
}
