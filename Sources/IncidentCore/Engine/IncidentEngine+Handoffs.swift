import Foundation

/// Rotation hand-offs: who takes over, announced in every enabled platform's announce channel. Like the
/// timers, a pure decision; the scheduler commits it with `ChangeSet.handoff`, whose compare-and-set in
/// the store makes each hand-off announced once however many schedulers run.
///
/// A "hand-off" here is any moment the person on call changes: the start of a regular shift, and the
/// start and end of an override set from chat (`/incident oncall override @bob until …`). All of them
/// go through the same record, so an override's start and end are announced once each, too.
extension IncidentEngine {
    /// Each rotation's latest hand-off at or before `date`. `overrides` holds, per rotation, at least the
    /// overrides that end after the current regular shift began (earlier ones cannot matter).
    public func latestHandoffs(at date: Date, overrides: [String: [OnCallOverride]] = [:]) -> [RotationHandoff] {
        config.oncall.rotations.map { rotation in
            let shiftStart = schedule(of: rotation).shift(at: date).start
            let boundaries = Self.overrideBoundaries(overrides[rotation.id] ?? []).filter { $0 > shiftStart && $0 <= date }
            return RotationHandoff(rotationID: rotation.id, at: boundaries.max().map { max($0, shiftStart) } ?? shiftStart)
        }
    }

    /// The earliest hand-off of any rotation strictly after `date` (nil: no rotations).
    public func nextHandoff(after date: Date, overrides: [String: [OnCallOverride]] = [:]) -> Date? {
        config.oncall.rotations.compactMap { rotation in
            let regular = schedule(of: rotation).handoffs(after: date, count: 1).first?.start
            let boundaries = Self.overrideBoundaries(overrides[rotation.id] ?? []).filter { $0 > date }
            return ([regular].compactMap { $0 } + boundaries).min()
        }.min()
    }

    private static func overrideBoundaries(_ overrides: [OnCallOverride]) -> [Date] {
        overrides.filter { $0.start < $0.end }.flatMap { [$0.start, $0.end] }
    }

    /// Records `handoff` and posts who is on call from then (an override active then wins) and who is
    /// next. With `announce: false` it only records it: the first time a rotation is seen, its current
    /// shift is not news. `overrides` are the rotation's overrides around the hand-off, ended ones too.
    public func handoffChanges(_ handoff: RotationHandoff, overrides: [OnCallOverride], now: Date, announce: Bool = true) -> ChangeSet {
        var changes = ChangeSet()
        changes.handoff = handoff
        guard let rotation = config.oncall.rotation(id: handoff.rotationID) else { return changes }
        let schedule = self.schedule(of: rotation)
        let current = schedule.onCall(at: handoff.at, overrides: overrides)
        let next = schedule.onCall(at: current.end, overrides: overrides)
        let local = Formatting(zone: TimeZone(identifier: rotation.timezone) ?? TimeZone(identifier: "UTC")!)
        // The topic is state, not news: set on the first sight of a rotation too, and once per hand-off
        // (this change set commits once, `ChangeSet.handoff`).
        for topicChannel in config.oncall.topicChannels where topicChannel.rotation == rotation.id && config.platforms.enabled.contains(topicChannel.platform) {
            func name(_ person: String) -> String { chatUser(person: person, on: topicChannel.platform).map(mention) ?? person }
            let topic =
                "On call · \(rotation.id): \(name(current.personID))\(current.isOverride ? " (override)" : "") until \(local.stamp(current.end)) · next: \(name(next.personID))"
            changes.outbox.append(
                NewOutboxMessage(
                    platform: topicChannel.platform, incidentID: nil, action: .setChannelTopic(channel: topicChannel.channel, topic: topic)))
        }
        guard announce else { return changes }
        let late = now.timeIntervalSince(handoff.at) >= 60 ? " (announced late: Klaxon was down at the hand-off)" : ""
        let startingOverride = overrides.last { $0.start == handoff.at && current.isOverride && $0.personID == current.personID }
        let endedOverride = overrides.contains { $0.end == handoff.at }
        for platform in config.platforms.enabled {
            func name(_ person: String) -> String { chatUser(person: person, on: platform).map(mention) ?? person }
            let who = name(current.personID)
            let window = "from \(local.stamp(handoff.at)) until \(local.stamp(current.end)); next: \(name(next.personID)).\(late)"
            let text: String
            if let startingOverride {
                let setter = config.personID(for: ChatUser(id: startingOverride.createdBy), on: platform).map(name) ?? startingOverride.createdBy
                text = "🔄 On-call override · \(rotation.id): \(who) is on call (set by \(setter)) \(window)"
            } else if endedOverride, handoff.at != schedule.shift(at: handoff.at).start {
                text = "🔄 On-call override ended · \(rotation.id): \(who)\(current.isOverride ? " (override)" : "") is on call \(window)"
            } else {
                text = "🔄 On-call hand-off · \(rotation.id): \(who)\(current.isOverride ? " (override)" : "") is on call \(window)"
            }
            changes.outbox.append(NewOutboxMessage(platform: platform, incidentID: nil, action: .post(to: .announce, text: text, buttons: [])))
        }
        return changes
    }
}
