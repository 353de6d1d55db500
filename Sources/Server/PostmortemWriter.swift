import Foundation
import IncidentCore
import Logging
import ServiceLifecycle

/// `postmortems.directory`: keeps each resolved incident's post-mortem draft as
/// `<directory>/YYYY-MM-DD-<slug>.md` (runbook 001), written at resolve and rewritten after every later
/// change of the incident (an action item, a reopening, the close), until a person edits the front matter
/// from `review: pending` to `review: done`: from then on the file is theirs and Klaxon leaves it alone.
///
/// Commands, alerts and timer firings (the monitoring window closing, the review reminder, auto-resolve)
/// hand it the incidents they changed (`changed(_:)`); it writes them one at a time.
public struct PostmortemWriter: Service {
    private let store: any IncidentRecords
    private let engine: IncidentEngine
    private let logger: Logger
    private let changes: AsyncStream<IncidentID>
    private let continuation: AsyncStream<IncidentID>.Continuation

    public init(store: any IncidentRecords, engine: IncidentEngine, logger: Logger) {
        self.store = store
        self.engine = engine
        self.logger = logger
        (changes, continuation) = AsyncStream.makeStream(of: IncidentID.self, bufferingPolicy: .bufferingNewest(10_000))
    }

    /// Whether drafts are written at all.
    public var isEnabled: Bool { engine.config.postmortems.directory != nil }

    /// Called after every commit with the incidents it changed.
    public func changed(_ changeSet: ChangeSet) {
        guard isEnabled else { return }
        for id in Set(changeSet.incidents.map(\.incident.id) + changeSet.timeline.map(\.incidentID)) {
            continuation.yield(id)
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await id in changes {
                await write(id)
            }
        }
        continuation.finish()
    }

    /// What `write` did, for tests and logs.
    public enum Outcome: Sendable, Equatable {
        case written(String)
        case notResolved
        case reviewed(String)
        case disabled
        /// The store or the file system refused; logged, and tried again on the incident's next change.
        case failed(String)
    }

    /// Writes (or rewrites) the draft of `id` now.
    @discardableResult
    public func write(_ id: IncidentID) async -> Outcome {
        do {
            guard let incident = try await store.incident(id), let path = engine.postmortemFile(incident) else { return .disabled }
            guard !incident.isOpen else { return .notResolved }
            if FileManager.default.fileExists(atPath: path) {
                let existing = try String(contentsOfFile: path, encoding: .utf8)
                guard existing.contains(PostmortemDocument.pendingMarker) else { return .reviewed(path) }
            }
            let timeline = try await store.timeline(of: id)
            let text = PostmortemDocument.markdown(incident, timeline: timeline, severityName: engine.config.severity(id: incident.severity)?.name)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // Written whole to a neighbour and renamed, so an editor or a git hook never reads half a file.
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            logger.debug("post-mortem draft written", metadata: ["incident": "\(id)", "path": "\(path)"])
            return .written(path)
        } catch {
            logger.warning("cannot write the post-mortem draft", metadata: ["incident": "\(id)", "error": "\(error)"])
            return .failed("\(error)")
        }
    }
}
