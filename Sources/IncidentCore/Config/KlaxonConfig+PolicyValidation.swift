import Foundation
import Mustache

// MARK: - Cross-references of the policy keys (docs/policy.md)

extension KlaxonConfig {
    /// Part of `validate()`: what notify targets, rules, calendars, incident types and Discord webhooks name
    /// must exist, ids must differ within their list, `say` must compile. `report` takes the path, the
    /// message and the paths the problem follows from.
    func validatePolicy(personIDs: [String], report: (ConfigPath, String, [ConfigPath]) -> Void) {
        let root = ConfigPath.root
        let calendarPath = root.key("calendar")

        for (index, step) in oncall.escalation.enumerated() {
            validateTargets(step.notify, at: root.key("oncall").key("escalation").index(index).key("notify"), personIDs: personIDs, report: report)
        }

        for (index, severity) in severities.enumerated() {
            let path = root.key("severities").index(index)
            // It used to be accepted and silently ignored; say what it needs and what to use instead.
            if severity.ackWithin != nil, !severity.page {
                report(
                    path.key("ackWithin"),
                    "does nothing without \"page\": true (it times the escalation of a page); for a response clock without paging use \"respondWithin\" instead",
                    [path.key("page")])
            }
            if let within = severity.respondWithin { validateDeadline(within, at: path.key("respondWithin"), calendarPath: calendarPath, report: report) }
            for (position, step) in (severity.escalation ?? []).enumerated() {
                validateTargets(step.notify, at: path.key("escalation").index(position).key("notify"), personIDs: personIDs, report: report)
            }
            validateRules(severity.notify, at: path.key("notify"), calendarPath: calendarPath, personIDs: personIDs, report: report)
            validateRules(severity.checkpoints, at: path.key("checkpoints"), calendarPath: calendarPath, personIDs: personIDs, report: report)
        }

        var typeOwners: [String: ConfigPath] = [:]
        for (index, type) in incidentTypes.enumerated() {
            let path = root.key("incidentTypes").index(index)
            validateRules(type.notify, at: path.key("notify"), calendarPath: calendarPath, personIDs: personIDs, report: report)
            validateRules(type.checkpoints, at: path.key("checkpoints"), calendarPath: calendarPath, personIDs: personIDs, report: report)
            guard !type.id.isEmpty else { continue }
            if let first = typeOwners[type.id] {
                report(path.key("id"), "\(ConfigText.quote(type.id)) is also the id of \(first); incident type ids must differ", [])
            } else {
                typeOwners[type.id] = path
            }
        }

        var hookOwners: [String: ConfigPath] = [:]
        for (index, hook) in discord.webhooks.enumerated() {
            let path = root.key("discord").key("webhooks").index(index)
            // The URL holds the webhook's token: the message never shows it.
            if !hook.url.isEmpty {
                let url = URL(string: hook.url.exposedValue)
                if url.map({ ($0.scheme == "https" || $0.scheme == "http") && $0.host != nil }) != true {
                    report(path.key("url"), "is not an http(s) URL (a Discord incoming webhook URL, https://discord.com/api/webhooks/…)", [])
                }
            }
            guard !hook.id.isEmpty else { continue }
            if let first = hookOwners[hook.id] {
                report(path.key("id"), "\(ConfigText.quote(hook.id)) is also the id of \(first); webhook ids must differ", [])
            } else {
                hookOwners[hook.id] = path
            }
        }
    }

    /// `notify[]` or `checkpoints[]`: a notification rule must notify someone (a checkpoint may); ids
    /// differ within the list; `at` fits the calendar; `say` compiles.
    private func validateRules(
        _ rules: [PolicyRule], at path: ConfigPath, calendarPath: ConfigPath, personIDs: [String], report: (ConfigPath, String, [ConfigPath]) -> Void
    ) {
        var owners: [String: ConfigPath] = [:]
        for (index, rule) in rules.enumerated() {
            let rulePath = path.index(index)
            validateDeadline(rule.at, at: rulePath.key("at"), calendarPath: calendarPath, report: report)
            validateTargets(rule.notify, at: rulePath.key("notify"), personIDs: personIDs, report: report)
            validateConditions(rule.unless, at: rulePath.key("unless"), report: report)
            validateConditions(rule.onlyIf ?? [], at: rulePath.key("if"), report: report)
            for (key, source) in [("say", rule.say), ("subject", rule.subject)] {
                guard let source else { continue }
                do {
                    _ = try MustacheTemplate(string: source)
                } catch {
                    report(rulePath.key(key), "is not a valid mustache template (\(error))", [])
                }
            }
            guard !rule.id.isEmpty else { continue }
            if let first = owners[rule.id] {
                report(rulePath.key("id"), "\(ConfigText.quote(rule.id)) is also the id of \(first); rule ids in one list must differ", [])
            } else {
                owners[rule.id] = rulePath
            }
        }
    }

