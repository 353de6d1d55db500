import Foundation

/// The incident lifecycle as a pure function: given a command, the incident it is about (as read from
/// the store), the time and who is on call, it decides the reply and the change set. It performs no I/O,
/// so every rule here is tested without a database, a network or a real clock.
public struct IncidentEngine: Sendable {
    public let config: KlaxonConfig
    let templates: TemplateRenderer
    let namer: ChannelNamer
    let format: Formatting
    /// Pager-webhook calls per person, shared by every copy of the engine; the daemon records committed
    /// change sets into it (`PageThrottle.record`).
    public let pageThrottle: PageThrottle
    /// Every configured rotation's schedule, made once: a declaration asks who is on call for each
    /// rotation (its templates, its pages), and making a schedule (its zone, its first hand-off) cost more
    /// than the question.
    let schedules: [String: RotationSchedule]

    public init(config: KlaxonConfig) throws {
        self.config = config
        self.pageThrottle = PageThrottle(limits: config.paging.throttle)
        var scoped: [TemplateScope: [String: String]] = [:]
        for policy in config.severities where !policy.templates.isEmpty { scoped[.severity(policy.id)] = policy.templates }
        for type in config.incidentTypes where !type.templates.isEmpty { scoped[.type(type.id)] = type.templates }
        self.templates = try TemplateRenderer(overrides: config.templates, scoped: scoped)
        let zone = TimeZone(identifier: config.incidents.timeZone) ?? TimeZone(identifier: "UTC")!
        self.namer = ChannelNamer(template: config.incidents.channelName, timeZone: zone)
        self.format = Formatting(zone: zone)
        self.schedules = RotationSchedule.all(config.oncall)
    }

    /// `rotation`'s schedule (the one made at start-up when the config has it).
    func schedule(of rotation: RotationConfig) -> RotationSchedule {
        RotationSchedule.of(rotation, in: schedules)
    }

    /// The day string `{seq}` counts within, for `IncidentStore.allocateIncidentNumber(day:)`.
    public func numberingDay(of date: Date) -> String { namer.day(of: date) }

    /// The period `{seq}` of `incidents.idFormat` counts within at `date` (`2026`), or nil when the format
    /// has no `{seq}` and the store need not count one.
    public func labelScope(of date: Date) -> String? {
        config.incidents.idFormat.usesSequence ? config.incidents.idFormat.scope(of: date, zone: format.zone) : nil
    }

    /// `id` with the label `incidents.idFormat` gives the incident declared at `date` (the default format
    /// gives none: `INC-<n>` is the id's own description).
    public func labeled(_ id: IncidentID, sequence: Int?, declaredAt date: Date) -> IncidentID {
        let idFormat = config.incidents.idFormat
        guard !idFormat.isStandard else { return id }
        return IncidentID(id.number, label: idFormat.label(number: id.number, sequence: sequence, date: date, zone: format.zone))
    }

    /// Whether `decide` looks at who is on call for `command` (and so needs the active overrides): the
    /// commands that page or show the rotation. The others get none, so every path that reaches
    /// `recipients(for:…)` or a rotation schedule must be listed here.
    public static func consultsOnCall(_ command: IncidentCommand) -> Bool {
        switch command {
        case .declare, .oncall, .severity, .page, .escalate, .report, .setType: true
        case .ack, .update, .status, .role, .note, .mitigate, .resolve, .close, .reopen, .timeline, .postmortem, .list, .component, .action, .stats, .help,
            .statusCard, .set, .cadence:
            false
        }
    }

