import Foundation

/// Rotation hand-offs: who takes over, announced in every enabled platform's announce channel. Like the
/// timers, a pure decision; the scheduler commits it with `ChangeSet.handoff`, whose compare-and-set in
/// the store makes each hand-off announced once however many schedulers run.
extension IncidentEngine {
    /// The latest regular hand-off at or before `date` of each rotation (the start of its current shift).
    public func latestHandoffs(at date: Date) -> [RotationHandoff] {
        config.oncall.rotations.map { rotation in
            RotationHandoff(rotationID: rotation.id, at: RotationSchedule(rotation: rotation).shift(at: date).start)
        }
    }

    /// The earliest regular hand-off of any rotation strictly after `date` (nil: no rotations).
    public func nextHandoff(after date: Date) -> Date? {
        config.oncall.rotations.compactMap { RotationSchedule(rotation: $0).handoffs(after: date, count: 1).first?.start }.min()
    }

    /// Records `handoff` and posts who is on call from then (an override active then wins) and who is
    /// next. With `announce: false` it only records it: the first time a rotation is seen, its current
    /// shift is not news.
    public func handoffChanges(_ handoff: RotationHandoff, overrides: [OnCallOverride], now: Date, announce: Bool = true) -> ChangeSet {
        var changes = ChangeSet()
        changes.handoff = handoff
        guard announce, let rotation = config.oncall.rotation(id: handoff.rotationID) else { return changes }
        let schedule = RotationSchedule(rotation: rotation)
        let current = schedule.onCall(at: handoff.at, overrides: overrides)
        let next = schedule.onCall(at: current.end, overrides: overrides)
        let local = Formatting(zone: TimeZone(identifier: rotation.timezone) ?? TimeZone(identifier: "UTC")!)
        let late = now.timeIntervalSince(handoff.at) >= 60 ? " (announced late: Klaxon was down at the hand-off)" : ""
        for platform in config.platforms.enabled {
            func name(_ person: String) -> String { chatUser(person: person, on: platform).map(mention) ?? person }
            let override = current.isOverride ? " (override)" : ""
            let text = "🔄 On-call hand-off · \(rotation.id): \(name(current.personID))\(override) is on call from \(local.stamp(handoff.at))"
                + " until \(local.stamp(current.end)); next: \(name(next.personID)).\(late)"
            changes.outbox.append(NewOutboxMessage(platform: platform, incidentID: nil, action: .post(to: .announce, text: text, buttons: [])))
        }
        return changes
    }
}
