import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOHTTP1
import Server
import Testing

/// `/status` is rendered once per published change and answers conditional requests: `ETag`,
/// `Last-Modified`, `304 Not Modified`, `Cache-Control`. On the real daemon over loopback, with a manual
/// clock for the history window.
@Suite("Status page caching", .serialized)
struct StatusPageCacheTests {
    /// Monday 2026-11-30 14:15 UTC.
    static let start = Date(timeIntervalSince1970: 1_796_048_100)
    static let open = ["Authorization": ""]

    @Test("one render per published change; 304 for a current ETag or Last-Modified; unpublished changes keep the page")
    func conditionalRequests() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ManualClock(now: Self.start)
        let daemon = try await RunningDaemon.start(try StatusPageTests.config(storePath: directory.file("klaxon.sqlite")), clock: clock)
        try await StatusPageTests.publishScenario(daemon)
        let cache = daemon.daemon.statusPage

        let first = try await daemon.request(.GET, "/status", headers: Self.open)
        #expect(first.status == 200)
        let etag = try #require(first.headers.first(name: "ETag"))
        let lastModified = try #require(first.headers.first(name: "Last-Modified"))
        #expect(etag.hasPrefix("\"") && etag.hasSuffix("-html\""), "\(etag)")
        #expect(lastModified == "Mon, 30 Nov 2026 14:15:00 GMT")
        #expect(first.headers.first(name: "Cache-Control") == "public, max-age=30")
        let rendered = cache.renders

        let again = try await daemon.request(.GET, "/status", headers: Self.open)
        #expect(again.headers.first(name: "ETag") == etag)
        #expect(again.body == first.body)
        #expect(cache.renders == rendered, "served from the cache")

        let byTag = try await daemon.request(.GET, "/status", headers: ["Authorization": "", "If-None-Match": etag])
        #expect(byTag.status == 304)
        #expect(byTag.body.isEmpty)
        #expect(byTag.headers.first(name: "ETag") == etag)
        #expect(try await daemon.request(.GET, "/status", headers: ["Authorization": "", "If-None-Match": "\"other\", \(etag)"]).status == 304)
        #expect(try await daemon.request(.GET, "/status", headers: ["Authorization": "", "If-None-Match": "\"other\""]).status == 200)
        #expect(try await daemon.request(.GET, "/status", headers: ["Authorization": "", "If-Modified-Since": lastModified]).status == 304)
        #expect(try await daemon.request(.GET, "/status", headers: ["Authorization": "", "If-Modified-Since": "Mon, 30 Nov 2026 14:14:00 GMT"]).status == 200)
        // If-None-Match decides when both are sent.
        #expect(
            try await daemon.request(.GET, "/status", headers: ["Authorization": "", "If-None-Match": "\"other\"", "If-Modified-Since": lastModified]).status
                == 200)

        // The JSON and the feed are other representations of the same render.
        let json = try await daemon.request(.GET, "/status.json", headers: Self.open)
        let jsonTag = try #require(json.headers.first(name: "ETag"))
        #expect(jsonTag != etag && jsonTag.hasSuffix("-json\""))
        #expect(try await daemon.request(.GET, "/status.json", headers: ["Authorization": "", "If-None-Match": jsonTag]).status == 304)
        let feed = try await daemon.request(.GET, "/status/feed.atom", headers: Self.open)
        #expect(feed.headers.first(name: "ETag")?.hasSuffix("-atom\"") == true)
        #expect(cache.renders == rendered, "one render serves all three")

        // Internal changes commit, but the public view is the same: same page, same tag, no render.
        clock.advance(by: 60)
        #expect(try await daemon.command("note INC-1 checking the replica", user: "alice")["outcome"] == "applied")
        #expect(try await daemon.command("update INC-1 still rolling back", user: "alice")["outcome"] == "applied")
        #expect(try await daemon.request(.GET, "/status", headers: ["Authorization": "", "If-None-Match": etag]).status == 304)
        #expect(cache.renders == rendered)

        // A published change: a new page, a new tag, one render.
        clock.advance(by: 60)
        #expect(try await daemon.command("status INC-1 monitoring \"A fix is deployed; we are watching.\"", user: "carol")["outcome"] == "applied")
        let changed = try await daemon.request(.GET, "/status", headers: ["Authorization": "", "If-None-Match": etag])
        #expect(changed.status == 200)
        #expect(changed.body.contains("A fix is deployed"))
        let newTag = try #require(changed.headers.first(name: "ETag"))
        #expect(newTag != etag)
        #expect(changed.headers.first(name: "Last-Modified") == "Mon, 30 Nov 2026 14:17:00 GMT")
        #expect(cache.renders == rendered + 1)
        _ = try await daemon.request(.GET, "/status", headers: Self.open)
        #expect(cache.renders == rendered + 1)
        try await daemon.stop()
    }

    @Test("the history moves with the days without any commit: an incident leaves the page after 90 days")
    func historyWindow() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = ManualClock(now: Self.start)
        let daemon = try await RunningDaemon.start(try StatusPageTests.config(storePath: directory.file("klaxon.sqlite")), clock: clock)
        try await StatusPageTests.publishScenario(daemon)
        #expect(try await daemon.command("resolve INC-1 rolled back", user: "carol")["outcome"] == "applied")
        #expect(try await daemon.command("close INC-2", user: "dave")["outcome"] == "applied")
        let before = try await daemon.request(.GET, "/status", headers: Self.open)
        #expect(before.body.contains(StatusPageTests.title))
        let rendered = daemon.daemon.statusPage.renders

        clock.advance(by: 10 * 86_400)
        let later = try await daemon.request(.GET, "/status", headers: ["Authorization": "", "If-None-Match": before.headers.first(name: "ETag") ?? ""])
        #expect(later.status == 304, "a new day, the same history: the same page")
        #expect(daemon.daemon.statusPage.renders == rendered)

        clock.advance(by: 81 * 86_400)
        let gone = try await daemon.request(.GET, "/status", headers: Self.open)
        #expect(gone.status == 200)
        #expect(!gone.body.contains(StatusPageTests.title), "out of the 90-day history")
        #expect(gone.headers.first(name: "ETag") != before.headers.first(name: "ETag"))
        #expect(daemon.daemon.statusPage.renders == rendered + 1)
        try await daemon.stop()
    }
}