    /// Decides a state-changing command. `incident` is the target the caller resolved (nil for declare);
    /// `allocation` is the number reserved for a declare; `overrides` maps rotation id → active overrides.
    public func decide(
        _ command: IncidentCommand, context: CommandContext, incident: Incident?,
        allocation: (id: IncidentID, daySequence: Int)? = nil, now: Date, overrides: [String: [OnCallOverride]] = [:]
    ) -> Decision {
        // Here, where user text enters the core, so every platform and every message built from it
        // (posts, topics, replies, the stored title) gets the harmless form.
        let command = config.incidents.allowBroadcastMentions ? command : command.mappingFreeText(BroadcastMentions.neutralized)
        if let refusal = permissionRefusal(command, context: context, incident: incident, now: now, overrides: overrides) {
            return refusal
        }
        var decision: Decision
        switch command {
        case .declare(let severity, let title, let type):
            guard let allocation else { return .rejected("Internal error: no incident number was reserved.") }
            // `/incident SEV1 payments: Payment processing down` (002-10): the service, then the title. Typed
            // declarations only: an alert's title is the monitoring system's, colons and all.
            let (service, title) = ServicePrefix.split(title)
            decision = declare(
                severity: severity, title: title, type: type, service: service, context: context, allocation: allocation, now: now,
                overrides: overrides)
        case .oncall(let onCall):
            decision = self.onCall(onCall, context: context, now: now, overrides: overrides)
        case .help(let verb):
            decision = Decision(reply: CommandReply(text: Help.text(for: verb, config: config)), outcome: .answered)
        case .list, .timeline, .postmortem, .stats, .statusCard, .set(_, nil):
            // Read-only: `CommandService` reads what they show and calls the renderers below.
            return .rejected("Internal error: \(command.verb.rawValue) is answered from the store.")
        default:
            guard let incident else { return .rejected("No incident here. Run this in an incident channel or name it: \(command.verb.usage)") }
            decision = change(incident, by: command, context: context, now: now, overrides: overrides)
        }
        if decision.outcome == .applied {
            decision.changes.inboundKey = context.inboundKey
        }
        return decision
    }

    // MARK: - Declare

    func declare(
        severity token: String, title: String, type typeToken: String? = nil, service: String? = nil, context: CommandContext,
        allocation: (id: IncidentID, daySequence: Int), now: Date, overrides: [String: [OnCallOverride]]
    ) -> Decision {
        guard let policy = config.severity(named: token) else {
            return .rejected("Unknown severity \"\(token)\". Use one of: \(config.severities.map(\.id).joined(separator: ", ")).")
        }
        var incidentType: IncidentTypeConfig?
        if let typeToken {
            guard let known = config.incidentType(id: typeToken) else { return unknownType(typeToken, incident: nil) }
            incidentType = known
        }
        let name = namer.name(
            id: allocation.id, daySequence: allocation.daySequence, title: title, severity: policy.id, declaredAt: now,
            rules: ChannelNameRules.rules(for: context.platform), service: service)
        var incident = Incident(
            id: allocation.id, title: title, severity: policy.id, platform: context.platform, origin: context.conversation,
            channelName: name, declaredBy: context.user, declaredAt: now)
        incident.type = incidentType?.id
        if let service { incident.facts = [IncidentFact.service.rawValue: FactValue(text: service, setAt: now, setBy: context.user)] }
        var transition = Transition(incident: incident, isNew: true, now: now, actor: context.user)
        transition.announceQueue = announcePostsQueue(for: incident.platform)
        transition.log(.declared, "\(policy.label) declared by \(mention(context.user)): \(title)" + (incidentType.map { " (type \($0.id))" } ?? ""))
        if let service { transition.log(.fact, "\(IncidentFact.service.label): \(service) · from the title") }

        let paged = policy.page ? recipients(for: firstEscalationTargets(severity: policy.id), on: context.platform, at: now, overrides: overrides) : .nobody
        var invite = context.user.isAlertSource ? [] : [context.user.id]
        for user in paged.users where !invite.contains(user.id) { invite.append(user.id) }

        var values = self.values(incident, now: now)
        values.merge(onCallValues(on: context.platform, at: now, overrides: overrides)) { _, onCall in onCall }
        if !paged.users.isEmpty { values["paged"] = paged.users.map(mention).joined(separator: ", ") }
        // A severity opened as a ticket gets no channel: its messages go where it was declared (every
        // platform posts to the origin while an incident has no room), and its issue is the record.
        if policy.openAs == .channel {
            let announcement = render("announcement", values, for: incident)
            if config.incidents.mode == .channel {
                // Its own message in the announce channel's queue: the room, its first post and the pages go
                // out as soon as the platform allows, not after every announcement queued before this one.
                transition.send(.openRoom(name: name, topic: topic(incident), announcement: "", invite: invite))
                transition.announceNewIncident(announcement, channel: config.platforms.announceChannel(for: context.platform) ?? "incidents")
            } else {
                transition.send(.openRoom(name: name, topic: topic(incident), announcement: announcement, invite: invite))
            }
        }
        transition.post(.incidentRoom, render("initialAlert", values, for: incident), buttons: buttons(for: incident))
        if let ticket = policy.ticket {
            fileTicket(ticket, in: &transition)
        }
        if policy.page {
            page(paged, reason: "declared", in: &transition)
        }
        if policy.page { transition.incident.pagedAt = now }
        if policy.page, let wait = firstAcknowledgementWait(policy) {
            transition.schedule(.ackTimeout, at: now.addingTimeInterval(wait.timeInterval), step: 1)
        }
        if let every = policy.updateEvery {
            transition.schedule(.updateReminder, at: now.addingTimeInterval(every.timeInterval))
        }
        if let after = policy.escalateAfter {
            transition.schedule(.longRunning, at: now.addingTimeInterval(after.timeInterval))
        }
        armRules(from: [.declared, .lastUpdate], in: &transition)

        var lines = ["Declared \(incident.id) · \(policy.label)" + (incidentType.map { " · \($0.name)" } ?? "") + " · \(title)"]
        lines.append(
            policy.openAs == .channel ? "Channel: #\(name)" : "No channel: filed as a ticket in \(policy.ticket.map(\.to.description) ?? "the tracker")")
        if policy.openAs == .channel, let ticket = policy.ticket { lines.append("Ticket: filed in \(ticket.to)") }
        if let service { lines.append("Service: \(service) (from the title; change it with /incident set service <name>)") }
        if policy.page {
            lines.append(
                paged.users.isEmpty
                    ? "Nobody could be paged on \(context.platform): check `people` and `oncall` in the config."
                    : "Paged: \(paged.users.map(mention).joined(separator: ", "))")
        }
        if let every = policy.updateEvery {
            lines.append("Updates every \(every): /incident update \(incident.id) <what changed>")
        }
        return Decision(
            reply: CommandReply(text: lines.joined(separator: "\n"), visibility: .inChannel, incidentID: incident.id), changes: finish(transition),
            outcome: .applied)
    }

