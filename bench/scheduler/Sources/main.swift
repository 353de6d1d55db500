// The scheduler benchmark of issue 4: 100,000 open incidents with live timers in one SQLite store.
//
//   SchedulerBench seed     <db> [incidents]   fill a store (bulk commits of 1,000 incidents)
//   SchedulerBench resume   <db>               restart cost: open, first due time, memory
//   SchedulerBench idle     <db> [seconds]     CPU of the running scheduler + sender with nothing due
//   SchedulerBench lateness <db> [timers] [rate]  outbox throughput, then firing lateness at that rate
//                                              (or at fractions of `rate` reminders/s)
//   SchedulerBench commands <db> [commands]    the command path without HTTP: commands/s and latency
//                                              from 1, 8 and 32 callers, then 32 with the outbox sender
//
// `run.sh` runs them in order on one file. Each phase is its own process so that memory and CPU figures
// are not polluted by the previous phase. `<db>` may also be a `postgres://` URL (an empty database):
// `bench/postgres/run.sh` runs `seed`, `lateness` and `commands` on PostgreSQL beside SQLite.

import Foundation
import IncidentCore
import Logging
import Platforms
import PostgresNIO
import PostgresStorage
import Scheduler
import Storage

#if canImport(Glibc)
    import Glibc
#endif

let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
let config = try ConfigLoader.load(json: ConfigLoader.embeddedDefaultJSON, environment: [:]).get()
let engine = try IncidentEngine(config: config)
let clock = SystemClock()

// MARK: - The store

/// A phase's store, and how to let go of it.
struct BenchStore {
    let store: any IncidentStore
    let close: () async throws -> Void
}

/// A SQLite file (removed first when `fresh`), or a PostgreSQL database when `path` is a `postgres://`
/// URL (the script creates an empty one per run), whose pool runs until `close`.
func openStore(_ path: String, fresh: Bool = false) async throws -> BenchStore {
    if path.hasPrefix("postgres://") || path.hasPrefix("postgresql://") {
        let store = try await PostgresIncidentStore.open(
            PostgresStoreConfiguration(url: try PostgresURL.parse(path).get(), poolSize: 8), logger: logger)
        let pool = Task { try await store.run() }
        return BenchStore(store: store) {
            pool.cancel()
            _ = await pool.result
        }
    }
    if fresh { try? FileManager.default.removeItem(atPath: path) }
    let store = try await SQLiteIncidentStore.open(path: path, logger: logger)
    return BenchStore(store: store) { try await store.close() }
}

// MARK: - Measuring

func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes * 1024
}

/// User + system CPU time of this process, in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func elapsed<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
    let start = ContinuousClock.now
    let value = try await body()
    let duration = ContinuousClock.now - start
    return (value, Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
}

func ms(_ seconds: Double) -> String { String(format: "%.1f ms", seconds * 1000) }
func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func report(_ name: String, _ value: String) { print("  \(name.padding(toLength: 42, withPad: " ", startingAt: 0)) \(value)") }

// MARK: - Phases

/// Open sev2 incidents on the console platform, each with an update reminder and a long-running timer,
/// all due at least an hour from now (so the other phases choose what comes due).
func seed(path: String, incidents: Int) async throws {
    let opened = try await openStore(path, fresh: true)
    let store = opened.store
    let now = clock.now()
    let declaredAt = now.addingTimeInterval(-600)
    let batch = 1000
    let (_, seconds) = try await elapsed {
        for start in stride(from: 1, through: incidents, by: batch) {
            var changes = ChangeSet()
            for number in start..<min(start + batch, incidents + 1) {
                let id = IncidentID(number)
                let room = Conversation(platform: .console, channelID: "incident-\(number)")
                let incident = Incident(
                    id: id, title: "Benchmark incident \(number)", severity: "sev2", status: .investigating, platform: .console,
                    origin: Conversation(platform: .console, channelID: "incidents"), channelName: room.channelID, room: room,
                    declaredBy: ChatUser(id: "alice", name: "Alice"), declaredAt: declaredAt)
                changes.incidents.append(IncidentWrite(incident: incident, expectedRevision: nil))
                // Spread over the next day, from one hour on, to the millisecond.
                let offset = 3600 + Double(number % 86_400_000) / 1000
                changes.timers.append(NewTimer(incidentID: id, kind: .updateReminder, dueAt: now.addingTimeInterval(offset)))
                changes.timers.append(NewTimer(incidentID: id, kind: .longRunning, dueAt: now.addingTimeInterval(offset + 7200)))
            }
            try await store.commit(changes)
        }
    }
    try await opened.close()
    print("seed")
    report("open incidents", "\(incidents)")
    report("live timers", "\(incidents * 2)")
    report("seeding time", String(format: "%.2f s", seconds))
    if let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int {
        report("database size (after checkpoint)", "\(mib(size)) (\(size / max(incidents * 2, 1)) bytes per timer)")
    }
}

