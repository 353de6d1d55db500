import Foundation

/// Everything `GET /status`, `/status.json` and `/status/feed.atom` show, computed from the incidents
/// without I/O. Built only from `PublicIncident`s, so it holds nothing that was not published.
public struct StatusPageModel: Sendable, Codable, Hashable {
    public var title: String
    public var logoURL: String?
    public var links: [StatusPageLink]
    public var generatedAt: Date
    /// The worst state of any open incident; nil: all systems operational.
    public var overall: PublicState?
    public var components: [ComponentStatus]
    /// Published incidents still open, newest first.
    public var openIncidents: [PublicIncident]
    /// Days of the last `historyDays` with published incidents, newest first.
    public var history: [HistoryDay]
    public var historyDays: Int

    public struct ComponentStatus: Sendable, Codable, Hashable {
        public var id: String
        public var name: String
        public var description: String?
        /// nil: operational.
        public var state: PublicState?
        public var label: String { state.map { $0 == .monitoring ? "Recovering" : "Degraded · \($0.label)" } ?? "Operational" }
    }

    public struct HistoryDay: Sendable, Codable, Hashable {
        /// `YYYY-MM-DD` in the incidents' time zone.
        public var date: String
        public var incidents: [PublicIncident]
    }

    public static let defaultHistoryDays = 90

    /// `incidents`: what the store has for the window (any, published or not; this filters).
    public static func build(config: KlaxonConfig, incidents: [Incident], now: Date, historyDays: Int = defaultHistoryDays) -> StatusPageModel {
        let since = now.addingTimeInterval(-Double(historyDays) * 86_400)
        let published =
            incidents
            .compactMap { PublicIncident.of($0, config: config) }
            .filter { $0.isOpen || ($0.resolvedAt ?? $0.startedAt) >= since }
            .sorted { ($0.startedAt, $0.id) > ($1.startedAt, $1.id) }
        let open = published.filter(\.isOpen)
        // Earlier states are worse: investigating means nobody knows the cause yet.
        let components = config.statusPage.components.map { component in
            ComponentStatus(
                id: component.id, name: component.name, description: component.description,
                state: open.filter { $0.component == component.id }.map(\.state).min())
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: config.incidents.timeZone) ?? TimeZone(identifier: "UTC")!
        var days: [String: [PublicIncident]] = [:]
        for incident in published where incident.startedAt >= since {
            let parts = calendar.dateComponents([.year, .month, .day], from: incident.startedAt)
            let day = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
            days[day, default: []].append(incident)
        }
        return StatusPageModel(
            title: config.statusPage.title, logoURL: config.statusPage.logoURL, links: config.statusPage.links, generatedAt: now,
            overall: open.map(\.state).min(), components: components, openIncidents: open,
            history: days.keys.sorted(by: >).map { HistoryDay(date: $0, incidents: days[$0] ?? []) }, historyDays: historyDays)
    }

    /// Every published update in the window, newest first: the entries of the Atom feed.
    public var feedEntries: [(incident: PublicIncident, update: PublicUpdate)] {
        var all: [String: PublicIncident] = [:]
        for incident in openIncidents + history.flatMap(\.incidents) { all[incident.id] = incident }
        return all.values.flatMap { incident in incident.updates.map { (incident, $0) } }
            .sorted { ($0.update.at, $0.incident.id) > ($1.update.at, $1.incident.id) }
    }
}

/// What a status webhook receives (docs/status-page.md shows it): the incident's public view after a
/// published change.
public struct StatusNotice: Sendable, Codable, Hashable {
    /// Which `statusPage.webhooks` entry this goes to; its URL and secret are read at delivery.
    public var webhook: String
    /// `incident.published` (first publication), `incident.updated`, `incident.resolved`.
    public var event: String
    public var incident: PublicIncident
    public var at: Date

    public init(webhook: String, event: String, incident: PublicIncident, at: Date) {
        self.webhook = webhook
        self.event = event
        self.incident = incident
        self.at = at
    }
}
