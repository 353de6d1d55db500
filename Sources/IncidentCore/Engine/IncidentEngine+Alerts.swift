import Foundation
import Mustache

extension ChatUser {
    /// The actor of what an alert source's notifications do, in the timeline and the audit.
    public static func alertSource(_ id: String) -> ChatUser { ChatUser(id: "alert:\(id)", name: "\(id) alerts") }
    /// Whether this "user" is an alert source rather than a person.
    public var isAlertSource: Bool { id.hasPrefix("alert:") }
}

/// What an alert notification does to the incident of its group.
public enum AlertOutcome: Sendable {
    /// The decision for the group's incident (possibly no change at all: a repeat).
    case decided(Decision)
    /// The group's incident is over and the group fires again: it needs an incident of its own.
    case declareNew
}

/// Alerts in: a notification about an alert group opens the group's incident or feeds it (new and resolved
/// alerts in the timeline and one summary post, severity raised, never lowered), and resolves it when the
/// source says every alert is resolved and `autoResolve` is set. The storm rule counts reports.
extension IncidentEngine {
    /// Where an alert source's incidents are declared: its platform's announce channel.
    public func alertContext(_ source: AlertSourceConfig, notification: AlertNotification) -> CommandContext {
        let channel = config.platforms.announceChannel(for: source.platform) ?? "incidents"
        return CommandContext(
            platform: source.platform, conversation: Conversation(platform: source.platform, channelID: channel),
            user: .alertSource(source.id), inboundKey: "alert:\(source.id):\(StableHash.hex(notification.deliveryKey))")
    }

    /// The severity the firing alerts ask for: the worst their severity label maps to (common labels
    /// first), the source's default for alerts without a mapped value.
    public func alertSeverity(_ notification: AlertNotification, source: AlertSourceConfig) -> SeverityPolicy? {
        let mapping = source.severity
        // Through the map, else a value that names a severity itself (`sev1`, `P0`), else the default.
        func severity(of value: String?) -> String {
            guard let value else { return mapping.default }
            return mapping.map[value] ?? mapping.map[value.lowercased()] ?? config.severity(named: value)?.id ?? mapping.default
        }
        let firing = notification.alerts.filter { $0.status == .firing }
        var candidates = firing.map { alert in severity(of: alert.labels[mapping.label] ?? notification.commonLabels[mapping.label]) }
        if candidates.isEmpty { candidates = [severity(of: notification.commonLabels[mapping.label])] }
        let ranked = candidates.compactMap { id in config.severities.firstIndex { $0.id == id } }
        return ranked.min().map { config.severities[$0] } ?? config.severity(id: mapping.default)
    }

