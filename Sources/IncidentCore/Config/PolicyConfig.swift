import Foundation

// How the policy keys of `bot-config.json` (docs/policy.md) are read: severities' `respondWithin`,
// `escalation`, `notify` and `checkpoints`, `incidentTypes`, `discord` and `calendar`. The model types live
// in Policy/; here are their config conformances. Whether the targets, calendars and templates they name
// exist is checked in `KlaxonConfig+PolicyValidation.swift`.

extension PolicyRule: ConfigObject {
    static let defaults = PolicyRule(id: "", at: .span(.zero))
    static let rules: [String: [ConfigRule]] = [
        "id": [.identifier], "at": [.allowZero], "notify": [.notEmpty("must list at least one target")],
    ]

    /// What a notification rule must have (`severities[].notify[]`): someone or something to tell.
    static let notificationKeys = ["notify"]
    /// What a checkpoint must have (`severities[].checkpoints[]`): when, and what to say.
    static let checkpointKeys = ["at", "say"]
}

extension IncidentTypeConfig: ConfigObject {
    static let defaults = IncidentTypeConfig(id: "", name: "")
    static let rules: [String: [ConfigRule]] = [
        "id": [.required, .identifier], "description": [.allowEmpty], "meeting": [.httpURL],
        "notify": [.requires(PolicyRule.notificationKeys)], "checkpoints": [.requires(PolicyRule.checkpointKeys)],
    ]
}

extension PolicyAnchor: ConfigChoice {}

extension Deadline: ConfigScalar {
    public init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

    /// `"15m"`, `"5bd"`, `"4bh"`, `"next business day"`, `"next sprint"`. Zero only where the key allows
    /// it (a rule's `at`); the business forms' need of `calendar` is checked in `validate()`.
    init(configValue decoder: ConfigDecoder) {
        self = .span(.zero)
        let text = decoder.string(expected: "a duration such as \"15m\", \"1bd\" or \"next business day\"")
        guard case .string = decoder.value, !text.isEmpty else { return }
        let quoted = ConfigText.quote(text)
        guard let deadline = Deadline(parsing: text) else {
            let lowered = text.lowercased().trimmingCharacters(in: .whitespaces)
            if lowered.hasSuffix("bd") || lowered.hasSuffix("bh") {
                decoder.report("\(quoted) is not a business duration such as \"1bd\" or \"4bh\"")
            } else if case .failure(.tooLong) = TimeSpan.parse(text) {
                decoder.report("\(quoted) is longer than the maximum of \(TimeSpan.maximum) (one year)")
            } else {
                decoder.report(
                    "\(quoted) is not a duration, a business duration (\"5bd\", \"4bh\"), \"next business day\", \"next sprint\", \"tomorrow HH:MM\" or \"next business day HH:MM\""
                )
            }
            return
        }
        if case .span(let span) = deadline, span.seconds == 0, !decoder.has(.allowZero) {
            decoder.report("must be longer than 0s")
            return
        }
        self = deadline
    }
}

extension PolicyCondition: ConfigScalar {
    public init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

    /// A condition's text, or a group: `{"anyOf": [...]}` (004-25 "if major outage or security") or
    /// `{"allOf": [...]}`, whose members may be groups too.
    init(configValue decoder: ConfigDecoder) {
        if case .object(let members) = decoder.value {
            self = .allOf([])
            guard members.count == 1, let member = members.first, ["anyOf", "allOf"].contains(member.key) else {
                decoder.report("a condition group is {\"anyOf\": [...]} or {\"allOf\": [...]}, with that one key")
                return
            }
            let inner = decoder.member(GroupKey(stringValue: member.key), value: member.value)
            guard case .array(let elements) = member.value, !elements.isEmpty else {
                inner.report("must list at least one condition")
                return
            }
            let conditions = elements.indices.map { PolicyCondition(configValue: inner.element($0, value: elements[$0])) }
            self = member.key == "anyOf" ? .anyOf(conditions) : .allOf(conditions)
            return
        }
        let text = decoder.string(expected: "a condition or a condition group ({\"anyOf\": [...]})")
        if let condition = PolicyCondition(parsing: text) {
            self = condition
            return
        }
        self = .resolved
        if !text.isEmpty {
            decoder.report(
                "\(ConfigText.quote(text)) is not a condition (acknowledged, mitigated, resolved, updated, public-facing, role:<ic|lead|comms|scribe|author> assigned, severity:<id>, type:<id>)"
            )
        }
    }
}

/// `anyOf` / `allOf` in a coding path.
private struct GroupKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// `unless` and `if`: one condition (`"acknowledged"`) or a list of them.
extension Array: ConfigScalar where Element == PolicyCondition {
    init(configValue decoder: ConfigDecoder) {
        switch decoder.value {
        case .string, .object:
            self = [PolicyCondition(configValue: decoder)]
        case .array(let elements):
            self = elements.indices.map { PolicyCondition(configValue: decoder.element($0, value: elements[$0])) }
        default:
            decoder.reportTypeMismatch(expected: "a condition or a list of conditions")
            self = []
        }
    }
}

// MARK: - calendar

