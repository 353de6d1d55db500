import Foundation
import IncidentCore
import KlaxonTestSupport
import Server
import Storage
import Synchronization
import Testing

/// One incident hit from every side at once: commands for it are decided in arrival order and committed in
/// batches, and nobody is ever told to try again because somebody else was quicker.
@Suite("Many hands on one incident")
struct ManyHandsTests {
    static let hands = 16
    static let commandsPerHand = 200

    /// The command hand `hand` sends as its `step`th: notes, updates, status changes and role changes
    /// (each to a person not yet in the role, so every one of them is a change).
    static func command(hand: Int, step: Int, incident: IncidentID) -> String {
        switch (hand + step) % 4 {
        case 0: "note \(incident) hand \(hand) step \(step)"
        case 1: "update \(incident) hand \(hand) step \(step)"
        case 2: "status \(incident) identified hand \(hand) step \(step)"
        default: "role \(incident) scribe @h\(hand)s\(step)"
        }
    }

    /// Which hand and step a timeline line belongs to, if it is one of theirs.
    static func origin(of entry: TimelineEntry) -> (hand: Int, step: Int)? {
        let text = entry.text
        if let range = text.range(of: #"hand (\d+) step (\d+)"#, options: .regularExpression) {
            let numbers = text[range].split(separator: " ").compactMap { Int($0) }
            return (numbers[0], numbers[1])
        }
        if entry.kind == .role, let range = text.range(of: #"@h(\d+)s(\d+)"#, options: .regularExpression) {
            let numbers = text[range].dropFirst(2).split(separator: "s").compactMap { Int($0) }
            return (numbers[0], numbers[1])
        }
        return nil
    }

    /// Sends every hand's commands at once, each hand waiting for its reply before the next, through
    /// `services[hand % services.count]`. Returns the replies by hand.
    static func sendAll(to services: [CommandService], incident: IncidentID, hands: Int, perHand: Int) async -> [Int: [CommandService.Result]] {
        await withTaskGroup(of: (Int, [CommandService.Result]).self) { group in
            for hand in 0..<hands {
                let service = services[hand % services.count]
                group.addTask {
                    var results: [CommandService.Result] = []
                    let context = CommandContext(
                        platform: .console, conversation: Conversation(platform: .console, channelID: "incidents"),
                        user: ChatUser(id: "hand\(hand)", name: "hand\(hand)"))
                    for step in 0..<perHand {
                        results.append(await service.handle(text: command(hand: hand, step: step, incident: incident), context: context))
                    }
                    return (hand, results)
                }
            }
            var byHand: [Int: [CommandService.Result]] = [:]
            for await (hand, results) in group { byHand[hand] = results }
            return byHand
        }
    }

    /// The checks both tests share: every command applied, each hand's lines in the timeline in the order
    /// the hand sent them (it waited for each reply), and one revision per change of the incident.
    static func expectAllApplied(
        _ replies: [Int: [CommandService.Result]], store: any IncidentStore, incident: IncidentID, revisionBefore: Int, hands: Int, perHand: Int
    ) async throws {
        for (hand, results) in replies {
            #expect(results.count == perHand)
            for (step, result) in results.enumerated() {
                #expect(result.outcome == .applied, "hand \(hand) step \(step): \(result.reply.text)")
                #expect(!result.reply.text.contains("try again"), "hand \(hand) step \(step): \(result.reply.text)")
            }
        }
        let timeline = try await store.timeline(of: incident)
        var seen: [Int: [Int]] = [:]
        for entry in timeline {
            if let origin = origin(of: entry) { seen[origin.hand, default: []].append(origin.step) }
        }
        for hand in 0..<hands {
            #expect(seen[hand] == Array(0..<perHand), "hand \(hand)'s lines are missing or out of order")
        }
        // Notes only append to the timeline; updates, status changes and role changes each change it once.
        var changes = 0
        for hand in 0..<hands {
            changes += (0..<perHand).filter { step in (hand + step) % 4 != 0 }.count
        }
        let after = try #require(try await store.incident(incident))
        #expect(after.revision - revisionBefore == changes)
        var updates = 0
        for hand in 0..<hands {
            updates += (0..<perHand).filter { step in [1, 2].contains((hand + step) % 4) }.count
        }
        #expect(after.updateNumber == updates)
    }

