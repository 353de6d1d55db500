import Foundation
import NIOHTTP1

/// Numbers in the headers platforms answer a busy client with (`Retry-After`, `X-RateLimit-Reset`).
enum RateLimitHeader {
    /// The header's number; nil when absent or not finite. `Double` also reads `nan`, `inf` and `1e999`,
    /// and a NaN wait would make every date computed from it NaN.
    static func number(_ headers: HTTPHeaders, _ name: String) -> Double? {
        guard let text = headers.first(name: name)?.trimmingCharacters(in: .whitespaces),
            let value = Double(text), value.isFinite
        else { return nil }
        return value
    }
}