    /// The source's title template over the notification; the group key when it renders empty.
    public func alertTitle(_ notification: AlertNotification, source: AlertSourceConfig) -> String {
        // The loader compiled every source title; the group key stands in should one not render.
        let rendered = (try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source.title))?.render(notification.templateValues) ?? ""
        let title = rendered.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return monitoringText(title.isEmpty ? "Alert group \(notification.groupKey)" : title, limit: 200)
    }

    /// A new incident for a group nobody handles yet.
    public func declare(
        alert notification: AlertNotification, source: AlertSourceConfig, allocation: (id: IncidentID, daySequence: Int), now: Date,
        overrides: [String: [OnCallOverride]]
    ) -> Decision {
        guard let policy = alertSeverity(notification, source: source) else { return .rejected("No severity for source \(source.id).") }
        let context = alertContext(source, notification: notification)
        var decision = declare(
            severity: policy.id, title: alertTitle(notification, source: source), context: context, allocation: allocation, now: now,
            overrides: overrides)
        guard decision.outcome == .applied, let index = decision.changes.incidents.indices.first else { return decision }
        var incident = decision.changes.incidents[index].incident
        var state = AlertGroupState(source: source.id, groupKey: notification.groupKey)
        let applied = state.apply(notification, now: now, flapping: config.alerts.flapping)
        let (firing, resolved) = (applied.firing, applied.resolved)
        state.lastPostAt = now
        incident.alertGroup = state
        // A start in the future is a clock skew between the monitoring system and Klaxon, not a detection time.
        incident.alertStartedAt = notification.alerts.filter { $0.status == .firing }.compactMap(\.startsAt).filter { $0 <= now }.min()
        decision.changes.incidents[index].incident = incident
        for alert in firing {
            decision.changes.timeline.append(
                TimelineEntry(incidentID: incident.id, at: now, kind: .alert, actor: context.user, text: "Firing: \(describe(alert))"))
        }
        var news = PendingAlertNews()
        news.add(notification, firing: firing, resolved: resolved, line: alertLine)
        decision.changes.outbox.append(
            NewOutboxMessage(
                platform: incident.platform, incidentID: incident.id,
                action: .post(to: .incidentRoom, text: alertSummary(incident.id, news, source: source.id), buttons: [])))
        decision.changes.alertGroups.append(AlertGroupLink(source: source.id, groupKey: notification.groupKey, incidentID: incident.id))
        decision.changes.inboundKey = context.inboundKey
        return decision
    }

    /// A notification for a group whose incident exists.
    public func receive(
        alert notification: AlertNotification, source: AlertSourceConfig, incident: Incident, now: Date, overrides: [String: [OnCallOverride]]
    ) -> AlertOutcome {
        let context = alertContext(source, notification: notification)
        var state = incident.alertGroup ?? AlertGroupState(source: source.id, groupKey: notification.groupKey)
        let delta = state.apply(notification, now: now, flapping: config.alerts.flapping)
        let (firing, resolved) = (delta.firing, delta.resolved)
        if !incident.isOpen {
            // Over, and only news of alerts firing again changes that: within `reopenWithin` of an
            // (un-closed) resolution the same incident comes back, later a new one opens. A human's
            // resolution stands against repeats of alerts already known.
            guard !firing.isEmpty else { return .decided(unchanged(incident)) }
            let reopens =
                incident.status == .resolved
                && source.reopenWithin.map { within in incident.resolvedAt.map { now.timeIntervalSince($0) <= within.timeInterval } ?? false } ?? false
            guard reopens else { return .declareNew }
        }
        guard !firing.isEmpty || !resolved.isEmpty || !delta.startedFlapping.isEmpty || delta.flappingChanges > 0 else {
            return .decided(unchanged(incident))
        }

        var transition = Transition(incident: incident, isNew: false, now: now, actor: context.user)
        transition.announceQueue = announcePostsQueue(for: incident.platform)
        if !incident.isOpen { reopen(&transition, by: plainName(context.user)) }
        for alert in firing { transition.log(.alert, "Firing: \(describe(alert))") }
        for alert in resolved { transition.log(.alert, "Resolved: \(monitoringText(alert.displayName, limit: 500))") }

        // One summary post per `postEvery` at most: news that comes sooner waits for the digest timer,
        // except the last resolution, which is posted at once with whatever waited.
        var news = state.pending ?? PendingAlertNews()
        news.add(notification, firing: firing, resolved: resolved, line: alertLine)
        if let rule = config.alerts.flapping {
            for alert in delta.startedFlapping {
                let name = monitoringText(alert.displayName, limit: 500)
                transition.log(.alert, "Flapping: \(name) changed more than \(rule.changes) times in \(rule.within); its changes are counted, not listed")
                if news.lines.count < Self.alertLinesPerPost { news.lines.append("〰️ \(name) is flapping: more than \(rule.changes) changes in \(rule.within)") }
            }
        }
        if delta.flappingChanges > 0 { news.flappingChanges = (news.flappingChanges ?? 0) + delta.flappingChanges }
        let every = config.alerts.postEvery.timeInterval
        if let last = state.lastPostAt, now.timeIntervalSince(last) < every, state.firingCount > 0 {
            state.pending = news
            transition.schedule(.alertDigest, at: last.addingTimeInterval(every))
        } else {
            transition.post(.incidentRoom, alertSummary(incident.id, news, source: source.id))
            state.pending = nil
            state.lastPostAt = now
            if incident.alertGroup?.pending != nil { transition.cancel(.alertDigest) }
        }
        transition.incident.alertGroup = state

        // Raised, never lowered, by what the alerts say now.
        if !firing.isEmpty, let asked = alertSeverity(notification, source: source), let current = rank(transition.incident.severity),
            let wanted = rank(asked.id), wanted < current
        {
            changeSeverity(&transition, to: asked, because: "by \(plainName(context.user)) (the alerts now say \(asked.label))", overrides: overrides)
        }
        _ = countReports(firing.count, in: &transition, overrides: overrides)

        // From some alerts firing to none (a flapping alert's last resolution counts too).
        if state.firingCount == 0, (incident.alertGroup?.firingCount ?? 0) > 0 {
            transition.log(.alert, "Every alert of the group is resolved")
            if source.autoResolve, transition.incident.isOpen {
                markResolved(&transition, text: "every alert of \(source.id) resolved", by: context.user, scheduleMonitoring: true)
            }
        }
        var changes = finish(transition)
        changes.inboundKey = context.inboundKey
        let summary = "\(incident.id): \(firing.count) firing, \(resolved.count) resolved"
        return .decided(Decision(reply: CommandReply(text: summary, incidentID: incident.id), changes: changes, outcome: .applied))
    }

    /// Counts `count` reports now against the storm rule and, the first time in a window that they pass
    /// its threshold, raises the severity. Returns how many were counted in the window (nil: no rule).
    func countReports(_ count: Int, in transition: inout Transition, overrides: [String: [OnCallOverride]]) -> String? {
        guard let storm = config.alerts.storm, count > 0 else { return nil }
        let now = transition.now
        let window = storm.within.timeInterval
        var reports = (transition.incident.recentReports ?? []).filter { now.timeIntervalSince($0) < window }
        reports += Array(repeating: now, count: min(count, Self.maximumKeptReports))
        let inWindow = reports.count
        // Those in the window only, and at most so many: a storm of thousands must not grow the incident.
        transition.incident.recentReports = Array(reports.suffix(Self.maximumKeptReports))
        let raisedRecently = transition.incident.stormRaisedAt.map { now.timeIntervalSince($0) < window } ?? false
        if inWindow > storm.reports, transition.incident.isOpen, !raisedRecently, let current = rank(transition.incident.severity), current > 0 {
            let target = config.severities[max(0, current - storm.raiseBy)]
            transition.incident.stormRaisedAt = now
            changeSeverity(&transition, to: target, because: "after \(inWindow) reports in \(storm.within)", overrides: overrides)
            transition.post(
                .announce, "⚡ \(transition.incident.id) \(transition.incident.title): \(inWindow) reports in \(storm.within), raised to \(target.label).")
        }
        return "\(inWindow) in the last \(storm.within)"
    }

    /// The most report times an incident keeps (counts above it are reported as this many).
    static let maximumKeptReports = 1_000

    /// Where a severity id stands: 0 is the worst.
    private func rank(_ severity: String) -> Int? { config.severities.firstIndex { $0.id == severity } }

    private func unchanged(_ incident: Incident) -> Decision {
        Decision(reply: CommandReply(text: "\(incident.id): nothing new in this notification.", incidentID: incident.id), outcome: .answered)
    }

    private func describe(_ alert: AlertInstance) -> String {
        let summary = alert.annotations["summary"] ?? alert.annotations["description"]
        return monitoringText(alert.displayName + (summary.map { ": \($0)" } ?? ""), limit: 500)
    }

    /// Text a monitored system wrote (labels, annotations): like what people type, it may not broadcast
    /// (`@here` in a label), and it is cut to a length every platform takes.
    private func monitoringText(_ text: String, limit: Int) -> String {
        let quiet = config.incidents.allowBroadcastMentions ? text : BroadcastMentions.neutralized(text)
        return FreeText.truncated(quiet, to: limit)
    }

    /// The most alert lines one post lists; the rest are counted.
    static let alertLinesPerPost = 10

    /// The held-back news of the incident's group, posted when its `alertDigest` timer fires.
    func postAlertDigest(in transition: inout Transition) {
        guard var state = transition.incident.alertGroup, let news = state.pending else { return }
        transition.post(.incidentRoom, alertSummary(transition.incident.id, news, source: state.source))
        state.pending = nil
        state.lastPostAt = transition.now
        transition.incident.alertGroup = state
    }

    /// One post for what changed in the group since the last one.
    func alertSummary(_ id: IncidentID, _ news: PendingAlertNews, source: String) -> String {
        var lines = ["🔔 \(id) · \(source): \(news.firing) firing, \(news.resolved) resolved"] + news.lines
        let listed = news.lines.filter { $0.hasPrefix("🔥") || $0.hasPrefix("✅") }.count
        if news.firing + news.resolved > listed { lines.append("… and \(news.firing + news.resolved - listed) more") }
        if let flapping = news.flappingChanges, flapping > 0 { lines.append("〰️ \(flapping) more changes of flapping alerts") }
        if let url = news.externalURL, !url.isEmpty { lines.append("Alerts: \(url)") }
        return lines.joined(separator: "\n")
    }

    /// The line of one alert, with the links its sender gave.
    func alertLine(_ alert: AlertInstance) -> String {
        var links: [String] = []
        if let url = alert.generatorURL, !url.isEmpty { links.append("source: \(url)") }
        if let url = alert.dashboardURL, !url.isEmpty { links.append("dashboard: \(url)") }
        if let url = alert.panelURL, !url.isEmpty { links.append("panel: \(url)") }
        if alert.status == .firing, let url = alert.silenceURL, !url.isEmpty { links.append("silence: \(url)") }
        if let runbook = alert.annotations["runbook_url"], !runbook.isEmpty { links.append("runbook: \(runbook)") }
        let mark = alert.status == .firing ? "🔥" : "✅"
        return "\(mark) \(describe(alert))" + (links.isEmpty ? "" : " · " + links.joined(separator: " · "))
    }
}