/// A restart: open the file (schema check included), learn the next due time, start the scheduler and
/// the sender, and let them settle. Memory is measured around all of it.
func resume(path: String) async throws {
    let before = residentBytes()
    let (store, openSeconds) = try await elapsed { try await SQLiteIncidentStore.open(path: path, logger: logger) }
    let (next, dueSeconds) = try await elapsed { try await store.nextTimerDue() }
    let timerBell = Doorbell()
    let outboxBell = Doorbell()
    let scheduler = TimerScheduler(store: store, engine: engine, clock: clock, doorbell: timerBell, outboxBell: outboxBell, logger: logger)
    let sender = OutboxSender(
        store: store, platforms: [ConsolePlatform(store: store, announceChannel: "incidents", mode: .channel, clock: clock, logger: logger)],
        clock: clock, doorbell: outboxBell, logger: logger)
    let services = Task {
        async let a: Void = scheduler.run()
        async let b: Void = sender.run()
        _ = try await (a, b)
    }
    try await Task.sleep(for: .seconds(1))
    let after = residentBytes()
    let open = try await store.openIncidentCounts().values.reduce(0, +)
    services.cancel()
    _ = await services.result
    try await store.close()
    print("resume")
    report("open the store (schema check)", ms(openSeconds))
    report("first next-due query", "\(ms(dueSeconds)) (next due in \(String(format: "%.0f s", next?.timeIntervalSinceNow ?? .nan)))")
    report("resume total (open + next due)", ms(openSeconds + dueSeconds))
    report("resident memory before open", mib(before))
    report("resident memory, services running", "\(mib(after)) (+\(mib(after - before)))")
    report("open incidents in the store", "\(open) (\(open * 2) timers; compare the growth with the empty store's)")
}

/// Scheduler and sender running on the real clock, nothing due for an hour (after one timer that fires
/// a second in, so the idle wait follows a wait that ended at its deadline).
func idle(path: String, seconds: Double) async throws {
    let store = try await SQLiteIncidentStore.open(path: path, logger: logger)
    let timerBell = Doorbell()
    let outboxBell = Doorbell()
    let scheduler = TimerScheduler(store: store, engine: engine, clock: clock, doorbell: timerBell, outboxBell: outboxBell, logger: logger)
    let sender = OutboxSender(
        store: store, platforms: [ConsolePlatform(store: store, announceChannel: "incidents", mode: .channel, clock: clock, logger: logger)],
        clock: clock, doorbell: outboxBell, logger: logger)
    var soon = ChangeSet()
    soon.timers = [NewTimer(incidentID: IncidentID(1), kind: .updateReminder, dueAt: clock.now().addingTimeInterval(1))]
    try await store.commit(soon)
    let services = Task {
        async let a: Void = scheduler.run()
        async let b: Void = sender.run()
        _ = try await (a, b)
    }
    while try await store.timeline(of: IncidentID(1)).isEmpty { try await Task.sleep(for: .milliseconds(50)) }
    try await Task.sleep(for: .milliseconds(200))
    let cpuBefore = cpuSeconds()
    try await Task.sleep(for: .seconds(seconds))
    let cpu = cpuSeconds() - cpuBefore
    services.cancel()
    _ = await services.result
    try await store.close()
    print("idle")
    report("CPU while nothing is due", String(format: "%.3f s over %.0f s (%.2f %%)", cpu, seconds, cpu / seconds * 100))
}

