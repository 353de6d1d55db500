import Foundation
import Mustache

/// The policy's timed rules (docs/policy.md): each rule in force for an incident has its own durable
/// `policyRule` timer, armed when the event it counts from happens and fired once (again every `repeat`)
/// in the same transaction as what it posts, so a restart neither loses nor repeats it.
extension IncidentEngine {
    func rulesInForce(_ incident: Incident) -> [ArmedRule] {
        config.policyRules(severity: incident.severity, type: incident.type)
    }

    /// Arms the rules counted from `anchors`, at their due time (or now, when that has passed: a rule of a
    /// severity raised late is owed at once). `onlyFuture`: skip rules whose time has passed (a reopening
    /// does not replay the first hour's notifications).
    func armRules(from anchors: Set<PolicyAnchor>, in transition: inout Transition, rules: [ArmedRule]? = nil, onlyFuture: Bool = false) {
        let now = transition.now
        for armed in rules ?? rulesInForce(transition.incident) where anchors.contains(armed.rule.from) {
            guard armed.applies(to: transition.incident), let due = armed.firstDue(in: transition.incident, calendar: config.businessCalendar) else { continue }
            if onlyFuture, due <= now { continue }
            transition.schedule(.policyRule, at: max(due, now), rule: armed.key)
        }
    }

    /// Cancels the pending timers of `rules`.
    func disarm(_ rules: [ArmedRule], in transition: inout Transition) {
        for armed in rules { transition.cancelRule(armed.key) }
    }

    /// The incident's severity or type changed from what `before` had: the old rules that are no longer in
    /// force stop, the new ones start from the events that have happened.
    func rearmRules(before: [ArmedRule], in transition: inout Transition) {
        let after = rulesInForce(transition.incident)
        let kept = Set(after.map(\.key))
        disarm(before.filter { !kept.contains($0.key) }, in: &transition)
        let unchanged = Set(before).intersection(after)
        let changed = after.filter { !unchanged.contains($0) }
        armRules(from: Set(PolicyAnchor.allCases), in: &transition, rules: changed)
    }

    // MARK: - Firing

    func firePolicyRule(_ timer: ScheduledTimer, in transition: inout Transition, overrides: [String: [OnCallOverride]]) {
        let incident = transition.incident
        // A rule the config no longer has (edited and restarted), or one that no longer applies: done.
        guard let armed = rulesInForce(incident).first(where: { $0.key == timer.rule }), armed.applies(to: incident),
            armed.rule.from.time(in: incident) != nil
        else { return }
        // `unless` is checked when the rule falls due, not when it was armed.
        if armed.suppression(in: incident) != nil { return }
        // `if` not met yet: quiet this time, but a repeating rule keeps its turn for when it is.
        if armed.unmetCondition(in: incident) != nil {
            if let every = armed.rule.repeatEvery {
                transition.schedule(.policyRule, at: transition.now.addingTimeInterval(every.timeInterval), step: timer.step, rule: armed.key)
            }
            return
        }

        switch armed.kind {
        case .responseClock: postResponseOverdue(armed, in: &transition)
        case .checkpoint: postCheckpoint(armed, in: &transition)
        case .notification: break
        }
        if !armed.rule.notify.isEmpty {
            notify(armed, in: &transition, overrides: overrides)
        }
        if let every = armed.rule.repeatEvery {
            transition.schedule(.policyRule, at: transition.now.addingTimeInterval(every.timeInterval), step: timer.step + 1, rule: armed.key)
        }
    }

    /// Runbook 002 SEV3 "< 1 hour", 001 Sev 3 "next business day": nobody acknowledged in time.
    private func postResponseOverdue(_ armed: ArmedRule, in transition: inout Transition) {
        let incident = transition.incident
        let limit = armed.rule.at.limitPhrase
        let text =
            "⏰ \(incident.id) (\(severityLabel(incident))) \(incident.title) has had no response \(limit). "
            + "\(mention(incident.owner)), acknowledge with /incident ack \(incident.id)"
        transition.log(.reminder, "No response \(limit) (respondWithin)")
        transition.post(.incidentRoom, text)
        transition.post(.announce, text)
    }

