import Foundation

extension IncidentEngine {
    func onCall(_ command: OnCallCommand, context: CommandContext, now: Date, overrides: [String: [OnCallOverride]]) -> Decision {
        switch command {
        case .show(let rotationID):
            return showOnCall(rotationID: rotationID, context: context, now: now, overrides: overrides)
        case .override(let user, let rotationID, let until):
            return overrideOnCall(user: user, rotationID: rotationID, until: until, context: context, now: now)
        case .mention:
            return mentionOnCall(context: context, now: now, overrides: overrides)
        }
    }

    /// `📣 @oncall: <@bob> (primary), <@dave> (secondary)`, in the channel, so those named are notified.
    private func mentionOnCall(context: CommandContext, now: Date, overrides: [String: [OnCallOverride]]) -> Decision {
        guard !config.oncall.rotations.isEmpty else { return .rejected("No rotations are configured (`oncall.rotations`).") }
        var named: [String] = []
        for rotation in config.oncall.rotations {
            let person = schedule(of: rotation).onCall(at: now, overrides: overrides[rotation.id] ?? []).personID
            named.append("\(chatUser(person: person, on: context.platform).map(mention) ?? person) (\(rotation.id))")
        }
        return Decision(reply: CommandReply(text: "📣 @oncall: " + named.joined(separator: ", "), visibility: .inChannel), outcome: .answered)
    }

    /// The asking user's zone: what their platform says, else `people.<id>.timezone` in the config.
    func userTimeZone(_ context: CommandContext) -> String? {
        context.userTimeZone ?? config.personID(for: context.user, on: context.platform).flatMap { config.people[$0]?.timezone }
    }

    private func showOnCall(rotationID: String?, context: CommandContext, now: Date, overrides: [String: [OnCallOverride]]) -> Decision {
        let rotations = rotationID.map { id in config.oncall.rotations.filter { $0.id == id } } ?? config.oncall.rotations
        guard !rotations.isEmpty else {
            return .rejected(
                rotationID.map { "Unknown rotation \"\($0)\". Rotations: \(config.oncall.rotations.map(\.id).joined(separator: ", "))." }
                    ?? "No rotations are configured (`oncall.rotations`).")
        }
        var lines: [String] = []
        for rotation in rotations {
            let schedule = schedule(of: rotation)
            let zone = TimeZone(identifier: userTimeZone(context) ?? rotation.timezone) ?? TimeZone(identifier: rotation.timezone)!
            let local = Formatting(zone: zone)
            let current = schedule.onCall(at: now, overrides: overrides[rotation.id] ?? [])
            let who = chatUser(person: current.personID, on: context.platform).map(mention) ?? current.personID
            let note = current.isOverride ? " (override)" : ""
            lines.append("\(rotation.id): \(who)\(note) until \(local.stamp(current.end))")
            // Who holds the rotation once the current shift (or override) ends.
            let next = schedule.onCall(at: current.end, overrides: overrides[rotation.id] ?? [])
            let nextWho = chatUser(person: next.personID, on: context.platform).map(mention) ?? next.personID
            lines.append("    next: \(nextWho) from \(local.stamp(next.start))")
        }
        return Decision(reply: CommandReply(text: "On call now:\n" + lines.joined(separator: "\n")), outcome: .answered)
    }

    private func overrideOnCall(user: ChatUser, rotationID: String?, until: OverrideEnd, context: CommandContext, now: Date) -> Decision {
        guard let person = config.personID(for: user, on: context.platform) ?? (config.people[user.id] != nil ? user.id : nil) else {
            return .rejected("\(mention(user)) is not in `people` in bot-config.json, so they cannot take a rotation.")
        }
        let rotation: RotationConfig
        if let rotationID {
            guard let found = config.oncall.rotation(id: rotationID) else {
                return .rejected("Unknown rotation \"\(rotationID)\". Rotations: \(config.oncall.rotations.map(\.id).joined(separator: ", ")).")
            }
            rotation = found
        } else if let found = config.oncall.rotations.first(where: { $0.members.contains(person) }) ?? config.oncall.rotations.first {
            rotation = found
        } else {
            return .rejected("No rotations are configured (`oncall.rotations`).")
        }
        let zone = TimeZone(identifier: userTimeZone(context) ?? rotation.timezone) ?? TimeZone(identifier: "UTC")!
        let end: Date
        switch until {
        case .duration(let span):
            end = now.addingTimeInterval(span.timeInterval)
        case .localTime(let year, let month, let day, let hour, let minute):
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute)) else {
                return .rejected("That end time does not exist in \(zone.identifier).")
            }
            end = date
        }
        guard end > now else {
            return .rejected("The override must end in the future (it ends \(Formatting(zone: zone).stamp(end))).")
        }
        // `for` is bounded where it is parsed; `until` can name any year up to 9999, so it is bounded here.
        guard end <= now.addingTimeInterval(TimeSpan.maximum.timeInterval) else {
            return .rejected("An override lasts at most \(TimeSpan.maximum) (one year); \(Formatting(zone: zone).stamp(end)) is further away.")
        }
        var changes = ChangeSet()
        changes.overrides.append(OnCallOverride(rotationID: rotation.id, personID: person, start: now, end: end, createdBy: context.user.id))
        changes.inboundKey = context.inboundKey
        let text = "\(mention(user)) is on call for \(rotation.id) until \(Formatting(zone: zone).stamp(end)) (override set by \(mention(context.user)))."
        return Decision(reply: CommandReply(text: text, visibility: .inChannel), changes: changes, outcome: .applied)
    }
}