/// The scheduler and the sender, running as in the daemon until `done` holds (checked every 100 ms).
func runServices(_ store: any IncidentStore, until done: () async throws -> Bool) async throws {
    let timerBell = Doorbell()
    let outboxBell = Doorbell()
    let platform = ConsolePlatform(store: store, announceChannel: "incidents", mode: .channel, clock: clock, logger: logger)
    let scheduler = TimerScheduler(store: store, engine: engine, clock: clock, doorbell: timerBell, outboxBell: outboxBell, logger: logger)
    let sender = OutboxSender(store: store, platforms: [platform], clock: clock, doorbell: outboxBell, logger: logger)
    let services = Task {
        async let a: Void = scheduler.run()
        async let b: Void = sender.run()
        _ = try await (a, b)
    }
    while try await !done() { try await Task.sleep(for: .milliseconds(100)) }
    services.cancel()
    _ = await services.result
}

/// Update reminders for incidents `numbers`, the n-th due at `start + n × interval`; returns the due times.
func scheduleReminders(_ store: any IncidentStore, _ numbers: ClosedRange<Int>, start: Date, interval: TimeInterval) async throws -> [IncidentID: Date] {
    var due: [IncidentID: Date] = [:]
    var changes = ChangeSet()
    for (index, number) in numbers.enumerated() {
        let at = start.addingTimeInterval(Double(index) * interval)
        // As stored: whole milliseconds.
        due[IncidentID(number)] = Date(timeIntervalSince1970: (at.timeIntervalSince1970 * 1000).rounded() / 1000)
        changes.timers.append(NewTimer(incidentID: IncidentID(number), kind: .updateReminder, dueAt: at))
    }
    try await store.commit(changes)
    return due
}

/// All reminders fired and delivered: nothing due for the next ten minutes, nothing left in the outbox.
func allDone(_ store: any IncidentStore) async throws -> Bool {
    guard let next = try await store.nextTimerDue(), next > clock.now().addingTimeInterval(600) else { return false }
    return try await store.outboxDepth() == 0
}

/// Outbox id → delivery time, from the console transcript (the console platform keys its lines by outbox id).
func deliveryTimes(_ store: any IncidentStore) async throws -> [Int64: Date] {
    var times: [Int64: Date] = [:]
    var after: Int64 = 0
    while true {
        let page = try await store.consoleMessages(after: after, limit: 5000)
        guard let last = page.last?.id else { return times }
        for line in page { if let outboxID = line.outboxID { times[outboxID / 2] = line.at } }
        after = last
    }
}

/// How late each reminder fired (its timeline line) and was delivered (its console line), in seconds, sorted.
func lateness(of due: [IncidentID: Date], in store: any IncidentStore) async throws -> (fired: [Double], delivered: [Double]) {
    let deliveredAt = try await deliveryTimes(store)
    var fired: [Double] = []
    var delivered: [Double] = []
    for (id, dueAt) in due {
        guard let reminder = try await store.timeline(of: id).last(where: { $0.kind == .reminder }) else { continue }
        fired.append(reminder.at.timeIntervalSince(dueAt))
        if let message = try await store.outboxMessages(incident: id).last, let at = deliveredAt[message.id] {
            delivered.append(at.timeIntervalSince(dueAt))
        }
    }
    return (fired.sorted(), delivered.sorted())
}

