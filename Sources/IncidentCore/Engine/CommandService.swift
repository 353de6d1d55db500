import Foundation

/// The one path every platform's commands take: parse, find the incident, decide, commit, answer.
/// Platform adapters only translate their transport into `handle(text:context:)` and the reply back.
public struct CommandService: Sendable {
    public let engine: IncidentEngine
    public let parser: CommandParser
    public let store: any IncidentStore
    public let clock: any WallClock
    /// Called with what was committed, after every commit, so the outbox sender and the scheduler can be
    /// woken for what concerns them (`Wakeups.Event.committed`).
    private let committed: @Sendable (ChangeSet) -> Void

    /// How often a command outside the lanes (a declaration, an on-call override) is decided again when
    /// another writer changed what it read in between.
    private static let conflictRetries = 5
    /// Commands and alerts that change an incident queue here, per incident (see `decideInOrder`).
    private let lanes = SerialLanes<IncidentID, LaneJob, Result>()
    /// Alert notifications queue here per group first, so that two for a new group open one incident.
    private let alertGroupLanes = SerialLanes<String, AlertJob, Result>()

    /// `wakeups` hears `.committed` after every commit.
    public init(engine: IncidentEngine, store: any IncidentStore, clock: any WallClock, wakeups: Wakeups = .none) {
        self.engine = engine
        let committed: @Sendable (ChangeSet) -> Void = { [pageThrottle = engine.pageThrottle] changes in
            // Pager calls count once written, never when a decision is thrown away.
            pageThrottle.record(changes)
            wakeups.send(.committed(changes))
        }
        self.parser = CommandParser(
            severities: engine.config.severities, rotationIDs: engine.config.oncall.rotations.map(\.id),
            defaultSeverity: engine.config.incidents.defaultSeverity)
        self.store = store
        self.clock = clock
        self.committed = committed
    }

    public struct Result: Sendable {
        public var reply: CommandReply
        public var outcome: CommandOutcome
        /// nil when the text could not be parsed, and for alerts.
        public var verb: CommandVerb?
        /// An alert for a group whose incident is over: it needs a new one (internal to `ingest`).
        var needsNewIncident = false
        /// Its audit line was written with its change set.
        var audited = false
        /// Answered without trying the store, which is known to be down (`storeUnreachable()`): adapters
        /// skip their own writes too (the console's transcript), which would only wait for it.
        public internal(set) var storeWasUnreachable = false
    }

    /// Handles the text after `/incident`. Every command, whatever its outcome, is audited: with the change
    /// it made, in the same transaction, or alone afterwards when it changed nothing.
    public func handle(text: String, context: CommandContext) async -> Result {
        var context = context
        context.commandText = text
        let result: Result
        let resolvedText: String
        switch await resolvingLabel(in: text) {
        case .text(let resolved):
            resolvedText = resolved
        case .reply(let refusal):
            await auditAlone(refusal, context: context)
            return refusal
        }
        switch parser.parse(resolvedText) {
        case .failure(let usage):
            result = Result(reply: CommandReply(text: usage.replyText), outcome: .invalid, verb: nil)
        case .success(let command):
            result = await execute(command, context: context)
        }
        await auditAlone(result, context: context)
        return result
    }

    /// A declaration through the store, its id labelled as `incidents.idFormat` says (002-20: `INC-2024-001`).
    private func declareNumbered<Value: Sendable>(
        at now: Date, _ decide: @escaping @Sendable (_ id: IncidentID, _ daySequence: Int) -> (changes: ChangeSet, result: Value)
    ) async throws -> Value {
        let engine = self.engine
        let day = engine.numberingDay(of: now)
        if let scope = engine.labelScope(of: now) {
            return try await store.commitDeclaration(day: day, labelScope: scope) { id, daySequence, labelSequence in
                decide(engine.labeled(id, sequence: labelSequence, declaredAt: now), daySequence)
            }
        }
        return try await store.commitDeclaration(day: day) { id, daySequence in
            decide(engine.labeled(id, sequence: nil, declaredAt: now), daySequence)
        }
    }

    enum LabelResolution {
        case text(String)
        case reply(Result)
    }

