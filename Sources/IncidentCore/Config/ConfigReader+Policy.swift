import Foundation
import Mustache

/// What notification targets may name: checked when the config is read.
struct TargetReferences {
    var rotationIDs: [String]
    var personIDs: [String]
    var groupIDs: [String]
    var platforms: [PlatformKind] = []
    var webhookIDs: [String] = []
    var discordIDs: [String] = []
}

// MARK: - calendar, severities' policy keys, incidentTypes (docs/policy.md)

extension ConfigReader {
    static let severityPolicyKeys = ["respondWithin", "escalation", "notify", "checkpoints"]
    static let ruleKeys = ["id", "at", "from", "notify", "unless", "repeat", "say"]
    static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    func readCalendar(_ root: ObjectFields) -> BusinessCalendar? {
        guard let fields = section(root, "calendar", keys: ["timeZone", "workingDays", "workingHours", "holidays", "sprint"]) else { return nil }
        let zone = field(fields, "timeZone", required: true) { timeZone($0, at: $1) }
        var calendar = BusinessCalendar(timeZone: TimeZone(identifier: zone ?? "UTC") ?? .current)
        if let days = field(fields, "workingDays", { stringList($0, at: $1, noun: "weekday") }) {
            var weekdays: Set<Int> = []
            for (index, day) in days.enumerated() {
                let short = String(day.lowercased().prefix(3))
                if let weekday = Self.weekdayNames.firstIndex(of: short), Handoff.weekdayNames[weekday].hasPrefix(day.lowercased()) {
                    weekdays.insert(weekday + 1)
                } else {
                    report(fields.path.key("workingDays").index(index), "\(Self.quote(day)) is not a weekday (mon, tue, … or monday, tuesday, …)")
                }
            }
            calendar.workingDays = weekdays
        }
        if let hours = field(fields, "workingHours", { string($0, at: $1) }) {
            let parts = hours.split(separator: "-").map { Handoff(parsing: $0.trimmingCharacters(in: .whitespaces)) }
            if parts.count == 2, let open = parts[0], let close = parts[1], open.weekday == nil, close.weekday == nil,
               open.hour * 60 + open.minute < close.hour * 60 + close.minute {
                calendar.opens = open.hour * 60 + open.minute
                calendar.closes = close.hour * 60 + close.minute
            } else {
                report(fields.path.key("workingHours"), "\(Self.quote(hours)) is not working hours such as \"09:00-17:00\" (opening before closing, same day)")
            }
        }
        if let holidays = field(fields, "holidays", { array($0, at: $1) }) {
            for holiday in holidays {
                guard let text = string(holiday.value, at: holiday.path) else { continue }
                let annual = BusinessCalendar.DayStamp(parsing: "2000-" + text) != nil && text.count == 5
                if BusinessCalendar.DayStamp(parsing: text) != nil || annual {
                    calendar.holidays.insert(text)
                } else {
                    report(holiday.path, "\(Self.quote(text)) is not a date such as \"2026-12-24\" (or \"12-25\" for every year)")
                }
            }
        }
        if let sprint = section(fields, "sprint", keys: ["length", "anchor"]) {
            let length = field(sprint, "length", required: true) { value, path -> Int? in
                guard let span = duration(value, at: path) else { return nil }
                guard span.seconds % 86_400 == 0 else {
                    report(path, "\(Self.quote(span.description)) is not whole days (sprints are counted in days, e.g. \"2w\")")
                    return nil
                }
                return Int(span.seconds / 86_400)
            }
            let anchor = field(sprint, "anchor", required: true) { value, path -> BusinessCalendar.DayStamp? in
                guard let text = string(value, at: path) else { return nil }
                guard let day = BusinessCalendar.DayStamp(parsing: text) else {
                    report(path, "\(Self.quote(text)) is not a date such as \"2026-01-05\" (the first day of a sprint)")
                    return nil
                }
                return day
            }
            if let length, let anchor { calendar.sprint = .init(lengthDays: length, anchor: anchor) }
        }
        if calendar.workingDays.isEmpty {
            report(fields.path.key("workingDays"), "must name at least one working day")
        }
        return zone == nil ? nil : calendar
    }

