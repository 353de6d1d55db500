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
/// Written and read by hand against one calendar made once: the fixed form needs no locale, and a
/// `DateFormatter` per request cost more than the rest of a 304. (This toolchain's Foundation has no
/// HTTP date format style.)
enum HTTPDate {
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar
    }()

    static func format(_ date: Date) -> String {
        let parts = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        func digits(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let weekday = weekdays[((parts.weekday ?? 1) - 1) % 7]
        let month = months[((parts.month ?? 1) - 1) % 12]
        return "\(weekday), \(digits(parts.day, 2)) \(month) \(digits(parts.year, 4)) "
            + "\(digits(parts.hour, 2)):\(digits(parts.minute, 2)):\(digits(parts.second, 2)) GMT"
    }

    /// The preferred form; a date in another form is ignored, as the RFC allows, and the page is sent.
    static func parse(_ text: String) -> Date? {
        let text = text.trimmingCharacters(in: .whitespaces)
        let fields = text.split(separator: " ")
        guard fields.count == 6, fields[5] == "GMT", let month = months.firstIndex(of: String(fields[2])), let day = Int(fields[1]),
            let year = Int(fields[3])
        else { return nil }
        let time = fields[4].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3,
            let date = calendar.date(from: DateComponents(year: year, month: month + 1, day: day, hour: time[0], minute: time[1], second: time[2]))
        else { return nil }
        // Written back the same or not the preferred form: a wrong weekday, a 31 February, a missing zero.
        return format(date) == text ? date : nil
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
