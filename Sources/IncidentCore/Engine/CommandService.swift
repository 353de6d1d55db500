import Foundation

/// The one path every platform's commands take: parse, find the incident, decide, commit, answer.
/// Platform adapters only translate their transport into `handle(text:context:)` and the reply back.
public struct CommandService: Sendable {
    public let engine: IncidentEngine
    public let parser: CommandParser
    public let store: any IncidentStore
    public let clock: any WallClock
    /// Called with what was committed, after every commit, so the outbox sender and the scheduler can be
    /// woken for what concerns them.
    private let committed: @Sendable (ChangeSet) -> Void

    /// How often a command is re-decided when another writer changed the incident in between.
    private static let conflictRetries = 5

    public init(engine: IncidentEngine, store: any IncidentStore, clock: any WallClock, committed: @escaping @Sendable (ChangeSet) -> Void = { _ in }) {
        self.engine = engine
        self.parser = CommandParser(severities: engine.config.severities, rotationIDs: engine.config.oncall.rotations.map(\.id))
        self.store = store
        self.clock = clock
        self.committed = committed
    }

    public struct Result: Sendable {
        public var reply: CommandReply
        public var outcome: CommandOutcome
        /// nil when the text could not be parsed.
        public var verb: CommandVerb?
    }

    /// Handles the text after `/incident`.
    public func handle(text: String, context: CommandContext) async -> Result {
        switch parser.parse(text) {
        case .failure(let usage):
            return Result(reply: CommandReply(text: usage.replyText), outcome: .invalid, verb: nil)
        case .success(let command):
            return await execute(command, context: context)
        }
    }

    public func execute(_ command: IncidentCommand, context: CommandContext) async -> Result {
        for _ in 0..<Self.conflictRetries {
            do {
                let (reply, outcome) = try await attempt(command, context: context)
                return Result(reply: reply, outcome: outcome, verb: command.verb)
            } catch StoreError.conflict {
                continue
            } catch StoreError.duplicate {
                return Result(reply: CommandReply(text: "Already done: this request was processed before."), outcome: .duplicate, verb: command.verb)
            } catch {
                return Result(reply: CommandReply(text: "⚠️ Klaxon could not save this command, so nothing changed. Please try again."), outcome: .failed, verb: command.verb)
            }
        }
        return Result(reply: CommandReply(text: "⚠️ The incident kept changing while Klaxon saved this command; nothing changed. Please try again."), outcome: .failed, verb: command.verb)
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
        case .help:
            let decision = engine.decide(command, context: context, incident: nil, now: now)
            return (decision.reply, decision.outcome)
        default:
            break
        }

        if case .declare = command {
            // The number and the incident in one store step: the engine decides with the number the store
            // hands it, under the store's write lock (it is pure and quick).
            let overrides = try await store.activeOverrides(rotations: engine.config.oncall.rotations, at: now)
            let (engine, committed) = (self.engine, self.committed)
            let decision = try await store.commitDeclaration(day: engine.numberingDay(of: now)) { id, daySequence in
                let decision = engine.decide(command, context: context, incident: nil, allocation: (id, daySequence), now: now, overrides: overrides)
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
        let overrides = IncidentEngine.consultsOnCall(command)
            ? try await store.activeOverrides(rotations: engine.config.oncall.rotations, at: now) : [:]
        let decision = engine.decide(command, context: context, incident: incident, now: now, overrides: overrides)
        if decision.outcome == .applied, !decision.changes.isEmpty {
            try await store.commit(decision.changes)
            committed(decision.changes)
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
        let open = try await store.incidents(includeClosed: false, limit: 2).filter { $0.platform == context.platform }
        return open.count == 1 ? open[0] : nil
    }

    private func noIncident(_ command: IncidentCommand) -> CommandReply {
        if let id = command.explicitIncident {
            return CommandReply(text: "There is no incident \(id). /incident list shows the open ones.")
        }
        return CommandReply(text: "Which incident? Run this in the incident's channel or name it, e.g. \(command.verb.usage.replacingOccurrences(of: "[INC-n]", with: "INC-42")). /incident list shows the open ones.")
    }
}
