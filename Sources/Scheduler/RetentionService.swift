import Foundation
import IncidentCore
import Logging
import ServiceLifecycle

/// Prunes what is kept only for bookkeeping (`retention` in bot-config.json): inbound dedupe keys, delivered
/// outbox messages, old console lines, audit entries past `retention.audit`. Incidents, timelines, pending and dead messages are never touched.
///
/// Each statement deletes at most `batchSize` rows, so the store's single writer is held briefly and
/// commands never queue long behind pruning; a round goes on batch after batch until nothing is left,
/// then sleeps `every` on the daemon's clock.
public struct RetentionService: Service {
    private let store: any RetentionStore
    private let retention: RetentionConfig
    private let clock: any WallClock
    private let logger: Logger

    public init(store: any RetentionStore, retention: RetentionConfig, clock: any WallClock, logger: Logger) {
        self.store = store
        self.retention = retention
        self.clock = clock
        self.logger = logger
    }

    /// What one round deleted.
    public struct Pruned: Sendable, Equatable {
        public var inboundKeys = 0
        public var deliveredMessages = 0
        public var consoleLines = 0
        public var auditEntries = 0
        public init() {}
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let pruned = try await pruneOnce()
                if pruned != Pruned() {
                    logger.info(
                        "pruned old records",
                        metadata: [
                            "inbound_keys": "\(pruned.inboundKeys)", "delivered_messages": "\(pruned.deliveredMessages)",
                            "console_lines": "\(pruned.consoleLines)", "audit_entries": "\(pruned.auditEntries)",
                        ])
                }
            } catch {
                // The next round tries again; a store that refuses writes is reported by the other workers.
                logger.warning("pruning failed; will try again next round", metadata: ["error": "\(error)"])
            }
            let wake = clock.now().addingTimeInterval(TimeInterval(retention.every.seconds))
            try? await cancelWhenGracefulShutdown {
                try await clock.sleep(until: wake)
            }
        }
    }

    /// One round: every kind pruned to its limit, in batches. Tests call it to step the service.
    @discardableResult
    public func pruneOnce() async throws -> Pruned {
        let now = clock.now()
        let batch = max(1, retention.batchSize)
        var pruned = Pruned()
        pruned.inboundKeys = try await drain {
            try await store.pruneInboundKeys(before: now.addingTimeInterval(-TimeInterval(retention.inboundDedupe.seconds)), limit: batch)
        }
        pruned.deliveredMessages = try await drain {
            try await store.pruneDeliveredOutbox(before: now.addingTimeInterval(-TimeInterval(retention.deliveredOutbox.seconds)), limit: batch)
        }
        pruned.consoleLines = try await drain { try await store.pruneConsoleMessages(keepingLast: retention.consoleLines, limit: batch) }
        pruned.auditEntries = try await drain {
            try await store.pruneAudit(before: now.addingTimeInterval(-TimeInterval(retention.audit.seconds)), limit: batch)
        }
        return pruned
    }

    /// Runs `batch` until it deletes less than a full batch; yields between batches so other work runs.
    private func drain(_ batch: () async throws -> Int) async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            let deleted = try await batch()
            total += deleted
            if deleted < max(1, retention.batchSize) { break }
            await Task.yield()
        }
        return total
    }
}