    // MARK: - Changes to an existing incident

    private func change(_ incident: Incident, by command: IncidentCommand, context: CommandContext, now: Date, overrides: [String: [OnCallOverride]])
        -> Decision
    {
        var transition = Transition(incident: incident, isNew: false, now: now, actor: context.user)
        transition.announceQueue = announcePostsQueue(for: incident.platform)
        let who = mention(context.user)
        let id = incident.id
        let reply: String

        switch command {
        case .ack:
            if let at = incident.acknowledgedAt {
                return .rejected("\(id) was already acknowledged by \(incident.acknowledgedBy.map(mention) ?? "someone") at \(format.clock(at)).", incident: id)
            }
            guard incident.isOpen else { return notOpen(incident) }
            transition.incident.acknowledgedAt = now
            transition.incident.acknowledgedBy = context.user
            if transition.incident.status == .declared {
                transition.incident.status = .acknowledged
                // The topic and status cards say "Declared" until told otherwise.
                transition.send(.setTopic(topic: topic(transition.incident)))
            }
            transition.cancel(.ackTimeout)
            armRules(from: [.acknowledged], in: &transition)
            // 002-07 "This will: Update status page": an incident marked public-facing but not yet published
            // goes on the status page now. One already published says "investigating" already, and the ack
            // itself is internal (who acknowledged is nobody's business outside).
            if incident.isPublicFacing, !incident.isPublished {
                publish(.investigating, text: render("publicAcknowledged", values(transition.incident, now: now), for: transition.incident), in: &transition)
            }
            let after = Formatting.span(from: incident.declaredAt, to: now)
            notifyPagers(.acknowledged, people: [], reason: "by \(plainName(context.user)) after \(after)", in: &transition)
            transition.log(.acknowledged, "Acknowledged by \(who) after \(after)")
            transition.post(.incidentRoom, "✅ \(who) acknowledged \(id) after \(after). Escalation stopped.")
            reply = "Acknowledged \(id) after \(after)."

        case .update(_, let text):
            guard incident.isOpen else { return notOpen(incident) }
            postUpdate(text: text, status: nil, in: &transition)
            reply = "Update posted to \(id)." + nextUpdateHint(transition.incident, now: now)

        case .status(_, let status, let text):
            guard IncidentStatus.settableByStatusCommand.contains(status) else {
                return .rejected(
                    "Status \(status.rawValue) cannot be set directly. Use one of: \(IncidentStatus.settableByStatusCommand.map(\.rawValue).joined(separator: ", ")).",
                    incident: id)
            }
            if status == .resolved { return resolve(incident, text: text, context: context, now: now, published: true) }
            guard incident.isOpen else { return notOpen(incident) }
            postUpdate(text: text ?? "Status: \(status.label)", status: status, in: &transition)
            publish(PublicState(status), text: text, in: &transition)
            reply = "\(id) is now \(status.label)." + nextUpdateHint(transition.incident, now: now)

        case .severity(_, let token):
            guard let policy = config.severity(named: token) else {
                return .rejected("Unknown severity \"\(token)\". Use one of: \(config.severities.map(\.id).joined(separator: ", ")).", incident: id)
            }
            guard policy.id != incident.severity else { return .rejected("\(id) is already \(policy.label).", incident: id) }
            guard incident.isOpen else { return notOpen(incident) }
            changeSeverity(&transition, to: policy, because: "by \(who)", overrides: overrides)
            reply = "\(id) is now \(policy.label)." + nextUpdateHint(transition.incident, now: now)

        case .role(_, let role, let user):
            guard incident.status != .closed else { return notOpen(incident) }
            if incident.roles[role]?.id == user.id {
                return .rejected("\(mention(user)) is already \(role.label) of \(id).", incident: id)
            }
            transition.incident.roles[role] = user
            transition.log(.role, "\(mention(user)) is \(role.label) (set by \(who))")
            transition.post(.incidentRoom, "\(mention(user)) is now \(role.label) of \(id).")
            transition.send(.invite(userIDs: [user.id]))
            if role == .commander { transition.send(.setTopic(topic: topic(transition.incident))) }
            reply = "\(mention(user)) is now \(role.label) of \(id)."

        case .note(_, let text):
            transition.log(.note, "\(who): \(text)")
            reply = "Noted in the timeline of \(id)."

        case .set(_, let assignment?):
            // Facts are kept whatever the status: root cause and fix are often known only after the end.
            if let refusal = setFact(assignment, in: &transition, by: context.user) { return refusal }
            reply = "\(assignment.fact.label) of \(id): \(transition.incident.fact(assignment.fact)?.text ?? "")"

        case .report(_, let text):
            transition.log(.report, "Report from \(who): \(text)")
            let counted = countReports(1, in: &transition, overrides: overrides)
            reply = "Report added to \(id)" + (counted.map { " (\($0))." } ?? ".")

        case .mitigate(_, let text):
            guard incident.isOpen else { return notOpen(incident) }
            guard incident.mitigatedAt == nil else { return .rejected("\(id) was already mitigated at \(format.clock(incident.mitigatedAt!)).", incident: id) }
            transition.incident.mitigatedAt = now
            transition.incident.status = .mitigated
            armRules(from: [.mitigated], in: &transition)
            let after = Formatting.span(from: incident.declaredAt, to: now)
            transition.log(.mitigated, "Mitigated by \(who) after \(after)" + (text.map { ": \($0)" } ?? ""))
            transition.post(.incidentRoom, "🩹 \(id) mitigated after \(after)." + (text.map { " \($0)" } ?? "") + " Keep updating until it is resolved.")
            transition.send(.setTopic(topic: topic(transition.incident)))
            reply = "\(id) marked mitigated after \(after)."

        case .resolve(_, let text, let monitor):
            return resolve(incident, text: text, context: context, now: now, monitor: monitor)

        case .close(_, let text):
            return close(incident, text: text, context: context, now: now)

        case .reopen:
            guard !incident.isOpen else { return .rejected("\(id) is still open (\(incident.status.label)).", incident: id) }
            reopen(&transition, by: who)
            reply = "Reopened \(id)." + nextUpdateHint(transition.incident, now: now)

        case .page(_, let target):
            guard incident.status != .closed else { return notOpen(incident) }
            let paged: Recipients
            switch target {
            case .user(let user): paged = recipients(user: user, on: incident.platform)
            case .rotation(let rotation):
                guard config.oncall.rotation(id: rotation) != nil else {
                    return .rejected("Unknown rotation \"\(rotation)\". Rotations: \(config.oncall.rotations.map(\.id).joined(separator: ", ")).", incident: id)
                }
                paged = recipients(for: [.rotation(rotation)], on: incident.platform, at: now, overrides: overrides)
                guard !paged.users.isEmpty else { return .rejected("Nobody on rotation \(rotation) can be reached on \(incident.platform).", incident: id) }
            }
            let users = paged.users
            page(paged, reason: "paged by \(who)", in: &transition)
            transition.send(.invite(userIDs: users.map(\.id)))
            reply = "Paged \(users.map(mention).joined(separator: ", ")) for \(id)."

        case .escalate:
            guard incident.isOpen else { return notOpen(incident) }
            guard
                let (level, recipients) = nextEscalation(
                    after: incident.escalationLevel, severity: incident.severity, platform: incident.platform, at: now, overrides: overrides)
            else {
                return .rejected("No escalation chain is configured (`oncall.escalation`).", incident: id)
            }
            let users = recipients.users
            transition.incident.escalationLevel = level
            escalate(to: recipients, level: level, reason: "was escalated by \(who)", in: &transition)
            reply = "Escalated \(id) to \(users.isEmpty ? "nobody reachable" : users.map(mention).joined(separator: ", "))."

        case .setType(_, let token):
            guard let type = config.incidentType(id: token) else { return unknownType(token, incident: id) }
            guard incident.type != type.id else { return .rejected("\(id) is already a \(type.name) incident.", incident: id) }
            guard incident.status != .closed else { return notOpen(incident) }
            let before = rulesInForce(incident)
            let old = incident.type
            transition.incident.type = type.id
            transition.log(.type, "Type \(old.map { "\($0) → " } ?? "")\(type.id) (set by \(who))")
            transition.post(.incidentRoom, "🏷️ \(id) is now a \(type.name) incident (set by \(who)).")
            transition.send(.setTopic(topic: topic(transition.incident)))
            rearmRules(before: before, in: &transition)
            reply = "\(id) is now a \(type.name) incident."

        case .component(_, let name):
            switch setComponent(name, in: &transition, by: who) {
            case .success(let text): reply = text
            case .failure(let refusal): return .rejected(refusal.message, incident: id)
            }

        case .action(_, let action):
            switch changeActionItems(action, in: &transition, by: who) {
            case .success(let text): reply = text
            case .failure(let refusal): return .rejected(refusal.message, incident: id)
            }

        case .cadence(_, let change):
            guard incident.isOpen else { return notOpen(incident) }
            switch setCadence(change, in: &transition, by: who) {
            case .success(let text): reply = text
            case .failure(let refusal): return .rejected(refusal.message, incident: id)
            }

        case .declare, .list, .timeline, .postmortem, .oncall, .stats, .help, .statusCard, .set(_, nil):
            return .rejected("Internal error: \(command.verb.rawValue) is not a change.")
        }
        if case .note = command {
            return Decision(reply: CommandReply(text: reply, incidentID: id), changes: transition.appendedOnly(), outcome: .applied)
        }
        return Decision(reply: CommandReply(text: reply, visibility: .inChannel, incidentID: id), changes: finish(transition), outcome: .applied)
    }

