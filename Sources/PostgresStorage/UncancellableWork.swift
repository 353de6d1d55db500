import Foundation
import IncidentCore
import Logging
import Synchronization

/// Waits for work that a caller's cancellation must not stop (a transaction between BEGIN and COMMIT; a
/// group commit that holds other callers' jobs), and says so in the log when a cancelled caller is still
/// waiting for it `reportAfter` later.
///
/// Why: a replica that lived through an outage of its database was seen, rarely, not to stop after
/// SIGTERM, not even once cancelled (`KlaxonDaemon.maximumCancellation` now ends such a process). The
/// scheduler never logged its stop, and the only waits in its path that do not hear cancellation are
/// these. When it happens again, this line says whether it was one of them, and which.
struct UncancellableWork: Sendable {
    let clock: any WallClock
    let logger: Logger
    var reportAfter: TimeInterval = 5

    func value<T: Sendable>(of task: Task<T, Never>, doing work: String) async -> T {
        await watching(work) { await task.value }
    }

    func value<T: Sendable>(of task: Task<T, any Error>, doing work: String) async throws -> T {
        try await watching(work) { try await task.value }
    }

    private func watching<T>(_ work: String, _ wait: () async throws -> T) async rethrows -> T {
        let report = ReportIfUnfinished()
        defer { report.finish() }
        return try await withTaskCancellationHandler(operation: wait) { [clock, logger, reportAfter] in
            let cancelledAt = clock.now()
            Task {
                try? await clock.sleep(until: cancelledAt.addingTimeInterval(reportAfter))
                guard report.isUnfinished else { return }
                logger.warning(
                    "PostgreSQL work still running after its caller was cancelled",
                    metadata: ["work": "\(work)", "cancelled_for": "\(Int(reportAfter))s"])
            }
        }
    }
}

/// Whether the awaited work has finished, shared with the report that may run after the caller was
/// cancelled.
private final class ReportIfUnfinished: Sendable {
    private let finished = Mutex(false)

    var isUnfinished: Bool { !finished.withLock { $0 } }

    func finish() {
        finished.withLock { $0 = true }
    }
}
