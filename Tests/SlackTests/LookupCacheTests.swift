import Foundation
import KlaxonTestSupport
import Testing

@testable import Platforms

@Suite("Lookup caches are bounded")
struct LookupCacheTests {
    @Test func aStreamOfDistinctKeysNeverGrowsTheCachePastItsBound() async {
        let clock = ManualClock(now: Fixture.monday)
        let cache = ExpiringLookupCache<String>(clock: clock, foundFor: 3600, failedFor: 60, maxEntries: 100)
        for number in 0..<1000 {
            _ = await cache.value(for: "user\(number)") { "zone\(number)" }
            #expect(cache.count <= 100)
        }
        // Fresh answers are served from the cache; expired ones are asked again.
        var asked = 0
        #expect(
            await cache.value(for: "user999") {
                asked += 1; return "other"
            } == "zone999")
        clock.advance(by: 3601)
        #expect(
            await cache.value(for: "user999") {
                asked += 1; return "other"
            } == "other")
        #expect(asked == 1)
    }
}
