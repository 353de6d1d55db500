import Foundation

/// Everything one command (or one timer firing) changes, written by the store in one transaction:
/// the incident, its timeline lines, its outgoing messages and its timers. Either all of it is durable
/// or none of it is.
public struct ChangeSet: Sendable {
    /// Incidents to insert (`expectedRevision == nil`) or update. An update whose stored revision differs
    /// from `expectedRevision` fails the whole change set with `StoreError.conflict`.
    public var incidents: [IncidentWrite] = []
    public var timeline: [TimelineEntry] = []
    public var outbox: [NewOutboxMessage] = []
    /// Each replaces the pending timer of the same incident, kind and rule.
    public var timers: [NewTimer] = []
    /// Cancels the pending timer of that kind (the built-in kinds: `rule` empty).
    public var cancelTimers: [(IncidentID, TimerKind)] = []
    /// Cancels the pending `policyRule` timer of that rule key.
    public var cancelRuleTimers: [(IncidentID, String)] = []
    /// A timer that fired and is now done; fails with `StoreError.leaseLost` if the lease is no longer ours.
    public var completeTimer: (id: Int64, owner: String)?
    public var overrides: [OnCallOverride] = []
    /// Lines the console platform shows at `GET /api/messages` (replies to console commands).
    public var consoleMessages: [ConsoleMessage] = []
    /// An inbound delivery's key (`slack:event:Ev123`): if it was seen before, nothing is written and the
    /// commit fails with `StoreError.duplicate`.
    public var inboundKey: String?
    /// A rotation hand-off this change set announces. If that hand-off (or a later one) of the rotation
    /// is recorded already, nothing is written and the commit fails with `StoreError.duplicate`: so each
    /// hand-off is announced once, however many schedulers share the store.
    public var handoff: RotationHandoff?
    /// Alert groups this change set (re)links to an incident: later notifications of the group go there.
    public var alertGroups: [AlertGroupLink] = []
    /// Audit lines, written with what they record.
    public var audit: [AuditEntry] = []

    public init() {}

    public var isEmpty: Bool {
        incidents.isEmpty && timeline.isEmpty && outbox.isEmpty && timers.isEmpty && cancelTimers.isEmpty && cancelRuleTimers.isEmpty
            && completeTimer == nil && overrides.isEmpty && consoleMessages.isEmpty && inboundKey == nil && handoff == nil
            && alertGroups.isEmpty && audit.isEmpty
    }
}

/// Which incident an alert group's notifications go to.
public struct AlertGroupLink: Sendable, Hashable {
    public var source: String
    public var groupKey: String
    public var incidentID: IncidentID

    public init(source: String, groupKey: String, incidentID: IncidentID) {
        self.source = source
        self.groupKey = groupKey
        self.incidentID = incidentID
    }
}

/// The start of a rotation's regular shift: the moment one person hands the rotation to the next.
public struct RotationHandoff: Sendable, Hashable {
    public var rotationID: String
    public var at: Date

    public init(rotationID: String, at: Date) {
        self.rotationID = rotationID
        self.at = at
    }
}

public struct IncidentWrite: Sendable {
    public var incident: Incident
    public var expectedRevision: Int?
    public init(incident: Incident, expectedRevision: Int?) {
        self.incident = incident
        self.expectedRevision = expectedRevision
    }

    /// The incident as the store keeps it: revision 1 for an insert, one more than expected for an update,
    /// whatever the value says.
    public var stored: Incident {
        var stored = incident
        stored.revision = (expectedRevision ?? 0) + 1
        return stored
    }
}

/// A temporary change of who is on call, set from chat.
public struct OnCallOverride: Sendable, Hashable, Codable {
    public var rotationID: String
    public var personID: String
    public var start: Date
    public var end: Date
    public var createdBy: String

    public init(rotationID: String, personID: String, start: Date, end: Date, createdBy: String) {
        self.rotationID = rotationID
        self.personID = personID
        self.start = start
        self.end = end
        self.createdBy = createdBy
    }
}

/// One line in the console platform's transcript.
public struct ConsoleMessage: Sendable, Hashable, Codable {
    public var id: Int64?
    public var at: Date
    public var channel: String
    public var thread: String?
    public var text: String
    /// `reply` (answer to a command, only the sender sees it on a real platform) or `post`.
    public var kind: String
    /// The outbox message this line delivers; the store keeps one line per outbox id, so a redelivery is harmless.
    public var outboxID: Int64?