extension PendingAlertNews {
    /// Adds a notification's news: counts, the first lines, the latest links.
    mutating func add(_ notification: AlertNotification, firing: [AlertInstance], resolved: [AlertInstance], line: (AlertInstance) -> String) {
        self.firing += firing.count
        self.resolved += resolved.count
        for alert in firing + resolved where lines.count < IncidentEngine.alertLinesPerPost {
            lines.append(line(alert))
        }
        if notification.truncatedAlerts > 0, lines.count < IncidentEngine.alertLinesPerPost {
            lines.append("(\(notification.truncatedAlerts) more alerts were left out by the sender)")
        }
        if let url = notification.externalURL, !url.isEmpty { externalURL = url }
    }
}

extension AlertGroupState {
    /// What a notification changed in the group.
    struct Changes {
        var firing: [AlertInstance] = []
        var resolved: [AlertInstance] = []
        /// Alerts that became flapping with this notification.
        var startedFlapping: [AlertInstance] = []
        /// Changes of alerts already flapping: counted, not listed.
        var flappingChanges = 0
    }

    /// Records the notification's alerts and returns what changed: alerts that started firing, those that
    /// stopped (an alert first seen resolved is recorded without news). With the flapping rule, an alert
    /// changing status more than `rule.changes` times within `rule.within` becomes flapping (reported
    /// once), and its later changes are only counted until it has been steady for a whole window.
    mutating func apply(_ notification: AlertNotification, now: Date, flapping rule: FlappingRule?) -> Changes {
        var changes = Changes()
        for alert in notification.alerts {
            let prior = alerts[alert.fingerprint]
            let changed = prior.map { $0.status != alert.status } ?? (alert.status == .firing)
            var record = AlertRecord(name: alert.displayName, status: alert.status, since: changed ? now : prior?.since ?? now)
            record.changes = prior?.changes
            record.flapping = prior?.flapping
            if let rule, changed {
                let window = rule.within.timeInterval
                var recent = (prior?.changes ?? []).filter { now.timeIntervalSince($0) < window }
                recent.append(now)
                record.changes = Array(recent.suffix(rule.changes + 1))
                let wasFlapping = prior?.isFlapping ?? false
                if wasFlapping, let previous = prior?.changes?.last, now.timeIntervalSince(previous) >= window {
                    record.flapping = nil
                } else if recent.count > rule.changes {
                    record.flapping = true
                }
                if record.isFlapping {
                    alerts[alert.fingerprint] = record
                    if wasFlapping { changes.flappingChanges += 1 } else { changes.startedFlapping.append(alert) }
                    continue
                }
            }
            alerts[alert.fingerprint] = record
            if changed, alert.status == .firing { changes.firing.append(alert) }
            if changed, alert.status == .resolved, prior != nil { changes.resolved.append(alert) }
        }
        return changes
    }
}

/// FNV-1a, 64 bits: a stable short key for long texts (inbound keys of alert notifications). Not for
/// anything an attacker chooses to collide: the route authenticates the sender first.
enum StableHash {
    static func hex(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