    /// Back to investigating: the update and long-running clocks start again, the review waits.
    func reopen(_ transition: inout Transition, by who: String) {
        transition.incident.status = .investigating
        transition.incident.resolvedAt = nil
        transition.incident.closedAt = nil
        transition.incident.mitigatedAt = nil
        transition.incident.lastUpdateAt = transition.now
        transition.cancel(.monitoringWindow, .reviewReminder)
        let rules = rulesInForce(transition.incident)
        disarm(rules.filter { $0.rule.from == .resolved }, in: &transition)
        armRules(from: [.lastUpdate], in: &transition, rules: rules)
        armRules(from: [.declared, .acknowledged], in: &transition, rules: rules, onlyFuture: true)
        if let policy = config.severity(id: transition.incident.severity) {
            if let every = updateCadence(transition.incident) {
                transition.schedule(.updateReminder, at: transition.now.addingTimeInterval(every.timeInterval))
            }
            // Counted from the reopening: the incident was believed over, and its second life is what
            // leadership must hear about if it drags on.
            if let after = policy.escalateAfter { transition.schedule(.longRunning, at: transition.now.addingTimeInterval(after.timeInterval)) }
        }
        if transition.incident.isPublished { publish(.investigating, text: nil, in: &transition) }
        reopenTicket(by: who, in: &transition)
        transition.log(.reopened, "Reopened by \(who)")
        transition.post(.incidentRoom, "🔁 \(transition.incident.id) reopened by \(who). Status: Investigating.")
        transition.post(
            .announce, "🔁 \(transition.incident.id) (\(transition.incident.severity.uppercased())) \(transition.incident.title) was reopened by \(who).")
        transition.send(.setTopic(topic: topic(transition.incident)))
    }

