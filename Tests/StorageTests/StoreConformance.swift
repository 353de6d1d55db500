import Foundation
import IncidentCore
import Storage
import Testing

/// Makes a new, empty store. Each check calls it once, so checks share nothing.
typealias StoreFactory = @Sendable () async throws -> any IncidentStore

/// What every `IncidentStore` must do, written against the protocol only so that another implementation
/// (PostgreSQL) runs the same checks: add a suite like `SQLiteStoreConformance` below with its own factory.
/// Dates are fixed (`StoreFixtures.t0`) because stores are driven by injected clocks.
enum StoreConformance {

    // MARK: Incidents

    static func incidentRoundTrip(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let incident = StoreFixtures.incident(1, withEveryField: true)
        let declaration = TimelineEntry(incidentID: incident.id, at: StoreFixtures.t0, kind: .declared, actor: StoreFixtures.alice, text: "Declared")
        let anonymous = TimelineEntry(incidentID: incident.id, at: StoreFixtures.t0.addingTimeInterval(0.25), kind: .alert, actor: nil, text: "Alert fired")
        let nameless = TimelineEntry(
            incidentID: incident.id, at: StoreFixtures.t0.addingTimeInterval(1), kind: .note, actor: ChatUser(id: "U0BOB"), text: "A note")
        let fact = TimelineEntry(
            incidentID: incident.id, at: StoreFixtures.t0.addingTimeInterval(2), kind: .fact, actor: StoreFixtures.alice,
            text: "Impact: Uploads fail for EU users · set by <@U0ALICE>")

        var changes = ChangeSet()
        changes.incidents = [IncidentWrite(incident: incident, expectedRevision: nil)]
        changes.timeline = [declaration, anonymous, nameless, fact]
        try await store.commit(changes)

        var expected = incident
        expected.revision = 1
        #expect(try await store.incident(incident.id) == expected)
        #expect(try await store.timeline(of: incident.id) == [declaration, anonymous, nameless, fact])
        #expect(try await store.incident(IncidentID(99)) == nil)
        #expect(try await store.timeline(of: IncidentID(99)).isEmpty)

        // An update stores the next revision and the new value.
        var acknowledged = expected
        acknowledged.status = .investigating
        acknowledged.publicStatus = "Looking at the load balancers"
        var update = ChangeSet()
        update.incidents = [IncidentWrite(incident: acknowledged, expectedRevision: 1)]
        try await store.commit(update)
        acknowledged.revision = 2
        #expect(try await store.incident(incident.id) == acknowledged)
    }