    public init(id: Int64? = nil, at: Date, channel: String, thread: String? = nil, text: String, kind: String, outboxID: Int64? = nil) {
        self.id = id
        self.at = at
        self.channel = channel
        self.thread = thread
        self.text = text
        self.kind = kind
        self.outboxID = outboxID
    }
}

/// What `IncidentStore.commit(inOrder:)` wrote: the first `written` change sets, and why the next one
/// was refused (nil: all were written).
public struct OrderedCommitResult: Sendable, Equatable {
    public var written: Int
    public var refusal: StoreError?

    public init(written: Int, refusal: StoreError?) {
        self.written = written
        self.refusal = refusal
    }
}

public enum StoreError: Error, Sendable, Equatable {
    /// Someone else changed the incident first; re-read and decide again.
    case conflict(IncidentID)
    /// The inbound delivery was already processed.
    case duplicate(String)
    /// The timer's lease expired and another scheduler took it.
    case leaseLost(Int64)
    case notFound
    case unavailable(String)
}

/// The durable store, by role: a service depends on the ports it uses (`any OutboxStore & IncidentRecords`),
/// and a store implements them all (`IncidentStore`). Implementations: SQLite (one file, one process) and
/// PostgreSQL (several replicas); `StoreConformance` in the test suite runs against both.
public protocol IncidentStore: IncidentRecords, OutboxStore, TimerStore, OnCallStore, AuditLog, ConsoleTranscript, InboundCursors,
    RetentionStore, StoreHealth
{}

/// Incidents, their timelines, and the one way to change them: a `ChangeSet` committed in one transaction.
public protocol IncidentRecords: Sendable {
    /// A new incident number and its number within the day (for `{seq}` in channel names).
    func allocateIncidentNumber(day: String) async throws -> (id: IncidentID, daySequence: Int)
    /// A declaration in one step: allocates a number as `allocateIncidentNumber(day:)` does, and commits
    /// the change set `decide` makes with it, in one transaction. `decide` runs before anything of its
    /// change set is written, must be quick (the SQLite store calls it while it holds the write lock) and
    /// pure (a store that retries its transaction calls it again). Its change set may be refused as any
    /// commit's (the number then stays used, as when a declaration fails after `allocateIncidentNumber`).
    /// With a `labelScope`, it also counts within it, the period `{seq}` of `incidents.idFormat` counts in
    /// (`IncidentEngine.labelScope(of:)`), and `decide` gets that number too (nil without one). Callers use
    /// the two `commitDeclaration` overloads below; a store implements this one.
    func commitNumberedDeclaration<Result: Sendable>(
        day: String, labelScope: String?,
        _ decide: @escaping @Sendable (_ id: IncidentID, _ daySequence: Int, _ labelSequence: Int?) -> (changes: ChangeSet, result: Result)
    ) async throws -> Result
    /// The incident whose `incidents.idFormat` label is `label` (compared ignoring case), with that label.
    func incidentID(label: String) async throws -> IncidentID?
    func incident(_ id: IncidentID) async throws -> Incident?
    /// The incident whose room is this conversation (its channel, or its thread in thread mode).
    func incident(in conversation: Conversation) async throws -> Incident?
    func incidents(includeClosed: Bool, limit: Int) async throws -> [Incident]
    /// Incidents declared at or after `from` and before `to`, oldest first: the status page's history,
    /// statistics and the time histograms read these.
    func incidents(declaredFrom from: Date, to: Date) async throws -> [Incident]
    /// The incident an alert group was last linked to (`ChangeSet.alertGroups`); nil: none yet.
    func incidentID(alertSource source: String, groupKey: String) async throws -> IncidentID?
    func timeline(of id: IncidentID) async throws -> [TimelineEntry]
    func commit(_ changes: ChangeSet) async throws
    /// Writes `changeSets` in order, each all-or-nothing as `commit` writes it and checked against the
    /// database as the ones before it left it (the second of two updates of one incident expects the
    /// revision the first wrote), and each only if all before it were written: the first refusal stops
    /// the rest. Refusals are returned, not thrown; other failures throw, and then nothing is written.
    /// One incident's queued commands take this path, so they share one transaction where the store can.
    func commit(inOrder changeSets: [ChangeSet]) async throws -> OrderedCommitResult

    /// Records the room the platform created for the incident (used by the outbox sender).
    func setRoom(_ room: Conversation, for id: IncidentID) async throws

    /// Records the issue the tracker opened for the incident (used by the outbox sender), as a new revision.
    func setTicket(_ ticket: TicketLink, for id: IncidentID) async throws
    /// As `setTicket`, for the issue of one of the incident's action items; `StoreError.notFound` when the
    /// incident or the item does not exist.
    func setTicket(_ ticket: TicketLink, forActionItem item: Int, of id: IncidentID) async throws

}