    /// A new severity: posted, re-timed, paged if it pages now and did not before.
    func changeSeverity(_ transition: inout Transition, to policy: SeverityPolicy, because reason: String, overrides: [String: [OnCallOverride]]) {
        let old = config.severity(id: transition.incident.severity)
        let change = "\(old?.label ?? transition.incident.severity.uppercased()) → \(policy.label)"
        let rulesBefore = rulesInForce(transition.incident)
        transition.incident.severity = policy.id
        rearmRules(before: rulesBefore, in: &transition)
        transition.log(.severity, "Severity \(change) \(reason)")
        transition.post(.incidentRoom, "Severity of \(transition.incident.id) changed \(change) \(reason).")
        transition.send(.setTopic(topic: topic(transition.incident)))
        retime(&transition, from: old, to: policy, now: transition.now, overrides: overrides)
    }

    /// `published`: the text came with `/incident status resolved "…"`, so it is public.
    private func resolve(_ incident: Incident, text: String?, context: CommandContext, now: Date, published: Bool = false, monitor: TimeSpan? = nil) -> Decision
    {
        guard incident.isOpen else { return .rejected("\(incident.id) is already \(incident.status.label.lowercased()).", incident: incident.id) }
        var transition = Transition(incident: incident, isNew: false, now: now, actor: context.user)
        transition.announceQueue = announcePostsQueue(for: incident.platform)
        if published { publish(.resolved, text: text, in: &transition) }
        markResolved(&transition, text: text, by: context.user, scheduleMonitoring: true, monitor: monitor)
        let duration = Formatting.span(from: incident.declaredAt, to: now)
        let watch = monitoringWindow(incident, asked: monitor).map { " Monitoring for \(TimeSpan.humanReadable($0.timeInterval)), then it closes." } ?? ""
        return Decision(
            reply: CommandReply(text: "Resolved \(incident.id) after \(duration).\(watch)", visibility: .inChannel, incidentID: incident.id),
            changes: finish(transition), outcome: .applied)
    }