/// `calendar` as written; `BusinessCalendar` is what it means. Each key has a syntax of its own (weekday
/// names, `"09:00-17:00"`, annual holidays), so the written form is read through this shape first.
struct CalendarConfig: Decodable {
    var timeZone: String = "UTC"
    var workingDays: [Weekday] = [2, 3, 4, 5, 6].map(Weekday.init(number:))
    var workingHours = WorkingHours(opens: 9 * 60, closes: 17 * 60)
    var holidays: [Holiday] = []
    var sprint: Sprint?

    struct Sprint: Decodable {
        var length: WholeDays
        var anchor: BusinessCalendar.DayStamp
    }

    /// `mon` … `sun`, or the full name, in any case.
    struct Weekday: ConfigScalar {
        /// 1 = Sunday … 7 = Saturday, as `Calendar` counts.
        var number: Int
        init(number: Int) { self.number = number }
        init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

        init(configValue decoder: ConfigDecoder) {
            let text = decoder.string()
            self.init(number: 2)
            guard !text.isEmpty else { return }
            // `mon`, `tues`, `wednesday`: at least the three letters that tell the days apart.
            if text.count >= 3, let index = Handoff.weekdayNames.firstIndex(where: { $0.hasPrefix(text.lowercased()) }) {
                number = index + 1
            } else {
                decoder.report("\(ConfigText.quote(text)) is not a weekday (mon, tue, … or monday, tuesday, …)")
            }
        }
    }

    /// `"09:00-17:00"`: opening before closing, on the same day, in minutes after local midnight.
    struct WorkingHours: ConfigScalar {
        var opens: Int
        var closes: Int
        init(opens: Int, closes: Int) {
            self.opens = opens
            self.closes = closes
        }
        init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

        init(configValue decoder: ConfigDecoder) {
            self.init(opens: 9 * 60, closes: 17 * 60)
            let text = decoder.string()
            guard !text.isEmpty else { return }
            let parts = text.split(separator: "-").map { Handoff(parsing: $0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let open = parts[0], let close = parts[1], open.weekday == nil, close.weekday == nil,
                open.hour * 60 + open.minute < close.hour * 60 + close.minute
            else {
                decoder.report("\(ConfigText.quote(text)) is not working hours such as \"09:00-17:00\" (opening before closing, same day)")
                return
            }
            self.init(opens: open.hour * 60 + open.minute, closes: close.hour * 60 + close.minute)
        }
    }

    /// `"2026-12-24"` once, `"12-25"` every year.
    struct Holiday: ConfigScalar {
        var text: String
        init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

        init(configValue decoder: ConfigDecoder) {
            text = decoder.string()
            guard !text.isEmpty else { return }
            let annual = text.count == 5 && BusinessCalendar.DayStamp(parsing: "2000-" + text) != nil
            if !annual, BusinessCalendar.DayStamp(parsing: text) == nil {
                decoder.report("\(ConfigText.quote(text)) is not a date such as \"2026-12-24\" (or \"12-25\" for every year)")
            }
        }
    }

    /// A duration of whole days (`"2w"`): sprints are counted in local days.
    struct WholeDays: ConfigScalar {
        var days: Int
        init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

        init(configValue decoder: ConfigDecoder) {
            let span = TimeSpan(configValue: decoder)
            days = Int(span.seconds / 86_400)
            if span.seconds % 86_400 != 0 {
                decoder.report("\(ConfigText.quote(span.description)) is not whole days (sprints are counted in days, e.g. \"2w\")")
            }
        }
    }
}

extension CalendarConfig: ConfigObject {
    static let defaults = CalendarConfig()
    static let rules: [String: [ConfigRule]] = ["timeZone": [.required, .timeZone], "workingDays": [.notEmpty("must name at least one working day")]]
}

extension CalendarConfig.Sprint: ConfigObject {
    static let defaults = CalendarConfig.Sprint(length: .init(days: 14), anchor: .init(year: 2024, month: 1, day: 1))
    static let rules: [String: [ConfigRule]] = ["length": [.required], "anchor": [.required]]
}

extension CalendarConfig.WholeDays {
    init(days: Int) { self.days = days }
}

extension BusinessCalendar.DayStamp: ConfigScalar {
    public init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

    init(configValue decoder: ConfigDecoder) {
        let text = decoder.string()
        if let day = BusinessCalendar.DayStamp(parsing: text) {
            self = day
            return
        }
        self.init(year: 2024, month: 1, day: 1)
        if !text.isEmpty { decoder.report("\(ConfigText.quote(text)) is not a date such as \"2026-01-05\" (the first day of a sprint)") }
    }
}

extension BusinessCalendar: Decodable {
    /// Read as `CalendarConfig`, the written form, and turned into the calendar it describes.
    public init(from decoder: any Decoder) throws {
        let written = try decoder.singleValueContainer().decode(CalendarConfig.self)
        self.init(
            // A zone that does not exist has been reported; UTC stands in so that reading can go on.
            timeZone: TimeZone(identifier: written.timeZone) ?? TimeZone(secondsFromGMT: 0) ?? .current,
            workingDays: Set(written.workingDays.map(\.number)),
            opens: written.workingHours.opens, closes: written.workingHours.closes,
            holidays: Set(written.holidays.map(\.text)),
            sprint: written.sprint.map { Sprint(lengthDays: $0.length.days, anchor: $0.anchor) })
    }
}
