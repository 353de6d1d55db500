import Foundation

/// `/incident stats`: the numbers of `IncidentStatistics` as a chat reply.
extension IncidentEngine {
    public var timeZone: TimeZone { TimeZone(identifier: config.incidents.timeZone) ?? TimeZone(identifier: "UTC")! }

    public func statsWindow(_ period: StatsPeriod, now: Date) -> (start: Date, end: Date, label: String) {
        period.window(now: now, timeZone: timeZone)
    }

    public func statistics(_ query: StatsQuery, incidents: [Incident], window: (start: Date, end: Date, label: String)) -> IncidentStatistics {
        IncidentStatistics.compute(incidents, from: window.start, to: window.end, severity: query.severity, severities: config.severities, timeZone: timeZone)
    }

    public func statsReply(_ query: StatsQuery, incidents: [Incident], window: (start: Date, end: Date, label: String)) -> CommandReply {
        let stats = statistics(query, incidents: incidents, window: window)
        let scope = query.severity.map { "\(config.severity(id: $0)?.label ?? $0.uppercased()) incidents" } ?? "Incidents"
        guard stats.count > 0 else { return CommandReply(text: "\(scope) in \(window.label): none.") }
        var lines = ["\(scope) in \(window.label): \(stats.count)"]
        for row in stats.bySeverity {
            lines.append("• \(config.severity(id: row.severity)?.label ?? row.severity.uppercased()) · \(row.count) · " + Self.timesLine(row.times))
        }
        if stats.byMonth.count > 1 {
            lines.append("Per month: " + stats.byMonth.map { "\($0.month) \($0.count)" }.joined(separator: " · "))
        }
        if !stats.repeats.isEmpty {
            lines.append("Repeat incidents: " + stats.repeats.map { "\($0.key) (\($0.incidents.joined(separator: ", ")))" }.joined(separator: "; "))
        }
        lines.append("People involved: \(stats.peopleInvolved)" + (stats.peoplePerIncident.map { String(format: " (%.1f per incident)", $0) } ?? ""))
        return CommandReply(text: lines.joined(separator: "\n"))
    }

    /// `MTTA 4m (median 3m, p90 9m, 5/6 within 5m) · MTTM … · MTTR …`.
    static func timesLine(_ times: IncidentStatistics.Times) -> String {
        let detection = times.detect.mean.map { [" · MTTD \(Self.short($0)) (\(times.detect.count) known)"] } ?? []
        return [("MTTA", times.acknowledge), ("MTTM", times.mitigate), ("MTTR", times.resolve)].map { name, summary in
            guard let mean = summary.mean, let median = summary.median, let p90 = summary.p90 else { return "\(name) –" }
            var text = "\(name) \(Self.short(mean)) (median \(Self.short(median)), p90 \(Self.short(p90))"
            if let within = summary.withinTarget, let target = summary.target {
                text += ", \(within)/\(summary.count) within \(Self.short(target))"
            }
            return text + ")"
        }.joined(separator: " · ") + detection.joined()
    }

    static func short(_ seconds: TimeInterval) -> String {
        Formatting.span(from: Date(timeIntervalSince1970: 0), to: Date(timeIntervalSince1970: seconds.rounded()))
    }
}