    private func close(_ incident: Incident, text: String?, context: CommandContext, now: Date) -> Decision {
        guard incident.status != .closed else { return .rejected("\(incident.id) is already closed.", incident: incident.id) }
        var transition = Transition(incident: incident, isNew: false, now: now, actor: context.user)
        transition.announceQueue = announcePostsQueue(for: incident.platform)
        if incident.isOpen {
            markResolved(&transition, text: text, by: context.user, scheduleMonitoring: false)
        } else if let text, transition.incident.resolution == nil {
            transition.incident.resolution = text
        }
        closeIncident(&transition, by: mention(context.user))
        return Decision(
            reply: CommandReply(text: "Closed \(incident.id). Summary posted.", visibility: .inChannel, incidentID: incident.id),
            changes: finish(transition), outcome: .applied)
    }

    /// Resolution: stops reminders and escalation, starts the review clock (and the monitoring window).
    func markResolved(_ transition: inout Transition, text: String?, by user: ChatUser?, scheduleMonitoring: Bool, monitor: TimeSpan? = nil) {
        let now = transition.now
        transition.incident.status = .resolved
        transition.incident.resolvedAt = now
        if transition.incident.mitigatedAt == nil { transition.incident.mitigatedAt = now }
        if let text { transition.incident.resolution = text }
        transition.cancel(.updateReminder, .ackTimeout, .longRunning)
        let rules = rulesInForce(transition.incident)
        disarm(rules.filter { $0.rule.from != .resolved }, in: &transition)
        armRules(from: [.resolved], in: &transition, rules: rules)
        notifyPagers(.resolved, people: [], reason: user.map { "by \(plainName($0))" } ?? "by Klaxon", in: &transition)
        // A published incident tells the public it is over, even when only chat was told how.
        if transition.incident.isPublished, transition.incident.publicUpdates?.last?.state != .resolved {
            publish(.resolved, text: nil, in: &transition)
        }
        let policy = config.severity(id: transition.incident.severity)
        var reviewDue: Date?
        if let within = policy?.reviewWithin {
            reviewDue = now.addingTimeInterval(within.timeInterval)
            transition.schedule(.reviewReminder, at: reviewDue!)
        }
        let window = scheduleMonitoring ? monitoringWindow(transition.incident, asked: monitor) : nil
        if let window {
            transition.schedule(.monitoringWindow, at: now.addingTimeInterval(window.timeInterval))
        }
        let by = user.map { " by \(mention($0))" } ?? ""
        let watched = monitor.map { " · monitoring for \($0) (--monitor)" } ?? ""
        transition.log(.resolved, "Resolved\(by)" + (text.map { ": \($0)" } ?? "") + watched)
        var values = self.values(transition.incident, now: now)
        if let window { values["monitorFor"] = TimeSpan.humanReadable(window.timeInterval) }
        values["time"] = format.clock(now)
        values["text"] = text ?? transition.incident.resolution
        values["duration"] = Formatting.span(from: transition.incident.declaredAt, to: now)
        values["reviewDue"] = reviewDue.map(format.stamp)
        let message = render("resolution", values, for: transition.incident)
        transition.post(.incidentRoom, message)
        transition.post(.announce, message)
        transition.send(.setTopic(topic: topic(transition.incident)))
        addChecklist(in: &transition)
        closeTicket(in: &transition)
    }

