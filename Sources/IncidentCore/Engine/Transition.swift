import Foundation

/// Collects everything one command does to one incident — the new incident value, timeline lines,
/// messages and timers — and turns it into a `ChangeSet` the store writes in one transaction.
struct Transition {
    var incident: Incident
    /// The incident as read before the change; nil when it is new.
    let original: Incident?
    /// The revision read before the change; nil when the incident is new.
    var readRevision: Int? { original?.revision }
    let now: Date
    let actor: ChatUser?
    var changes = ChangeSet()
    /// The queue the incident's other posts to the announce channel wait in (channel mode), so that its room
    /// never waits behind that channel's pace; nil: in the incident's own queue (thread mode, where the room
    /// is a thread of that channel and shares its pace anyway).
    var announceQueue: String?

    init(incident: Incident, isNew: Bool, now: Date, actor: ChatUser?) {
        self.incident = incident
        self.original = isNew ? nil : incident
        self.now = now
        self.actor = actor
    }

    mutating func log(_ kind: TimelineKind, _ text: String) {
        changes.timeline.append(TimelineEntry(incidentID: incident.id, at: now, kind: kind, actor: actor, text: text))
    }

    mutating func send(_ action: ChatAction) {
        var queue: String?
        if case .post(to: .announce, _, _) = action { queue = announceQueue }
        changes.outbox.append(NewOutboxMessage(platform: incident.platform, incidentID: incident.id, action: action, queue: queue))
    }

    /// A new incident's announcement, in the announce channel's own queue (`OutboxQueue.announcements`).
    mutating func announceNewIncident(_ text: String, channel: String) {
        changes.outbox.append(
            NewOutboxMessage(
                platform: incident.platform, incidentID: incident.id, action: .post(to: .announce, text: text, buttons: []),
                queue: OutboxQueue.announcements(channel: channel)))
    }

    mutating func post(_ target: MessageTarget, _ text: String, buttons: [MessageButton] = []) {
        send(.post(to: target, text: text, buttons: buttons))
    }

    mutating func schedule(_ kind: TimerKind, at dueAt: Date, step: Int = 0, rule: String = "") {
        changes.timers.removeAll { $0.kind == kind && $0.rule == rule }
        changes.timers.append(NewTimer(incidentID: incident.id, kind: kind, dueAt: dueAt, step: step, rule: rule))
    }

    mutating func cancel(_ kinds: TimerKind...) {
        for kind in kinds {
            changes.timers.removeAll { $0.kind == kind && $0.rule.isEmpty }
            changes.cancelTimers.append((incident.id, kind))
        }
    }

    /// Cancels the pending timer of one policy rule.
    mutating func cancelRule(_ key: String) {
        changes.timers.removeAll { $0.kind == .policyRule && $0.rule == key }
        changes.cancelRuleTimers.append((incident.id, key))
    }

    /// The change set, with the incident written last so its new revision covers everything above.
    func finished() -> ChangeSet {
        var result = changes
        result.incidents.append(IncidentWrite(incident: incident, expectedRevision: readRevision))
        return result
    }

    /// The change set of a command that only adds to the timeline (a note): without the incident, so it
    /// bumps no revision and never conflicts with anything else done to the incident meanwhile.
    func appendedOnly() -> ChangeSet {
        assert(incident == original, "appendedOnly() for a transition that changed the incident")
        return changes
    }
}
