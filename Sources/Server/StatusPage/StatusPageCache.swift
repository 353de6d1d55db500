import Foundation
import IncidentCore
import Platforms
import Synchronization

/// The status page's three renderings, made once per published change rather than once per request: a
/// status page is read most while an incident is on, by many people reloading it.
///
/// A render is reused while nothing was committed since (`changed(_:)`, from every commit of commands and
/// timers), the day is the same (the 90-day history), and it was checked less than `recheckAfter` ago
/// (another replica's commits do not reach this one's `changed`, and the history window slides). When
/// one of those fails the public view is read again; only if it differs from the last render (ignoring
/// the time it was made) is the page rendered again, with a new `ETag` and `Last-Modified`.
public final class StatusPageCache: Sendable {
    /// One rendering of the page, with what HTTP caches need.
    public struct Page: Sendable {
        public var html: String
        public var json: Data
        public var atom: String
        /// A digest of the public view; each representation's `ETag` adds its kind to it.
        public var tag: String
        /// When this view was first rendered, to the second (HTTP dates have no fractions).
        public var lastModified: Date
        public var model: StatusPageModel
    }

    private struct State {
        var page: Page?
        var day: String?
        var checkedAt: Date?
        /// Bumped by every commit; a render remembers the generation it was made at.
        var generation = 0
        var renderedGeneration = -1
        var renders = 0
    }

    /// How long a render is trusted without reading the store: the bound on how late a change committed
    /// by another replica shows. Also the `max-age` browsers and proxies are told.
    public static let recheckAfter: TimeInterval = 30

    private let state = Mutex(State())
    private let build: @Sendable (Date) async throws -> StatusPageModel
    private let clock: any WallClock
    private let timeZone: TimeZone

    public init(timeZone: TimeZone, clock: any WallClock, build: @escaping @Sendable (Date) async throws -> StatusPageModel) {
        self.build = build
        self.clock = clock
        self.timeZone = timeZone
    }

    /// How many times the page was rendered (tests: once per published change).
    public var renders: Int { state.withLock { $0.renders } }

    /// Something was committed: the next request reads the public view again.
    public func changed(_ changes: ChangeSet) {
        guard !changes.incidents.isEmpty else { return }
        state.withLock { $0.generation += 1 }
    }

    /// The page as of now, rendered again only when the public view changed.
    public func page() async throws -> Page {
        let now = clock.now()
        let day = Self.day(now, in: timeZone)
        let (cached, generation) = state.withLock { state -> (Page?, Int) in
            guard let page = state.page, state.day == day, state.renderedGeneration == state.generation,
                let checked = state.checkedAt, now.timeIntervalSince(checked) < Self.recheckAfter, now >= checked
            else { return (nil, state.generation) }
            return (page, state.generation)
        }
        if let cached { return cached }

        let model = try await build(now)
        let tag = try Self.digest(model)
        let unchanged = state.withLock { state -> Page? in
            state.checkedAt = now
            state.renderedGeneration = max(state.renderedGeneration, generation)
            // The same view (the day may have changed without moving the history): the same page.
            state.day = day
            guard let page = state.page, page.tag == tag else { return nil }
            return page
        }
        if let unchanged { return unchanged }
        let page = Page(
            html: StatusPageHTML.render(model), json: try APIJSON.encoder.encode(model), atom: StatusFeedAtom.render(model),
            tag: tag, lastModified: Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)), model: model)
        state.withLock { state in
            state.page = page
            state.day = day
            state.renders += 1
        }
        return page
    }

    /// A digest of the view without the time it was built at, so the same published state has the same
    /// tag on every replica and after every restart. FNV-1a, 64 bits, over the sorted-keys JSON: a cache
    /// validator, not a secret, so a fast stable hash is enough (`Hasher` is seeded per process).
    static func digest(_ model: StatusPageModel) throws -> String {
        var timeless = model
        timeless.generatedAt = Date(timeIntervalSince1970: 0)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in try encoder.encode(timeless) {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16).leftPadded(to: 16)
    }

    static func day(_ date: Date, in timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}

private extension String {
    func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
