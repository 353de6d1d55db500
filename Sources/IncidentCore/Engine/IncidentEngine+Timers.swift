import Foundation

/// What happens when a durable timer comes due. Like commands, a pure decision: the scheduler claims the
/// timer, calls `fire`, and commits the result — the timer's completion, the messages and the successor
/// timer — in one transaction, so a reminder is neither lost nor posted twice.
extension IncidentEngine {
    public func fire(_ timer: ScheduledTimer, incident: Incident, now: Date, overrides: [String: [OnCallOverride]] = [:]) -> ChangeSet {
        var transition = Transition(incident: incident, isNew: false, now: now, actor: nil)
        transition.announceQueue = announcePostsQueue(for: incident.platform)
        switch timer.kind {
        case .updateReminder: remindToUpdate(timer, in: &transition, overrides: overrides)
        case .ackTimeout: escalateUnacknowledged(timer, in: &transition, overrides: overrides)
        case .longRunning: escalateLongRunning(in: &transition, overrides: overrides)
        case .monitoringWindow: closeAfterMonitoring(in: &transition)
        case .reviewReminder: remindOfReview(in: &transition)
        case .alertDigest: postAlertDigest(in: &transition)
        case .policyRule: firePolicyRule(timer, in: &transition, overrides: overrides)
        }
        var changes = transition.changes.isEmpty ? ChangeSet() : finish(transition)
        changes.completeTimer = (timer.id, timer.leaseOwner ?? "")
        return changes
    }

    /// A missed update. After downtime it posts once, saying how many reminders were missed, and the
    /// next one keeps the original cadence (due times stay on the `lastUpdate + n × cadence` grid).
    private func remindToUpdate(_ timer: ScheduledTimer, in transition: inout Transition, overrides: [String: [OnCallOverride]]) {
        let incident = transition.incident
        guard incident.isOpen, let every = updateCadence(incident), every.seconds > 0 else { return }
        let now = transition.now
        let cadence = every.timeInterval
        // Whole cadences past this reminder's due time: the later reminders that came due meanwhile.
        let skipped = max(0, Int((now.timeIntervalSince(timer.dueAt) / cadence).rounded(.down)))
        let remindersSinceUpdate = timer.step + skipped + 1
        // After downtime this one post stands for every reminder that came due while none could be sent,
        // itself included: 47 min without an update on a 15-min cadence is "3 missed" (15, 30, 45).
        // A reminder late by less than a cadence is only late.
        let missed = skipped > 0 ? skipped + 1 : 0

        var values = self.values(incident, now: now)
        values["owner"] = mention(incident.owner)
        values["sinceLastUpdate"] = TimeSpan.humanReadable(now.timeIntervalSince(incident.lastUpdateAt))
        if missed > 0 { values["missed"] = missed }
        transition.log(
            .reminder,
            "Update reminder to \(mention(incident.owner)): no update for \(values["sinceLastUpdate"]!)"
                + (missed > 0 ? " (\(missed) missed while Klaxon was down)" : ""))
        transition.post(.incidentRoom, render("reminder", values, for: transition.incident))
        transition.schedule(.updateReminder, at: timer.dueAt.addingTimeInterval(cadence * Double(skipped + 1)), step: remindersSinceUpdate)

        // Overdue: the escalation chain hears of it once per silent stretch, when it crosses the threshold.
        let threshold = max(1, config.incidents.overdueAfterCadences)
        if remindersSinceUpdate >= threshold, timer.step < threshold {
            if let (level, recipients) = nextEscalation(
                after: incident.escalationLevel, severity: incident.severity, platform: incident.platform, at: now, overrides: overrides)
            {
                transition.incident.escalationLevel = level
                escalate(
                    to: recipients, level: level, reason: "has had no update for \(values["sinceLastUpdate"]!) (\(threshold)× the \(every) cadence)",
                    in: &transition)
            }
        }
    }