    /// `/incident ack INC-2026-001`: an `incidents.idFormat` label where commands name their incident (the
    /// word after the verb) is read as the number the parser knows, `INC-7`; free text keeps its labels as
    /// written. A label no incident has is answered here.
    func resolvingLabel(in text: String) async -> LabelResolution {
        let idFormat = engine.config.incidents.idFormat
        guard !idFormat.isStandard else { return .text(text) }
        var words: [Range<String.Index>] = []
        var index = text.startIndex
        while words.count < 3, index < text.endIndex {
            guard let start = text[index...].firstIndex(where: { !$0.isWhitespace }) else { break }
            let end = text[start...].firstIndex(where: \.isWhitespace) ?? text.endIndex
            words.append(start..<end)
            index = end
        }
        let startsWithTrigger = words.first.map { ["/incident", "!incident"].contains(text[$0].lowercased()) } ?? false
        let position = startsWithTrigger ? 2 : 1
        guard words.count > position else { return .text(text) }
        let word = String(text[words[position]])
        guard idFormat.matches(word), IncidentID(parsing: word) == nil else { return .text(text) }
        do {
            guard let id = try await store.incidentID(label: word) else {
                return .reply(
                    Result(
                        reply: CommandReply(text: "There is no incident \(word). /incident list shows the open ones."), outcome: .rejected, verb: nil))
            }
            return .text(text.replacingCharacters(in: words[position], with: "INC-\(id.number)"))
        } catch {
            return .reply(Self.notSaved(nil))
        }
    }

    /// The audit line of a command or notification.
    func auditEntry(_ context: CommandContext, outcome: CommandOutcome, reply: CommandReply, at date: Date) -> AuditEntry {
        AuditEntry(
            at: date, platform: context.platform, userID: context.user.id, userName: context.user.name,
            personID: engine.config.personID(for: context.user, on: context.platform), channel: context.conversation.channelID,
            text: context.commandText ?? "", outcome: outcome.rawValue,
            reason: outcome == .applied || outcome == .answered ? nil : reply.text, incidentID: reply.incidentID,
            remoteAddress: context.remoteAddress)
    }

    /// An alert call refused at the door (credentials or signature wrong, no such source or route, a body
    /// that does not decode or is too large): its audit line, so the log shows who knocked and why, not
    /// only the metrics. `source`: the configured source the call named, nil when it named none (the line
    /// then says `alert:unknown`). The line holds the route and the reason, never the call's credentials
    /// or body. Throws when the store cannot take it.
    public func auditRefusedAlertCall(source: AlertSourceConfig?, route: String, reason: String) async throws {
        let caller = ChatUser.alertSource(source?.id ?? "unknown")
        var changes = ChangeSet()
        changes.audit.append(
            AuditEntry(
                at: clock.now(), platform: source?.platform ?? engine.config.platforms.enabled.first ?? .console, userID: caller.id,
                userName: caller.name, personID: nil, channel: route, text: "POST \(route)", outcome: "refused", reason: reason,
                incidentID: nil))
        try await store.commit(changes)
    }

    /// The answer posted in `context.replyThread` (if any), added to the change set that records the command.
    func answered(_ changes: ChangeSet, with reply: CommandReply, context: CommandContext) -> ChangeSet {
        guard let thread = context.replyThread else { return changes }
        var changes = changes
        changes.outbox.append(
            NewOutboxMessage(platform: thread.platform, incidentID: nil, action: .post(to: .conversation(thread), text: reply.text, buttons: [])))
        return changes
    }

    /// Writes the audit line of a result that did not carry its own in its change set, with the answer to
    /// post when the transport takes no immediate one. A delivery seen before gets no second answer.
    private func auditAlone(_ result: Result, context: CommandContext) async {
        guard !result.audited else { return }
        var changes = ChangeSet()
        changes.audit.append(auditEntry(context, outcome: result.outcome, reply: result.reply, at: clock.now()))
        if context.replyThread != nil, result.outcome != .duplicate {
            // A command that changed nothing stored no key: this one keeps its answer single.
            var withAnswer = answered(changes, with: result.reply, context: context)
            withAnswer.inboundKey = context.inboundKey
            do {
                try await store.commit(withAnswer)
                committed(withAnswer)
                return
            } catch StoreError.duplicate {
                // Answered at the first delivery; the audit line of this one is still written below.
            } catch {
                // A store that cannot take this has already failed the command itself (outcome `failed`);
                // the audit line alone is tried below.
            }
        }
        do {
            try await store.commit(changes)
        } catch {
            // The answer stands whether or not its audit line is saved; a store that cannot take this line
            // has already failed the command itself (its outcome is `failed`).
        }
    }