    /// `severity:<id>` and `type:<id>` name a configured severity and incident type (by id: the rule
    /// compares the incident's stored id).
    private func validateConditions(_ conditions: [PolicyCondition], at path: ConfigPath, report: (ConfigPath, String, [ConfigPath]) -> Void) {
        let severityIDs = severities.map(\.id)
        let typeIDs = incidentTypes.map(\.id)
        // One line for the whole key (one problem per path is shown), naming each missing id.
        let missing = conditions.flatMap(\.leaves).compactMap { condition -> String? in
            switch condition {
            case .severity(let id) where !severityIDs.contains(id):
                let alias = severity(named: id).map { " (\(ConfigText.quote(id)) is an alias: write severity:\($0.id))" }
                return "no severity \(ConfigText.quote(id)) in severities" + (alias ?? ConfigText.suggestion(for: id, among: severityIDs))
            case .type(let id) where !typeIDs.contains(id):
                return "no incident type \(ConfigText.quote(id)) in incidentTypes" + ConfigText.suggestion(for: id, among: typeIDs)
            default:
                return nil
            }
        }
        if !missing.isEmpty { report(path, missing.joined(separator: "; "), []) }
    }

    /// Business time needs a `calendar`, "next sprint" its `sprint`. A broken calendar has been reported;
    /// what depends on it is not reported again.
    private func validateDeadline(_ deadline: Deadline, at path: ConfigPath, calendarPath: ConfigPath, report: (ConfigPath, String, [ConfigPath]) -> Void) {
        if deadline.isClockTime, calendar == nil {
            report(
                path,
                "\(ConfigText.quote(deadline.description)) is a time of day: add a \"calendar\" (its timeZone says whose \(deadline.description.split(separator: " ").last ?? ""))",
                [])
        } else if deadline.needsCalendar, calendar == nil {
            report(
                path, "\(ConfigText.quote(deadline.description)) counts business time: add a \"calendar\" (timeZone, workingDays, workingHours, holidays)", [])
        } else if deadline.needsSprint, calendar?.sprint == nil {
            report(path, "\"next sprint\" needs calendar.sprint (length and anchor)", [calendarPath])
        }
    }

    /// Each target names something the config defines (a rotation, a person, a group, an enabled platform,
    /// a pager or Discord webhook; mail needs `email.smtp` and addresses).
    private func validateTargets(_ targets: [NotifyTarget], at path: ConfigPath, personIDs: [String], report: (ConfigPath, String, [ConfigPath]) -> Void) {
        let rotationIDs = oncall.rotations.map(\.id)
        let groupIDs = groups.keys.sorted()
        let webhookIDs = paging.webhooks.map(\.id)
        let discordIDs = discord.webhooks.map(\.id)
        for (position, target) in targets.enumerated() {
            let targetPath = path.index(position)
            switch target {
            case .rotation(let id) where !rotationIDs.contains(id):
                report(targetPath, "no rotation \(ConfigText.quote(id)) in oncall.rotations" + ConfigText.suggestion(for: id, among: rotationIDs), [])
            case .person(let id) where people[id] == nil:
                report(targetPath, "no person \(ConfigText.quote(id)) in people" + ConfigText.suggestion(for: id, among: personIDs), [])
            case .group(let name) where groups[name] == nil:
                report(targetPath, "no group \(ConfigText.quote(name)) in groups" + ConfigText.suggestion(for: name, among: groupIDs), [])
            case .channel(let platform, _) where !platforms.enabled.contains(platform):
                report(
                    targetPath,
                    "platform \(platform.rawValue) is not enabled in platforms (enabled: \(platforms.enabled.map(\.rawValue).joined(separator: ", ")))", [])
            case .webhook(let url) where NotifyTarget.isWebhookURL(url):
                // A receiver named by its URL: signed with paging.signingSecret, as the listed ones with theirs.
                if URL(string: url).map({ $0.host?.isEmpty == false }) != true {
                    report(targetPath, "\(ConfigText.quote(url)) is not an http or https URL", [])
                } else if paging.signingSecret?.isEmpty ?? true {
                    report(
                        targetPath, "a webhook URL target needs paging.signingSecret, the secret its notices are signed with",
                        [ConfigPath.root.key("paging").key("signingSecret")])
                }
            case .webhook(let id) where !webhookIDs.contains(id):
                report(targetPath, "no webhook \(ConfigText.quote(id)) in paging.webhooks" + ConfigText.suggestion(for: id, among: webhookIDs), [])
            case .discord(let id) where !discordIDs.contains(id):
                report(targetPath, "no webhook \(ConfigText.quote(id)) in discord.webhooks" + ConfigText.suggestion(for: id, among: discordIDs), [])
            case .email(let addressee):
                validateMailTarget(addressee, at: targetPath, report: { report($0, $1, []) })
            default:
                break
            }
        }
    }
}