    /// Reads `respondWithin`, `escalation`, `notify` and `checkpoints` of each severity into `severities`
    /// (matched by position; a severity that failed to read is skipped, its problems already reported).
    func readSeverityPolicies(_ root: ObjectFields, into severities: inout [SeverityPolicy], references: TargetReferences, calendar: BusinessCalendar?) {
        guard case .array(let elements)? = root.values["severities"] else { return }
        for (index, element) in elements.enumerated() {
            let path = root.path.key("severities").index(index)
            guard case .object(let members) = element,
                  case .string(let id)? = members.first(where: { $0.key == "id" })?.value,
                  let position = severities.firstIndex(where: { $0.id == id })
            else { continue }
            // The first pass (`readSeverities`) checked the keys and reported duplicates.
            let present = members.filter { Self.severityPolicyKeys.contains($0.key) && $0.value != .null }
            let fields = ObjectFields(
                path: path, keys: Self.severityPolicyKeys.filter { key in present.contains { $0.key == key } },
                values: Dictionary(present.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first }))
            var policy = severities[position]
            policy.respondWithin = field(fields, "respondWithin") { deadline($0, at: $1, calendar: calendar) }
            policy.escalation = field(fields, "escalation") { value, path -> [EscalationStep]? in
                guard let steps = array(value, at: path) else { return nil }
                guard !steps.isEmpty else {
                    report(path, "must list at least one step (leave it out to use oncall.escalation)")
                    return nil
                }
                let read = steps.map { readEscalationStep($0.value, at: $0.path, references: references) }
                return read.allSatisfy { $0 != nil } ? read.compactMap { $0 } : nil
            }
            policy.notify = field(fields, "notify") { rules($0, at: $1, checkpoints: false, references: references, calendar: calendar) } ?? []
            policy.checkpoints = field(fields, "checkpoints") { rules($0, at: $1, checkpoints: true, references: references, calendar: calendar) } ?? []
            severities[position] = policy
        }
    }

    func readDiscord(_ root: ObjectFields) -> DiscordConfig {
        var discord = DiscordConfig()
        guard let fields = section(root, "discord", keys: ["webhooks"]),
              let elements = field(fields, "webhooks", { array($0, at: $1) })
        else { return discord }
        var seen: [String: ConfigPath] = [:]
        for element in elements {
            guard let hook = object(element.value, at: element.path, allowedKeys: ["id", "url"]) else { continue }
            let id = field(hook, "id", required: true) { identifier($0, at: $1) }
            let url = field(hook, "url", required: true) { value, path -> Secret? in
                guard let url = secret(value, at: path) else { return nil }
                guard let parsed = URL(string: url.exposedValue), parsed.scheme == "https" || parsed.scheme == "http", parsed.host != nil else {
                    report(path, "is not an http(s) URL (a Discord incoming webhook URL, https://discord.com/api/webhooks/…)")
                    return nil
                }
                return url
            }
            guard let id, let url else { continue }
            if let first = seen[id] {
                report(element.path.key("id"), "\(Self.quote(id)) is also the id of \(first); webhook ids must differ")
                continue
            }
            seen[id] = element.path
            discord.webhooks.append(DiscordWebhook(id: id, url: url))
        }
        return discord
    }

    func readIncidentTypes(_ root: ObjectFields, references: TargetReferences, calendar: BusinessCalendar?) -> [IncidentTypeConfig] {
        guard let elements = field(root, "incidentTypes", { array($0, at: $1) }) else { return [] }
        var types: [IncidentTypeConfig] = []
        var seen: [String: ConfigPath] = [:]
        for element in elements {
            guard let fields = object(element.value, at: element.path, allowedKeys: ["id", "name", "description", "notify", "checkpoints"]) else { continue }
            let id = field(fields, "id", required: true) { identifier($0, at: $1) }
            let name = field(fields, "name") { string($0, at: $1) }
            let description = field(fields, "description") { string($0, at: $1, allowEmpty: true) }
            let notify = field(fields, "notify") { rules($0, at: $1, checkpoints: false, references: references, calendar: calendar) } ?? []
            let checkpoints = field(fields, "checkpoints") { rules($0, at: $1, checkpoints: true, references: references, calendar: calendar) } ?? []
            guard let id else { continue }
            if let first = seen[id] {
                report(element.path.key("id"), "\(Self.quote(id)) is also the id of \(first); incident type ids must differ")
                continue
            }
            seen[id] = element.path
            types.append(IncidentTypeConfig(id: id, name: name ?? id, description: description, notify: notify, checkpoints: checkpoints))
        }
        return types
    }

    /// `notify[]` or `checkpoints[]`. A notification rule must notify someone or something; a checkpoint
    /// must `say` something (and may notify too).
    func rules(_ value: JSONValue, at path: ConfigPath, checkpoints: Bool, references: TargetReferences, calendar: BusinessCalendar?) -> [PolicyRule]? {
        guard let elements = array(value, at: path) else { return nil }
        var rules: [PolicyRule] = []
        var ids: [String: ConfigPath] = [:]
        for (index, element) in elements.enumerated() {
            guard let fields = object(element.value, at: element.path, allowedKeys: Self.ruleKeys) else { continue }
            let id = field(fields, "id") { identifier($0, at: $1) } ?? String(index + 1)
            let at = field(fields, "at", required: checkpoints) { deadline($0, at: $1, calendar: calendar, allowZero: true) }
            let anchors = PolicyAnchor.allCases.map(\.rawValue)
            let from = field(fields, "from") { choice($0, at: $1, from: anchors) }.flatMap(PolicyAnchor.init(rawValue:))
            let notify = field(fields, "notify", required: !checkpoints) { targets($0, at: $1, references: references, placesAllowed: true) }
            let unless = field(fields, "unless") { conditions($0, at: $1) }
            let repeatEvery = field(fields, "repeat") { duration($0, at: $1) }
            let say = field(fields, "say", required: checkpoints) { value, path -> String? in
                guard let text = string(value, at: path) else { return nil }
                do {
                    _ = try MustacheTemplate(string: text)
                } catch {
                    report(path, "is not a valid mustache template (\(error))")
                    return nil
                }
                return text
            }
            if let first = ids[id] {
                report(element.path.key("id"), "\(Self.quote(id)) is also the id of \(first); rule ids in one list must differ")
                continue
            }
            ids[id] = element.path
            if checkpoints ? say == nil : notify == nil { continue }
            if fields.values["at"] != nil && at == nil { continue }
            if fields.values["from"] != nil && from == nil { continue }
            if fields.values["unless"] != nil && unless == nil { continue }
            if fields.values["repeat"] != nil && repeatEvery == nil { continue }
            rules.append(PolicyRule(
                id: id, at: at ?? .span(.zero), from: from ?? .declared, notify: notify ?? [], unless: unless ?? [],
                repeatEvery: repeatEvery, say: say))
        }
        return rules
    }

    /// `"acknowledged"` or a list of conditions.
    func conditions(_ value: JSONValue, at path: ConfigPath) -> [PolicyCondition]? {
        let written: [(String, ConfigPath)]
        if case .string = value {
            guard let text = string(value, at: path) else { return nil }
            written = [(text, path)]
        } else {
            guard let list = array(value, at: path) else { return nil }
            written = list.compactMap { element in string(element.value, at: element.path).map { ($0, element.path) } }
            guard written.count == list.count else { return nil }
        }
        var conditions: [PolicyCondition] = []
        for (text, path) in written {
            guard let condition = PolicyCondition(parsing: text) else {
                report(path, "\(Self.quote(text)) is not a condition (acknowledged, mitigated, resolved, updated, role:<ic|lead|comms|scribe> assigned)")
                return nil
            }
            conditions.append(condition)
        }
        return conditions
    }

    /// A duration, a business duration (`"5bd"`, `"4bh"`), `"next business day"` or `"next sprint"`; the
    /// business forms need `calendar` (and "next sprint" its `sprint`).
    func deadline(_ value: JSONValue, at path: ConfigPath, calendar: BusinessCalendar?, allowZero: Bool = false) -> Deadline? {
        guard let text = string(value, at: path, expected: "a duration such as \"15m\", \"1bd\" or \"next business day\"") else { return nil }
        guard let deadline = Deadline(parsing: text) else {
            // The plain-duration message says why (too long, malformed) when it looks like one.
            if text.lowercased().hasSuffix("bd") || text.lowercased().hasSuffix("bh") {
                report(path, "\(Self.quote(text)) is not a business duration such as \"1bd\" or \"4bh\"")
            } else {
                report(path, "\(Self.quote(text)) is not a duration, a business duration (\"5bd\", \"4bh\"), \"next business day\" or \"next sprint\"")
            }
            return nil
        }
        if case .span(let span) = deadline, span.seconds == 0, !allowZero {
            report(path, "must be longer than 0s")
            return nil
        }
        if deadline.needsCalendar, calendar == nil {
            report(path, "\(Self.quote(text)) counts business time: add a \"calendar\" (timeZone, workingDays, workingHours, holidays)")
            return nil
        }
        if deadline.needsSprint, calendar?.sprint == nil {
            report(path, "\"next sprint\" needs calendar.sprint (length and anchor)")
            return nil
        }
        return deadline
    }
}
