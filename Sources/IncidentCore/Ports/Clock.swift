import Foundation

/// Wall-clock time, injected. Everything that reads the time or waits for it takes one, so tests run a
/// week of incidents in milliseconds with `ManualClock`.
public protocol WallClock: Sendable {
    func now() -> Date
    /// Returns at `deadline` (or at once if it has passed); throws `CancellationError` when cancelled.
    func sleep(until deadline: Date) async throws
}

/// The real clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(until deadline: Date) async throws {
        // A day at a time: a deadline decades away (or a NaN one, which `> 0` refuses) must not overflow
        // the milliseconds `Task.sleep` takes.
        let day: TimeInterval = 86_400
        while true {
            let seconds = deadline.timeIntervalSinceNow
            guard seconds > 0 else { return }
            try await Task.sleep(for: .milliseconds(Int64((min(seconds, day) * 1000).rounded(.up))))
        }
    }
}
