import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import Storage
import Testing

/// `postmortems.directory`: the draft follows changes the timers make (the monitoring window closing the
/// incident, the review reminder), not only those of commands. Timers fire on the manual clock; the
/// writer runs as in the daemon, and each file change is awaited as a positive signal with a bound.
@Suite("Post-mortem file after timer-driven changes")
struct PostmortemTimerTests {
    /// The file's text once it contains `text`, or nil after 10 seconds of real time.
    static func file(_ path: String, containing text: String) async throws -> String? {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let current = try? String(contentsOfFile: path, encoding: .utf8), current.contains(text) { return current }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test func theMonitoringWindowAndTheReviewReminderRewriteTheDraft() async throws {
        let directory = try TemporaryDirectory("klaxon-postmortem-timers")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
        let klaxon = try await TestDaemon.open(path: directory.file("klaxon.sqlite"), clock: clock) { config in
            config.postmortems.directory = directory.file("postmortems")
        }
        let writer = Task { try await klaxon.daemon.postmortems.run() }
        defer { writer.cancel() }

        let id = try await klaxon.declare("sev1", "Checkout is down")
        clock.advance(by: 600)
        await klaxon.run("resolve \(id) rolled back the deploy")
        let incident = try #require(try await klaxon.store.incident(id))
        let path = try #require(klaxon.engine.postmortemFile(incident))
        let atResolve = try await Self.file(path, containing: "rolled back the deploy")
        #expect(atResolve != nil, "written at resolve (a command)")
        #expect(atResolve?.contains("monitoring window") == false)

        // The monitoring window ends: the timer closes the incident, and the draft says so.
        let timers = try await klaxon.store.pendingTimers(of: id)
        let window = try #require(timers.first { $0.kind == .monitoringWindow })
        try await klaxon.runTimers(through: window.dueAt)
        #expect(try await klaxon.store.incident(id)?.status == .closed)
        let closed = try await Self.file(path, containing: "Closed by Klaxon after the monitoring window")
        #expect(closed != nil, "rewritten when the timer closed the incident")
        #expect(closed?.contains(PostmortemDocument.pendingMarker) == true)

        // The review falls due: the reminder is in the timeline and in the draft.
        let review = try #require(timers.first { $0.kind == .reviewReminder })
        try await klaxon.runTimers(through: review.dueAt)
        #expect(try await Self.file(path, containing: "Post-incident review due") != nil, "rewritten when the review reminder fired")
        try await klaxon.close()
    }

    @Test func aReviewedDraftIsLeftAloneByTimersToo() async throws {
        let directory = try TemporaryDirectory("klaxon-postmortem-timers")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
        let klaxon = try await TestDaemon.open(path: directory.file("klaxon.sqlite"), clock: clock) { config in
            config.postmortems.directory = directory.file("postmortems")
        }
        let writer = Task { try await klaxon.daemon.postmortems.run() }
        defer { writer.cancel() }

        let id = try await klaxon.declare("sev1", "Checkout is down")
        await klaxon.run("resolve \(id) rolled back the deploy")
        let resolved = try #require(try await klaxon.store.incident(id))
        let path = try #require(klaxon.engine.postmortemFile(resolved))
        let draft = try #require(try await Self.file(path, containing: "rolled back the deploy"))
        let reviewed = draft.replacingOccurrences(of: PostmortemDocument.pendingMarker, with: "review: done") + "\nWritten by the team.\n"
        try reviewed.write(toFile: path, atomically: true, encoding: .utf8)

        let window = try #require(try await klaxon.store.pendingTimers(of: id).first { $0.kind == .monitoringWindow })
        try await klaxon.runTimers(through: window.dueAt)
        #expect(try await klaxon.store.incident(id)?.status == .closed)
        // The writer is asked after the close: once it answers for this incident, the file must be unchanged.
        #expect(await klaxon.daemon.postmortems.write(id) == .reviewed(path))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == reviewed)
        try await klaxon.close()
    }
}