/// 1. The sender alone: a backlog of one post per incident (so incidents go in parallel).
/// 2. Scheduler and sender together: `timers` reminders due at once, fired and delivered; that rate is
///    the fastest the pair sustains (each reminder is one transaction and one delivered post).
/// 3. `timers` reminders due back to back at 25 %, 50 %, 90 % and 100 % of that rate (or of `rate`, when
///    given: to compare two builds at the same rates): how late each fires. The incidents of phase n are
///    `timers * n + 1 ...`, so `timers` can be at most a fifth of the seeded incidents.
func lateness(path: String, timers: Int, rate: Double? = nil) async throws {
    let opened = try await openStore(path)
    let store = opened.store
    let platform = ConsolePlatform(store: store, announceChannel: "incidents", mode: .channel, clock: clock, logger: logger)
    let sender = OutboxSender(store: store, platforms: [platform], clock: clock, doorbell: Doorbell(), logger: logger)

    var backlog = ChangeSet()
    backlog.outbox = (1...2000).map { number in
        NewOutboxMessage(platform: .console, incidentID: IncidentID(90_000 + number), action: .post(to: .incidentRoom, text: "Backlog \(number)", buttons: []))
    }
    try await store.commit(backlog)
    let (sent, drainSeconds) = await elapsed { await sender.drainOnce() }
    print("lateness")
    report("outbox alone (console platform)", String(format: "%.0f messages/s (%d in %.2f s)", Double(sent) / drainSeconds, sent, drainSeconds))

    _ = try await scheduleReminders(store, 1...timers, start: clock.now(), interval: 0)
    let (_, burstSeconds) = try await elapsed { try await runServices(store) { try await allDone(store) } }
    let measured = Double(timers) / burstSeconds
    report("scheduler + outbox, all due at once", String(format: "%.0f reminders/s (%d fired and delivered in %.2f s)", measured, timers, burstSeconds))
    let capacity = rate ?? measured
    if let rate {
        report("rates below are fractions of", String(format: "%.0f reminders/s, as asked", rate))
    }

    for (phase, fraction) in [0.25, 0.5, 0.9, 1.0].enumerated() {
        let first = timers * (phase + 1) + 1
        let interval = 1 / (capacity * fraction)
        let due = try await scheduleReminders(store, first...(first + timers - 1), start: clock.now().addingTimeInterval(1), interval: interval)
        let last = due.values.max()!
        try await runServices(store) { clock.now() > last ? try await allDone(store) : false }
        let (fired, delivered) = try await lateness(of: due, in: store)
        report(String(format: "at %.0f %% of that (one every %.2f ms)", fraction * 100, interval * 1000), "\(fired.count) of \(timers) fired")
        report("  firing lateness p50 / p99 / max", "\(ms(percentile(fired, 0.5))) / \(ms(percentile(fired, 0.99))) / \(ms(fired.last ?? .nan))")
        report("  delivery lateness p50 / p99 / max", "\(ms(percentile(delivered, 0.5))) / \(ms(percentile(delivered, 0.99))) / \(ms(delivered.last ?? .nan))")
    }
    try await opened.close()
}

