import Foundation
import NIOHTTP1
import Testing

@testable import Platforms

/// Waits read off a platform's answer never become NaN or infinite dates (which the store once trapped on).
@Suite("Rate-limit headers")
struct RateLimitHeaderTests {
    @Test(arguments: ["nan", "NaN", "inf", "-inf", "infinity", "1e999", "soon", ""])
    func nonFiniteOrNonNumbersAreNoWait(value: String) {
        let headers = HTTPHeaders([("Retry-After", value)])
        #expect(RateLimitHeader.number(headers, "Retry-After") == nil)
        #expect(RateLimitHeader.retryAfter(headers, now: Date(timeIntervalSince1970: 1_764_000_000)) == nil)
    }

    @Test func numbersAreRead() {
        let headers = HTTPHeaders([("Retry-After", " 30 "), ("X-RateLimit-Reset", "1764000000123")])
        #expect(RateLimitHeader.number(headers, "Retry-After") == 30)
        #expect(RateLimitHeader.number(headers, "X-RateLimit-Reset") == 1_764_000_000_123)
        #expect(RateLimitHeader.number(headers, "X-Missing") == nil)
    }
}
