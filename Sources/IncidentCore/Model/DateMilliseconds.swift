import Foundation

extension Date {
    /// Milliseconds since 1970, rounded by `rule`, for the store's integers and for message ids.
    ///
    /// Never traps: `Int64(Double)` does on NaN, infinity and anything beyond ±2⁶³, and a date can get
    /// there from a number read off the wire (a `Retry-After: 1e300`, a far end date), so those clamp to
    /// the nearest end of `Int64`, and NaN reads as 0.
    public func millisecondsSince1970(rounding rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> Int64 {
        let milliseconds = (timeIntervalSince1970 * 1000).rounded(rule)
        guard !milliseconds.isNaN else { return 0 }
        // 2⁶³ is exactly representable as a Double; `Int64.max` is not (it rounds up to 2⁶³).
        if milliseconds >= 0x1p63 { return .max }
        if milliseconds < -0x1p63 { return .min }
        return Int64(milliseconds)
    }
}