    public func execute(_ command: IncidentCommand, context: CommandContext) async -> Result {
        if Self.changesAnIncident(command) {
            // The lane reads the incident, fresh, before deciding, and answers for one that does not exist
            // (`noIncident(_:for:)`, the same reply as here), so a command naming its incident is not read
            // twice: a store read and a decode of the incident saved per command (bench/profile). Only a
            // command that names none is resolved here, from where it was typed.
            let id: IncidentID
            if let named = command.explicitIncident {
                id = named
            } else {
                let incident: Incident?
                do {
                    incident = try await target(of: command, context: context)
                } catch {
                    return Self.notSaved(command.verb)
                }
                guard let incident else { return Result(reply: noIncident(command), outcome: .rejected, verb: command.verb) }
                id = incident.id
            }
            let service = self
            return await lanes.run(.command(command, context), on: id) { id, batch in
                await service.decideInOrder(batch, incident: id)
            }
        }
        for _ in 0..<Self.conflictRetries {
            do {
                let (reply, outcome) = try await attempt(command, context: context)
                var result = Result(reply: reply, outcome: outcome, verb: command.verb)
                // Applied changes carried their audit line (see `attempt`).
                result.audited = outcome == .applied
                return result
            } catch StoreError.conflict {
                continue
            } catch StoreError.duplicate {
                return Self.alreadyDone(command.verb)
            } catch {
                return Self.notSaved(command.verb)
            }
        }
        return Result(
            reply: CommandReply(text: "⚠️ The incident kept changing while Klaxon saved this command; nothing changed. Please try again."), outcome: .failed,
            verb: command.verb)
    }

    // MARK: - Alerts

    /// A monitoring notification: it feeds the incident of its group, through the incident's lane like a
    /// command, or opens one. Notifications of one group are taken one at a time, so a burst for a new
    /// group opens one incident.
    public func ingest(_ notification: AlertNotification, from source: AlertSourceConfig) async -> Result {
        let result = await ingestInOrder(notification, from: source)
        var context = engine.alertContext(source, notification: notification)
        context.commandText = AlertJob.describe(notification)
        await auditAlone(result, context: context)
        return result
    }

    private func ingestInOrder(_ notification: AlertNotification, from source: AlertSourceConfig) async -> Result {
        let service = self
        return await alertGroupLanes.run(AlertJob(notification: notification, source: source), on: "\(source.id)\u{1F}\(notification.groupKey)") { _, batch in
            var results: [Result] = []
            for job in batch { results.append(await service.ingestInGroupOrder(job.notification, from: job.source)) }
            return results
        }
    }

    private func ingestInGroupOrder(_ notification: AlertNotification, from source: AlertSourceConfig) async -> Result {
        let linked: IncidentID?
        do {
            linked = try await store.incidentID(alertSource: source.id, groupKey: notification.groupKey)
        } catch {
            return Self.notSaved(nil)
        }
        if let linked {
            let service = self
            let result = await lanes.run(.alert(notification, source), on: linked) { id, batch in
                await service.decideInOrder(batch, incident: id)
            }
            guard result.needsNewIncident else { return result }
        }
        // Nothing to declare for a group that only resolves.
        guard notification.alerts.contains(where: { $0.status == .firing }) else {
            return Result(
                reply: CommandReply(text: "No incident for \(source.id) group \(notification.groupKey), and nothing fires."), outcome: .answered, verb: nil)
        }
        do {
            let now = clock.now()
            let overrides = try await store.activeOverrides(rotations: engine.config.oncall.rotations, at: now)
            let (engine, service) = (self.engine, self)
            var alertContext = engine.alertContext(source, notification: notification)
            alertContext.commandText = AlertJob.describe(notification)
            let auditContext = alertContext
            let decision = try await declareNumbered(at: now) { id, daySequence in
                var decision = engine.declare(alert: notification, source: source, allocation: (id, daySequence), now: now, overrides: overrides)
                if decision.outcome == .applied {
                    decision.changes.audit.append(service.auditEntry(auditContext, outcome: .applied, reply: decision.reply, at: now))
                }
                return (decision.outcome == .applied ? decision.changes : ChangeSet(), decision)
            }
            if decision.outcome == .applied, !decision.changes.isEmpty { committed(decision.changes) }
            var result = Result(reply: decision.reply, outcome: decision.outcome, verb: nil)
            result.audited = decision.outcome == .applied
            return result
        } catch StoreError.duplicate {
            return Self.alreadyDone(nil)
        } catch {
            return Self.notSaved(nil)
        }
    }

