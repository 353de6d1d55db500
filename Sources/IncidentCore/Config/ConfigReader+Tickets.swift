import Foundation

// MARK: - tickets

extension ConfigReader {
    func readTickets(_ root: ObjectFields) -> TicketsConfig {
        guard let fields = section(root, "tickets", keys: ["github"]),
              let github = section(fields, "github", keys: ["token", "apiBaseURL"])
        else { return TicketsConfig() }
        let token = field(github, "token", required: true) { secret($0, at: $1) }
        let apiBaseURL = field(github, "apiBaseURL") { httpURL($0, at: $1) }
        guard let token else { return TicketsConfig() }
        var config = GitHubConfig(token: token)
        if let apiBaseURL {
            // `…/api/v3/` and `…/api/v3` mean the same; paths are appended with their own `/`.
            config.apiBaseURL = apiBaseURL.hasSuffix("/") ? String(apiBaseURL.dropLast()) : apiBaseURL
        }
        return TicketsConfig(github: config)
    }

    /// `{"to": "github:<owner>/<repo>", "labels": [...]}`.
    func readTicketPolicy(_ value: JSONValue, at path: ConfigPath, tickets: TicketsConfig) -> TicketPolicy? {
        guard let fields = object(value, at: path, allowedKeys: ["to", "labels"]) else { return nil }
        let target = field(fields, "to", required: true) { value, path -> TicketTarget? in
            guard let text = string(value, at: path) else { return nil }
            guard let target = TicketTarget(parsing: text) else {
                report(path, "\(Self.quote(text)) is not a ticket target such as \"github:acme/api\"")
                return nil
            }
            guard tickets.github != nil else {
                report(path, "github targets need tickets.github (docs/tickets.md)")
                return nil
            }
            return target
        }
        let labels = field(fields, "labels") { stringList($0, at: $1, noun: "label") } ?? []
        guard let target else { return nil }
        return TicketPolicy(to: target, labels: labels)
    }
}
