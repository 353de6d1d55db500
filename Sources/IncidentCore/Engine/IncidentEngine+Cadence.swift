import Foundation

/// The clocks an incident's people can set for it alone: the update cadence (`/incident cadence 10m`,
/// 002-15 "Set update cadence") and the monitoring window of a resolution (`/incident resolve --monitor 1h`,
/// 002-19 "Monitor closely for 1 hour").
extension IncidentEngine {
    /// How often updates are due: the incident's own cadence when its IC set one, else its severity's
    /// `updateEvery`; nil: no update reminders.
    func updateCadence(_ incident: Incident) -> TimeSpan? {
        if let seconds = incident.updateCadenceSeconds { return seconds > 0 ? TimeSpan(seconds: seconds) : nil }
        return config.severity(id: incident.severity)?.updateEvery
    }

    /// How long a resolution is watched before the incident closes: what `--monitor` asked, else the
    /// severity's `monitorFor`, else `incidents.monitorFor`; nil: it stays resolved until closed.
    func monitoringWindow(_ incident: Incident, asked: TimeSpan?) -> TimeSpan? {
        asked ?? config.severity(id: incident.severity)?.monitorFor ?? config.incidents.monitorFor
    }

    /// `/incident cadence <duration|off|default>`: the update reminder follows the new cadence at once,
    /// counted from the last update (a reminder already overdue under it comes now).
    func setCadence(_ change: CadenceChange, in transition: inout Transition, by who: String) -> Result<String, Refusal> {
        let incident = transition.incident
        let id = incident.id
        let seconds: Int64?
        switch change {
        case .every(let span): seconds = span.seconds
        case .off: seconds = 0
        case .severityDefault: seconds = nil
        }
        guard seconds != incident.updateCadenceSeconds else {
            return .failure(Refusal(message: "\(id) already has that update cadence (\(cadencePhrase(incident)))."))
        }
        transition.incident.updateCadenceSeconds = seconds
        let phrase = cadencePhrase(transition.incident)
        var next = ""
        if let every = updateCadence(transition.incident) {
            let due = max(transition.now, incident.lastUpdateAt.addingTimeInterval(every.timeInterval))
            transition.schedule(.updateReminder, at: due)
            next = " Next update due by \(format.clock(due))."
        } else {
            transition.cancel(.updateReminder)
        }
        let source = seconds == nil ? " (the \(severityLabel(incident)) default)" : ""
        transition.log(.note, "Update cadence: \(phrase)\(source), set by \(who)")
        transition.post(.incidentRoom, "⏲️ Updates on \(id) are now due \(phrase)\(source) (set by \(who)).\(next)")
        return .success("\(id): updates \(phrase).\(next)")
    }

    /// `every 10m`, or `without reminders`.
    private func cadencePhrase(_ incident: Incident) -> String {
        updateCadence(incident).map { "every \($0)" } ?? "without reminders"
    }
}
