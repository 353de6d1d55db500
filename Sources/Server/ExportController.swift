import Foundation
import Hummingbird
import IncidentCore
import Platforms
import Yams

/// `GET /api/incidents/INC-n/export?format=md|yaml|json` (the post-mortem draft, runbook 002's incident
/// record as YAML, the same as JSON) and `GET /api/stats`: behind the API token like every `/api` route.
struct ExportController {
    let store: any IncidentStore
    let engine: IncidentEngine
    let clock: any WallClock

    enum Format: String, CaseIterable {
        case md, yaml, json
    }

    func addRoutes(to api: RouterGroup<KlaxonRequestContext>) {
        api.get("incidents/:id/export") { request, context in
            let raw = try context.parameters.require("id")
            guard let id = IncidentID(parsing: raw) ?? Int(raw).flatMap({ $0 > 0 ? IncidentID($0) : nil }) else {
                return Response.error("\"\(raw)\" is not an incident id (INC-42 or 42)", status: .badRequest)
            }
            let written = request.uri.queryParameters.get("format") ?? "md"
            guard let format = Format(rawValue: written.lowercased() == "markdown" ? "md" : written.lowercased()) else {
                return Response.error("format: \"\(written)\" is not one of md, yaml, json", status: .badRequest)
            }
            guard let incident = try await store.incident(id) else {
                return Response.error("no incident \(id)", status: .notFound)
            }
            let timeline = try await store.timeline(of: id)
            return try Self.render(incident, timeline: timeline, as: format, engine: engine)
        }
        // `?period=30d|this-month|2026-11&severity=sev1`: the numbers of `/incident stats`.
        api.get("stats") { request, _ in
            let parameters = request.uri.queryParameters
            var query = StatsQuery()
            if let raw = parameters.get("period") {
                guard let period = Self.period(raw) else {
                    return Response.error("period: \"\(raw)\" is not a duration (30d), this-month or a month (2026-11)", status: .badRequest)
                }
                query.period = period
            }
            if let raw = parameters.get("severity") {
                guard let policy = engine.config.severity(named: raw) else {
                    return Response.error(
                        "severity: unknown \"\(raw)\"; use one of \(engine.config.severities.map(\.id).joined(separator: ", "))", status: .badRequest)
                }
                query.severity = policy.id
            }
            let window = engine.statsWindow(query.period, now: clock.now())
            let incidents = try await store.incidents(declaredFrom: window.start, to: window.end)
            return try Response.json(engine.statistics(query, incidents: incidents, window: window))
        }
    }

    static func period(_ raw: String) -> StatsPeriod? {
        let lowered = raw.lowercased()
        if lowered == "this-month" || lowered == "this month" || lowered == "month" { return .thisMonth }
        if let month = CommandParser.calendarMonth(lowered) { return .month(year: month.year, month: month.month) }
        if let span = TimeSpan(parsing: lowered), span.seconds > 0 { return .last(span) }
        return nil
    }

    static func render(_ incident: Incident, timeline: [TimelineEntry], as format: Format, engine: IncidentEngine) throws -> Response {
        switch format {
        case .md:
            let text = PostmortemDocument.markdown(incident, timeline: timeline, severityName: engine.config.severity(id: incident.severity)?.name)
            return Response.text(text, contentType: "text/markdown; charset=utf-8")
        case .yaml:
            return Response.text(try yaml(IncidentRecord(incident: incident, timeline: timeline)), contentType: "application/yaml; charset=utf-8")
        case .json:
            return try Response.json(IncidentRecord(incident: incident, timeline: timeline))
        }
    }

    /// Yams writes the record; keys stay in declaration order, as runbook 002's template lists them.
    static func yaml(_ record: IncidentRecord) throws -> String {
        try YAMLEncoder().encode(record)
    }
}
