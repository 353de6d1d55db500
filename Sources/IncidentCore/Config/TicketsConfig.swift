import Foundation

/// `tickets`: the trackers Klaxon files issues in (docs/tickets.md).
public struct TicketsConfig: Sendable {
    public var github: GitHubConfig?
    public init(github: GitHubConfig? = nil) { self.github = github }
}

/// `tickets.github`: the REST API and the token that may open, comment on and close issues.
public struct GitHubConfig: Sendable, Hashable {
    /// A fine-grained token with "Issues: read and write", normally `"${GITHUB_TOKEN}"`.
    public var token: Secret
    /// `https://api.github.com`, or a GitHub Enterprise Server's `https://<host>/api/v3`.
    public var apiBaseURL: String

    public init(token: Secret, apiBaseURL: String = "https://api.github.com") {
        self.token = token
        self.apiBaseURL = apiBaseURL
    }
}

/// How a severity opens: as a chat incident (channel or thread), or as a ticket only.
public enum OpenAs: String, Sendable, Hashable, CaseIterable {
    case channel, ticket
}

/// `severities[].ticket`: where that severity's issues go, labelled how.
public struct TicketPolicy: Sendable, Hashable {
    public var to: TicketTarget
    /// Labels set on the issue (runbook 003: `bug`, `P0-critical`).
    public var labels: [String]

    public init(to: TicketTarget, labels: [String] = []) {
        self.to = to
        self.labels = labels
    }
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
                && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
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
