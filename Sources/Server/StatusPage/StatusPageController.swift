import Foundation
import Hummingbird
import IncidentCore

/// The public status page: `GET /status`, `/status.json`, `/status/feed.atom`. Open without the API
/// token, like a status page must be, and safe to be: everything comes from `StatusPageModel`, which
/// holds only what was published.
struct StatusPageController {
    let store: any IncidentStore
    let config: KlaxonConfig
    let clock: any WallClock

    func addRoutes(to router: Router<KlaxonRequestContext>) {
        router.get("status") { _, _ in
            Response.text(StatusPageHTML.render(try await model()), contentType: "text/html; charset=utf-8")
        }
        router.get("status.json") { _, _ in
            try Response.json(try await model())
        }
        router.get("status/feed.atom") { _, _ in
            Response.text(StatusFeedAtom.render(try await model()), contentType: "application/atom+xml; charset=utf-8")
        }
    }

    /// The incidents of the history window, and any older one still open.
    func model() async throws -> StatusPageModel {
        let now = clock.now()
        let since = now.addingTimeInterval(-Double(StatusPageModel.defaultHistoryDays) * 86_400)
        var incidents = try await store.incidents(declaredFrom: since, to: now.addingTimeInterval(1))
        let known = Set(incidents.map(\.id))
        incidents += try await store.incidents(includeClosed: false, limit: 1_000).filter { !known.contains($0.id) }
        return StatusPageModel.build(config: config, incidents: incidents, now: now)
    }
}
