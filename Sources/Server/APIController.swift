import Foundation
import Hummingbird
import IncidentCore
import NIOCore
import Platforms
import Scheduler

/// Read-only JSON API, health and metrics.
struct APIController {
    let store: any IncidentStore
    let metrics: KlaxonMetrics
    let severities: [SeverityPolicy]
    let clock: any WallClock
    let health: DaemonHealth
    /// Asked on every `/readyz`, with its short bound: the answer is about now, not the last background check.
    let storeProbe: StoreProbe
    /// `incidents.idFormat`: a path written in it names an incident by its label.
    var idFormat: IncidentLabelFormat = .standard

    /// Health and metrics on `router`, open to probes and scrapers (they reveal no incident content);
    /// the incident API on `api`, the `/api` group behind `APITokenMiddleware`.
    func addRoutes(to router: Router<KlaxonRequestContext>, api: RouterGroup<KlaxonRequestContext>) {
        router.get("healthz") { _, _ in Response.text("ok\n") }
        // Not ready while the store does not answer, refuses writes, or a platform refuses our credentials:
        // the body says which, one line each (no secrets: reasons are API error codes, SQLite errors and
        // PostgreSQL's SQLSTATE or network error, with the URL's password masked).
        router.get("readyz") { _, _ in
            await storeProbe.check()
            let problems = health.problems
            guard problems.isEmpty else {
                return Response.text("not ready\n" + problems.map { $0 + "\n" }.joined(), status: .serviceUnavailable)
            }
            return Response.text("ready\n")
        }
        router.get("metrics") { _, _ in
            let text = try await metrics.exposition(store: store, severities: severities, now: clock.now())
            return Response.text(text, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        api.get("incidents") { request, _ in
            let includeClosed = request.uri.queryParameters.get("all").map { $0 == "true" || $0 == "1" } ?? true
            let limit = min(max(request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 100, 1), 1000)
            let incidents = try await store.incidents(includeClosed: includeClosed, limit: limit)
            return try Response.json(incidents.map { IncidentView($0) })
        }
        api.get("incidents/:id") { request, context in
            let raw = try context.parameters.require("id")
            // An `incidents.idFormat` label (`INC-2026-001`) names it too.
            if !idFormat.isStandard, idFormat.matches(raw), IncidentID(parsing: raw) == nil {
                guard let id = try await store.incidentID(label: raw), let incident = try await store.incident(id) else {
                    return Response.error("no incident \(raw)", status: .notFound)
                }
                return try Response.json(IncidentView(incident, timeline: try await store.timeline(of: id)))
            }
            guard let id = IncidentID(parsing: raw) ?? Int(raw).flatMap({ $0 > 0 ? IncidentID($0) : nil }) else {
                return Response.error("\"\(raw)\" is not an incident id (INC-42 or 42)", status: .badRequest)
            }
            guard let incident = try await store.incident(id) else {
                return Response.error("no incident \(id)", status: .notFound)
            }
            let timeline = try await store.timeline(of: id)
            return try Response.json(IncidentView(incident, timeline: timeline))
        }
        // The audit log, newest first: `?incident=INC-4&since=24h&user=alice&limit=100`.
        api.get("audit") { request, _ in
            let parameters = request.uri.queryParameters
            var query = AuditQuery(limit: min(max(parameters.get("limit").flatMap(Int.init) ?? 500, 1), 10_000))
            if let raw = parameters.get("incident") {
                guard let id = IncidentID(parsing: raw) ?? Int(raw).flatMap({ $0 > 0 ? IncidentID($0) : nil }) else {
                    return Response.error("\"\(raw)\" is not an incident id (INC-42 or 42)", status: .badRequest)
                }
                query.incidentID = id
            }
            if let raw = parameters.get("since") {
                guard let span = TimeSpan(parsing: raw), span.seconds <= TimeSpan.maximum.seconds else {
                    return Response.error("since: \"\(raw)\" is not a duration such as 24h or 7d", status: .badRequest)
                }
                query.since = clock.now().addingTimeInterval(-span.timeInterval)
            }
            query.user = parameters.get("user").flatMap { $0.isEmpty ? nil : $0 }
            return try Response.json(try await store.auditEntries(query).map(AuditView.init))
        }
        api.get("messages") { request, _ in
            let after = request.uri.queryParameters.get("after").flatMap(Int64.init) ?? 0
            let limit = min(max(request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 500, 1), 5000)
            let messages = try await store.consoleMessages(after: after, limit: limit)
            return try Response.json(
                messages.map {
                    MessageView(id: $0.id ?? 0, at: $0.at, channel: $0.channel, thread: $0.thread, kind: $0.kind, text: $0.text)
                })
        }
    }
}
