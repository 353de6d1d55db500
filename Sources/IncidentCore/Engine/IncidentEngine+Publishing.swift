import Foundation

/// What an incident tells the outside: published status changes, its status-page component, the
/// status webhooks; and its action items (for the review and the exports).
extension IncidentEngine {
    /// A public status change: the status page shows it from now on.
    func publish(_ state: PublicState, text: String?, in transition: inout Transition) {
        var updates = transition.incident.publicUpdates ?? []
        updates.append(PublicUpdate(at: transition.now, state: state, text: text))
        transition.incident.publicUpdates = updates
    }

    /// The change set of `transition`, with a status webhook notice per configured webhook when what the
    /// public sees of the incident changed. Every decision ends here, so no published change is missed.
    func finish(_ transition: Transition) -> ChangeSet {
        var transition = transition
        let before = transition.original.flatMap { PublicIncident.of($0, config: config) }
        if let after = PublicIncident.of(transition.incident, config: config), after != before {
            let event = before == nil ? "incident.published" : (after.state == .resolved ? "incident.resolved" : "incident.updated")
            for webhook in config.statusPage.webhooks {
                transition.send(.statusWebhook(StatusNotice(webhook: webhook.id, event: event, incident: after, at: transition.now)))
            }
        }
        return transition.finished()
    }

    struct Refusal: Error { var message: String }

    /// `/incident component <id|none>`: one of `statusPage.components` when any are configured.
    func setComponent(_ name: String?, in transition: inout Transition, by who: String) -> Result<String, Refusal> {
        let id = transition.incident.id
        var chosen = name
        if let name, !config.statusPage.components.isEmpty {
            guard let component = config.statusPage.component(id: name) else {
                let known = config.statusPage.components.map(\.id).joined(separator: ", ")
                return .failure(Refusal(message: "Unknown component \"\(name)\". Components: \(known)."))
            }
            chosen = component.id
        }
        guard chosen != transition.incident.component else {
            return .failure(Refusal(message: chosen.map { "\(id) is already attached to \($0)." } ?? "\(id) has no component."))
        }
        transition.incident.component = chosen
        transition.log(.note, chosen.map { "Component set to \($0) by \(who)" } ?? "Component cleared by \(who)")
        return .success(chosen.map { "\(id) now affects \($0) on the status page." } ?? "\(id) no longer affects a component.")
    }

    /// `/incident action "…" [@owner] [due …]` and `/incident action done N`.
    func changeActionItems(_ action: ActionCommand, in transition: inout Transition, by who: String) -> Result<String, Refusal> {
        let id = transition.incident.id
        var items = transition.incident.actionItems ?? []
        switch action {
        case .add(let text, let owner, let due):
            let number = (items.map(\.number).max() ?? 0) + 1
            items.append(fileActionItem(ActionItem(number: number, text: text, owner: owner, due: due, createdAt: transition.now), in: &transition))
            transition.incident.actionItems = items
            let details = [owner.map { "owner \(mention($0))" }, due.map { "due \($0)" }].compactMap { $0 }
            transition.log(.note, "Action item \(number) added by \(who): \(text)" + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))"))
            return .success("Action item \(number) added to \(id): \(text)" + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))") + ".")
        case .done(let number):
            guard let index = items.firstIndex(where: { $0.number == number }) else {
                let known = items.isEmpty ? "It has none yet." : "Its items: \(items.map { String($0.number) }.joined(separator: ", "))."
                return .failure(Refusal(message: "\(id) has no action item \(number). \(known)"))
            }
            guard items[index].doneAt == nil else { return .failure(Refusal(message: "Action item \(number) of \(id) is already done.")) }
            items[index].doneAt = transition.now
            transition.incident.actionItems = items
            closeActionItemTicket(items[index], in: &transition)
            transition.log(.note, "Action item \(number) done (\(who)): \(items[index].text)")
            return .success("Action item \(number) of \(id) is done.")
        }
    }
}