    @Test("16 hands × 200 commands (note, update, status, role) on one incident: every one applied, in order, one revision per change")
    func sixteenHands() async throws {
        let directory = try TemporaryDirectory("klaxon-many-hands")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday)
        let klaxon = try await TestDaemon.open(path: directory.file("klaxon.sqlite"), clock: clock)
        let id = try await klaxon.declare("sev3", "Many hands")
        let before = try #require(try await klaxon.store.incident(id)).revision

        let replies = await Self.sendAll(to: [klaxon.daemon.commands], incident: id, hands: Self.hands, perHand: Self.commandsPerHand)
        try await Self.expectAllApplied(replies, store: klaxon.store, incident: id, revisionBefore: before, hands: Self.hands, perHand: Self.commandsPerHand)
        try await klaxon.close()
    }

    @Test("another writer changes the incident under every third batch (as a second replica would): commands are decided again and applied, never refused")
    func conflictsAreRedecided() async throws {
        let directory = try TemporaryDirectory("klaxon-many-hands-conflict")
        defer { directory.remove() }
        let clock = ManualClock(now: Fixture.monday)
        let path = directory.file("klaxon.sqlite")
        let config = try Fixture.config(storePath: path)
        let sqlite = try await SQLiteIncidentStore.open(path: path, logger: quietLogger)
        let store = InterferingStore(sqlite)
        let engine = try IncidentEngine(config: config)
        let service = CommandService(engine: engine, store: store, clock: clock)
        let context = CommandContext(platform: .console, conversation: Conversation(platform: .console, channelID: "incidents"), user: Fixture.user("alice"))
        let id = try #require(await service.handle(text: "declare sev2 Contended", context: context).reply.incidentID)
        await store.interfere(with: id)
        let before = try #require(try await store.incident(id)).revision

        let (hands, perHand) = (8, 60)
        let replies = await Self.sendAll(to: [service], incident: id, hands: hands, perHand: perHand)
        #expect(store.interferences > 0, "no conflict was caused, so nothing was re-decided")
        // Each interference bumped the revision once more.
        try await Self.expectAllApplied(
            replies, store: store, incident: id, revisionBefore: before + store.interferences, hands: hands, perHand: perHand)

        // A command that became invalid while it waited gets the reason, not "try again".
        await store.interfere(with: id, by: "resolve")
        let late = await service.handle(text: "mitigate \(id) Rolled back", context: context)
        #expect(late.outcome == .rejected)
        #expect(late.reply.text.contains("\(id) is resolved"), "\(late.reply.text)")
        try await sqlite.close()
    }
}

/// The SQLite store with a second writer beside it: before every third ordered commit of the chosen
/// incident, it writes a change of that incident of its own (recording the room again, which bumps the
/// revision, or resolving it), so the commit that follows was decided on a stale read, exactly as when a
/// second replica wins the race.
final class InterferingStore: IncidentStore {
    let inner: SQLiteIncidentStore
    private struct State {
        var target: IncidentID?
        var action = "room"
        var commits = 0
        var interferences = 0
    }
    private let state = Mutex(State())

    init(_ inner: SQLiteIncidentStore) { self.inner = inner }

    var interferences: Int { state.withLock { $0.interferences } }

    /// `action`: `room` (every third commit) or `resolve` (once, before the next commit).
    func interfere(with id: IncidentID, by action: String = "room") async {
        state.withLock {
            $0.target = id
            $0.action = action
        }
    }