    /// A named timed prompt in the room, to whoever runs the incident.
    private func postCheckpoint(_ armed: ArmedRule, in transition: inout Transition) {
        let incident = transition.incident
        let said = renderSay(armed.rule.say ?? "", incident: incident, now: transition.now)
        transition.log(.reminder, "Checkpoint \(armed.rule.id) (\(armed.when)): \(said)")
        transition.post(.incidentRoom, "⏱️ \(incident.id) checkpoint (\(armed.when)): \(said) \(mention(incident.owner))")
    }

    /// People are paged (room mention, direct message, invitation, pager webhooks), mailboxes emailed,
    /// channels get a cross-post, named webhooks a notice.
    private func notify(_ armed: ArmedRule, in transition: inout Transition, overrides: [String: [OnCallOverride]]) {
        let incident = transition.incident
        let now = transition.now
        let body =
            armed.rule.say.map { renderSay($0, incident: incident, now: now) }
            ?? "\(incident.id) (\(severityLabel(incident))) \(incident.title) · \(incident.status.label) · open \(Formatting.span(from: incident.declaredAt, to: now))"
        let reason = "\(armed.origin) rule \(armed.rule.id), \(armed.when)"
        var told: [String] = []

        let people = armed.rule.notify.filter(\.namesPeople)
        let named = armed.rule.notify.compactMap { target -> String? in
            if case .webhook(let id) = target { return id }
            return nil
        }
        if !people.isEmpty {
            let recipients = recipients(for: people, on: incident.platform, at: now, overrides: overrides)
            let users = recipients.users
            if !users.isEmpty {
                let text = "📣 \(body)\n\(users.map(mention).joined(separator: ", ")): you are notified (\(reason))."
                transition.post(.incidentRoom, text)
                for user in users { transition.post(.direct(userID: user.id), text) }
                transition.send(.invite(userIDs: users.map(\.id)))
                told += users.map(mention)
            }
            notifyPagers(.page, people: recipients.personIDs, reason: reason, except: named, in: &transition)
        }
        var webhooks: [String] = []
        for target in armed.rule.notify {
            switch target {
            case .channel(let platform, let name):
                let text = "📣 \(body)"
                transition.changes.outbox.append(
                    NewOutboxMessage(
                        platform: platform, incidentID: incident.id, action: .post(to: .channel(name: name), text: text, buttons: [])))
                told.append("#\(name) (\(platform.rawValue))")
            case .webhook(let id):
                webhooks.append(id)
                told.append("webhook \(id)")
            case .discord(let id):
                transition.changes.outbox.append(
                    NewOutboxMessage(
                        platform: incident.platform, incidentID: incident.id, action: .discordWebhook(DiscordPost(webhook: id, content: "📣 \(body)"))))
                told.append("Discord \(id)")
            case .rotation, .person, .group, .email:
                continue
            }
        }
        // Mailboxes (`email:` targets), through the email lane: the rule's own `say` when it has one, else
        // the page email.
        let mail = Recipients(
            personIDs: [], users: [], emails: emailAddresses(for: armed.rule.notify, incident: incident), emailLabels: emailLabels(for: armed.rule.notify))
        if !mail.emails.isEmpty {
            if armed.rule.say != nil {
                emailRuleText(armed.rule, to: mail, reason: reason, in: &transition)
            } else {
                notifyByEmail(mail, template: "page", reason: reason, in: &transition)
            }
            told += mail.emailLabels.map { "\($0) (email)" }
        }
        if !webhooks.isEmpty {
            let personIDs = recipients(for: people, on: incident.platform, at: now, overrides: overrides).personIDs
            notifyPagers(.page, people: personIDs, reason: reason, only: webhooks, in: &transition)
        }
        let whom = told.isEmpty ? "nobody reachable" : told.joined(separator: ", ")
        transition.log(.page, "Rule \(armed.rule.id) (\(armed.origin), \(armed.when)): notified \(whom)")
    }

    /// `source` (a config `say` or `subject`, compiled by the loader) with `values`.
    func renderText(_ source: String, _ values: [String: Any]) -> String {
        // The loader refused a template that does not compile, so this fallback (the raw text) is not taken.
        guard let template = try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source) else { return source }
        return template.render(values)
    }

    /// `say` with the incident's template values (`{{id}}`, `{{commander}}`, …); the loader has compiled it.
    func renderSay(_ source: String, incident: Incident, now: Date) -> String {
        // The loader refused a `say` that does not compile, so this fallback (the raw text) is not taken.
        guard let template = try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source) else { return source }
        var values = self.values(incident, now: now)
        values["owner"] = mention(incident.owner)
        return template.render(values)
    }
}
