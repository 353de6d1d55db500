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

extension RateLimitHeader {
    /// `Retry-After` in seconds or as an HTTP date, never negative; nil when absent or unreadable.
    static func retryAfter(_ headers: HTTPHeaders, now: Date) -> TimeInterval? {
        if let seconds = number(headers, "Retry-After") { return max(0, seconds) }
        guard let value = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSince(now)) }
    }
}
