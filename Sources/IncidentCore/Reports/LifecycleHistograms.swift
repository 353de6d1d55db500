import Foundation

/// Cumulative histograms of the incidents' lifecycle times (`klaxon_time_to_*_seconds`), computed from
/// the incidents themselves rather than counted as events happen: every replica reports the same
/// numbers, and a restart loses nothing.
public struct LifecycleHistograms: Sendable, Hashable {
    public struct Histogram: Sendable, Hashable {
        /// Upper bounds in seconds, ascending, and how many values were at most each.
        public var buckets: [(upperBound: Double, count: Int)]
        public var sum: Double
        public var count: Int

        public init(_ values: [TimeInterval], bounds: [Double]) {
            buckets = bounds.map { bound in (bound, values.filter { $0 <= bound }.count) }
            sum = values.reduce(0, +)
            count = values.count
        }

        public static func == (lhs: Histogram, rhs: Histogram) -> Bool {
            lhs.sum == rhs.sum && lhs.count == rhs.count && lhs.buckets.map(\.upperBound) == rhs.buckets.map(\.upperBound)
                && lhs.buckets.map(\.count) == rhs.buckets.map(\.count)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(sum)
            hasher.combine(count)
            for bucket in buckets {
                hasher.combine(bucket.upperBound)
                hasher.combine(bucket.count)
            }
        }
    }

    /// Acknowledgement targets are minutes (runbook 004: < 5 min).
    public static let acknowledgeBounds: [Double] = [30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 14_400]
    /// Mitigation and resolution take from minutes to days (< 30 min, < 2 h for P1).
    public static let longBounds: [Double] = [300, 900, 1_800, 3_600, 7_200, 14_400, 28_800, 86_400, 259_200, 604_800]

    /// Severity id → histogram, for every severity given (empty ones included, so the series exist).
    public var acknowledge: [String: Histogram]
    public var mitigate: [String: Histogram]
    public var resolve: [String: Histogram]

    public init(_ incidents: [Incident], severities: [String]) {
        let ids = severities + Set(incidents.map(\.severity)).subtracting(severities).sorted()
        var acknowledge: [String: Histogram] = [:]
        var mitigate: [String: Histogram] = [:]
        var resolve: [String: Histogram] = [:]
        for id in ids {
            let durations = incidents.filter { $0.severity == id }.map(IncidentDurations.init)
            acknowledge[id] = Histogram(durations.compactMap(\.acknowledge), bounds: Self.acknowledgeBounds)
            mitigate[id] = Histogram(durations.compactMap(\.mitigate), bounds: Self.longBounds)
            resolve[id] = Histogram(durations.compactMap(\.resolve), bounds: Self.longBounds)
        }
        self.acknowledge = acknowledge
        self.mitigate = mitigate
        self.resolve = resolve
    }
}
