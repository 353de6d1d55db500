import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Wakes this replica when another one commits work for it: every change set that queues messages or
/// schedules timers sends `pg_notify('klaxon_wake', 'outbox,timers')` in its transaction, and this
/// service, on a connection of its own, LISTENs and rings the matching doorbells. Without it a replica
/// would only notice another's new timer at its next recheck; with it, failover is the lease time.
///
/// A notification sent while the connection is down is lost, so after every (re)connection both bells
/// ring once: the sender and scheduler then read the store and learn what they missed.
public struct PostgresWakeListener: Service {
    public static let channel = "klaxon_wake"

    public enum Wake: String, Sendable, CaseIterable {
        case outbox, timers
    }

    private let configuration: PostgresStoreConfiguration
    private let logger: Logger
    private let onWake: @Sendable (Set<Wake>) -> Void

    public init(_ configuration: PostgresStoreConfiguration, logger: Logger, onWake: @escaping @Sendable (Set<Wake>) -> Void) {
        self.configuration = configuration
        self.logger = logger
        self.onWake = onWake
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    let connection = try await configuration.connect(logger: logger)
                    failures = 0
                    do {
                        try await connection.listen(on: Self.channel) { notifications in
                            logger.debug("listening for other replicas' work", metadata: ["channel": "\(Self.channel)"])
                            onWake(Set(Wake.allCases))
                            for try await notification in notifications {
                                onWake(Self.parse(notification.payload))
                            }
                        }
                    } catch {
                        // The connection is already broken, most likely; its close error says nothing new.
                        try? await connection.close()
                        throw error
                    }
                    // The sequence ended (the server closed it): reconnect like after an error.
                    try? await connection.close()
                } catch {
                    if Task.isCancelled { return }
                    failures += 1
                    logger.warning(
                        "lost the connection that hears other replicas' work; reconnecting",
                        metadata: ["error": "\(PostgresIncidentStore.describe(error))", "attempt": "\(failures)"])
                    // 1 s, 2 s, 4 s … up to 30 s: the database may be restarting.
                    let delay = min(30, 1 << min(failures - 1, 5))
                    do {
                        try await Task.sleep(for: .seconds(delay))
                    } catch {
                        return
                    }
                }
            }
        }
    }

    /// `"outbox,timers"` → both; anything unknown (a newer replica's payload) wakes everything.
    static func parse(_ payload: String) -> Set<Wake> {
        let named = payload.split(separator: ",").map { Wake(rawValue: String($0)) }
        if named.isEmpty || named.contains(where: { $0 == nil }) { return Set(Wake.allCases) }
        return Set(named.compactMap { $0 })
    }
}
