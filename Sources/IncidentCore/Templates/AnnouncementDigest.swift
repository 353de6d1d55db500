import Foundation

/// The one post that stands for several new incidents' announcements when they come faster than the
/// announce channel may be posted to (issue 13: Slack allows about one post per second per channel, so
/// a storm of 2,000 alert groups would otherwise leave `#incidents` half an hour behind). The template
/// `announceDigest` renders it: at most `listed` incidents, each with a link to its room, then how
/// many more it stands for.
public struct AnnouncementDigest: Sendable {
    /// Incidents listed by name; the rest are counted (`{{more}}`), so the post stays short.
    public static let listed = 20

    /// One incident of a digest, and how the platform links its room (`<#C123>` on Slack).
    public struct Entry: Sendable {
        public var incident: Incident
        public var roomLink: String

        public init(incident: Incident, roomLink: String) {
            self.incident = incident
            self.roomLink = roomLink
        }
    }

    private let templates: TemplateRenderer
    private let severityLabels: [String: String]

    /// Fails only on a `templates.announceDigest` that does not compile, which loading the config refuses first.
    public init(config: KlaxonConfig) throws {
        templates = try TemplateRenderer(overrides: config.templates)
        severityLabels = Dictionary(config.severities.map { ($0.id, $0.label) }, uniquingKeysWith: { first, _ in first })
    }

    /// `entries`: the first incidents of the digest, oldest first (those beyond `listed` are not shown);
    /// `total`: how many it stands for.
    public func text(_ entries: [Entry], total: Int) -> String {
        let shown = entries.prefix(Self.listed)
        let total = max(total, shown.count)
        var values: [String: Any] = [
            "count": total,
            "incidents": shown.map { entry -> [String: Any] in
                [
                    "id": entry.incident.id.description,
                    "title": entry.incident.title,
                    "severity": severityLabels[entry.incident.severity] ?? entry.incident.severity.uppercased(),
                    "link": entry.roomLink,
                ]
            },
        ]
        if total > shown.count { values["more"] = total - shown.count }
        return templates.render("announceDigest", values)
    }
}
