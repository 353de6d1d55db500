import Foundation

/// The post-mortem draft as a Markdown document (runbook 001's template, which 003 and 004 share in
/// substance): front matter, summary, impact, the UTC timeline from the real timeline, root cause, what
/// went well / poorly / where we got lucky, and the action items table. What Klaxon cannot know is left
/// as a prompt for the review to fill in.
public enum PostmortemDocument {
    /// `review: pending` in the front matter: Klaxon keeps rewriting the file (`postmortems.directory`)
    /// until someone changes it to `review: done`.
    public static let pendingMarker = "review: pending"

    public static func markdown(_ incident: Incident, timeline: [TimelineEntry], severityName: String?) -> String {
        let record = IncidentRecord(incident: incident, timeline: timeline).incident
        let minutes = record.impact.durationMinutes
        var lines: [String] = [
            "---",
            "title: \"Post-mortem — \(incident.title.replacingOccurrences(of: "\"", with: "'"))\"",
            "date: \(day(incident.declaredAt))",
            "incident: \(incident.id)",
            "severity: \(record.severity)",
            "duration: \(minutes.map { "\($0) minutes" } ?? "ongoing")",
            pendingMarker,
            "tags: [postmortem]",
            "---",
            "",
            "# Post-mortem: \(incident.id) \(incident.title)",
            "",
            "## Summary",
            "",
        ]
        var summary = "\(record.severity)\(severityName.map { " (\($0))" } ?? "") incident declared \(utc(incident.declaredAt)) by \(record.declaredBy)"
        if let resolved = incident.resolvedAt {
            summary += ", resolved \(utc(resolved)) after \(TimeSpan.humanReadable(resolved.timeIntervalSince(incident.declaredAt)))."
        } else {
            summary += "; still \(incident.status.label.lowercased())."
        }
        if let fix = record.fix ?? incident.resolution { summary += " Fix: \(fix)." }
        lines += [summary, "", "## Impact", ""]
        if let impact = record.impact.description { lines.append("- What: \(impact)") }
        lines.append("- Duration: \(minutes.map { "\($0) minutes" } ?? "ongoing")")
        if let service = record.service { lines.append("- Service: \(service)") }
        if let component = record.component { lines.append("- Component: \(component)") }
        if let told = record.impact.publicSummary { lines.append("- Customers were told: \(told)") }
        lines.append("- Users affected: \(record.impact.usersAffected ?? "_to be filled in_")")
        if let revenue = record.impact.revenueLost { lines.append("- Revenue lost: \(revenue)") }
        lines += ["- Data loss: _yes/no_", "", "## Timeline (UTC)", ""]
        for entry in timeline {
            lines.append("- \(utc(entry.at, withDate: !sameDay(entry.at, incident.declaredAt))) — \(PlainText.fromMarkup(entry.text))")
        }
        if timeline.isEmpty { lines.append("- _no timeline entries_") }
        lines += ["", "## Metrics", ""]
        lines.append("- Time to acknowledge: \(span(record.metrics.timeToAcknowledgeSeconds))")
        lines.append("- Time to mitigate: \(span(record.metrics.timeToMitigateSeconds))")
        lines.append("- Time to resolve: \(span(record.metrics.timeToResolveSeconds))")
        if let detect = record.metrics.timeToDetectSeconds {
            lines.append("- Time to detection (alerts' start to declaration): \(span(detect))")
        }
        lines += [
            "", "## Root cause", "",
            record.rootCause ?? "_Blameless: what in the system allowed this? Distinguish the trigger from the underlying cause._",
            "", "## What went well", "", "- ", "", "## What went poorly", "", "- ", "", "## Where we got lucky", "", "- ",
            "", "## Action items", "",
            "| # | Item | Owner | Due | Status |",
            "|---|------|-------|-----|--------|",
        ]
        for item in record.actionItems {
            let issue = item.issue.map { " ([issue](\($0)))" } ?? ""
            lines.append("| \(item.number) | \(cell(item.item))\(issue) | \(cell(item.owner ?? "")) | \(item.due ?? "") | \(item.done ? "done" : "open") |")
        }
        if record.actionItems.isEmpty {
            lines.append("| | _add with `/incident action \"…\" @owner due YYYY-MM-DD`_ | | | |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `2026-11-10-checkout-is-down.md`: the runbook 001 file name, dated in UTC.
    public static func fileName(_ incident: Incident) -> String {
        "\(day(incident.declaredAt))-\(slug.sanitize(incident.title).isEmpty ? "incident-\(incident.id.number)" : slug.sanitize(incident.title)).md"
    }

    /// Lowercase letters, digits and `-`: safe on every file system and in a URL.
    private static let slug = ChannelNameRules(maxLength: 50, allowed: Set("abcdefghijklmnopqrstuvwxyz0123456789-"), lowercase: true)

    private static func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }

    private static func span(_ seconds: Int?) -> String {
        seconds.map { TimeSpan.humanReadable(TimeInterval($0)) } ?? "n/a"
    }

    private static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }

    static func day(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return "\((parts.year ?? 0).zeroPadded(4))-\((parts.month ?? 0).zeroPadded(2))-\((parts.day ?? 0).zeroPadded(2))"
    }

    private static func sameDay(_ a: Date, _ b: Date) -> Bool { day(a) == day(b) }

    private static func utc(_ date: Date, withDate: Bool = true) -> String {
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        let time = "\((parts.hour ?? 0).zeroPadded(2)):\((parts.minute ?? 0).zeroPadded(2))"
        return withDate ? "\(day(date)) \(time) UTC" : time
    }
}
