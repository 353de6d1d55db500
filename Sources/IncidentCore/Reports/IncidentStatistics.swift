import Foundation

/// A set of durations summarised: count, mean, median and 90th percentile, in seconds.
public struct DurationSummary: Sendable, Codable, Hashable {
    public var count: Int
    public var mean: Double?
    public var median: Double?
    public var p90: Double?
    /// How many were within the target, when one is set.
    public var withinTarget: Int?
    public var target: Double?

    /// Nearest-rank percentiles: a percentile is always one of the measured values.
    public init(_ values: [TimeInterval], target: TimeInterval? = nil) {
        let sorted = values.sorted()
        count = sorted.count
        self.target = target
        withinTarget = target.map { limit in sorted.filter { $0 <= limit }.count }
        guard !sorted.isEmpty else { return }
        mean = sorted.reduce(0, +) / Double(sorted.count)
        median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        p90 = Self.percentile(0.9, of: sorted)
    }

    static func percentile(_ p: Double, of sorted: [Double]) -> Double {
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

/// The lifecycle durations of one incident, from its own timestamps.
public struct IncidentDurations: Sendable, Hashable {
    /// Acknowledgement, counted from the page (or the declaration when nobody was paged).
    public var acknowledge: TimeInterval?
    public var mitigate: TimeInterval?
    public var resolve: TimeInterval?
    /// From the problem's start (the alerts' start) to the declaration, where it is known.
    public var detect: TimeInterval?

    public init(_ incident: Incident) {
        detect = incident.detectionStart.map { max(0, incident.declaredAt.timeIntervalSince($0)) }
        acknowledge = incident.acknowledgedAt.map { max(0, $0.timeIntervalSince(incident.pagedAt ?? incident.declaredAt)) }
        mitigate = incident.mitigatedAt.map { max(0, $0.timeIntervalSince(incident.declaredAt)) }
        resolve = incident.resolvedAt.map { max(0, $0.timeIntervalSince(incident.declaredAt)) }
    }
}

/// `/incident stats` and `GET /api/stats`: MTTA, MTTM, MTTR per severity and per month, against the
/// targets, incidents per month, repeat incidents and people involved. Pure: the caller reads the
/// incidents declared in the window.
public struct IncidentStatistics: Sendable, Codable, Hashable {
    public var from: Date
    public var to: Date
    public var severity: String?
    public var count: Int
    public var overall: Times
    public var bySeverity: [SeverityRow]
    public var byMonth: [MonthRow]
    public var repeats: [RepeatGroup]
    /// Distinct people (declarers, acknowledgers, role holders, action owners) over all incidents.
    public var peopleInvolved: Int
    /// Mean number of people per incident.
    public var peoplePerIncident: Double?

    public struct Times: Sendable, Codable, Hashable {
        /// Time to detection: only incidents whose start is known (opened by alerts that carry one).
        public var detect: DurationSummary
        public var acknowledge: DurationSummary
        public var mitigate: DurationSummary
        public var resolve: DurationSummary
    }

    public struct SeverityRow: Sendable, Codable, Hashable {
        public var severity: String
        public var count: Int
        public var times: Times
    }

    public struct MonthRow: Sendable, Codable, Hashable {
        /// `YYYY-MM` in the incidents' time zone.
        public var month: String
        public var count: Int
        public var times: Times
    }

    /// Incidents of one component or alert group, each declared within `repeatWithin` of the one before.
    public struct RepeatGroup: Sendable, Codable, Hashable {
        /// `component:<id>` or `alerts:<source>/<group>`.
        public var key: String
        public var incidents: [String]
    }

    public static let defaultRepeatWindow: TimeInterval = 7 * 86_400

    public static func compute(
        _ incidents: [Incident], from: Date, to: Date, severity: String? = nil, severities: [SeverityPolicy], timeZone: TimeZone,
        repeatWithin: TimeInterval = defaultRepeatWindow
    ) -> IncidentStatistics {
        let chosen =
            incidents
            .filter { $0.declaredAt >= from && $0.declaredAt < to && (severity == nil || $0.severity == severity) }
            .sorted { $0.declaredAt < $1.declaredAt }
        func times(_ group: [Incident], targets: SeverityTargets?) -> Times {
            let durations = group.map(IncidentDurations.init)
            return Times(
                detect: DurationSummary(durations.compactMap(\.detect)),
                acknowledge: DurationSummary(durations.compactMap(\.acknowledge), target: targets?.acknowledge?.timeInterval),
                mitigate: DurationSummary(durations.compactMap(\.mitigate), target: targets?.mitigate?.timeInterval),
                resolve: DurationSummary(durations.compactMap(\.resolve), target: targets?.resolve?.timeInterval))
        }
        let ordered = severities.map(\.id) + Set(chosen.map(\.severity)).subtracting(severities.map(\.id)).sorted()
        let bySeverity = ordered.compactMap { id -> SeverityRow? in
            let group = chosen.filter { $0.severity == id }
            guard !group.isEmpty else { return nil }
            return SeverityRow(severity: id, count: group.count, times: times(group, targets: severities.first { $0.id == id }?.targets))
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let monthOf: (Incident) -> String = { incident in
            let parts = calendar.dateComponents([.year, .month], from: incident.declaredAt)
            return "\((parts.year ?? 0).zeroPadded(4))-\((parts.month ?? 0).zeroPadded(2))"
        }
        let months = Dictionary(grouping: chosen, by: monthOf)
        let byMonth = months.keys.sorted().map { month in
            MonthRow(month: month, count: months[month]?.count ?? 0, times: times(months[month] ?? [], targets: nil))
        }
        let people = chosen.map(Self.people)
        let everyone = people.reduce(into: Set<String>()) { $0.formUnion($1) }
        return IncidentStatistics(
            from: from, to: to, severity: severity, count: chosen.count,
            overall: times(chosen, targets: severity.flatMap { id in severities.first { $0.id == id }?.targets }),
            bySeverity: bySeverity, byMonth: byMonth, repeats: repeats(chosen, within: repeatWithin),
            peopleInvolved: everyone.count,
            peoplePerIncident: people.isEmpty ? nil : Double(people.map(\.count).reduce(0, +)) / Double(people.count))
    }

    /// The chat users who took part in an incident (alert sources are not people).
    static func people(_ incident: Incident) -> Set<String> {
        var users = [incident.declaredBy] + [incident.acknowledgedBy].compactMap { $0 } + Array(incident.roles.values)
        users += (incident.actionItems ?? []).compactMap(\.owner)
        return Set(users.filter { !$0.isAlertSource }.map(\.id))
    }

    /// What makes two incidents "the same thing again": the component, else the alert group.
    static func repeatKey(_ incident: Incident) -> String? {
        if let component = incident.statusComponent { return "component:\(component.lowercased())" }
        if let group = incident.alertGroup { return "alerts:\(group.source)/\(group.groupKey)" }
        return nil
    }

    static func repeats(_ sorted: [Incident], within window: TimeInterval) -> [RepeatGroup] {
        var byKey: [String: [Incident]] = [:]
        for incident in sorted {
            if let key = repeatKey(incident) { byKey[key, default: []].append(incident) }
        }
        var groups: [RepeatGroup] = []
        for key in byKey.keys.sorted() {
            let list = byKey[key] ?? []
            var members: Set<IncidentID> = []
            for (earlier, later) in zip(list, list.dropFirst()) where later.declaredAt.timeIntervalSince(earlier.declaredAt) <= window {
                members.insert(earlier.id)
                members.insert(later.id)
            }
            if !members.isEmpty {
                groups.append(RepeatGroup(key: key, incidents: list.filter { members.contains($0.id) }.map(\.id.description)))
            }
        }
        return groups
    }
}

extension StatsPeriod {
    /// The period as a half-open interval of declaration times, and how to name it.
    public func window(now: Date, timeZone: TimeZone) -> (start: Date, end: Date, label: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        switch self {
        case .last(let span):
            return (now.addingTimeInterval(-span.timeInterval), now.addingTimeInterval(0.001), "the last \(span)")
        case .thisMonth:
            let parts = calendar.dateComponents([.year, .month], from: now)
            let start = calendar.date(from: parts) ?? now
            return (start, now.addingTimeInterval(0.001), "\((parts.year ?? 0).zeroPadded(4))-\((parts.month ?? 0).zeroPadded(2)) so far")
        case .month(let year, let month):
            let start = calendar.date(from: DateComponents(year: year, month: month, day: 1)) ?? now
            let end = calendar.date(byAdding: .month, value: 1, to: start) ?? now
            return (start, end, "\(year.zeroPadded(4))-\(month.zeroPadded(2))")
        }
    }
}