    /// 001-21: `incidents.checklist` becomes action items at the (first) resolution and is posted once.
    private func addChecklist(in transition: inout Transition) {
        var items = transition.incident.actionItems ?? []
        let missing = config.incidents.checklist.filter { step in !items.contains { $0.text == step } }
        guard !missing.isEmpty else { return }
        var lines = ["📋 After-incident checklist for \(transition.incident.id) (tick one off: /incident action done <n>):"]
        for step in missing {
            let number = (items.map(\.number).max() ?? 0) + 1
            items.append(ActionItem(number: number, text: step, owner: nil, due: nil, createdAt: transition.now))
            lines.append("\(number). \(step)")
        }
        transition.incident.actionItems = items
        transition.log(.note, "After-incident checklist added as action items \(items.count - missing.count + 1)–\(items.count)")
        transition.post(.incidentRoom, lines.joined(separator: "\n"))
    }

    /// Closing: the summary with MTTA / MTTM / MTTR goes to the room and the announce channel.
    func closeIncident(_ transition: inout Transition, by who: String) {
        let now = transition.now
        transition.incident.status = .closed
        transition.incident.closedAt = now
        transition.cancel(.monitoringWindow, .updateReminder, .ackTimeout, .longRunning)
        transition.log(.closed, "Closed by \(who)")
        let summary = render("summary", summaryValues(transition.incident, endedAt: now), for: transition.incident)
        transition.post(.incidentRoom, summary)
        transition.post(.announce, summary)
        transition.send(.setTopic(topic: topic(transition.incident)))
    }