/// Messages waiting to be sent: claimed under a lease, delivered, retried, parked or given up.
public protocol OutboxStore: Sendable {
    /// Takes up to `limit` due messages of `lanes`, oldest first, skipping any whose incident has an
    /// earlier message still pending; each is leased to `owner` until `leaseUntil`. A row that cannot be
    /// decoded is set aside (dead, with the decode error) and reported, never failing the claim: one
    /// damaged row must not stop delivery of the others.
    func claimOutbox(lanes: OutboxLaneFilter, now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> OutboxClaim
    /// Extends the leases `owner` still holds on `ids` (pending messages still being delivered) to `until`;
    /// returns how many it still held. A sender renews while a slow platform keeps it waiting, so a short
    /// lease (fast failover) never lets another replica send the same message meanwhile.
    func renewOutboxLeases(_ ids: [Int64], owner: String, until: Date) async throws -> Int
    func markDelivered(_ id: Int64, platformMessageID: String?, at: Date) async throws
    /// A failed attempt, to be tried again at `notBefore`; counts as an attempt. `failingSince` is kept
    /// if the message already has one (the run of failures began earlier).
    func markRetry(_ id: Int64, notBefore: Date, error: String, failingSince: Date) async throws
    /// Not an attempt: the message waits until `until` for reasons that are not its own (a rate limit,
    /// a platform refusing our credentials). Its attempts and run of failures are left as they are.
    func postpone(_ id: Int64, until: Date, reason: String) async throws
    /// `postpone` for a keyed message (an announcement) the platform held back, which then heads a digest:
    /// in the same transaction, every pending message waiting behind it in its queue that is in no pending
    /// digest joins it (`OutboxMessage.digestOf`). The members are fixed from then on, so a retry after a
    /// crash posts the same digest (and finds the earlier post) and later arrivals wait for the next one.
    func holdForDigest(_ id: Int64, until: Date, reason: String) async throws
    /// The pending members of the digest `head` heads, oldest first (not `head` itself).
    func outboxDigestMembers(of head: Int64) async throws -> [OutboxMessage]
    /// `markDelivered` for a digest's head and, in the same transaction, its pending members.
    func markDigestDelivered(_ head: Int64, platformMessageID: String?, at: Date) async throws
    func markDead(_ id: Int64, error: String) async throws
    /// When the next pending message of `lanes` becomes due (nil: none pending).
    func nextOutboxDue(lanes: OutboxLaneFilter) async throws -> Date?
    /// Rows in `state`, oldest first.
    func outboxEntries(state: OutboxState, limit: Int) async throws -> [OutboxEntry]
    /// A dead message back in the queue, due at `now` with its attempts reset, behind any pending message
    /// of its incident (and the incident's later pending messages behind it). False: no dead message `id`.
    func requeueDeadOutboxMessage(_ id: Int64, now: Date) async throws -> Bool
    /// Removes a dead message for good. False: no dead message `id`.
    func deleteDeadOutboxMessage(_ id: Int64) async throws -> Bool
    func outboxDepth() async throws -> Int
    func outboxMessages(incident id: IncidentID) async throws -> [OutboxMessage]

}

/// Durable timers (written by change sets), claimed under a lease when due.
public protocol TimerStore: Sendable {
    func nextTimerDue() async throws -> Date?
    func claimDueTimers(now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> [ScheduledTimer]
    func pendingTimers(of id: IncidentID) async throws -> [ScheduledTimer]

}

/// On-call overrides and announced rotation hand-offs.
public protocol OnCallStore: Sendable {
    func overrides(rotation: String, activeAt: Date) async throws -> [OnCallOverride]
    /// The overrides active at `date` for each rotation that has any, keyed by rotation id, each list in
    /// the order they were set (a default reads them rotation by rotation; a store may read them at once).
    func activeOverrides(rotations: [RotationConfig], at date: Date) async throws -> [String: [OnCallOverride]]
    /// The rotation's overrides with `end > date` (current and future ones, and those ending later), in
    /// the order they were set: what hand-off announcements need to see coming changes.
    func overrides(rotation: String, endingAfter date: Date) async throws -> [OnCallOverride]
    /// The latest hand-off of the rotation recorded with `ChangeSet.handoff` (nil: none yet).
    func lastHandoff(rotation: String) async throws -> Date?

}

/// The audit log (written by change sets).
public protocol AuditLog: Sendable {
    /// Newest first.
    func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry]

}

/// What the console platform "posted", read back by `GET /api/messages`.
public protocol ConsoleTranscript: Sendable {
    func appendConsoleMessage(_ message: ConsoleMessage) async throws
    func consoleMessages(after id: Int64, limit: Int) async throws -> [ConsoleMessage]

}

/// Positions in inbound streams, and named leases for work one replica at a time does.
public protocol InboundCursors: Sendable {
    /// A named position in an inbound stream (`rocketchat:poll:<roomId>`: the last message a poller
    /// handled), kept so that polling resumes where it stopped after a restart. nil: never set.
    func cursor(_ key: String) async throws -> String?
    /// Replaces the cursor's value.
    func setCursor(_ key: String, value: String) async throws
    /// Takes or renews the named lease (`rocketchat:poll`: which replica polls): true when `owner` holds it
    /// until `until`, because nobody held it, `owner` already did, or the holder's lease ran out by `now`;
    /// false while another owner's lease runs. A replica that stops renewing loses it when it runs out.
    func holdLease(_ key: String, owner: String, now: Date, until: Date) async throws -> Bool

}

/// Pruning in small batches (`RetentionService`).
public protocol RetentionStore: Sendable {
    /// Deletes up to `limit` inbound dedupe keys recorded before `before`; returns how many.
    func pruneInboundKeys(before: Date, limit: Int) async throws -> Int
    /// Deletes up to `limit` messages delivered before `before`; returns how many. Pending and dead
    /// messages are never pruned.
    func pruneDeliveredOutbox(before: Date, limit: Int) async throws -> Int
    /// Deletes up to `limit` of the oldest console lines beyond the newest `keep`; returns how many.
    func pruneConsoleMessages(keepingLast keep: Int, limit: Int) async throws -> Int
    /// Deletes up to `limit` audit entries older than `before`, oldest first; returns how many.
    func pruneAudit(before: Date, limit: Int) async throws -> Int

}

/// Whether the store answers, and what `/metrics` reads of it.
public protocol StoreHealth: Sendable {
    func ping() async throws
    func openIncidentCounts() async throws -> [String: Int]
}

extension OutboxStore {
    /// Every lane at once (tests and single-stream tools).
    public func claimOutbox(now: Date, owner: String, leaseUntil: Date, limit: Int) async throws -> [OutboxMessage] {
        try await claimOutbox(lanes: .all, now: now, owner: owner, leaseUntil: leaseUntil, limit: limit).messages
    }