    static func insertingAnExistingIncidentIsAConflict(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))

        var again = StoreFixtures.declaration(of: StoreFixtures.incident(1, title: "Someone else's"))
        again.timeline = [TimelineEntry(incidentID: IncidentID(1), at: StoreFixtures.t0, kind: .note, actor: nil, text: "lost")]
        await #expect(throws: StoreError.conflict(IncidentID(1))) { try await store.commit(again) }
        #expect(try await store.incident(IncidentID(1))?.title == "Database down")
        #expect(try await store.timeline(of: IncidentID(1)).count == 1)
    }

    static func revisionConflictRollsBackTheWholeChangeSet(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let id = IncidentID(1)
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))
        let stored = try #require(try await store.incident(id))

        // Another writer gets there first.
        var winner = ChangeSet()
        var winning = stored
        winning.severity = "SEV1"
        winner.incidents = [IncidentWrite(incident: winning, expectedRevision: stored.revision)]
        try await store.commit(winner)

        // A second incident written in the same change set must not survive the conflict either.
        var loser = ChangeSet()
        var losing = stored
        losing.title = "stale"
        loser.incidents = [
            IncidentWrite(incident: StoreFixtures.incident(2), expectedRevision: nil),
            IncidentWrite(incident: losing, expectedRevision: stored.revision),
        ]
        loser.timeline = [TimelineEntry(incidentID: id, at: StoreFixtures.t0, kind: .update, actor: StoreFixtures.alice, text: "stale update")]
        loser.outbox = [StoreFixtures.post(for: id, "stale update")]
        loser.timers = [NewTimer(incidentID: id, kind: .updateReminder, dueAt: StoreFixtures.t0.addingTimeInterval(1800))]
        loser.overrides = [StoreFixtures.override(rotation: "db", person: "carol", from: 0, to: 3600)]
        loser.consoleMessages = [ConsoleMessage(at: StoreFixtures.t0, channel: "incidents", text: "stale", kind: "post")]
        loser.inboundKey = "console:stale-1"
        await #expect(throws: StoreError.conflict(id)) { try await store.commit(loser) }

        let afterConflict = try #require(try await store.incident(id))
        #expect(afterConflict.severity == "SEV1")
        #expect(afterConflict.title == stored.title)
        #expect(afterConflict.revision == stored.revision + 1)
        #expect(try await store.incident(IncidentID(2)) == nil)
        #expect(try await store.timeline(of: id).count == 1)
        #expect(try await store.outboxMessages(incident: id).isEmpty)
        #expect(try await store.outboxDepth() == 0)
        #expect(try await store.pendingTimers(of: id).isEmpty)
        #expect(try await store.overrides(rotation: "db", activeAt: StoreFixtures.t0).isEmpty)
        #expect(try await store.consoleMessages(after: 0, limit: 10).isEmpty)

        // The inbound key was not recorded: the retry of the same delivery goes through.
        var retry = ChangeSet()
        retry.inboundKey = "console:stale-1"
        retry.timeline = [TimelineEntry(incidentID: id, at: StoreFixtures.t0, kind: .update, actor: StoreFixtures.alice, text: "fresh update")]
        try await store.commit(retry)
        #expect(try await store.timeline(of: id).map(\.text) == ["Declared", "fresh update"])
    }

    static func duplicateInboundKeyRollsBack(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        var first = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        first.inboundKey = "slack:event:Ev123"
        try await store.commit(first)

        var redelivery = ChangeSet()
        redelivery.inboundKey = "slack:event:Ev123"
        redelivery.timeline = [TimelineEntry(incidentID: IncidentID(1), at: StoreFixtures.t0, kind: .note, actor: nil, text: "twice")]
        redelivery.outbox = [StoreFixtures.post(for: IncidentID(1), "twice")]
        await #expect(throws: StoreError.duplicate("slack:event:Ev123")) { try await store.commit(redelivery) }
        #expect(try await store.timeline(of: IncidentID(1)).count == 1)
        #expect(try await store.outboxDepth() == 0)

        // Another key is another delivery.
        redelivery.inboundKey = "slack:event:Ev124"
        try await store.commit(redelivery)
        #expect(try await store.timeline(of: IncidentID(1)).count == 2)
    }

    static func allocatesIncidentNumbersPerDay(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        func allocate(_ day: String) async throws -> [Int] {
            let allocated = try await store.allocateIncidentNumber(day: day)
            return [allocated.id.number, allocated.daySequence]
        }
        #expect(try await allocate("2025-11-10") == [1, 1])
        #expect(try await allocate("2025-11-10") == [2, 2])
        #expect(try await allocate("2025-11-11") == [3, 1])
        #expect(try await allocate("2025-11-10") == [4, 3])
        // Numbers handed out but never committed are not reused.
        #expect(try await store.incident(IncidentID(4)) == nil)
        #expect(try await allocate("2025-11-11") == [5, 2])
    }

    /// `incidents.idFormat` (issue 14, item 4): `{seq}` counts per period beside the day's number, and a
    /// command finds its incident by label, ignoring case.
    static func countsLabelsAndFindsIncidentsByThem(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        func declare(in scope: String) async throws -> (id: IncidentID, daySequence: Int) {
            try await store.commitDeclaration(day: "2026-12-31", labelScope: scope) { id, daySequence, labelSequence in
                var incident = StoreFixtures.incident(id.number)
                incident.id = IncidentID(id.number, label: "INC-\(scope)-\(String(format: "%03d", labelSequence))")
                var changes = ChangeSet()
                changes.incidents = [IncidentWrite(incident: incident, expectedRevision: nil)]
                return (changes, (incident.id, daySequence))
            }
        }
        let first = try await declare(in: "2026")
        let second = try await declare(in: "2026")
        let nextYear = try await declare(in: "2027")
        #expect([first.id.label, second.id.label, nextYear.id.label] == ["INC-2026-001", "INC-2026-002", "INC-2027-001"])
        let daySequences: [Int] = [first.daySequence, second.daySequence, nextYear.daySequence]
        #expect(daySequences == [1, 2, 3], "the day's numbers count on as before")
        #expect(try await store.allocateIncidentNumber(day: "2026-12-31").daySequence == 4, "label counters are not days")

        let found = try #require(try await store.incidentID(label: "inc-2026-002"))
        #expect(found == second.id)
        #expect(found.label == "INC-2026-002")
        #expect(try await store.incident(second.id)?.id.label == "INC-2026-002", "the label is kept with the incident")
        #expect(try await store.incidentID(label: "INC-2026-003") == nil)
        #expect(try await store.incidentID(label: "INC-\(second.id.number)") == nil, "plain numbers are not labels")
    }

    static func findsIncidentsByRoom(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let channelRoom = Conversation(platform: .slack, channelID: "C0INC1")
        let threadRoom = Conversation(platform: .slack, channelID: "C0ANNOUNCE", threadID: "1731234567.000100")
        let otherThreadRoom = Conversation(platform: .slack, channelID: "C0ANNOUNCE", threadID: "1731234999.000200")

        var changes = ChangeSet()
        changes.incidents = [
            IncidentWrite(incident: StoreFixtures.incident(1, room: channelRoom), expectedRevision: nil),
            IncidentWrite(incident: StoreFixtures.incident(2, room: threadRoom), expectedRevision: nil),
            IncidentWrite(incident: StoreFixtures.incident(3), expectedRevision: nil),
        ]
        try await store.commit(changes)

        #expect(try await store.incident(in: channelRoom)?.id == IncidentID(1))
        #expect(try await store.incident(in: threadRoom)?.id == IncidentID(2))
        #expect(try await store.incident(in: otherThreadRoom) == nil)
        // The announce channel itself is nobody's room; a thread id must match, nil only matches nil.
        #expect(try await store.incident(in: Conversation(platform: .slack, channelID: "C0ANNOUNCE")) == nil)
        // Same ids on another platform are another conversation.
        #expect(try await store.incident(in: Conversation(platform: .mattermost, channelID: "C0INC1")) == nil)

        // The outbox sender records the room once the platform created it; that is a new revision.
        let before = try #require(try await store.incident(IncidentID(3)))
        try await store.setRoom(otherThreadRoom, for: IncidentID(3))
        let after = try #require(try await store.incident(in: otherThreadRoom))
        #expect(after.id == IncidentID(3))
        #expect(after.room == otherThreadRoom)
        #expect(after.revision == before.revision + 1)
        await #expect(throws: StoreError.notFound) { try await store.setRoom(channelRoom, for: IncidentID(42)) }
    }

    /// The outbox sender records the issue a tracker opened; that is a new revision, and the rest of the
    /// incident is kept.
    static func ticketIsRecordedAsANewRevision(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))
        let before = try #require(try await store.incident(IncidentID(1)))
        let link = TicketLink(target: TicketTarget(owner: "acme", repo: "api"), number: 17, url: "https://github.com/acme/api/issues/17")
        try await store.setTicket(link, for: IncidentID(1))
        let after = try #require(try await store.incident(IncidentID(1)))
        #expect(after.ticket == link)
        #expect(after.revision == before.revision + 1)
        var expected = before
        expected.ticket = link
        expected.revision += 1
        #expect(after == expected)
        await #expect(throws: StoreError.notFound) { try await store.setTicket(link, for: IncidentID(42)) }
    }

    /// An action item's issue goes on that item, as a new revision; an unknown item or incident is refused.
    static func actionItemTicketIsRecordedAsANewRevision(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        var incident = StoreFixtures.incident(1)
        incident.actionItems = [
            ActionItem(number: 1, text: "Add a connection pool alert", owner: nil, due: "2026-12-20", createdAt: incident.declaredAt),
            ActionItem(number: 2, text: "Document the failover", owner: nil, due: nil, createdAt: incident.declaredAt),
        ]
        try await store.commit(StoreFixtures.declaration(of: incident))
        let before = try #require(try await store.incident(IncidentID(1)))
        let link = TicketLink(target: TicketTarget(owner: "acme", repo: "api"), number: 18, url: "https://github.com/acme/api/issues/18")
        try await store.setTicket(link, forActionItem: 2, of: IncidentID(1))
        let after = try #require(try await store.incident(IncidentID(1)))
        var expected = before
        expected.actionItems?[1].ticket = link
        expected.revision += 1
        #expect(after == expected)
        await #expect(throws: StoreError.notFound) { try await store.setTicket(link, forActionItem: 3, of: IncidentID(1)) }
        await #expect(throws: StoreError.notFound) { try await store.setTicket(link, forActionItem: 1, of: IncidentID(42)) }
        #expect(try await store.incident(IncidentID(1))?.revision == after.revision, "a refused change writes nothing")
    }

    /// Several incidents inserted by one change set: the first one that exists already is the conflict,
    /// and none of the others is written.
    static func insertConflictsAmongSeveralIncidents(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))

        var clash = ChangeSet()
        clash.incidents = [2, 1, 3].map { IncidentWrite(incident: StoreFixtures.incident($0, title: "clash"), expectedRevision: nil) }
        await #expect(throws: StoreError.conflict(IncidentID(1))) { try await store.commit(clash) }
        #expect(try await store.incident(IncidentID(2)) == nil)
        #expect(try await store.incident(IncidentID(3)) == nil)
        #expect(try await store.incident(IncidentID(1))?.title == "Database down")

        // The same new incident twice in one change set: the second insert finds the first.
        var twice = ChangeSet()
        twice.incidents = [4, 4].map { IncidentWrite(incident: StoreFixtures.incident($0), expectedRevision: nil) }
        await #expect(throws: StoreError.conflict(IncidentID(4))) { try await store.commit(twice) }
        #expect(try await store.incident(IncidentID(4)) == nil)

        // An update before the inserts that conflicts is the one reported.
        let stored = try #require(try await store.incident(IncidentID(1)))
        var stale = ChangeSet()
        stale.incidents = [
            IncidentWrite(incident: stored, expectedRevision: stored.revision + 5),
            IncidentWrite(incident: StoreFixtures.incident(1), expectedRevision: nil),
        ]
        await #expect(throws: StoreError.conflict(IncidentID(1))) { try await store.commit(stale) }
    }

    /// Change sets larger than any one statement's worth of rows: everything is stored, in order.
    static func storesLargeChangeSetsInOrder(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var changes = ChangeSet()
        changes.incidents = (1...300).map { IncidentWrite(incident: StoreFixtures.incident($0), expectedRevision: nil) }
        changes.timeline = (0..<1_200).map { line in
            TimelineEntry(
                incidentID: IncidentID(1 + line % 3), at: t0.addingTimeInterval(Double(line)), kind: .note,
                actor: line.isMultiple(of: 2) ? StoreFixtures.alice : nil, text: "line \(line)")
        }
        changes.outbox = (0..<700).map { StoreFixtures.post(for: IncidentID(1 + $0 % 2), "message \($0)") }
        changes.timers = (1...300).flatMap { number in
            [
                NewTimer(incidentID: IncidentID(number), kind: .updateReminder, dueAt: t0.addingTimeInterval(Double(number))),
                NewTimer(incidentID: IncidentID(number), kind: .longRunning, dueAt: t0.addingTimeInterval(7200), step: number),
            ]
        }
        changes.consoleMessages = (0..<400).map { line in
            // Every outbox id twice: the second line of each is a redelivery and is dropped.
            ConsoleMessage(at: t0, channel: "ops", text: "console \(line)", kind: "post", outboxID: Int64(line / 2))
        }
        try await store.commit(changes)

        #expect(try await store.incidents(includeClosed: true, limit: 1_000).count == 300)
        #expect(try await store.timeline(of: IncidentID(2)).map(\.text) == stride(from: 1, to: 1_200, by: 3).map { "line \($0)" })
        let timeline = try await store.timeline(of: IncidentID(1))
        #expect(timeline.count == 400)
        #expect(timeline.first?.actor == StoreFixtures.alice)
        #expect(timeline.dropFirst().first?.actor == nil)
        let messages = try await store.outboxMessages(incident: IncidentID(2))
        #expect(messages.map { StoreFixtures.text(of: $0) } == stride(from: 1, to: 700, by: 2).map { "message \($0)" })
        #expect(try await store.outboxDepth() == 700)
        #expect(try await store.pendingTimers(of: IncidentID(300)).map(\.step) == [0, 300])
        #expect(try await store.nextTimerDue() == t0.addingTimeInterval(1))
        #expect(try await store.consoleMessages(after: 0, limit: 1_000).map(\.text) == stride(from: 0, to: 400, by: 2).map { "console \($0)" })
    }

    static func listsIncidentsAndCountsOpenOnes(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let statuses: [(IncidentStatus, String)] = [
            (.declared, "SEV1"), (.investigating, "SEV2"), (.mitigated, "SEV2"), (.resolved, "SEV1"), (.closed, "SEV3"),
        ]
        var changes = ChangeSet()
        for (offset, (status, severity)) in statuses.enumerated() {
            var incident = StoreFixtures.incident(offset + 1, severity: severity)
            incident.status = status
            incident.declaredAt = StoreFixtures.t0.addingTimeInterval(Double(offset) * 60)
            changes.incidents.append(IncidentWrite(incident: incident, expectedRevision: nil))
        }
        try await store.commit(changes)

        #expect(try await store.incidents(includeClosed: true, limit: 10).map(\.id.number) == [5, 4, 3, 2, 1])
        #expect(try await store.incidents(includeClosed: true, limit: 2).map(\.id.number) == [5, 4])
        #expect(try await store.incidents(includeClosed: false, limit: 10).map(\.id.number) == [3, 2, 1])
        #expect(try await store.openIncidentCounts() == ["SEV1": 1, "SEV2": 2])
        // Declared 0, 60, …, 240 s after t0: the window is half-open, oldest first.
        #expect(
            try await store.incidents(declaredFrom: StoreFixtures.t0.addingTimeInterval(60), to: StoreFixtures.t0.addingTimeInterval(240)).map(\.id.number) == [
                2, 3, 4,
            ])
        #expect(try await store.incidents(declaredFrom: StoreFixtures.t0.addingTimeInterval(241), to: StoreFixtures.t0.addingTimeInterval(9_999)).isEmpty)
        try await store.ping()
    }

    // MARK: Timers

    /// Within one change set: of two timers of one kind the later wins, and a kind both cancelled and
    /// written keeps the new timer.
    static func writesTimersInChangeSetOrder(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let id = IncidentID(1)
        let t0 = StoreFixtures.t0
        var changes = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        changes.timers = [
            NewTimer(incidentID: id, kind: .updateReminder, dueAt: t0.addingTimeInterval(900)),
            NewTimer(incidentID: id, kind: .ackTimeout, dueAt: t0.addingTimeInterval(300)),
            NewTimer(incidentID: id, kind: .updateReminder, dueAt: t0.addingTimeInterval(1800), step: 1),
        ]
        try await store.commit(changes)
        let first = try await store.pendingTimers(of: id)
        #expect(first.map(\.kind) == [.ackTimeout, .updateReminder])
        #expect(first.last?.dueAt == t0.addingTimeInterval(1800))
        #expect(first.last?.step == 1)

        var both = ChangeSet()
        both.cancelTimers = [(id, .ackTimeout), (id, .updateReminder), (id, .reviewReminder)]
        both.timers = [NewTimer(incidentID: id, kind: .ackTimeout, dueAt: t0.addingTimeInterval(600), step: 2)]
        try await store.commit(both)
        let second = try await store.pendingTimers(of: id)
        #expect(second.map(\.kind) == [.ackTimeout])
        #expect(second.first?.step == 2)
        // A replaced timer is a new one: whoever held the old one cannot complete the new one.
        #expect(second.first?.id != first.first?.id)
    }

    /// Policy rules (migration 11): one pending `policyRule` timer per rule, beside the built-in kinds;
    /// each rule's timer is replaced, cancelled and completed on its own; the incident keeps its type.
    static func keepsOnePolicyTimerPerRule(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let id = IncidentID(1)
        let t0 = StoreFixtures.t0
        var incident = StoreFixtures.incident(1)
        incident.type = "security"
        var changes = StoreFixtures.declaration(of: incident)
        changes.timers = [
            NewTimer(incidentID: id, kind: .ackTimeout, dueAt: t0.addingTimeInterval(300)),
            NewTimer(incidentID: id, kind: .policyRule, dueAt: t0.addingTimeInterval(60), rule: "severity:notify.cto"),
            NewTimer(incidentID: id, kind: .policyRule, dueAt: t0.addingTimeInterval(120), rule: "severity:checkpoint.ic"),
            NewTimer(incidentID: id, kind: .policyRule, dueAt: t0.addingTimeInterval(90), step: 1, rule: "severity:notify.cto"),
        ]
        try await store.commit(changes)
        #expect(try await store.incident(id)?.type == "security")
        let first = try await store.pendingTimers(of: id)
        #expect(first.map(\.rule) == ["severity:notify.cto", "severity:checkpoint.ic", ""])
        #expect(first.first?.dueAt == t0.addingTimeInterval(90), "of two timers of one rule the later wins")
        #expect(first.first?.step == 1)

        // Cancelling one rule leaves the other rule and the built-in kind alone; cancelling a built-in kind
        // leaves every rule alone.
        var cancel = ChangeSet()
        cancel.cancelRuleTimers = [(id, "severity:notify.cto")]
        try await store.commit(cancel)
        #expect(try await store.pendingTimers(of: id).map(\.rule) == ["severity:checkpoint.ic", ""])
        var cancelKind = ChangeSet()
        cancelKind.cancelTimers = [(id, .ackTimeout), (id, .policyRule)]
        try await store.commit(cancelKind)
        #expect(try await store.pendingTimers(of: id).map(\.rule) == ["severity:checkpoint.ic"])

        // Fired under its lease and re-armed (a `repeat`) in the same change set: done once, pending again
        // as a new timer.
        let claimed = try #require(
            try await store.claimDueTimers(now: t0.addingTimeInterval(120), owner: "a", leaseUntil: t0.addingTimeInterval(180), limit: 5).first)
        #expect(claimed.kind == .policyRule && claimed.rule == "severity:checkpoint.ic")
        var fired = ChangeSet()
        fired.completeTimer = (claimed.id, "a")
        fired.timers = [NewTimer(incidentID: id, kind: .policyRule, dueAt: t0.addingTimeInterval(1920), step: 1, rule: "severity:checkpoint.ic")]
        try await store.commit(fired)
        let again = try await store.pendingTimers(of: id)
        #expect(again.map(\.rule) == ["severity:checkpoint.ic"])
        #expect(again.first?.id != claimed.id)
        #expect(again.first?.step == 1)
        // The old lease cannot complete the new timer.
        var stale = ChangeSet()
        stale.completeTimer = (claimed.id, "a")
        await #expect(throws: StoreError.self) { try await store.commit(stale) }
    }

    /// Change sets committed at the same time, some of which the store must refuse: each refusal goes to
    /// its own caller and leaves nothing behind; every other change set is stored whole.
    static func concurrentCommitsFailAlone(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var setup = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        setup.inboundKey = "console:seen"
        setup.timers = [NewTimer(incidentID: IncidentID(1), kind: .ackTimeout, dueAt: t0)]
        try await store.commit(setup)
        let stored = try #require(try await store.incident(IncidentID(1)))
        let timer = try #require(try await store.claimDueTimers(now: t0, owner: "a", leaseUntil: t0.addingTimeInterval(60), limit: 1).first)

        enum Expected: Sendable { case stored, refused(StoreError) }
        var attempts: [(ChangeSet, Expected)] = []
        for number in 10..<40 {
            var declaration = StoreFixtures.declaration(of: StoreFixtures.incident(number))
            declaration.inboundKey = "console:\(number)"
            declaration.outbox = [StoreFixtures.post(for: IncidentID(number), "declared \(number)")]
            declaration.timers = [NewTimer(incidentID: IncidentID(number), kind: .updateReminder, dueAt: t0.addingTimeInterval(1800))]
            attempts.append((declaration, .stored))
        }
        // Refused after writing something of their own: the inbound key and the timeline line go too.
        var stale = ChangeSet()
        stale.inboundKey = "console:stale"
        stale.timeline = [TimelineEntry(incidentID: IncidentID(1), at: t0, kind: .note, actor: nil, text: "stale")]
        stale.incidents = [IncidentWrite(incident: stored, expectedRevision: stored.revision - 1)]
        attempts.insert((stale, .refused(.conflict(IncidentID(1)))), at: 5)
        var redelivery = ChangeSet()
        redelivery.inboundKey = "console:seen"
        redelivery.timeline = [TimelineEntry(incidentID: IncidentID(1), at: t0, kind: .note, actor: nil, text: "twice")]
        attempts.insert((redelivery, .refused(.duplicate("console:seen"))), at: 12)
        var late = ChangeSet()
        late.inboundKey = "console:late"
        late.completeTimer = (timer.id, "b")
        late.outbox = [StoreFixtures.post(for: IncidentID(1), "late")]
        attempts.insert((late, .refused(.leaseLost(timer.id))), at: 20)
        var fresh = ChangeSet()
        fresh.incidents = [IncidentWrite(incident: stored, expectedRevision: stored.revision)]
        fresh.timeline = [TimelineEntry(incidentID: IncidentID(1), at: t0, kind: .note, actor: nil, text: "fresh")]
        attempts.insert((fresh, .stored), at: 25)

        let outcomes = await withTaskGroup(of: (Int, StoreError?).self) { group in
            for (index, attempt) in attempts.enumerated() {
                let changes = attempt.0
                group.addTask {
                    do {
                        try await store.commit(changes)
                        return (index, nil)
                    } catch let error as StoreError {
                        return (index, error)
                    } catch {
                        return (index, .unavailable("\(error)"))
                    }
                }
            }
            return await group.reduce(into: [Int: StoreError?]()) { $0[$1.0] = $1.1 }
        }
        for (index, attempt) in attempts.enumerated() {
            switch attempt.1 {
            case .stored: #expect(outcomes[index] == .some(nil), "change set \(index)")
            case .refused(let error): #expect(outcomes[index] == .some(error), "change set \(index)")
            }
        }

        for number in 10..<40 {
            #expect(try await store.incident(IncidentID(number)) != nil)
            #expect(try await store.timeline(of: IncidentID(number)).count == 1)
            #expect(try await store.pendingTimers(of: IncidentID(number)).count == 1)
        }
        #expect(try await store.outboxDepth() == 30)
        #expect(try await store.timeline(of: IncidentID(1)).map(\.text) == ["Declared", "fresh"])
        #expect(try await store.incident(IncidentID(1))?.revision == stored.revision + 1)
        // The refused change sets recorded no inbound key: their retries go through.
        var retry = ChangeSet()
        retry.inboundKey = "console:stale"
        try await store.commit(retry)
        retry.inboundKey = "console:late"
        try await store.commit(retry)
    }

    static func replacesAndCancelsTimers(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let id = IncidentID(1)
        var changes = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        changes.timers = [
            NewTimer(incidentID: id, kind: .ackTimeout, dueAt: StoreFixtures.t0.addingTimeInterval(300)),
            NewTimer(incidentID: id, kind: .updateReminder, dueAt: StoreFixtures.t0.addingTimeInterval(1800)),
        ]
        try await store.commit(changes)
        #expect(try await store.pendingTimers(of: id).map(\.kind) == [.ackTimeout, .updateReminder])

        // Writing a kind again replaces the pending one.
        var update = ChangeSet()
        update.timers = [NewTimer(incidentID: id, kind: .updateReminder, dueAt: StoreFixtures.t0.addingTimeInterval(3600), step: 1)]
        try await store.commit(update)
        let afterUpdate = try await store.pendingTimers(of: id)
        #expect(afterUpdate.count == 2)
        let reminder = try #require(afterUpdate.first { $0.kind == .updateReminder })
        #expect(reminder.dueAt == StoreFixtures.t0.addingTimeInterval(3600))
        #expect(reminder.step == 1)
        #expect(try await store.nextTimerDue() == StoreFixtures.t0.addingTimeInterval(300))

        var acknowledgement = ChangeSet()
        acknowledgement.cancelTimers = [(id, .ackTimeout), (id, .longRunning)]
        try await store.commit(acknowledgement)
        #expect(try await store.pendingTimers(of: id).map(\.kind) == [.updateReminder])
        #expect(try await store.nextTimerDue() == StoreFixtures.t0.addingTimeInterval(3600))
    }

    static func claimsDueTimersWithLeases(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var changes = ChangeSet()
        changes.incidents = [1, 2].map { IncidentWrite(incident: StoreFixtures.incident($0), expectedRevision: nil) }
        changes.timers = [
            NewTimer(incidentID: IncidentID(1), kind: .updateReminder, dueAt: t0.addingTimeInterval(120)),
            NewTimer(incidentID: IncidentID(2), kind: .ackTimeout, dueAt: t0.addingTimeInterval(60)),
            NewTimer(incidentID: IncidentID(1), kind: .longRunning, dueAt: t0.addingTimeInterval(7200)),
        ]
        try await store.commit(changes)
        #expect(try await store.nextTimerDue() == t0.addingTimeInterval(60))
        #expect(try await store.claimDueTimers(now: t0, owner: "a", leaseUntil: t0.addingTimeInterval(30), limit: 10).isEmpty)

        // Due ones, earliest first, leased to the claimer.
        let claimed = try await store.claimDueTimers(now: t0.addingTimeInterval(120), owner: "a", leaseUntil: t0.addingTimeInterval(180), limit: 10)
        #expect(claimed.map(\.kind) == [.ackTimeout, .updateReminder])
        #expect(claimed.allSatisfy { $0.leaseOwner == "a" && $0.leaseExpiresAt == t0.addingTimeInterval(180) })

        // Leased: nobody else gets them, and they are due again when the lease runs out.
        #expect(try await store.claimDueTimers(now: t0.addingTimeInterval(150), owner: "b", leaseUntil: t0.addingTimeInterval(210), limit: 10).isEmpty)
        #expect(try await store.nextTimerDue() == t0.addingTimeInterval(180))

        // `a` completes the first in time.
        var firstDone = ChangeSet()
        firstDone.completeTimer = (claimed[0].id, "a")
        try await store.commit(firstDone)
        #expect(try await store.pendingTimers(of: IncidentID(2)).isEmpty)

        // `a` stalls; its second lease expires and `b` takes the timer over.
        let takenOver = try await store.claimDueTimers(now: t0.addingTimeInterval(180), owner: "b", leaseUntil: t0.addingTimeInterval(240), limit: 10)
        #expect(takenOver.map(\.id) == [claimed[1].id])
        #expect(takenOver.first?.leaseOwner == "b")

        // `a` wakes up: its completion, and everything it wanted to write with it, is refused.
        var late = ChangeSet()
        late.completeTimer = (claimed[1].id, "a")
        late.timeline = [TimelineEntry(incidentID: IncidentID(1), at: t0, kind: .reminder, actor: nil, text: "late reminder")]
        late.outbox = [StoreFixtures.post(for: IncidentID(1), "late reminder")]
        await #expect(throws: StoreError.leaseLost(claimed[1].id)) { try await store.commit(late) }
        #expect(try await store.timeline(of: IncidentID(1)).isEmpty)
        #expect(try await store.outboxDepth() == 0)

        // `b` completes it and writes the next reminder in the same change set: the kind's slot is free.
        var next = ChangeSet()
        next.completeTimer = (claimed[1].id, "b")
        next.timers = [NewTimer(incidentID: IncidentID(1), kind: .updateReminder, dueAt: t0.addingTimeInterval(1920), step: 1)]
        try await store.commit(next)
        let pending = try await store.pendingTimers(of: IncidentID(1))
        #expect(pending.map(\.kind) == [.updateReminder, .longRunning])
        #expect(pending.first?.step == 1)
        #expect(pending.first?.leaseOwner == nil)
        #expect(pending.first?.id != claimed[1].id)

        // A completed timer cannot be completed again.
        var twice = ChangeSet()
        twice.completeTimer = (claimed[1].id, "b")
        await #expect(throws: StoreError.leaseLost(claimed[1].id)) { try await store.commit(twice) }

        // `limit` caps a claim.
        let limited = try await store.claimDueTimers(now: t0.addingTimeInterval(10_000), owner: "c", leaseUntil: t0.addingTimeInterval(10_060), limit: 1)
        #expect(limited.map(\.kind) == [.updateReminder])
    }

    // MARK: Outbox

    static func deliversEachIncidentsMessagesInOrder(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var changes = ChangeSet()
        changes.incidents = [1, 2].map { IncidentWrite(incident: StoreFixtures.incident($0), expectedRevision: nil) }
        changes.outbox = [
            StoreFixtures.post(for: IncidentID(1), "one-a"),
            StoreFixtures.post(for: IncidentID(1), "one-b"),
            StoreFixtures.post(for: IncidentID(2), "two-a"),
            StoreFixtures.post(for: nil, "loose-a"),
            StoreFixtures.post(for: nil, "loose-b"),
            StoreFixtures.post(for: IncidentID(1), "one-c"),
        ]
        try await store.commit(changes)
        #expect(try await store.outboxDepth() == 6)

        func claim(at seconds: Double, owner: String = "sender") async throws -> [String] {
            try await store.claimOutbox(now: t0.addingTimeInterval(seconds), owner: owner, leaseUntil: t0.addingTimeInterval(seconds + 60), limit: 10)
                .map { StoreFixtures.text(of: $0) }
        }

        // The first of each incident, and every message without an incident, in the order written.
        let first = try await store.claimOutbox(now: t0, owner: "sender", leaseUntil: t0.addingTimeInterval(60), limit: 10)
        #expect(first.map { StoreFixtures.text(of: $0) } == ["one-a", "two-a", "loose-a", "loose-b"])
        #expect(first.map(\.id) == first.map(\.id).sorted())
        #expect(try await claim(at: 1).isEmpty)

        // Expired leases make the same messages claimable again; one-b still waits behind one-a.
        #expect(try await claim(at: 60) == ["one-a", "two-a", "loose-a", "loose-b"])

        // Once one-a is delivered, one-b is next.
        try await store.markDelivered(first[0].id, platformMessageID: "1731234567.000100", at: t0.addingTimeInterval(61))
        #expect(try await claim(at: 62) == ["one-b"])

        // Dead also lets the next one through.
        let oneB = try #require(try await store.outboxMessages(incident: IncidentID(1)).first { StoreFixtures.text(of: $0) == "one-b" })
        try await store.markDead(oneB.id, error: "channel_not_found")
        #expect(try await claim(at: 63) == ["one-c"])

        let history = try await store.outboxMessages(incident: IncidentID(1))
        #expect(history.map { StoreFixtures.text(of: $0) } == ["one-a", "one-b", "one-c"])
        #expect(history.map(\.state) == [.delivered, .dead, .pending])
        #expect(history[0].platformMessageID == "1731234567.000100")
        #expect(history[1].lastError == "channel_not_found")
        #expect(history.allSatisfy { $0.platform == .slack && $0.incidentID == IncidentID(1) })
        #expect(try await store.outboxDepth() == 4)
    }

    /// Issue 12, item 9: audit entries older than the retention go, oldest first and `limit` at a time;
    /// newer ones stay.
    static func auditEntriesArePrunedOldestFirst(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var changes = ChangeSet()
        changes.audit = (0..<5).map { day in
            AuditEntry(
                at: t0.addingTimeInterval(Double(day) * 86_400), platform: .console, userID: "alice", userName: "alice", personID: "alice",
                channel: "incidents", text: "ack INC-\(day)", outcome: "applied", reason: nil, incidentID: nil)
        }
        try await store.commit(changes)
        // Entries before day 3: days 0, 1 and 2, two at a time.
        let cutoff = t0.addingTimeInterval(3 * 86_400)
        #expect(try await store.pruneAudit(before: cutoff, limit: 2) == 2)
        #expect(try await store.pruneAudit(before: cutoff, limit: 2) == 1)
        #expect(try await store.pruneAudit(before: cutoff, limit: 2) == 0)
        let left = try await store.auditEntries(AuditQuery(limit: 10)).map(\.text).sorted()
        #expect(left == ["ack INC-3", "ack INC-4"])
    }

    /// Issue 16: a sender that is still delivering renews the leases it holds, so a short lease never lets
    /// another sender claim the same message meanwhile; it renews only its own, and only pending ones;
    /// once it stops renewing, the messages are claimable when the renewed lease runs out.
    static func outboxLeasesAreRenewedByTheirOwnerOnly(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var changes = ChangeSet()
        changes.outbox = [StoreFixtures.post(for: IncidentID(1), "slow"), StoreFixtures.post(for: IncidentID(2), "fast")]
        try await store.commit(changes)
        let claimed = try await store.claimOutbox(now: t0, owner: "a", leaseUntil: t0.addingTimeInterval(10), limit: 10)
        #expect(claimed.count == 2)
        let ids = claimed.map(\.id)

        // Delivered messages are not renewed; someone else's renewal changes nothing.
        try await store.markDelivered(ids[1], platformMessageID: nil, at: t0.addingTimeInterval(1))
        #expect(try await store.renewOutboxLeases(ids, owner: "a", until: t0.addingTimeInterval(17)) == 1)
        #expect(try await store.renewOutboxLeases(ids, owner: "b", until: t0.addingTimeInterval(60)) == 0)
        #expect(try await store.renewOutboxLeases([], owner: "a", until: t0.addingTimeInterval(60)) == 0)

        // Past the first lease, within the renewed one: nobody else can claim it.
        #expect(try await store.claimOutbox(now: t0.addingTimeInterval(12), owner: "b", leaseUntil: t0.addingTimeInterval(22), limit: 10).isEmpty)
        #expect(try await store.nextOutboxDue(lanes: .all) == t0.addingTimeInterval(17))
        // `a` stopped renewing (it died): the message is b's once the renewed lease has run out.
        let takenOver = try await store.claimOutbox(now: t0.addingTimeInterval(17), owner: "b", leaseUntil: t0.addingTimeInterval(27), limit: 10)
        #expect(takenOver.map(\.id) == [ids[0]])
        #expect(try await store.renewOutboxLeases([ids[0]], owner: "a", until: t0.addingTimeInterval(40)) == 0)
    }

    /// Issue 11: a sender's "other" lane (`.excluding` the lanes the other senders serve) sees exactly the
    /// messages of the remaining lanes, whether their names sort before, between or after the excluded ones
    /// (SQLite finds them as ranges of its lane index rather than with `NOT IN`).
    static func excludedLanesLeaveTheOthers(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var changes = ChangeSet()
        // One message per platform, each in its own lane (its platform's), due a second apart in this order.
        let platforms: [PlatformKind] = [.slack, .mattermost, .rocketchat, .console]
        changes.outbox = platforms.enumerated().map { offset, platform in
            NewOutboxMessage(
                platform: platform, incidentID: nil, action: .post(to: .incidentRoom, text: platform.rawValue, buttons: []),
                notBefore: t0.addingTimeInterval(Double(offset + 1)))
        }
        try await store.commit(changes)
        let lanes = { (names: [String]) in OutboxLaneFilter.excluding(names.map { OutboxLane($0) }) }
        // Left: mattermost and rocketchat, between the excluded names.
        #expect(try await store.nextOutboxDue(lanes: lanes(["slack", "console"])) == t0.addingTimeInterval(2))
        // Left: console before the excluded name, rocketchat and slack after it.
        #expect(try await store.nextOutboxDue(lanes: lanes(["mattermost"])) == t0.addingTimeInterval(1))

        let late = t0.addingTimeInterval(60)
        let between = try await store.claimOutbox(
            lanes: lanes(["console", "slack"]), now: late, owner: "a", leaseUntil: late.addingTimeInterval(60), limit: 10)
        #expect(Set(between.messages.map(StoreFixtures.text)) == ["mattermost", "rocketchat"])
        let outside = try await store.claimOutbox(
            lanes: lanes(["rocketchat", "mattermost"]), now: late, owner: "a", leaseUntil: late.addingTimeInterval(60), limit: 10)
        #expect(Set(outside.messages.map(StoreFixtures.text)) == ["console", "slack"])
        #expect(try await store.nextOutboxDue(lanes: lanes(["slack"])) == late.addingTimeInterval(60))
    }

    /// Issue 13: a message with a queue key (a new incident's announcement) waits behind that queue's earlier
    /// messages and its incident's earlier ones (the room being opened), but its incident's later messages
    /// do not wait for it; each key is its own queue; dead lets the next through, and a requeued message
    /// takes its place again.
    static func keyedQueuesWaitApartFromTheirIncident(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        let incidents = OutboxQueue.announcements(channel: "#incidents")
        let other = OutboxQueue.announcements(channel: "security")
        #expect(incidents == "announce:incidents")
        func announce(_ incident: Int, _ text: String, queue: String) -> NewOutboxMessage {
            NewOutboxMessage(platform: .slack, incidentID: IncidentID(incident), action: .post(to: .announce, text: text, buttons: []), queue: queue)
        }
        var changes = ChangeSet()
        changes.outbox = [
            StoreFixtures.post(for: IncidentID(1), "room-1"), announce(1, "ann-1", queue: incidents), StoreFixtures.post(for: IncidentID(1), "alert-1"),
            StoreFixtures.post(for: IncidentID(2), "room-2"), announce(2, "ann-2", queue: incidents), StoreFixtures.post(for: IncidentID(2), "alert-2"),
            announce(3, "ann-3", queue: other),
        ]
        try await store.commit(changes)
        func claim(at seconds: Double) async throws -> [OutboxMessage] {
            try await store.claimOutbox(
                now: t0.addingTimeInterval(seconds), owner: "sender", leaseUntil: t0.addingTimeInterval(seconds + 5), limit: 10)
        }
        func deliver(_ messages: [OutboxMessage]) async throws {
            for message in messages { try await store.markDelivered(message.id, platformMessageID: nil, at: t0) }
        }
        // The announcements wait for their rooms; another channel's queue does not wait for this one.
        let rooms = try await claim(at: 0)
        #expect(rooms.map { StoreFixtures.text(of: $0) } == ["room-1", "room-2", "ann-3"])
        #expect(rooms.map(\.queue) == [nil, nil, other])
        try await deliver(rooms)
        let next = try await claim(at: 0)
        #expect(next.map { StoreFixtures.text(of: $0) } == ["ann-1", "alert-1", "alert-2"])
        let annOne = try #require(next.first)
        try await deliver(Array(next.dropFirst()))

        // The announcement is held (the channel is paced): the next one waits for it, the incident's own
        // later messages do not.
        try await store.postpone(annOne.id, until: t0.addingTimeInterval(30), reason: "rate limited")
        var later = ChangeSet()
        later.outbox = [StoreFixtures.post(for: IncidentID(1), "update-1")]
        try await store.commit(later)
        let update = try await claim(at: 1)
        #expect(update.map { StoreFixtures.text(of: $0) } == ["update-1"])
        try await deliver(update)
        #expect(try await store.nextOutboxDue(lanes: .all) == t0.addingTimeInterval(30))
        #expect(try await claim(at: 29).isEmpty)

        // Given up: the next announcement is the head; requeued, the first takes its place again.
        try await store.markDead(annOne.id, error: "is_archived")
        #expect(try await claim(at: 2).map { StoreFixtures.text(of: $0) } == ["ann-2"])
        #expect(try await store.requeueDeadOutboxMessage(annOne.id, now: t0.addingTimeInterval(3)))
        #expect(try await claim(at: 8).map { StoreFixtures.text(of: $0) } == ["ann-1"])
        try await store.markDelivered(annOne.id, platformMessageID: "1", at: t0.addingTimeInterval(8))
        #expect(try await claim(at: 9).map { StoreFixtures.text(of: $0) } == ["ann-2"])
    }

    /// Issue 13: an announcement the platform held back heads a digest of every announcement waiting behind
    /// it in its queue, fixed when it was held (later ones wait for the next); delivering the head delivers
    /// its members with it, and then the next announcement goes.
    static func heldAnnouncementsFormOneDigest(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        let queue = OutboxQueue.announcements(channel: "incidents")
        func announce(_ incident: Int, queue: String) -> NewOutboxMessage {
            NewOutboxMessage(
                platform: .slack, incidentID: IncidentID(incident), action: .post(to: .announce, text: "ann-\(incident)", buttons: []), queue: queue)
        }
        var changes = ChangeSet()
        changes.outbox = [announce(1, queue: queue), announce(2, queue: queue), announce(3, queue: queue), announce(9, queue: "announce:security")]
        try await store.commit(changes)
        let first = try await store.claimOutbox(now: t0, owner: "sender", leaseUntil: t0.addingTimeInterval(60), limit: 10)
        #expect(first.map { StoreFixtures.text(of: $0) } == ["ann-1", "ann-9"])
        #expect(first.allSatisfy { $0.digestOf == nil && !$0.headsDigest })
        let head = first[0]
        try await store.markDelivered(first[1].id, platformMessageID: nil, at: t0)
        try await store.holdForDigest(head.id, until: t0.addingTimeInterval(1), reason: "rate limited")
        await #expect(throws: StoreError.notFound) { try await store.holdForDigest(99_999, until: t0, reason: "rate limited") }

        // Written after the hold: waits for the next digest or post.
        var later = ChangeSet()
        later.outbox = [announce(4, queue: queue)]
        try await store.commit(later)
        #expect(try await store.outboxDigestMembers(of: head.id).map { StoreFixtures.text(of: $0) } == ["ann-2", "ann-3"])
        #expect(try await store.outboxDigestMembers(of: head.id).allSatisfy { $0.digestOf == head.id })
        #expect(try await store.claimOutbox(now: t0.addingTimeInterval(0.5), owner: "sender", leaseUntil: t0.addingTimeInterval(60), limit: 10).isEmpty)

        // Due again (or claimed again after a crash): the same head, the same members.
        let again = try #require(
            try await store.claimOutbox(now: t0.addingTimeInterval(1), owner: "other", leaseUntil: t0.addingTimeInterval(61), limit: 10).first)
        #expect(again.id == head.id && again.headsDigest)
        #expect(try await store.outboxDigestMembers(of: head.id).count == 2)
        try await store.markDigestDelivered(head.id, platformMessageID: "1764547200.000100", at: t0.addingTimeInterval(1))
        await #expect(throws: StoreError.notFound) { try await store.markDigestDelivered(99_999, platformMessageID: nil, at: t0) }
        var rows: [OutboxMessage] = []
        for incident in 1...4 { rows += try await store.outboxMessages(incident: IncidentID(incident)) }
        #expect(rows.map(\.state) == [.delivered, .delivered, .delivered, .pending])
        #expect(rows.prefix(3).allSatisfy { $0.platformMessageID == "1764547200.000100" })
        #expect(try await store.outboxDigestMembers(of: head.id).isEmpty)
        let next = try await store.claimOutbox(now: t0.addingTimeInterval(2), owner: "sender", leaseUntil: t0.addingTimeInterval(62), limit: 10)
        #expect(next.map { StoreFixtures.text(of: $0) } == ["ann-4"])
        #expect(next.first?.digestOf == nil)
    }

    /// A backlog (here 300 messages behind a rate-limited head) neither hides other incidents' messages
    /// from a small claim nor lets any of its own messages jump the queue, however it was written.
    static func aBacklogWaitsInLineWithoutHidingOthers(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        let backlog = IncidentID(1)
        var first = ChangeSet()
        first.outbox = (0..<100).map { StoreFixtures.post(for: backlog, "backlog \($0)") }
        try await store.commit(first)
        // Written by concurrent commits too (which a store may group into one transaction).
        try await withThrowingTaskGroup(of: Void.self) { group in
            for part in 1...2 {
                group.addTask {
                    var more = ChangeSet()
                    more.outbox = (0..<100).map { StoreFixtures.post(for: backlog, "part \(part) \($0)") }
                    try await store.commit(more)
                }
            }
            try await group.waitForAll()
        }
        let head = try #require(try await store.claimOutbox(now: t0, owner: "sender", leaseUntil: t0.addingTimeInterval(60), limit: 1).first)
        #expect(StoreFixtures.text(of: head) == "backlog 0")
        try await store.markRetry(head.id, notBefore: t0.addingTimeInterval(30), error: "rate_limited")

        var others = ChangeSet()
        others.outbox = [StoreFixtures.post(for: IncidentID(2), "other incident"), StoreFixtures.post(for: nil, "loose")]
        try await store.commit(others)
        let small = try await store.claimOutbox(now: t0.addingTimeInterval(1), owner: "sender", leaseUntil: t0.addingTimeInterval(61), limit: 2)
        #expect(small.map { StoreFixtures.text(of: $0) } == ["other incident", "loose"])
        for message in small { try await store.markDelivered(message.id, platformMessageID: nil, at: t0.addingTimeInterval(1)) }
        #expect(try await store.nextOutboxDue() == t0.addingTimeInterval(30))
        #expect(try await store.claimOutbox(now: t0.addingTimeInterval(29), owner: "sender", leaseUntil: t0.addingTimeInterval(89), limit: 10).isEmpty)

        // Due again at 30 s, the head goes before anything written later, even to a claim of one.
        var fresh = ChangeSet()
        fresh.outbox = (0..<3).map { StoreFixtures.post(for: IncidentID(10 + $0), "fresh \($0)") }
        try await store.commit(fresh)
        let next = try await store.claimOutbox(now: t0.addingTimeInterval(30), owner: "sender", leaseUntil: t0.addingTimeInterval(90), limit: 1)
        #expect(next.map { StoreFixtures.text(of: $0) } == ["backlog 0"])
        let rest = try await store.claimOutbox(now: t0.addingTimeInterval(30), owner: "sender", leaseUntil: t0.addingTimeInterval(90), limit: 10)
        #expect(rest.map { StoreFixtures.text(of: $0) } == ["fresh 0", "fresh 1", "fresh 2"])
        for message in rest { try await store.markDelivered(message.id, platformMessageID: nil, at: t0.addingTimeInterval(30)) }
        try await store.markRetry(next[0].id, notBefore: t0.addingTimeInterval(30), error: "rate_limited")

        // From the head on, one at a time and in the order written: each commit's messages together.
        var delivered: [String] = []
        var now = t0.addingTimeInterval(30)
        while true {
            let claimed = try await store.claimOutbox(now: now, owner: "sender", leaseUntil: now.addingTimeInterval(60), limit: 10)
            guard !claimed.isEmpty else { break }
            #expect(claimed.count == 1)
            delivered += claimed.map { StoreFixtures.text(of: $0) }
            // Every other one fails once first and goes again before anything behind it.
            if delivered.count.isMultiple(of: 2), claimed[0].attempts == 0 {
                delivered.removeLast()
                try await store.markRetry(claimed[0].id, notBefore: now, error: "timeout")
                continue
            }
            try await store.markDelivered(claimed[0].id, platformMessageID: nil, at: now)
            now = now.addingTimeInterval(0.001)
        }
        #expect(delivered.count == 300)
        #expect(delivered.first == "backlog 0")
        #expect(Array(delivered.prefix(100)) == (0..<100).map { "backlog \($0)" })
        let parts = Array(delivered.dropFirst(100))
        for part in 1...2 {
            #expect(parts.filter { $0.hasPrefix("part \(part) ") } == (0..<100).map { "part \(part) \($0)" })
        }
        #expect(try await store.outboxDepth() == 0)
        #expect(try await store.nextOutboxDue() == nil)
    }

    static func retriesAfterNotBefore(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var changes = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        changes.outbox = [StoreFixtures.post(for: IncidentID(1), "first"), StoreFixtures.post(for: IncidentID(1), "second")]
        try await store.commit(changes)

        // A message without `notBefore` is due at once, whatever the clock says.
        #expect(try await store.nextOutboxDue().map { $0 <= t0 } == true)
        let claimed = try await store.claimOutbox(now: t0, owner: "sender", leaseUntil: t0.addingTimeInterval(60), limit: 10)
        #expect(claimed.count == 1)
        let message = try #require(claimed.first)
        #expect(message.attempts == 0)
        #expect(message.state == .pending)

        try await store.markRetry(message.id, notBefore: t0.addingTimeInterval(30), error: "rate_limited")
        #expect(try await store.nextOutboxDue() == t0.addingTimeInterval(30))
        // The retry keeps its place: "second" still waits behind it.
        #expect(try await store.claimOutbox(now: t0.addingTimeInterval(29), owner: "sender", leaseUntil: t0.addingTimeInterval(89), limit: 10).isEmpty)
        let retried = try await store.claimOutbox(now: t0.addingTimeInterval(30), owner: "sender", leaseUntil: t0.addingTimeInterval(90), limit: 10)
        #expect(retried.map(\.id) == [message.id])
        #expect(retried.first?.attempts == 1)
        #expect(retried.first?.lastError == "rate_limited")
        #expect(retried.first?.notBefore == t0.addingTimeInterval(30))
        try await store.markDelivered(message.id, platformMessageID: nil, at: t0.addingTimeInterval(31))
        let second = try await store.claimOutbox(now: t0.addingTimeInterval(31), owner: "sender", leaseUntil: t0.addingTimeInterval(91), limit: 10)
        #expect(second.map { StoreFixtures.text(of: $0) } == ["second"])
        try await store.markDelivered(try #require(second.first).id, platformMessageID: nil, at: t0.addingTimeInterval(32))

        // A message written with a future `notBefore` waits for it.
        var later = ChangeSet()
        later.outbox = [StoreFixtures.post(for: nil, "scheduled", notBefore: t0.addingTimeInterval(600))]
        try await store.commit(later)
        #expect(try await store.claimOutbox(now: t0.addingTimeInterval(599), owner: "sender", leaseUntil: t0.addingTimeInterval(659), limit: 10).isEmpty)
        #expect(
            try await store.claimOutbox(now: t0.addingTimeInterval(600), owner: "sender", leaseUntil: t0.addingTimeInterval(660), limit: 10).map {
                StoreFixtures.text(of: $0)
            } == ["scheduled"])
    }

    static func reclaimsMessagesWhoseLeaseExpired(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var changes = ChangeSet()
        changes.outbox = [StoreFixtures.post(for: nil, "only")]
        try await store.commit(changes)

        let claimed = try await store.claimOutbox(now: t0, owner: "a", leaseUntil: t0.addingTimeInterval(60), limit: 10)
        #expect(claimed.count == 1)
        #expect(try await store.claimOutbox(now: t0.addingTimeInterval(59), owner: "b", leaseUntil: t0.addingTimeInterval(119), limit: 10).isEmpty)
        // While leased, the message is due again at its lease's expiry.
        #expect(try await store.nextOutboxDue() == t0.addingTimeInterval(60))

        let reclaimed = try await store.claimOutbox(now: t0.addingTimeInterval(60), owner: "b", leaseUntil: t0.addingTimeInterval(120), limit: 10)
        #expect(reclaimed.map(\.id) == claimed.map(\.id))
        // Nothing was recorded by "a" (it died), yet the claim count tells "b" that "a" may have sent it.
        #expect(claimed[0].previousClaims == 0 && !claimed[0].mayHaveBeenSentBefore)
        #expect(reclaimed[0].previousClaims == 1 && reclaimed[0].attempts == 0 && reclaimed[0].mayHaveBeenSentBefore)

        try await store.markDelivered(claimed[0].id, platformMessageID: nil, at: t0.addingTimeInterval(61))
        #expect(try await store.nextOutboxDue() == nil)
        #expect(try await store.outboxDepth() == 0)
        #expect(try await store.claimOutbox(now: t0.addingTimeInterval(1000), owner: "c", leaseUntil: t0.addingTimeInterval(1060), limit: 10).isEmpty)
        await #expect(throws: StoreError.notFound) { try await store.markDelivered(9_999, platformMessageID: nil, at: t0) }
    }

    static func storesEveryKindOfChatAction(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let id = IncidentID(1)
        let actions: [ChatAction] = [
            .openRoom(name: "incident-2025-11-10-001", topic: "SEV2 Database down", announcement: ":rotating_light: INC-1", invite: ["U0ALICE", "U0BOB"]),
            .post(to: .incidentRoom, text: "Update", buttons: [MessageButton(action: "ack", label: "Ack", command: "/incident ack", style: "primary")]),
            .post(to: .announce, text: "Declared", buttons: []),
            .post(to: .conversation(Conversation(platform: .slack, channelID: "C0GEN", threadID: "1.2")), text: "Reply", buttons: []),
            .post(to: .direct(userID: "U0ALICE"), text: "You are paged", buttons: []),
            .setTopic(topic: "Mitigated"),
            .invite(userIDs: ["U0CAROL"]),
            .post(to: .channel(name: "security"), text: "Cross-posted", buttons: []),
            .discordWebhook(DiscordPost(webhook: "public", content: "📣 We're aware")),
        ]
        var changes = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        changes.outbox = actions.map { NewOutboxMessage(platform: .slack, incidentID: id, action: $0) }
        try await store.commit(changes)
        #expect(try await store.outboxMessages(incident: id).map(\.action) == actions)
    }

    // MARK: On-call and console

    static func findsOverridesActiveAtATime(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        var changes = ChangeSet()
        changes.overrides = [
            StoreFixtures.override(rotation: "db", person: "carol", from: 0, to: 3600),
            StoreFixtures.override(rotation: "db", person: "dave", from: 1800, to: 7200),
            StoreFixtures.override(rotation: "web", person: "erin", from: 0, to: 7200),
        ]
        try await store.commit(changes)

        func active(_ rotation: String, at seconds: Double) async throws -> [String] {
            try await store.overrides(rotation: rotation, activeAt: StoreFixtures.t0.addingTimeInterval(seconds)).map(\.personID)
        }
        #expect(try await active("db", at: -1).isEmpty)
        #expect(try await active("db", at: 0) == ["carol"])
        #expect(try await active("db", at: 1800) == ["carol", "dave"])
        #expect(try await active("db", at: 3600) == ["dave"])
        #expect(try await active("db", at: 7200).isEmpty)
        #expect(try await active("web", at: 60) == ["erin"])
        #expect(try await store.overrides(rotation: "db", activeAt: StoreFixtures.t0) == [changes.overrides[0]])

        func ending(_ rotation: String, after seconds: Double) async throws -> [String] {
            try await store.overrides(rotation: rotation, endingAfter: StoreFixtures.t0.addingTimeInterval(seconds)).map(\.personID)
        }
        #expect(try await ending("db", after: -100) == ["carol", "dave"])
        #expect(try await ending("db", after: 3599) == ["carol", "dave"])
        #expect(try await ending("db", after: 3600) == ["dave"], "the end is exclusive")
        #expect(try await ending("db", after: 7200).isEmpty)
        #expect(try await ending("web", after: 0) == ["erin"])

        // All rotations at once: the same lists, only for the rotations asked about and those with any.
        let rotations = ["db", "web", "app"].map { id in
            RotationConfig(id: id, members: ["alice"], period: .hours(24 * 7), handoff: Handoff(weekday: 2, hour: 9, minute: 0), timezone: "UTC")
        }
        let atOnce = try await store.activeOverrides(rotations: rotations, at: StoreFixtures.t0.addingTimeInterval(1800))
        #expect(atOnce.mapValues { $0.map(\.personID) } == ["db": ["carol", "dave"], "web": ["erin"]])
        #expect(
            try await store.activeOverrides(rotations: Array(rotations.prefix(1)), at: StoreFixtures.t0).mapValues { $0.map(\.personID) } == ["db": ["carol"]])
        #expect(try await store.activeOverrides(rotations: rotations, at: StoreFixtures.t0.addingTimeInterval(7200)).isEmpty)
        #expect(try await store.activeOverrides(rotations: [], at: StoreFixtures.t0).isEmpty)
    }

    static func keepsOneConsoleLinePerOutboxMessage(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        let delivered = ConsoleMessage(at: t0, channel: "incidents", thread: "INC-1", text: "Declared", kind: "post", outboxID: 7)
        try await store.appendConsoleMessage(delivered)
        try await store.appendConsoleMessage(delivered)  // the sender redelivers after a crash
        try await store.appendConsoleMessage(ConsoleMessage(at: t0, channel: "ops", text: "Hello", kind: "reply"))
        try await store.appendConsoleMessage(ConsoleMessage(at: t0, channel: "ops", text: "Hello", kind: "reply"))
        var changes = ChangeSet()
        changes.consoleMessages = [
            ConsoleMessage(at: t0.addingTimeInterval(1), channel: "ops", text: "Replayed", kind: "reply", outboxID: 7),
            ConsoleMessage(at: t0.addingTimeInterval(1), channel: "ops", text: "Usage: …", kind: "reply"),
        ]
        try await store.commit(changes)

        let all = try await store.consoleMessages(after: 0, limit: 100)
        #expect(all.map(\.text) == ["Declared", "Hello", "Hello", "Usage: …"])
        #expect(all.map { $0.id ?? -1 } == all.compactMap(\.id).sorted())
        var stored = try #require(all.first)
        stored.id = nil
        #expect(stored == delivered)

        let page = try await store.consoleMessages(after: try #require(all[1].id), limit: 1)
        #expect(page.map(\.id) == [all[2].id])
    }

    static func keepsInboundCursors(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        #expect(try await store.cursor("rocketchat:poll:GENERAL") == nil)
        try await store.setCursor("rocketchat:poll:GENERAL", value: "2025-11-10T11:00:00.000Z")
        try await store.setCursor("rocketchat:poll:OTHER", value: "a")
        try await store.setCursor("rocketchat:poll:GENERAL", value: "2025-11-10T11:05:00.000Z")
        #expect(try await store.cursor("rocketchat:poll:GENERAL") == "2025-11-10T11:05:00.000Z")
        #expect(try await store.cursor("rocketchat:poll:OTHER") == "a")
    }

    /// `holdLease`: one owner at a time; the holder renews, another waits until the lease has run out, then
    /// takes it; leases of other names are apart.
    static func namedLeasesHaveOneHolder(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        #expect(try await store.holdLease("rocketchat:poll", owner: "a", now: t0, until: t0.addingTimeInterval(10)))
        #expect(try await store.holdLease("rocketchat:poll", owner: "b", now: t0.addingTimeInterval(5), until: t0.addingTimeInterval(15)) == false)
        #expect(try await store.holdLease("rocketchat:poll", owner: "a", now: t0.addingTimeInterval(6), until: t0.addingTimeInterval(16)))
        // The renewal moved the end: at 12 s b still waits; at 16 s the lease has run out and b takes it.
        #expect(try await store.holdLease("rocketchat:poll", owner: "b", now: t0.addingTimeInterval(12), until: t0.addingTimeInterval(22)) == false)
        #expect(try await store.holdLease("rocketchat:poll", owner: "b", now: t0.addingTimeInterval(16), until: t0.addingTimeInterval(26)))
        #expect(try await store.holdLease("rocketchat:poll", owner: "a", now: t0.addingTimeInterval(17), until: t0.addingTimeInterval(27)) == false)
        #expect(try await store.holdLease("other", owner: "a", now: t0.addingTimeInterval(17), until: t0.addingTimeInterval(27)))
    }

    // MARK: Chains, hand-offs, alert groups, audit, declarations

    /// `commit(inOrder:)`: the first refusal stops the chain, the change sets before it are written, and
    /// each sees the ones before it (the second update expects the first's revision).
    static func chainsStopAtTheFirstRefusal(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        try await store.commit(StoreFixtures.declaration(of: StoreFixtures.incident(1)))
        let stored = try #require(try await store.incident(IncidentID(1)))
        func update(_ title: String, expecting revision: Int, key: String? = nil) -> ChangeSet {
            var incident = stored
            incident.title = title
            var changes = ChangeSet()
            changes.incidents = [IncidentWrite(incident: incident, expectedRevision: revision)]
            changes.timeline = [TimelineEntry(incidentID: IncidentID(1), at: StoreFixtures.t0, kind: .note, actor: nil, text: title)]
            changes.inboundKey = key
            return changes
        }
        let result = try await store.commit(inOrder: [
            update("first", expecting: stored.revision, key: "k1"),
            update("second", expecting: stored.revision + 1),
            update("stale", expecting: stored.revision, key: "k2"),
            update("never", expecting: stored.revision + 2),
        ])
        #expect(result == OrderedCommitResult(written: 2, refusal: .conflict(IncidentID(1))))
        #expect(try await store.incident(IncidentID(1))?.title == "second")
        #expect(try await store.timeline(of: IncidentID(1)).map(\.text) == ["Declared", "first", "second"])
        // The refused change set's inbound key was rolled back with it.
        var retry = ChangeSet()
        retry.inboundKey = "k2"
        try await store.commit(retry)
        let duplicate = try await store.commit(inOrder: [retry])
        #expect(duplicate == OrderedCommitResult(written: 0, refusal: .duplicate("k2")))
    }

    /// Hand-offs compare-and-set, alert groups upsert, audit lines filter, and a refused declaration
    /// keeps its number used.
    static func handoffsAlertGroupsAuditAndDeclarations(_ makeStore: StoreFactory) async throws {
        let store = try await makeStore()
        let t0 = StoreFixtures.t0
        var handoff = ChangeSet()
        handoff.handoff = RotationHandoff(rotationID: "primary", at: t0)
        try await store.commit(handoff)
        #expect(try await store.lastHandoff(rotation: "primary") == t0)
        await #expect(throws: StoreError.duplicate("handoff:primary@\(t0.millisecondsSince1970())")) { try await store.commit(handoff) }
        handoff.handoff = RotationHandoff(rotationID: "primary", at: t0.addingTimeInterval(3600))
        try await store.commit(handoff)
        #expect(try await store.lastHandoff(rotation: "primary") == t0.addingTimeInterval(3600))
        #expect(try await store.lastHandoff(rotation: "other") == nil)

        var links = StoreFixtures.declaration(of: StoreFixtures.incident(1))
        links.alertGroups = [
            AlertGroupLink(source: "am", groupKey: "g1", incidentID: IncidentID(1)),
            AlertGroupLink(source: "am", groupKey: "g1", incidentID: IncidentID(2)),
        ]
        links.audit = [
            AuditEntry(
                at: t0, platform: .slack, userID: "U0ALICE", userName: "alice", personID: nil, channel: "C0", text: "/incident declare",
                outcome: "allowed", reason: nil, incidentID: IncidentID(1)),
            AuditEntry(
                at: t0.addingTimeInterval(60), platform: .console, userID: "bob", userName: nil, personID: "bob", channel: nil,
                text: "/incident ack", outcome: "refused", reason: "not allowed", incidentID: nil, remoteAddress: "192.0.2.7"),
        ]
        try await store.commit(links)
        #expect(try await store.incidentID(alertSource: "am", groupKey: "g1") == IncidentID(2))
        var relink = ChangeSet()
        relink.alertGroups = [AlertGroupLink(source: "am", groupKey: "g1", incidentID: IncidentID(1))]
        try await store.commit(relink)
        #expect(try await store.incidentID(alertSource: "am", groupKey: "g1") == IncidentID(1))
        #expect(try await store.incidentID(alertSource: "am", groupKey: "g2") == nil)
        #expect(try await store.auditEntries(AuditQuery()).map(\.text) == ["/incident ack", "/incident declare"])
        #expect(try await store.auditEntries(AuditQuery(incidentID: IncidentID(1))).map(\.userID) == ["U0ALICE"])
        #expect(try await store.auditEntries(AuditQuery(user: "alice")).map(\.userID) == ["U0ALICE"])
        #expect(try await store.auditEntries(AuditQuery(since: t0.addingTimeInterval(30))).map(\.reason) == ["not allowed"])
        // Migration 13: an API call's remote address is kept; a chat command has none.
        #expect(try await store.auditEntries(AuditQuery()).map(\.remoteAddress) == ["192.0.2.7", nil])

        // A declaration whose change set is refused writes nothing of it. (Whether its number stays used
        // differs: PostgreSQL keeps it used, as the protocol says; SQLite reuses it when the declaration
        // was alone in its transaction.)
        var seen = ChangeSet()
        seen.inboundKey = "console:declare-1"
        try await store.commit(seen)
        await #expect(throws: StoreError.duplicate("console:declare-1")) {
            _ = try await store.commitDeclaration(day: "2025-11-10") { id, _ in
                var changes = StoreFixtures.declaration(of: StoreFixtures.incident(100 + id.number, title: "refused"))
                changes.inboundKey = "console:declare-1"
                return (changes, ())
            }
        }
        #expect(try await store.incidents(includeClosed: true, limit: 10).map(\.title) == ["Database down"])
        let declared = try await store.commitDeclaration(day: "2025-11-10") { id, sequence in
            (StoreFixtures.declaration(of: StoreFixtures.incident(100 + id.number, title: "declared")), [id.number, sequence])
        }
        #expect(declared[0] == declared[1])
        #expect(try await store.incident(IncidentID(100 + declared[0]))?.title == "declared")
    }
}

