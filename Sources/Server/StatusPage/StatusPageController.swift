import Foundation
import Hummingbird
import IncidentCore
import Platforms

/// The public status page: `GET /status`, `/status.json`, `/status/feed.atom`. Open without the API
/// token, like a status page must be, and safe to be: everything comes from `StatusPageModel`, which
/// holds only what was published.
struct StatusPageController {
    let store: any IncidentStore
    let config: KlaxonConfig
    let clock: any WallClock
    let cache: StatusPageCache

    func addRoutes(to router: Router<KlaxonRequestContext>) {
        router.get("status") { request, _ in
            Self.answer(request, try await cache.page(), kind: "html") { page in
                Response.text(page.html, contentType: "text/html; charset=utf-8")
            }
        }
        router.get("status.json") { request, _ in
            Self.answer(request, try await cache.page(), kind: "json") { page in
                Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: page.json)))
            }
        }
        router.get("status/feed.atom") { request, _ in
            Self.answer(request, try await cache.page(), kind: "atom") { page in
                Response.text(page.atom, contentType: "application/atom+xml; charset=utf-8")
            }
        }
    }

    /// The representation with its validators, or `304 Not Modified` when the client's copy is current:
    /// `If-None-Match` decides when present (RFC 9110 §13.2.2), else `If-Modified-Since`.
    static func answer(_ request: Request, _ page: StatusPageCache.Page, kind: String, body: (StatusPageCache.Page) -> Response) -> Response {
        let etag = "\"\(page.tag)-\(kind)\""
        let validators: HTTPFields = [
            .eTag: etag,
            .lastModified: HTTPDate.format(page.lastModified),
            .cacheControl: "public, max-age=\(Int(StatusPageCache.recheckAfter))",
        ]
        let notModified: Bool
        if let match = request.headers[.ifNoneMatch] {
            notModified = match.split(separator: ",").contains { tag in
                let tag = tag.trimmingCharacters(in: .whitespaces)
                return tag == "*" || tag == etag || tag == "W/" + etag
            }
        } else if let since = request.headers[.ifModifiedSince].flatMap(HTTPDate.parse) {
            notModified = page.lastModified <= since
        } else {
            notModified = false
        }
        if notModified { return Response(status: .notModified, headers: validators) }
        var response = body(page)
        response.headers.append(contentsOf: validators)
        return response
    }
}

/// HTTP dates (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7), the only form a sender may produce.
enum HTTPDate {
    static func format(_ date: Date) -> String {
        formatter().string(from: date)
    }

    /// The preferred form; a date in another form is ignored, as the RFC allows, and the page is sent.
    static func parse(_ text: String) -> Date? {
        formatter().date(from: text.trimmingCharacters(in: .whitespaces))
    }

    private static func formatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }
}

extension StatusPageCache {
    /// The incidents of the history window, and any older one still open, as the page's model.
    static func model(store: any IncidentStore, config: KlaxonConfig, now: Date) async throws -> StatusPageModel {
        let since = now.addingTimeInterval(-Double(StatusPageModel.defaultHistoryDays) * 86_400)
        var incidents = try await store.incidents(declaredFrom: since, to: now.addingTimeInterval(1))
        let known = Set(incidents.map(\.id))
        incidents += try await store.incidents(includeClosed: false, limit: 1_000).filter { !known.contains($0.id) }
        return StatusPageModel.build(config: config, incidents: incidents, now: now)
    }
}
