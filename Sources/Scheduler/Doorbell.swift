import Foundation
import IncidentCore

/// Wakes one sleeping worker when new work is committed. Rings coalesce: any number of rings while the
/// worker is busy leave exactly one pending wake-up, so nothing is missed and nothing spins.
public final class Doorbell: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func ring() { continuation.yield() }

    /// Returns when the bell rings, `deadline` passes (if any), or the task is cancelled.
    /// Only one task may wait on a doorbell at a time (its owner).
    public func wait(until deadline: Date?, clock: any WallClock) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var iterator = self.stream.makeAsyncIterator()
                _ = await iterator.next()
            }
            if let deadline {
                group.addTask { try? await clock.sleep(until: deadline) }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
