/// `alerts`: the monitoring systems that may open and feed incidents (docs/alerts.md).
public struct AlertsConfig: Sendable, Decodable {
    public var sources: [AlertSourceConfig] = []
    /// Runbook 001: "Escalate one sev higher if more than 10 reports inside 5 minutes." nil: never.
    public var storm: StormRule?
    /// At most one alert summary post per incident this often; what comes between is merged into the next.
    public var postEvery: TimeSpan
    /// An alert that changes status more than this often is flapping. nil: never.
    public var flapping: FlappingRule?

    public init(sources: [AlertSourceConfig] = [], storm: StormRule? = nil, postEvery: TimeSpan = .init(seconds: 30), flapping: FlappingRule? = FlappingRule())
    {
        self.sources = sources
        self.storm = storm
        self.postEvery = postEvery
        self.flapping = flapping
    }

    public func source(id: String) -> AlertSourceConfig? { sources.first { $0.id == id } }
}

extension AlertsConfig: ConfigObject {
    static let defaults = AlertsConfig()
    static let rules: [String: [ConfigRule]] = ["postEvery": [.allowZero]]
}

/// The payload shape a source sends, and so the route it posts to (`/alerts/<kind>/<id>`).
public enum AlertSourceKind: String, Sendable, CaseIterable {
    case alertmanager, grafana, webhook
}

/// One monitoring system that posts to Klaxon.
public struct AlertSourceConfig: Sendable, Decodable {
    /// The last part of the route, and the actor of what its alerts do.
    public var id: String
    public var kind: AlertSourceKind
    /// `Authorization: Bearer <token>`, what Alertmanager's `http_config.authorization` sends.
    public var token: Secret?
    /// Key of an `X-Klaxon-Signature: sha256=<hex HMAC of the body>` header, for senders that sign.
    public var signingSecret: Secret?
    /// Where the incidents it opens live.
    public var platform: PlatformKind
    public var severity: AlertSeverityMapping
    /// Mustache over the notification (`commonLabels.alertname`, `groupLabels.service`, `title`, …).
    public var title: String
    /// When every alert of the group is resolved, the incident is resolved too.
    public var autoResolve: Bool
    /// A group firing again this soon after its incident was resolved reopens it; later, it opens a new one.
    public var reopenWithin: TimeSpan?

    public init(
        id: String, kind: AlertSourceKind, token: Secret? = nil, signingSecret: Secret? = nil, platform: PlatformKind,
        severity: AlertSeverityMapping, title: String = AlertSourceConfig.defaultTitle, autoResolve: Bool = false, reopenWithin: TimeSpan? = nil
    ) {
        self.id = id
        self.kind = kind
        self.token = token
        self.signingSecret = signingSecret
        self.platform = platform
        self.severity = severity
        self.title = title
        self.autoResolve = autoResolve
        self.reopenWithin = reopenWithin
    }

    /// The notification's own title when it has one (Grafana, the generic route), else the alert's name.
    public static let defaultTitle = "{{#title}}{{title}}{{/title}}{{^title}}{{commonLabels.alertname}}{{/title}}"
}

extension AlertSourceConfig: ConfigObject {
    static let defaults = AlertSourceConfig(id: "", kind: .alertmanager, platform: .console, severity: AlertSeverityMapping(defaultSeverity: ""))
    static let rules: [String: [ConfigRule]] = ["id": [.required, .identifier], "kind": [.required]]
}

/// Which severity an alert opens or raises its incident to: the value of one label, through a map.
public struct AlertSeverityMapping: Sendable, Decodable {
    public var label: String
    /// Label value → severity id (`"critical": "sev1"`).
    public var map: [String: String]
    /// For alerts without the label, or with a value the map does not name.
    public var `default`: String

    public init(label: String = "severity", map: [String: String] = [:], defaultSeverity: String) {
        self.label = label
        self.map = map
        self.default = defaultSeverity
    }
}

extension AlertSeverityMapping: ConfigObject { static let defaults = AlertSeverityMapping(defaultSeverity: "") }

/// More than `reports` reports within `within` raise the incident's severity by `raiseBy` levels, once per window.
public struct StormRule: Sendable, Decodable, Hashable {
    public var reports: Int
    public var within: TimeSpan
    public var raiseBy: Int

    public init(reports: Int, within: TimeSpan, raiseBy: Int = 1) {
        self.reports = reports
        self.within = within
        self.raiseBy = raiseBy
    }
}

extension StormRule: ConfigObject {
    static let defaults = StormRule(reports: 0, within: .zero)
    static let rules: [String: [ConfigRule]] = ["reports": [.required, .range(1...1_000_000)], "within": [.required], "raiseBy": [.atLeast(1)]]
}

/// More than `changes` status changes (firing ↔ resolved) of one alert within `within`: it is flapping.
public struct FlappingRule: Sendable, Decodable, Hashable {
    public var changes: Int
    public var within: TimeSpan

    public init(changes: Int = 5, within: TimeSpan = .minutes(30)) {
        self.changes = changes
        self.within = within
    }
}

extension FlappingRule: ConfigObject {
    static let defaults = FlappingRule()
    static let rules: [String: [ConfigRule]] = ["changes": [.required, .range(1...10_000)], "within": [.required]]
}
