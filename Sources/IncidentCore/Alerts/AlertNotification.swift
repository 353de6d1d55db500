import Foundation

public enum AlertStatus: String, Sendable, Codable, Hashable {
    case firing, resolved
}

/// One alert of a notification: Alertmanager's and Grafana's `alerts[]`, or the generic route's body.
public struct AlertInstance: Sendable, Hashable {
    /// Stable per alert (Alertmanager's hash of its labels); the generic route uses its `key`.
    public var fingerprint: String
    public var status: AlertStatus
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: Date?
    /// Alertmanager sends `0001-01-01T00:00:00Z` for a firing alert: read as nil.
    public var endsAt: Date?
    /// Links shown in the alert post, where the sender gave them.
    public var generatorURL: String?
    public var silenceURL: String?
    public var dashboardURL: String?
    public var panelURL: String?

    public init(
        fingerprint: String, status: AlertStatus, labels: [String: String] = [:], annotations: [String: String] = [:],
        startsAt: Date? = nil, endsAt: Date? = nil, generatorURL: String? = nil, silenceURL: String? = nil,
        dashboardURL: String? = nil, panelURL: String? = nil
    ) {
        self.fingerprint = fingerprint
        self.status = status
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.generatorURL = generatorURL
        self.silenceURL = silenceURL
        self.dashboardURL = dashboardURL
        self.panelURL = panelURL
    }

    /// How the alert is named in posts and the timeline: `alertname` and what tells it apart (its instance).
    public var displayName: String {
        let name = labels["alertname"] ?? annotations["summary"] ?? fingerprint
        if let instance = labels["instance"] ?? labels["service"] ?? labels["zone"], instance != name { return "\(name) (\(instance))" }
        return name
    }
}

/// What a monitoring system said about one alert group, whatever its wire format: the route decodes
/// Alertmanager's, Grafana's or the generic payload into this, and the engine reads only this.
public struct AlertNotification: Sendable, Hashable {
    /// The configured source it came through (`alerts.sources[].id`).
    public var source: String
    /// One open incident per group: Alertmanager's `groupKey`, the generic route's `key`.
    public var groupKey: String
    public var status: AlertStatus
    public var alerts: [AlertInstance]
    public var groupLabels: [String: String]
    public var commonLabels: [String: String]
    public var commonAnnotations: [String: String]
    public var externalURL: String?
    /// Grafana's and the generic route's title; Alertmanager has none.
    public var title: String?
    /// Grafana's `message`, the generic route's `text`.
    public var message: String?
    /// Alerts Alertmanager left out of the payload (`max_alerts`).
    public var truncatedAlerts: Int

    public init(
        source: String, groupKey: String, status: AlertStatus, alerts: [AlertInstance], groupLabels: [String: String] = [:],
        commonLabels: [String: String] = [:], commonAnnotations: [String: String] = [:], externalURL: String? = nil,
        title: String? = nil, message: String? = nil, truncatedAlerts: Int = 0
    ) {
        self.source = source
        self.groupKey = groupKey
        self.status = status
        self.alerts = alerts
        self.groupLabels = groupLabels
        self.commonLabels = commonLabels
        self.commonAnnotations = commonAnnotations
        self.externalURL = externalURL
        self.title = title
        self.message = message
        self.truncatedAlerts = truncatedAlerts
    }

    /// What a redelivery of the same notification has in common with the first delivery, and a new one
    /// (an alert more, one resolved, a later start) has not: the inbound key that makes retries harmless.
    public var deliveryKey: String {
        let alertsPart = alerts.sorted { $0.fingerprint < $1.fingerprint }.map { alert in
            "\(alert.fingerprint)=\(alert.status.rawValue)@\(alert.startsAt.map { Int64($0.timeIntervalSince1970 * 1000) } ?? 0)-\(alert.endsAt.map { Int64($0.timeIntervalSince1970 * 1000) } ?? 0)"
        }
        return "\(groupKey)|\(status.rawValue)|\(alertsPart.joined(separator: ","))"
    }

    /// The values the source's `title` template sees.
    public var templateValues: [String: Any] {
        var values: [String: Any] = [
            "groupKey": groupKey, "status": status.rawValue, "groupLabels": groupLabels, "commonLabels": commonLabels,
            "commonAnnotations": commonAnnotations, "alertCount": alerts.count,
        ]
        values["title"] = title
        values["message"] = message
        values["externalURL"] = externalURL
        return values
    }
}

/// What an incident remembers of its alert group: which alerts fire, so a repeat notification is told
/// apart from news; and the reports counted for the storm rule.
public struct AlertGroupState: Sendable, Codable, Hashable {
    public var source: String
    public var groupKey: String
    /// Fingerprint → the alert's last known status and name.
    public var alerts: [String: AlertRecord]
    /// When the last alert summary was posted in the incident (`alerts.postEvery` counts from here).
    public var lastPostAt: Date?
    /// News not posted yet: the first lines of it, and how many alerts started or stopped firing in all.
    public var pending: PendingAlertNews?

    public init(source: String, groupKey: String, alerts: [String: AlertRecord] = [:]) {
        self.source = source
        self.groupKey = groupKey
        self.alerts = alerts
    }

    public var firingCount: Int { alerts.values.filter { $0.status == .firing }.count }
}

public struct AlertRecord: Sendable, Codable, Hashable {
    public var name: String
    public var status: AlertStatus
    /// When it last changed status (Klaxon's clock).
    public var since: Date
    /// Its recent status changes, within the flapping rule's window.
    public var changes: [Date]? = nil
    /// Changing too often (`alerts.flapping`): its changes are counted, not listed one by one.
    public var flapping: Bool? = nil

    public init(name: String, status: AlertStatus, since: Date) {
        self.name = name
        self.status = status
        self.since = since
    }

    public var isFlapping: Bool { flapping ?? false }
}

/// Alert news held back until the next summary post.
public struct PendingAlertNews: Sendable, Codable, Hashable {
    /// The first lines of the news, as they will be posted.
    public var lines: [String] = []
    public var firing = 0
    public var resolved = 0
    /// Links of the latest notification (its `externalURL`).
    public var externalURL: String?
    /// Changes of flapping alerts, counted rather than listed.
    public var flappingChanges: Int? = nil

    public init() {}
}