/// The store under the command path, without HTTP or a load client competing for the CPU:
/// `CommandService.handle` (parse, read the incident and the overrides, decide, one commit) for `count`
/// console commands, one `declare` for every three `update`s of 200 seeded incidents, from 1, 8 and 32
/// callers at once; then 32 callers again with the outbox sender delivering what they write (the console
/// platform writes each delivery to the same file), as in the daemon.
func commands(path: String, count: Int) async throws {
    let opened = try await openStore(path, fresh: true)
    let store = opened.store
    let service = CommandService(engine: engine, store: store, clock: clock)
    let seeded = 200
    func context(_ key: String) -> CommandContext {
        CommandContext(
            platform: .console, conversation: Conversation(platform: .console, channelID: "incidents"),
            user: ChatUser(id: "alice", name: "Alice"), inboundKey: "bench:\(key)")
    }
    for number in 1...seeded {
        _ = await service.handle(text: "declare sev3 Seed incident \(number)", context: context("seed-\(number)"))
    }
    print("commands")
    // What one statement costs before the store does any work: on SQLite `ping` is `SELECT 1`, one round
    // trip through sqlite-nio's thread pool (on PostgreSQL it also connects: it is the health check's).
    let pings = store is PostgresIncidentStore ? 100 : 5000
    let (_, pingSeconds) = try await elapsed { for _ in 0..<pings { try await store.ping() } }
    report("one statement round trip (SELECT 1)", String(format: "%.1f µs", pingSeconds / Double(pings) * 1_000_000))

    /// Runs `count` commands from `callers` tasks; returns each command's latency and how many failed.
    func drive(callers: Int, round: Int, through service: CommandService = service) async -> (latencies: [Double], failed: Int, seconds: Double) {
        let ((latencies, failed), seconds) = await elapsed {
            await withTaskGroup(of: ([Double], Int).self) { group in
                for caller in 0..<callers {
                    group.addTask {
                        var latencies: [Double] = []
                        var failed = 0
                        for index in stride(from: caller, to: count, by: callers) {
                            let text =
                                index % 4 == 0
                                ? "declare sev3 Bench incident \(round)-\(index)"
                                : "update INC-\(1 + (index * 7919) % seeded) bench update \(round)-\(index)"
                            let (result, seconds) = await elapsed { await service.handle(text: text, context: context("\(round)-\(index)")) }
                            latencies.append(seconds)
                            if result.outcome != .applied { failed += 1 }
                        }
                        return (latencies, failed)
                    }
                }
                return await group.reduce(into: ([Double](), 0)) {
                    $0.0 += $1.0; $0.1 += $1.1
                }
            }
        }
        return (latencies.sorted(), failed, seconds)
    }
    func show(_ label: String, _ run: (latencies: [Double], failed: Int, seconds: Double)) {
        let rate = Double(run.latencies.count) / run.seconds
        report(
            label,
            String(
                format: "%.0f commands/s, p50 / p99 / max %@ / %@ / %@, %d not applied",
                rate, ms(percentile(run.latencies, 0.5)), ms(percentile(run.latencies, 0.99)), ms(run.latencies.last ?? .nan), run.failed))
    }

    for (round, callers) in [1, 8, 32].enumerated() {
        show("\(callers) caller\(callers == 1 ? "" : "s")", await drive(callers: callers, round: round))
    }
    // The sender drains what the rounds above wrote first, then keeps up with the new round.
    let platform = ConsolePlatform(store: store, announceChannel: "incidents", mode: .channel, clock: clock, logger: logger)
    let sender = OutboxSender(store: store, platforms: [platform], clock: clock, doorbell: Doorbell(), logger: logger)
    let backlog = try await store.outboxDepth()
    let (_, drainSeconds) = await elapsed { await sender.drainOnce() }
    report("outbox backlog drained", String(format: "%d messages in %.2f s", backlog, drainSeconds))
    // As in the daemon: every commit rings the sender's doorbell.
    let outboxBell = Doorbell()
    let withSender = OutboxSender(store: store, platforms: [platform], clock: clock, doorbell: outboxBell, logger: logger)
    let ringing = CommandService(engine: engine, store: store, clock: clock, wakeups: Wakeups { _ in outboxBell.ring() })
    let delivering = Task { try await withSender.run() }
    let run = await drive(callers: 32, round: 3, through: ringing)
    show("32 callers + outbox sender", run)
    while try await store.outboxDepth() > 0 {
        outboxBell.ring()
        try await Task.sleep(for: .milliseconds(50))
    }
    delivering.cancel()
    _ = await delivering.result
    try await opened.close()
}

// MARK: - Main

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    print("usage: SchedulerBench seed|resume|idle|lateness|commands <db> [count]")
    exit(2)
}
let path = arguments[2]
let count = arguments.count > 3 ? Int(arguments[3]) : nil
switch arguments[1] {
case "seed": try await seed(path: path, incidents: count ?? 100_000)
case "resume": try await resume(path: path)
case "idle": try await idle(path: path, seconds: Double(count ?? 10))
case "lateness": try await lateness(path: path, timers: count ?? 5000, rate: arguments.count > 4 ? Double(arguments[4]) : nil)
case "commands": try await commands(path: path, count: count ?? 8000)
default:
    print("unknown phase \(arguments[1])")
    exit(2)
}
