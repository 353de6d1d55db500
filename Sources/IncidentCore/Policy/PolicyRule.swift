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

    /// `"15m"`, `"5bd"`, `"4bh"`, `"next business day"`, `"next sprint"`; nil for anything else.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch trimmed {
        case "next business day", "next-business-day", "nbd": self = .nextBusinessDay
        case "next sprint", "next-sprint": self = .nextSprint
        default:
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

    public var description: String {
        switch self {
        case .span(let span): span.description
        case .businessDays(let count): "\(count)bd"
        case .businessHours(let count): "\(count)bh"
        case .nextBusinessDay: "next business day"
        case .nextSprint: "next sprint"
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
        }
    }

    /// For "no response …": `within 1 h`, `within 5 business days`, `by the end of the next business day`.
    public var limitPhrase: String {
        switch self {
        case .nextBusinessDay, .nextSprint: "by \(spoken)"
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
        }
    }
}

/// The lifecycle event a rule's `at` is counted from.
public enum PolicyAnchor: String, Sendable, Hashable, CaseIterable {
    case declared, acknowledged, lastUpdate, mitigated, resolved

    /// When it happened to `incident`, if it has.
    public func time(in incident: Incident) -> Date? {
        switch self {
        case .declared: incident.declaredAt
        case .acknowledged: incident.acknowledgedAt
        case .lastUpdate: incident.lastUpdateAt
        case .mitigated: incident.mitigatedAt
        case .resolved: incident.resolvedAt
        }
    }
}

/// What keeps a due rule quiet (`unless`).
public enum PolicyCondition: Sendable, Hashable, CustomStringConvertible {
    case acknowledged
    case mitigated
    case resolved
    /// An update (`update`, `status`) was posted after the event the rule counts from.
    case updated
    /// `role:ic assigned`: someone holds the role.
    case roleAssigned(IncidentRole)

    /// `acknowledged`, `mitigated`, `resolved`, `updated`, `role:<ic|lead|comms|scribe> assigned`.
    public init?(parsing text: String) {
        let words = text.lowercased().split(separator: " ").map(String.init)
        switch words.count {
        case 1:
            switch words[0] {
            case "acknowledged", "acked": self = .acknowledged
            case "mitigated": self = .mitigated
            case "resolved": self = .resolved
            case "updated": self = .updated
            default: return nil
            }
        case 2 where words[0].hasPrefix("role:") && words[1] == "assigned":
            guard let role = IncidentRole.parse(String(words[0].dropFirst(5))) else { return nil }
            self = .roleAssigned(role)
        default:
            return nil
        }
    }

    public var description: String {
        switch self {
        case .acknowledged: "acknowledged"
        case .mitigated: "mitigated"
        case .resolved: "resolved"
        case .updated: "updated"
        case .roleAssigned(let role): "role:\(role.rawValue) assigned"
        }
    }

    /// Whether it holds for `incident`; `since` is when the rule's event happened.
    public func holds(for incident: Incident, since: Date) -> Bool {
        switch self {
        case .acknowledged: incident.acknowledgedAt != nil
        case .mitigated: incident.mitigatedAt != nil
        case .resolved: incident.resolvedAt != nil
        case .updated: incident.lastUpdateAt > since
        case .roleAssigned(let role): incident.roles[role] != nil
        }
    }
}

/// One timed rule of the policy: `at` after `from`, notify `notify` and/or post `say`, unless one of
/// `unless` holds; again every `repeat` while it still applies. Notification rules, checkpoints and the
/// response clock are all rules, each with its own durable timer.
public struct PolicyRule: Sendable, Hashable {
    /// Unique within its list; names the rule's timer (`PolicyRule.Key`) and appears in the timeline.
    public var id: String
    public var at: Deadline
    public var from: PolicyAnchor
    public var notify: [NotifyTarget]
    public var unless: [PolicyCondition]
    public var repeatEvery: TimeSpan?
    /// Posted in the incident room (a mustache template with the incident's values).
    public var say: String?

    public init(
        id: String, at: Deadline, from: PolicyAnchor = .declared, notify: [NotifyTarget] = [], unless: [PolicyCondition] = [],
        repeatEvery: TimeSpan? = nil, say: String? = nil
    ) {
        self.id = id
        self.at = at
        self.from = from
        self.notify = notify
        self.unless = unless
        self.repeatEvery = repeatEvery
        self.say = say
    }
}

/// `incidentTypes[]`: a kind of incident (`security`, `data-loss`, `payments`) that adds its own rules and
/// checkpoints to those of the severity.
public struct IncidentTypeConfig: Sendable, Hashable {
    public var id: String
    public var name: String
    public var description: String?
    public var notify: [PolicyRule]
    public var checkpoints: [PolicyRule]

    public init(id: String, name: String, description: String? = nil, notify: [PolicyRule] = [], checkpoints: [PolicyRule] = []) {
        self.id = id
        self.name = name
        self.description = description
        self.notify = notify
        self.checkpoints = checkpoints
    }
}