    /// The commands that change an incident that exists: they take its lane.
    static func changesAnIncident(_ command: IncidentCommand) -> Bool {
        switch command {
        case .ack, .update, .status, .severity, .role, .note, .report, .mitigate, .resolve, .close, .reopen, .page, .escalate, .setType, .component,
            .action, .cadence:
            true
        case .set(_, let assignment): assignment != nil
        case .declare, .oncall, .list, .timeline, .postmortem, .stats, .help, .statusCard: false
        }
    }

    /// What waits on an incident's lane.
    enum LaneJob: Sendable {
        case command(IncidentCommand, CommandContext)
        case alert(AlertNotification, AlertSourceConfig)

        var verb: CommandVerb? {
            if case .command(let command, _) = self { return command.verb }
            return nil
        }

        /// Who and where, for the audit line.
        func auditContext(_ engine: IncidentEngine) -> CommandContext {
            switch self {
            case .command(_, let context): return context
            case .alert(let notification, let source):
                var context = engine.alertContext(source, notification: notification)
                context.commandText = AlertJob.describe(notification)
                return context
            }
        }
    }

    struct AlertJob: Sendable {
        let notification: AlertNotification
        let source: AlertSourceConfig

        /// How a notification reads in the audit log.
        static func describe(_ notification: AlertNotification) -> String {
            let firing = notification.alerts.filter { $0.status == .firing }.count
            return "alert \(notification.status.rawValue) \(notification.groupKey): \(firing) firing, \(notification.alerts.count - firing) resolved"
        }
    }

    /// Decides a lane's batch in order, each command on the incident as the ones before it leave it, and
    /// writes their change sets in one transaction. When the store refuses one (another writer changed the
    /// incident: the scheduler, a second replica), the commands before it stand and the rest are read and
    /// decided again, so nobody is asked to type a command again because someone else was quicker. A
    /// command that became invalid meanwhile gets the engine's reason (`INC-4 is resolved …`).
    func decideInOrder(_ jobs: [LaneJob], incident id: IncidentID) async -> [Result] {
        var results = [Result?](repeating: nil, count: jobs.count)
        var start = 0
        var conflicts = 0
        decide: while start < jobs.count {
            let now = clock.now()
            let pending = jobs[start...]
            let read: Incident?
            let overrides: [String: [OnCallOverride]]
            do {
                read = try await store.incident(id)
                overrides =
                    pending.contains { job in
                        guard case .command(let command, _) = job else { return true }
                        return engine.needsOnCall(command)
                    }
                    ? try await store.activeOverrides(rotations: engine.config.oncall.rotations, at: now) : [:]
            } catch {
                for index in pending.indices { results[index] = Self.notSaved(jobs[index].verb) }
                break
            }
            guard var current = read else {
                for index in pending.indices { results[index] = noIncident(id, for: jobs[index]) }
                break
            }

            var decisions: [Int: Decision] = [:]
            var changeSets: [ChangeSet] = []
            // The job each change set belongs to.
            var writers: [Int] = []
            for index in pending.indices {
                let decision: Decision
                switch jobs[index] {
                case .command(let command, let context):
                    decision = engine.decide(command, context: context, incident: current, now: now, overrides: overrides)
                case .alert(let notification, let source):
                    switch engine.receive(alert: notification, source: source, incident: current, now: now, overrides: overrides) {
                    case .decided(let alertDecision):
                        decision = alertDecision
                    case .declareNew:
                        var handBack = Result(reply: CommandReply(text: "\(id) is over; the group needs a new incident."), outcome: .rejected, verb: nil)
                        handBack.needsNewIncident = true
                        results[index] = handBack
                        continue
                    }
                }
                decisions[index] = decision
                guard decision.outcome == .applied, !decision.changes.isEmpty else { continue }
                var changes = decision.changes
                changes.audit.append(auditEntry(jobs[index].auditContext(engine), outcome: decision.outcome, reply: decision.reply, at: now))
                if case .command(_, let context) = jobs[index] { changes = answered(changes, with: decision.reply, context: context) }
                changeSets.append(changes)
                writers.append(index)
                if let write = decision.changes.incidents.last(where: { $0.incident.id == id }) {
                    // What the store will hold once this change set is written.
                    current = write.stored
                }
            }

            let written: OrderedCommitResult
            do {
                written = try await store.commit(inOrder: changeSets)
            } catch {
                for index in pending.indices { results[index] = Self.notSaved(jobs[index].verb) }
                break
            }
            for changes in changeSets.prefix(written.written) { committed(changes) }
            // Everything decided before the refused change set stands; what came after assumed it.
            let refused = written.written < writers.count ? writers[written.written] : jobs.count
            for index in start..<refused {
                if let decision = decisions[index] {
                    results[index] = Result(reply: decision.reply, outcome: decision.outcome, verb: jobs[index].verb)
                    results[index]?.audited = writers.prefix(written.written).contains(index)
                }
            }
            switch written.refusal {
            case nil:
                break decide
            case .duplicate?:
                results[refused] = Self.alreadyDone(jobs[refused].verb)
                start = refused + 1
            case .conflict?:
                conflicts += 1
                guard conflicts <= Self.laneConflictLimit else {
                    for index in refused..<jobs.count { results[index] = Self.notSaved(jobs[index].verb) }
                    break decide
                }
                start = refused
            case .leaseLost?, .notFound?, .unavailable?:
                // Not refusals a command's change set meets (it completes no timer): nothing was saved.
                results[refused] = Self.notSaved(jobs[refused].verb)
                start = refused + 1
            }
        }
        return results.enumerated().map { index, result in result ?? Self.notSaved(jobs[index].verb) }
    }

