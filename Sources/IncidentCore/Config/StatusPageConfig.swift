import Foundation

/// `statusPage`: the public page at `GET /status` (docs/status-page.md).
public struct StatusPageConfig: Sendable, Hashable, Decodable {
    /// The page's heading and `<title>`.
    public var title: String = "Service status"
    /// An image shown beside the title (an absolute http(s) URL).
    public var logoURL: String?
    /// Links in the page's header (the company site, a support page).
    public var links: [StatusPageLink] = []
    /// The parts of the service the page lists, in order; incidents attach to them by id.
    public var components: [StatusPageComponent] = []
    /// Signed JSON POSTs on every published change, for external status pages.
    public var webhooks: [StatusWebhook] = []

    public init(
        title: String = "Service status", logoURL: String? = nil, links: [StatusPageLink] = [], components: [StatusPageComponent] = [],
        webhooks: [StatusWebhook] = []
    ) {
        self.title = title
        self.logoURL = logoURL
        self.links = links
        self.components = components
        self.webhooks = webhooks
    }

    public func component(id: String) -> StatusPageComponent? {
        components.first { $0.id.lowercased() == id.lowercased() }
    }
}

public struct StatusPageLink: Sendable, Hashable, Codable {
    public var title: String
    public var url: String

    public init(title: String, url: String) {
        self.title = title
        self.url = url
    }
}

public struct StatusPageComponent: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var description: String?

    public init(id: String, name: String, description: String? = nil) {
        self.id = id
        self.name = name
        self.description = description
    }
}

/// One `statusPage.webhooks` entry. The secret stays in the config: the outbox row names the webhook by
/// id, so a rotated secret applies to what is still pending.
public struct StatusWebhook: Sendable, Hashable, Decodable {
    public var id: String
    public var url: String
    public var secret: Secret

    public init(id: String, url: String, secret: Secret) {
        self.id = id
        self.url = url
        self.secret = secret
    }
}

/// `postmortems`: where post-mortem drafts are written as files.
public struct PostmortemsConfig: Sendable, Hashable, Decodable {
    /// At resolve, the draft goes to `<directory>/YYYY-MM-DD-<slug>.md` and is rewritten as the incident
    /// changes until someone marks it reviewed. Nil: drafts stay in chat and the export API.
    public var directory: String?

    public init(directory: String? = nil) {
        self.directory = directory
    }
}

/// `severities[].targets`: what the team aims for (runbook 004: MTTA < 5 min, MTTM < 30 min, MTTR < 2 h
/// for P1). `/incident stats` and `GET /api/stats` compare the real times with them.
public struct SeverityTargets: Sendable, Hashable, Codable {
    public var acknowledge: TimeSpan?
    public var mitigate: TimeSpan?
    public var resolve: TimeSpan?

    public init(acknowledge: TimeSpan? = nil, mitigate: TimeSpan? = nil, resolve: TimeSpan? = nil) {
        self.acknowledge = acknowledge
        self.mitigate = mitigate
        self.resolve = resolve
    }
}

extension StatusPageConfig: ConfigObject {
    static let defaults = StatusPageConfig()
    static let rules: [String: [ConfigRule]] = ["logoURL": [.httpURL]]
}

extension StatusPageLink: ConfigObject {
    static let defaults = StatusPageLink(title: "", url: "")
    static let rules: [String: [ConfigRule]] = ["title": [.required], "url": [.required, .httpURL]]
}

extension StatusPageComponent: ConfigObject {
    static let defaults = StatusPageComponent(id: "", name: "")
    static let rules: [String: [ConfigRule]] = ["id": [.required, .identifier], "name": [.required]]
}

extension StatusWebhook: ConfigObject {
    static let defaults = StatusWebhook(id: "", url: "", secret: Secret(""))
    static let rules: [String: [ConfigRule]] = ["id": [.required, .identifier], "url": [.required, .httpURL], "secret": [.required]]
}

extension PostmortemsConfig: ConfigObject { static let defaults = PostmortemsConfig() }

extension SeverityTargets: ConfigObject { static let defaults = SeverityTargets() }