    func commit(inOrder changeSets: [ChangeSet]) async throws -> OrderedCommitResult {
        let (target, action, due) = state.withLock { state -> (IncidentID?, String, Bool) in
            state.commits += 1
            let due = state.action == "resolve" || state.commits % 3 == 0
            return (state.target, state.action, due)
        }
        if let target, due, changeSets.contains(where: { $0.incidents.contains { $0.incident.id == target } }) {
            if action == "resolve" {
                var incident = try #require(try await inner.incident(target))
                let revision = incident.revision
                incident.status = .resolved
                incident.resolvedAt = incident.declaredAt
                var changes = ChangeSet()
                changes.incidents = [IncidentWrite(incident: incident, expectedRevision: revision)]
                try await inner.commit(changes)
                state.withLock { $0.target = nil }
            } else {
                try await inner.setRoom(Conversation(platform: .console, channelID: "incident-room"), for: target)
                state.withLock { $0.interferences += 1 }
            }
        }
        return try await inner.commit(inOrder: changeSets)
    }

    // Everything else as the SQLite store does it.
    func allocateIncidentNumber(day: String) async throws -> (id: IncidentID, daySequence: Int) { try await inner.allocateIncidentNumber(day: day) }
    func commitNumberedDeclaration<Result: Sendable>(
        day: String, labelScope: String?,
        _ decide: @escaping @Sendable (_ id: IncidentID, _ daySequence: Int, _ labelSequence: Int?) -> (changes: ChangeSet, result: Result)
    ) async throws -> Result { try await inner.commitNumberedDeclaration(day: day, labelScope: labelScope, decide) }
    func incidentID(label: String) async throws -> IncidentID? { try await inner.incidentID(label: label) }
    func incident(_ id: IncidentID) async throws -> Incident? { try await inner.incident(id) }
    func incident(in conversation: Conversation) async throws -> Incident? { try await inner.incident(in: conversation) }
    func incidents(includeClosed: Bool, limit: Int) async throws -> [Incident] { try await inner.incidents(includeClosed: includeClosed, limit: limit) }
    func incidents(declaredFrom from: Date, to: Date) async throws -> [Incident] { try await inner.incidents(declaredFrom: from, to: to) }
    func timeline(of id: IncidentID) async throws -> [TimelineEntry] { try await inner.timeline(of: id) }
    func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] { try await inner.auditEntries(query) }
    func incidentID(alertSource source: String, groupKey: String) async throws -> IncidentID? {
        try await inner.incidentID(alertSource: source, groupKey: groupKey)
    }
    func commit(_ changes: ChangeSet) async throws { try await inner.commit(changes) }
    func setRoom(_ room: Conversation, for id: IncidentID) async throws { try await inner.setRoom(room, for: id) }
    func setTicket(_ ticket: TicketLink, for id: IncidentID) async throws { try await inner.setTicket(ticket, for: id) }
    func setTicket(_ ticket: TicketLink, forActionItem item: Int, of id: IncidentID) async throws {
        try await inner.setTicket(ticket, forActionItem: item, of: id)
    }
    func claimOutbox(lanes: OutboxLaneFilter, now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> OutboxClaim {
        try await inner.claimOutbox(lanes: lanes, now: now, owner: owner, leaseUntil: leaseUntil, limit: limit)
    }
    func pruneAudit(before: Date, limit: Int) async throws -> Int { try await inner.pruneAudit(before: before, limit: limit) }
    func renewOutboxLeases(_ ids: [Int64], owner: String, until: Date) async throws -> Int {
        try await inner.renewOutboxLeases(ids, owner: owner, until: until)
    }
    func markDelivered(_ id: Int64, platformMessageID: String?, at: Date) async throws {
        try await inner.markDelivered(id, platformMessageID: platformMessageID, at: at)
    }
    func markRetry(_ id: Int64, notBefore: Date, error: String, failingSince: Date) async throws {
        try await inner.markRetry(id, notBefore: notBefore, error: error, failingSince: failingSince)
    }
    func postpone(_ id: Int64, until: Date, reason: String) async throws { try await inner.postpone(id, until: until, reason: reason) }
    func holdForDigest(_ id: Int64, until: Date, reason: String) async throws { try await inner.holdForDigest(id, until: until, reason: reason) }
    func outboxDigestMembers(of head: Int64) async throws -> [OutboxMessage] { try await inner.outboxDigestMembers(of: head) }
    func markDigestDelivered(_ head: Int64, platformMessageID: String?, at: Date) async throws {
        try await inner.markDigestDelivered(head, platformMessageID: platformMessageID, at: at)
    }
    func markDead(_ id: Int64, error: String) async throws { try await inner.markDead(id, error: error) }
    func nextOutboxDue(lanes: OutboxLaneFilter) async throws -> Date? { try await inner.nextOutboxDue(lanes: lanes) }
    func outboxEntries(state: OutboxState, limit: Int) async throws -> [OutboxEntry] { try await inner.outboxEntries(state: state, limit: limit) }
    func requeueDeadOutboxMessage(_ id: Int64, now: Date) async throws -> Bool { try await inner.requeueDeadOutboxMessage(id, now: now) }
    func deleteDeadOutboxMessage(_ id: Int64) async throws -> Bool { try await inner.deleteDeadOutboxMessage(id) }
    func pruneInboundKeys(before: Date, limit: Int) async throws -> Int { try await inner.pruneInboundKeys(before: before, limit: limit) }
    func pruneDeliveredOutbox(before: Date, limit: Int) async throws -> Int { try await inner.pruneDeliveredOutbox(before: before, limit: limit) }
    func pruneConsoleMessages(keepingLast keep: Int, limit: Int) async throws -> Int { try await inner.pruneConsoleMessages(keepingLast: keep, limit: limit) }
    func outboxDepth() async throws -> Int { try await inner.outboxDepth() }
    func outboxMessages(incident id: IncidentID) async throws -> [OutboxMessage] { try await inner.outboxMessages(incident: id) }
    func nextTimerDue() async throws -> Date? { try await inner.nextTimerDue() }
    func claimDueTimers(now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> [ScheduledTimer] {
        try await inner.claimDueTimers(now: now, owner: owner, leaseUntil: leaseUntil, limit: limit)
    }
    func pendingTimers(of id: IncidentID) async throws -> [ScheduledTimer] { try await inner.pendingTimers(of: id) }
    func overrides(rotation: String, activeAt: Date) async throws -> [OnCallOverride] { try await inner.overrides(rotation: rotation, activeAt: activeAt) }
    func activeOverrides(rotations: [RotationConfig], at date: Date) async throws -> [String: [OnCallOverride]] {
        try await inner.activeOverrides(rotations: rotations, at: date)
    }
    func overrides(rotation: String, endingAfter date: Date) async throws -> [OnCallOverride] {
        try await inner.overrides(rotation: rotation, endingAfter: date)
    }
    func lastHandoff(rotation: String) async throws -> Date? { try await inner.lastHandoff(rotation: rotation) }
    func appendConsoleMessage(_ message: ConsoleMessage) async throws { try await inner.appendConsoleMessage(message) }
    func consoleMessages(after id: Int64, limit: Int) async throws -> [ConsoleMessage] { try await inner.consoleMessages(after: id, limit: limit) }
    func cursor(_ key: String) async throws -> String? { try await inner.cursor(key) }
    func setCursor(_ key: String, value: String) async throws { try await inner.setCursor(key, value: value) }
    func holdLease(_ key: String, owner: String, now: Date, until: Date) async throws -> Bool {
        try await inner.holdLease(key, owner: owner, now: now, until: until)
    }
    func ping() async throws { try await inner.ping() }
    func openIncidentCounts() async throws -> [String: Int] { try await inner.openIncidentCounts() }
}