    /// How often a lane re-reads and re-decides after other writers changed its incident. Inside one
    /// daemon only the scheduler and room creation write beside the lane, so this is never reached; it
    /// bounds the loop against a store that keeps refusing.
    private static let laneConflictLimit = 100

    private static func alreadyDone(_ verb: CommandVerb?) -> Result {
        Result(reply: CommandReply(text: "Already done: this request was processed before."), outcome: .duplicate, verb: verb)
    }

    /// The answer while the store is known to be down (the daemon's probe found it so): nothing was tried.
    public func storeUnreachable(text: String) -> Result {
        // The verb for the metrics and the log, from the parser alone (pure: nothing is read).
        let verb: CommandVerb? = if case .success(let command) = parser.parse(text) { command.verb } else { nil }
        var result = Self.storeUnreachable()
        result.verb = verb
        return result
    }

    public static func storeUnreachable() -> Result {
        var result = Result(
            reply: CommandReply(
                text: "⚠️ Klaxon cannot reach its database right now, so this command was not saved and nothing changed. Please try again in a moment."),
            outcome: .failed, verb: nil)
        result.storeWasUnreachable = true
        return result
    }

    private static func notSaved(_ verb: CommandVerb?) -> Result {
        Result(reply: CommandReply(text: "⚠️ Klaxon could not save this command, so nothing changed. Please try again."), outcome: .failed, verb: verb)
    }

    private func noIncident(_ id: IncidentID, for job: LaneJob) -> Result {
        switch job {
        case .command(let command, _):
            return Result(reply: noIncident(command), outcome: .rejected, verb: command.verb)
        case .alert:
            var result = Result(reply: CommandReply(text: "There is no incident \(id) any more."), outcome: .rejected, verb: nil)
            result.needsNewIncident = true
            return result
        }
    }