/// Every conformance check, by name: each store's suite runs them all as one parameterised test, so a
/// check added here runs against every store.
struct StoreConformanceCheck: Sendable, CustomTestStringConvertible {
    let name: String
    let run: @Sendable (_ makeStore: StoreFactory) async throws -> Void

    var testDescription: String { name }

    static let all: [StoreConformanceCheck] = [
        StoreConformanceCheck(name: "keyedQueuesWaitApartFromTheirIncident", run: StoreConformance.keyedQueuesWaitApartFromTheirIncident),
        StoreConformanceCheck(name: "excludedLanesLeaveTheOthers", run: StoreConformance.excludedLanesLeaveTheOthers),
        StoreConformanceCheck(name: "namedLeasesHaveOneHolder", run: StoreConformance.namedLeasesHaveOneHolder),
        StoreConformanceCheck(name: "heldAnnouncementsFormOneDigest", run: StoreConformance.heldAnnouncementsFormOneDigest),
        StoreConformanceCheck(name: "incidentRoundTrip", run: StoreConformance.incidentRoundTrip),
        StoreConformanceCheck(name: "auditEntriesArePrunedOldestFirst", run: StoreConformance.auditEntriesArePrunedOldestFirst),
        StoreConformanceCheck(name: "outboxLeasesAreRenewedByTheirOwnerOnly", run: StoreConformance.outboxLeasesAreRenewedByTheirOwnerOnly),
        StoreConformanceCheck(name: "ticketIsRecordedAsANewRevision", run: StoreConformance.ticketIsRecordedAsANewRevision),
        StoreConformanceCheck(name: "actionItemTicketIsRecordedAsANewRevision", run: StoreConformance.actionItemTicketIsRecordedAsANewRevision),
        StoreConformanceCheck(name: "insertingAnExistingIncidentIsAConflict", run: StoreConformance.insertingAnExistingIncidentIsAConflict),
        StoreConformanceCheck(name: "revisionConflictRollsBackTheWholeChangeSet", run: StoreConformance.revisionConflictRollsBackTheWholeChangeSet),
        StoreConformanceCheck(name: "duplicateInboundKeyRollsBack", run: StoreConformance.duplicateInboundKeyRollsBack),
        StoreConformanceCheck(name: "allocatesIncidentNumbersPerDay", run: StoreConformance.allocatesIncidentNumbersPerDay),
        StoreConformanceCheck(name: "countsLabelsAndFindsIncidentsByThem", run: StoreConformance.countsLabelsAndFindsIncidentsByThem),
        StoreConformanceCheck(name: "findsIncidentsByRoom", run: StoreConformance.findsIncidentsByRoom),
        StoreConformanceCheck(name: "listsIncidentsAndCountsOpenOnes", run: StoreConformance.listsIncidentsAndCountsOpenOnes),
        StoreConformanceCheck(name: "insertConflictsAmongSeveralIncidents", run: StoreConformance.insertConflictsAmongSeveralIncidents),
        StoreConformanceCheck(name: "storesLargeChangeSetsInOrder", run: StoreConformance.storesLargeChangeSetsInOrder),
        StoreConformanceCheck(name: "writesTimersInChangeSetOrder", run: StoreConformance.writesTimersInChangeSetOrder),
        StoreConformanceCheck(name: "keepsOnePolicyTimerPerRule", run: StoreConformance.keepsOnePolicyTimerPerRule),
        StoreConformanceCheck(name: "concurrentCommitsFailAlone", run: StoreConformance.concurrentCommitsFailAlone),
        StoreConformanceCheck(name: "replacesAndCancelsTimers", run: StoreConformance.replacesAndCancelsTimers),
        StoreConformanceCheck(name: "claimsDueTimersWithLeases", run: StoreConformance.claimsDueTimersWithLeases),
        StoreConformanceCheck(name: "deliversEachIncidentsMessagesInOrder", run: StoreConformance.deliversEachIncidentsMessagesInOrder),
        StoreConformanceCheck(name: "aBacklogWaitsInLineWithoutHidingOthers", run: StoreConformance.aBacklogWaitsInLineWithoutHidingOthers),
        StoreConformanceCheck(name: "retriesAfterNotBefore", run: StoreConformance.retriesAfterNotBefore),
        StoreConformanceCheck(name: "reclaimsMessagesWhoseLeaseExpired", run: StoreConformance.reclaimsMessagesWhoseLeaseExpired),
        StoreConformanceCheck(name: "storesEveryKindOfChatAction", run: StoreConformance.storesEveryKindOfChatAction),
        StoreConformanceCheck(name: "findsOverridesActiveAtATime", run: StoreConformance.findsOverridesActiveAtATime),
        StoreConformanceCheck(name: "keepsOneConsoleLinePerOutboxMessage", run: StoreConformance.keepsOneConsoleLinePerOutboxMessage),
        StoreConformanceCheck(name: "keepsInboundCursors", run: StoreConformance.keepsInboundCursors),
        StoreConformanceCheck(name: "chainsStopAtTheFirstRefusal", run: StoreConformance.chainsStopAtTheFirstRefusal),
        StoreConformanceCheck(name: "handoffsAlertGroupsAuditAndDeclarations", run: StoreConformance.handoffsAlertGroupsAuditAndDeclarations),
    ]
}

