import Foundation

/// `tickets`: the trackers Klaxon files issues in (docs/tickets.md).
public struct TicketsConfig: Sendable, Decodable {
    public var github: GitHubConfig?
    public init(github: GitHubConfig? = nil) { self.github = github }
}

extension TicketsConfig: ConfigObject { static let defaults = TicketsConfig() }

/// `tickets.github`: the REST API and the token that may open, comment on and close issues.
public struct GitHubConfig: Sendable, Hashable, Decodable {
    /// A fine-grained token with "Issues: read and write", normally `"${GITHUB_TOKEN}"`.
    public var token: Secret
    /// `https://api.github.com`, or a GitHub Enterprise Server's `https://<host>/api/v3`.
    public var apiBaseURL: String = "https://api.github.com"

    public init(token: Secret, apiBaseURL: String = "https://api.github.com") {
        self.token = token
        self.apiBaseURL = apiBaseURL
    }
}

extension GitHubConfig: ConfigObject {
    static let defaults = GitHubConfig(token: Secret(""))
    static let rules: [String: [ConfigRule]] = ["token": [.required], "apiBaseURL": [.httpURL]]
}

/// How a severity opens: as a chat incident (channel or thread), or as a ticket only.
public enum OpenAs: String, Sendable, Hashable, CaseIterable, Decodable, ConfigChoice {
    case channel, ticket
}

/// `severities[].ticket`: where that severity's issues go, labelled how.
public struct TicketPolicy: Sendable, Hashable, Decodable {
    public var to: TicketTarget
    /// Labels set on the issue (runbook 003: `bug`, `P0-critical`).
    public var labels: [String] = []

    public init(to: TicketTarget, labels: [String] = []) {
        self.to = to
        self.labels = labels
    }
}

extension TicketPolicy: ConfigObject {
    static let defaults = TicketPolicy(to: TicketTarget(owner: "", repo: ""))
    static let rules: [String: [ConfigRule]] = ["to": [.required], "labels": [.notEmpty("must list at least one label")]]
}

/// `github:<owner>/<repo>`: a repository's issues.
public struct TicketTarget: Sendable, Hashable, Codable, CustomStringConvertible {
    public var owner: String
    public var repo: String

    public init(owner: String, repo: String) {
        self.owner = owner
        self.repo = repo
    }

    /// Owner and repository names as GitHub allows them: letters, digits, `-`, `_`, `.`.
    public init?(parsing text: String) {
        guard text.hasPrefix("github:") else { return nil }
        let parts = text.dropFirst("github:".count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let allowed = { (name: String) in
            !name.isEmpty && name != "." && name != ".."
                && name.unicodeScalars.allSatisfy {
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0))
                }
        }
        guard parts.count == 2, allowed(parts[0]), allowed(parts[1]) else { return nil }
        self.init(owner: parts[0], repo: parts[1])
    }

    public var description: String { "github:\(owner)/\(repo)" }
}

/// The issue an incident was filed as: the target at once, the number and link once GitHub answered.
public struct TicketLink: Sendable, Hashable, Codable {
    public var target: TicketTarget
    public var number: Int?
    public var url: String?

    public init(target: TicketTarget, number: Int? = nil, url: String? = nil) {
        self.target = target
        self.number = number
        self.url = url
    }
}

extension TicketTarget: ConfigScalar {
    init(configValue decoder: ConfigDecoder) {
        let text = decoder.string()
        if let target = TicketTarget(parsing: text) {
            self = target
        } else {
            if !text.isEmpty { decoder.report("\(ConfigText.quote(text)) is not a ticket target such as \"github:acme/api\"") }
            self = TicketTarget(owner: "", repo: "")
        }
    }
}