    private func attempt(_ command: IncidentCommand, context: CommandContext) async throws -> (CommandReply, CommandOutcome) {
        let now = clock.now()
        switch command {
        case .list(let includeClosed):
            let incidents = try await store.incidents(includeClosed: includeClosed, limit: 50)
            return (engine.listReply(incidents, includeClosed: includeClosed, now: now), .answered)
        case .timeline, .postmortem:
            guard let incident = try await target(of: command, context: context) else { return (noIncident(command), .rejected) }
            let entries = try await store.timeline(of: incident.id)
            if case .postmortem = command {
                var changes = ChangeSet()
                changes.timeline.append(engine.postmortemDrafted(incident, by: context.user, now: now))
                try await store.commit(changes)
                return (engine.postmortemReply(incident, entries: entries, now: now), .answered)
            }
            return (engine.timelineReply(incident, entries: entries), .answered)
        case .stats(let query):
            let window = engine.statsWindow(query.period, now: now)
            let incidents = try await store.incidents(declaredFrom: window.start, to: window.end)
            return (engine.statsReply(query, incidents: incidents, window: window), .answered)
        case .statusCard:
            guard let incident = try await target(of: command, context: context) else { return (noIncident(command), .rejected) }
            return (engine.statusCardReply(incident, now: now), .answered)
        case .set(_, nil):
            // The list of facts helps outside an incident too; inside one it shows their values.
            return (engine.factsReply(try await target(of: command, context: context)), .answered)
        case .help:
            let decision = engine.decide(command, context: context, incident: nil, now: now)
            return (decision.reply, decision.outcome)
        default:
            break
        }

        if case .declare = command {
            // Refused before a number is taken, so a refusal leaves no gap in the numbering.
            let overrides = try await store.activeOverrides(rotations: engine.config.oncall.rotations, at: now)
            if let refusal = engine.permissionRefusal(command, context: context, incident: nil, now: now, overrides: overrides) {
                return (refusal.reply, refusal.outcome)
            }
            // The number and the incident in one store step: the engine decides with the number the store
            // hands it, under the store's write lock (it is pure and quick).
            let (engine, committed, service) = (self.engine, self.committed, self)
            let decision = try await declareNumbered(at: now) { id, daySequence in
                var decision = engine.decide(command, context: context, incident: nil, allocation: (id, daySequence), now: now, overrides: overrides)
                if decision.outcome == .applied {
                    decision.changes.audit.append(service.auditEntry(context, outcome: .applied, reply: decision.reply, at: now))
                    decision.changes = service.answered(decision.changes, with: decision.reply, context: context)
                }
                return (decision.outcome == .applied ? decision.changes : ChangeSet(), decision)
            }
            if decision.outcome == .applied, !decision.changes.isEmpty { committed(decision.changes) }
            return (decision.reply, decision.outcome)
        }

        var incident: Incident?
        if case .oncall = command {
            incident = nil
        } else {
            incident = try await target(of: command, context: context)
            guard incident != nil else { return (noIncident(command), .rejected) }
        }
        let overrides =
            engine.needsOnCall(command)
            ? try await store.activeOverrides(rotations: engine.config.oncall.rotations, at: now) : [:]
        let decision = engine.decide(command, context: context, incident: incident, now: now, overrides: overrides)
        if decision.outcome == .applied, !decision.changes.isEmpty {
            var changes = decision.changes
            changes.audit.append(auditEntry(context, outcome: .applied, reply: decision.reply, at: now))
            changes = answered(changes, with: decision.reply, context: context)
            try await store.commit(changes)
            committed(changes)
        }
        return (decision.reply, decision.outcome)
    }

    /// The incident a command is about: the one it names, else the one whose room it was typed in,
    /// else — when exactly one incident is open on the platform — that one.
    public func target(of command: IncidentCommand, context: CommandContext) async throws -> Incident? {
        if let id = command.explicitIncident {
            return try await store.incident(id)
        }
        if let incident = try await store.incident(in: context.conversation) {
            return incident
        }
        if context.conversation.threadID != nil {
            var channel = context.conversation
            channel.threadID = nil
            if let incident = try await store.incident(in: channel) { return incident }
        }
        if case .ack = command, let waiting = try await unacknowledged(alertedIn: context) { return waiting }
        let open = try await store.incidents(includeClosed: false, limit: 2).filter { $0.platform == context.platform }
        return open.count == 1 ? open[0] : nil
    }

    /// 004-17 "@oncall acknowledging - investigating now", typed in the alert channel: `/incident ack` there,
    /// naming no incident, takes the newest unacknowledged open incident that was declared (or opened by an
    /// alert) in that channel; failing that, the only unacknowledged one on the platform. Free text is not
    /// read as an acknowledgement (docs/alerts.md says why).
    func unacknowledged(alertedIn context: CommandContext) async throws -> Incident? {
        let waiting = try await store.incidents(includeClosed: false, limit: 50)
            .filter { $0.platform == context.platform && $0.acknowledgedAt == nil }
        // By channel, not thread: an alert's thread replies still count as its channel.
        let channelID = context.conversation.channelID
        if let here = waiting.filter({ $0.origin.channelID == channelID }).max(by: { $0.declaredAt < $1.declaredAt }) { return here }
        return waiting.count == 1 ? waiting[0] : nil
    }

    private func noIncident(_ command: IncidentCommand) -> CommandReply {
        if let id = command.explicitIncident {
            return CommandReply(text: "There is no incident \(id). /incident list shows the open ones.")
        }
        return CommandReply(
            text:
                "Which incident? Run this in the incident's channel or name it, e.g. \(command.verb.usage.replacingOccurrences(of: "[INC-n]", with: "INC-42")). /incident list shows the open ones."
        )
    }
}
