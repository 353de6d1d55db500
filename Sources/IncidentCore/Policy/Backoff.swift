import Foundation

/// Exponential backoff with "equal jitter": the delay doubles per failure up to `maximum`; half of it is
/// fixed and half random, so many retrying messages or clients spread out instead of arriving together.
/// The randomness is injected (`unitRandom`), so tests can fix it.
public struct Backoff: Sendable {
    /// The delay after the first failure (before jitter).
    public var initial: TimeInterval
    public var maximum: TimeInterval
    /// A number in 0...1 per call: how much of the random half is waited. Values outside are clamped.
    public var unitRandom: @Sendable () -> Double

    public init(initial: TimeInterval, maximum: TimeInterval, unitRandom: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }) {
        self.initial = initial
        self.maximum = maximum
        self.unitRandom = unitRandom
    }

    /// The wait after the `failures`-th failure in a row (1-based; 0 or less counts as 1).
    public func delay(failures: Int) -> TimeInterval {
        let exponential = min(maximum, initial * pow(2, Double(min(max(0, failures - 1), 30))))
        return exponential / 2 + exponential / 2 * min(max(unitRandom(), 0), 1)
    }
}