    public func nextOutboxDue() async throws -> Date? {
        try await nextOutboxDue(lanes: .all)
    }

    /// A failed attempt whose run of failures starts now (if none is running).
    public func markRetry(_ id: Int64, notBefore: Date, error: String) async throws {
        try await markRetry(id, notBefore: notBefore, error: error, failingSince: notBefore)
    }
}

extension IncidentRecords {
    /// One transaction per change set; a store that can write them in one should.
    public func commit(inOrder changeSets: [ChangeSet]) async throws -> OrderedCommitResult {
        for (index, changes) in changeSets.enumerated() {
            do {
                try await commit(changes)
            } catch let refusal as StoreError {
                return OrderedCommitResult(written: index, refusal: refusal)
            }
        }
        return OrderedCommitResult(written: changeSets.count, refusal: nil)
    }

    /// A declaration numbered within its day (see `commitNumberedDeclaration`).
    public func commitDeclaration<Result: Sendable>(
        day: String, _ decide: @escaping @Sendable (_ id: IncidentID, _ daySequence: Int) -> (changes: ChangeSet, result: Result)
    ) async throws -> Result {
        try await commitNumberedDeclaration(day: day, labelScope: nil) { id, daySequence, _ in decide(id, daySequence) }
    }

    /// A declaration numbered within its day and within `labelScope` (see `commitNumberedDeclaration`).
    public func commitDeclaration<Result: Sendable>(
        day: String, labelScope: String,
        _ decide: @escaping @Sendable (_ id: IncidentID, _ daySequence: Int, _ labelSequence: Int) -> (changes: ChangeSet, result: Result)
    ) async throws -> Result {
        try await commitNumberedDeclaration(day: day, labelScope: labelScope) { id, daySequence, labelSequence in
            decide(id, daySequence, labelSequence ?? 0)
        }
    }
}

extension OnCallStore {
    public func activeOverrides(rotations: [RotationConfig], at date: Date) async throws -> [String: [OnCallOverride]] {
        var result: [String: [OnCallOverride]] = [:]
        for rotation in rotations {
            let active = try await overrides(rotation: rotation.id, activeAt: date)
            if !active.isEmpty { result[rotation.id] = active }
        }
        return result
    }
}