    private func postUpdate(text: String, status: IncidentStatus?, in transition: inout Transition) {
        let now = transition.now
        if let status { transition.incident.status = status }
        if status != nil { transition.incident.publicStatus = text }
        transition.incident.lastUpdateAt = now
        transition.incident.updatesPosted = transition.incident.updateNumber + 1
        armRules(from: [.lastUpdate], in: &transition)
        transition.log(status == nil ? .update : .status, (status.map { "Status \($0.label): " } ?? "Update: ") + text)
        var values = self.values(transition.incident, now: now)
        values["text"] = text
        values["time"] = format.clock(now)
        values["updateNumber"] = String(transition.incident.updateNumber)
        if let every = updateCadence(transition.incident) {
            let next = now.addingTimeInterval(every.timeInterval)
            values["nextUpdate"] = format.clock(next)
            transition.schedule(.updateReminder, at: next)
        }
        transition.post(.incidentRoom, render("update", values, for: transition.incident))
        if status != nil { transition.send(.setTopic(topic: topic(transition.incident))) }
    }

    /// A severity change re-times the reminder (counted from the last update) and, when the new level
    /// pages and nobody has acknowledged yet, pages and starts the acknowledgement clock.
    private func retime(_ transition: inout Transition, from old: SeverityPolicy?, to policy: SeverityPolicy, now: Date, overrides: [String: [OnCallOverride]])
    {
        // The IC's own cadence (`/incident cadence`) outlives a severity change.
        if let every = updateCadence(transition.incident) {
            let due = max(now, transition.incident.lastUpdateAt.addingTimeInterval(every.timeInterval))
            transition.schedule(.updateReminder, at: due)
        } else {
            transition.cancel(.updateReminder)
        }
        if let after = policy.escalateAfter {
            transition.schedule(.longRunning, at: max(now, transition.incident.declaredAt.addingTimeInterval(after.timeInterval)))
        } else {
            transition.cancel(.longRunning)
        }
        let unacknowledged = transition.incident.acknowledgedAt == nil
        if policy.page, old?.page != true, unacknowledged {
            let paged = recipients(for: firstEscalationTargets(severity: policy.id), on: transition.incident.platform, at: now, overrides: overrides)
            page(paged, reason: "severity raised to \(policy.label)", in: &transition)
            transition.incident.pagedAt = now
            if !paged.users.isEmpty { transition.send(.invite(userIDs: paged.users.map(\.id))) }
            if let wait = firstAcknowledgementWait(policy) {
                transition.schedule(.ackTimeout, at: now.addingTimeInterval(wait.timeInterval), step: 1)
            }
        } else if policy.page, unacknowledged, transition.incident.escalationLevel == 0, let ackWithin = policy.ackWithin,
            let pagedAt = transition.incident.pagedAt, ackWithin.timeInterval < (old?.ackWithin?.timeInterval ?? .infinity)
        {
            // Raised between two paging levels before the first timeout: the stricter window applies,
            // counted from the page (SEV2 → SEV1 ten minutes in means escalating now, not at 15 min).
            transition.schedule(.ackTimeout, at: max(now, pagedAt.addingTimeInterval(ackWithin.timeInterval)), step: 1)
        } else if !policy.page || policy.ackWithin == nil {
            transition.cancel(.ackTimeout)
        }
    }

    private func unknownType(_ token: String, incident: IncidentID?) -> Decision {
        let known = config.incidentTypes.map(\.id)
        let choices = known.isEmpty ? "No incidentTypes are configured." : "Types: \(known.joined(separator: ", "))."
        return .rejected("Unknown incident type \"\(token)\". " + choices, incident: incident)
    }

    private func notOpen(_ incident: Incident) -> Decision {
        .rejected("\(incident.id) is \(incident.status.label.lowercased()). Reopen it first: /incident reopen \(incident.id)", incident: incident.id)
    }

    private func nextUpdateHint(_ incident: Incident, now: Date) -> String {
        guard incident.isOpen, let every = updateCadence(incident) else { return "" }
        return " Next update due by \(format.clock(max(now, incident.lastUpdateAt.addingTimeInterval(every.timeInterval))))."
    }
}

extension IncidentEngine {
    /// The queue of an incident's posts to the announce channel other than its announcement (channel mode:
    /// `OutboxQueue.announcePosts`); nil in thread mode, where they stay in the incident's own queue.
    func announcePostsQueue(for platform: PlatformKind) -> String? {
        guard config.incidents.mode == .channel else { return nil }
        return OutboxQueue.announcePosts(channel: config.platforms.announceChannel(for: platform) ?? "incidents")
    }
}
