import Foundation
import KlaxonTestSupport
import Testing

@testable import Platforms

@Suite("The expiring cache")
struct ExpiringCacheTests {
    @Test func aStreamOfDistinctKeysNeverGrowsTheCachePastItsBound() async {
        let clock = ManualClock(now: Fixture.monday)
        let cache = ExpiringCache<String, String?>(clock: clock, maxEntries: 100)
        for number in 0..<1000 {
            _ = await cache.value(for: "user\(number)", foundFor: 3600, failedFor: 60) { "zone\(number)" }
            #expect(cache.count <= 100)
        }
        // Fresh answers are served from the cache; expired ones are asked again.
        var asked = 0
        #expect(
            await cache.value(for: "user999", foundFor: 3600, failedFor: 60) {
                asked += 1; return "other"
            } == "zone999")
        clock.advance(by: 3601)
        #expect(
            await cache.value(for: "user999", foundFor: 3600, failedFor: 60) {
                asked += 1; return "other"
            } == "other")
        #expect(asked == 1)
    }

    @Test func aFailedLookupIsKeptForItsOwnShorterTime() async {
        let clock = ManualClock(now: Fixture.monday)
        let cache = ExpiringCache<String, String?>(clock: clock)
        var asked = 0
        let failing: () async -> String? = {
            asked += 1
            return nil
        }
        #expect(await cache.value(for: "u", foundFor: 3600, failedFor: 60, lookup: failing) == nil)
        clock.advance(by: 59)
        #expect(await cache.value(for: "u", foundFor: 3600, failedFor: 60, lookup: failing) == nil)
        #expect(asked == 1, "a failure is not asked again within failedFor")
        clock.advance(by: 2)
        #expect(await cache.value(for: "u", foundFor: 3600, failedFor: 60) { "zone" } == "zone")
        clock.advance(by: 3599)
        #expect(cache["u"] == "zone")
    }

    @Test func rememberedValuesStayUntilRemovedOrPushedOut() {
        let clock = ManualClock(now: Fixture.monday)
        let cache = ExpiringCache<Int, String>(clock: clock, maxEntries: 10)
        cache.set("a", for: 1)
        cache.set("b", for: 2, keepFor: 30)
        clock.advance(by: 86_400 * 365)
        #expect(cache[1] == "a")
        #expect(cache[2] == nil, "kept for 30 s only")
        cache.set("a2", for: 1)
        #expect(cache[1] == "a2")
        cache.removeValue(for: 1)
        #expect(cache[1] == nil)
        // Full: the expired entry goes first, then the cache keeps a tenth fewer than its bound.
        for key in 10..<30 { cache.set("\(key)", for: key) }
        #expect(cache.count <= 10)
        #expect(cache[29] == "29", "the newest entry is kept")
    }
}