/// The conformance checks against the SQLite store, each on its own file.
@Suite("SQLite store conformance")
final class SQLiteStoreConformance {
    private let databases = TemporaryDatabases()
    private var makeStore: StoreFactory {
        { [databases] in try await SQLiteIncidentStore.open(path: databases.newPath()) }
    }

    @Test(arguments: StoreConformanceCheck.all)
    func conformance(_ check: StoreConformanceCheck) async throws { try await check.run(makeStore) }
}

/// Values the checks build on.
enum StoreFixtures {
    /// 2025-11-10 11:00:00 UTC.
    static let t0 = Date(timeIntervalSince1970: 1_762_772_400)
    static let alice = ChatUser(id: "U0ALICE", name: "Alice")

    static func incident(
        _ number: Int, title: String = "Database down", severity: String = "SEV2", room: Conversation? = nil,
        withEveryField: Bool = false
    ) -> Incident {
        var incident = Incident(
            id: IncidentID(number), title: title, severity: severity, platform: .slack,
            origin: Conversation(platform: .slack, channelID: "C0GENERAL"),
            channelName: "incident-2025-11-10-\(number)", room: room, declaredBy: alice, declaredAt: t0)
        if withEveryField {
            // Sub-second dates on purpose: the incident must come back exactly as written.
            incident.status = .mitigated
            incident.room = Conversation(platform: .slack, channelID: "C0INC", threadID: "1731234567.000100")
            incident.acknowledgedAt = t0.addingTimeInterval(61.5)
            incident.acknowledgedBy = ChatUser(id: "U0BOB", name: "Bob")
            incident.mitigatedAt = t0.addingTimeInterval(600.123)
            incident.resolvedAt = t0.addingTimeInterval(700)
            incident.closedAt = t0.addingTimeInterval(800)
            incident.lastUpdateAt = t0.addingTimeInterval(650.75)
            incident.roles = [.commander: alice, .scribe: ChatUser(id: "U0CAROL"), .techLead: ChatUser(id: "U0BOB", name: "Bob")]
            incident.publicStatus = "Failover complete"
            incident.resolution = "Replaced the disk"
            incident.escalationLevel = 2
            incident.updatesPosted = 3
            // Facts (issue 14, item 2): text and time values, who set them and when, at full precision.
            incident.facts = [
                IncidentFact.impact.rawValue: FactValue(text: "Uploads fail for EU users", setAt: t0.addingTimeInterval(90.25), setBy: alice),
                IncidentFact.startedAt.rawValue: FactValue(
                    text: "2025-11-10 10:55 UTC", time: t0.addingTimeInterval(-300.5), setAt: t0.addingTimeInterval(95), setBy: ChatUser(id: "U0BOB")),
                IncidentFact.service.rawValue: FactValue(text: "payments", setAt: t0, setBy: nil),
            ]
            incident.revision = 7  // ignored by an insert: stored revisions start at 1
        }
        return incident
    }

    /// A change set declaring `incident`, with its first timeline line.
    static func declaration(of incident: Incident) -> ChangeSet {
        var changes = ChangeSet()
        changes.incidents = [IncidentWrite(incident: incident, expectedRevision: nil)]
        changes.timeline = [TimelineEntry(incidentID: incident.id, at: incident.declaredAt, kind: .declared, actor: incident.declaredBy, text: "Declared")]
        return changes
    }

    static func post(for incident: IncidentID?, _ text: String, notBefore: Date? = nil) -> NewOutboxMessage {
        NewOutboxMessage(platform: .slack, incidentID: incident, action: .post(to: .incidentRoom, text: text, buttons: []), notBefore: notBefore)
    }

    static func text(of message: OutboxMessage) -> String {
        if case .post(_, let text, _) = message.action { return text }
        return message.action.kind
    }

    static func override(rotation: String, person: String, from start: Double, to end: Double) -> OnCallOverride {
        OnCallOverride(rotationID: rotation, personID: person, start: t0.addingTimeInterval(start), end: t0.addingTimeInterval(end), createdBy: "U0ALICE")
    }
}
