import Foundation
import IncidentCore
import KlaxonTestSupport
import Logging
import Scheduler
import Server
import Storage
import Testing

/// Logs nothing: a simulated week fires thousands of timers, and each would print a line.
let quietLogger = Logger(label: "klaxon.tests.scheduler", factory: { _ in SwiftLogNoOpLogHandler() })

enum Fixture {
    /// Monday 2025-12-01 00:00:00 UTC: simulations start here.
    static let monday = Date(timeIntervalSince1970: 1_764_547_200)

    /// The shipped defaults (sev1 every 15 min, sev2 30 min, sev3 2 h, sev4 none) with the store at `storePath`.
    static func config(storePath: String, edit: (inout KlaxonConfig) -> Void = { _ in }) throws -> KlaxonConfig {
        var config = try ConfigLoader.load(json: ConfigLoader.embeddedDefaultJSON, environment: [:]).get()
        config.storage.sqlite = SQLiteStorageConfig(path: storePath)
        edit(&config)
        return config
    }

    static func user(_ id: String) -> ChatUser { ChatUser(id: id, name: id) }
}

extension KlaxonConfig {
    /// The policy of `id`, to edit in place.
    mutating func editSeverity(_ id: String, _ edit: (inout SeverityPolicy) -> Void) {
        guard let index = severities.firstIndex(where: { $0.id == id }) else {
            Issue.record("no severity \(id) in the config")
            return
        }
        edit(&severities[index])
    }
}

/// The daemon as `klaxon serve` wires it, on a SQLite file and a manual clock. Tests step the scheduler
/// and the outbox sender by hand (`fireDue`, `drainOnce`) unless they run the services themselves.
struct TestDaemon {
    let daemon: KlaxonDaemon
    let store: SQLiteIncidentStore
    let clock: ManualClock

    static func open(path: String, clock: ManualClock, config edit: (inout KlaxonConfig) -> Void = { _ in }) async throws -> TestDaemon {
        let config = try Fixture.config(storePath: path, edit: edit)
        let store = try await SQLiteIncidentStore.open(path: path, clock: clock, logger: quietLogger)
        let daemon = try KlaxonDaemon(config: config, store: store, clock: clock, logger: quietLogger)
        return TestDaemon(daemon: daemon, store: store, clock: clock)
    }

    var scheduler: TimerScheduler { daemon.scheduler }
    var sender: OutboxSender { daemon.sender }
    var engine: IncidentEngine { daemon.commands.engine }

    /// Runs `/incident <text>` typed by `user` in the announce channel, through the same path as every platform.
    @discardableResult
    func run(_ text: String, as user: String = "alice", sourceLocation: SourceLocation = #_sourceLocation) async -> CommandService.Result {
        let context = CommandContext(
            platform: .console, conversation: Conversation(platform: .console, channelID: "incidents"), user: Fixture.user(user))
        let result = await daemon.commands.handle(text: text, context: context)
        #expect(result.outcome == .applied, "/incident \(text): \(result.reply.text)", sourceLocation: sourceLocation)
        return result
    }

    /// Declares and returns the new incident's id.
    func declare(_ severity: String, _ title: String, as user: String = "alice", sourceLocation: SourceLocation = #_sourceLocation) async throws -> IncidentID {
        let result = await run("declare \(severity) \(title)", as: user, sourceLocation: sourceLocation)
        return try #require(result.reply.incidentID, sourceLocation: sourceLocation)
    }

    /// Fires whatever is due now and delivers the resulting messages.
    @discardableResult
    func step() async -> Int {
        let fired = await scheduler.fireDue()
        await sender.drainOnce()
        return fired
    }

    /// Moves the clock from one due time to the next up to and including `date` (starting with any due
    /// now), firing and delivering at each, then leaves the clock at `date`. Returns how many timers fired.
    @discardableResult
    func runTimers(through date: Date) async throws -> Int {
        var fired = 0
        while let due = try await store.nextTimerDue(), due <= date {
            clock.advance(to: due)
            fired += await step()
        }
        clock.advance(to: date)
        return fired
    }

    func close() async throws { try await store.close() }

    // MARK: Reading what happened

    /// Update reminders in the timeline (review reminders are timeline `.reminder`s too, and left out).
    func reminders(of id: IncidentID) async throws -> [TimelineEntry] {
        try await store.timeline(of: id).filter { $0.kind == .reminder && $0.text.hasPrefix("Update reminder") }
    }

    /// Every line the console platform delivered, oldest first.
    func consoleLines() async throws -> [ConsoleMessage] {
        var lines: [ConsoleMessage] = []
        while true {
            let page = try await store.consoleMessages(after: lines.last?.id ?? 0, limit: 1000)
            if page.isEmpty { return lines }
            lines += page
        }
    }

    /// The reminder posts delivered to an incident's room.
    func deliveredReminders(of id: IncidentID) async throws -> [ConsoleMessage] {
        let channel = try #require(try await store.incident(id)?.room?.channelID)
        return try await consoleLines().filter { $0.channel == channel && $0.text.hasPrefix("⏰") }
    }
}

/// Polls `condition` every 5 ms of real time for up to `timeout`. For waiting on other tasks (a running
/// service, a child process), never for a cadence: cadences run on the manual clock. The timeout is
/// generous because the whole suite runs in parallel on two cores (seen: a task not started for 12 s on a
/// loaded machine); a passing condition returns at once.
func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}