    /// Nobody acknowledged: notify the chain step by step (`step` counts through the chain, repeated
    /// `repeatEscalation` times). Step 0 was paged at declaration; each later step waits its own `after`
    /// from when the step before it fired (docs/paging.md), the second one the severity's `ackWithin`.
    private func escalateUnacknowledged(_ timer: ScheduledTimer, in transition: inout Transition, overrides: [String: [OnCallOverride]]) {
        let incident = transition.incident
        guard incident.isOpen, incident.acknowledgedAt == nil else { return }
        let chain = config.escalationChain(for: incident.severity)
        let policy = config.severity(id: incident.severity)
        let waited = TimeSpan.humanReadable(transition.now.timeIntervalSince(incident.declaredAt))
        let rounds = config.oncall.repeatEscalation + 1
        guard !chain.isEmpty, timer.step < chain.count * rounds else {
            transition.log(.escalation, "Still unacknowledged after \(waited); the escalation chain is exhausted")
            transition.post(
                .incidentRoom,
                "⚠️ \(incident.id) is still unacknowledged after \(waited) and the escalation chain is exhausted. Anyone: /incident ack \(incident.id)")
            transition.post(.announce, "⚠️ \(incident.id) (\(severityLabel(incident))) \(incident.title) is still unacknowledged after \(waited).")
            return
        }
        let level = timer.step % chain.count
        let recipients = recipients(for: chain[level].notify, on: incident.platform, at: transition.now, overrides: overrides)
        transition.incident.escalationLevel = max(incident.escalationLevel, level)
        escalate(to: recipients, level: level, reason: "was not acknowledged within \(waited)", in: &transition)

        let next = timer.step + 1
        let nextLevel = next % chain.count
        let gap: TimeInterval
        if nextLevel == 0 {
            // Starting the chain over: wait as long as the first acknowledgement window.
            gap = policy.flatMap(firstAcknowledgementWait)?.timeInterval ?? 300
        } else {
            gap = chain[nextLevel].after.timeInterval
        }
        transition.schedule(.ackTimeout, at: transition.now.addingTimeInterval(max(gap, 1)), step: next)
    }

    /// Runbook 000: a P0 ongoing over an hour goes to leadership; runbook 004: a customer-facing outage over an hour.
    private func escalateLongRunning(in transition: inout Transition, overrides: [String: [OnCallOverride]]) {
        let incident = transition.incident
        guard incident.isOpen else { return }
        let open = TimeSpan.humanReadable(transition.now.timeIntervalSince(incident.declaredAt))
        guard
            let (level, recipients) = nextEscalation(
                after: incident.escalationLevel, severity: incident.severity, platform: incident.platform, at: transition.now, overrides: overrides)
        else {
            transition.log(.escalation, "Open for \(open); no escalation chain configured")
            transition.post(.announce, "⏳ \(incident.id) (\(severityLabel(incident))) \(incident.title) has been open for \(open).")
            return
        }
        transition.incident.escalationLevel = level
        escalate(to: recipients, level: level, reason: "has been open for \(open)", in: &transition)
    }

    /// Runbook 000: "All systems stable. Monitoring for 30 min." then "INCIDENT CLOSED".
    private func closeAfterMonitoring(in transition: inout Transition) {
        guard transition.incident.status == .resolved else { return }
        closeIncident(&transition, by: "Klaxon after the monitoring window (no further issues reported)")
    }

    private func remindOfReview(in transition: inout Transition) {
        var values = self.values(transition.incident, now: transition.now)
        values["due"] = "now"
        if let file = postmortemFile(transition.incident) { values["postmortemFile"] = file }
        transition.log(.reminder, "Post-incident review due")
        let text = render("review", values, for: transition.incident)
        transition.post(.incidentRoom, text)
        transition.post(.announce, text)
        // 001-18: whoever writes the post-mortem hears it directly, not only in a busy channel.
        if let author = transition.incident.roles[.author], !author.isAlertSource {
            transition.post(.direct(userID: author.id), text)
        }
    }
}
