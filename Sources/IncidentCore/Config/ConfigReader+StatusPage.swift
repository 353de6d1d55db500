import Foundation

/// `statusPage`, `postmortems` and `severities[].targets` (docs/status-page.md, docs/configuration.md).
extension ConfigReader {
    func readStatusPage(_ root: ObjectFields) -> StatusPageConfig {
        var page = StatusPageConfig()
        guard let fields = section(root, "statusPage", keys: ["title", "logoURL", "links", "components", "webhooks"]) else { return page }
        if let title = field(fields, "title", { string($0, at: $1) }) { page.title = title }
        page.logoURL = field(fields, "logoURL") { httpURL($0, at: $1) }
        if let links = field(fields, "links", { array($0, at: $1) }) {
            page.links = links.compactMap { element in
                guard let link = object(element.value, at: element.path, allowedKeys: ["title", "url"]) else { return nil }
                let title = field(link, "title", required: true) { string($0, at: $1) }
                let url = field(link, "url", required: true) { httpURL($0, at: $1) }
                guard let title, let url else { return nil }
                return StatusPageLink(title: title, url: url)
            }
        }
        if let components = field(fields, "components", { array($0, at: $1) }) {
            var seen: [String: ConfigPath] = [:]
            for element in components {
                guard let component = object(element.value, at: element.path, allowedKeys: ["id", "name", "description"]) else { continue }
                let id = field(component, "id", required: true) { identifier($0, at: $1) }
                let name = field(component, "name", required: true) { string($0, at: $1) }
                let description = field(component, "description") { string($0, at: $1) }
                guard let id, let name else { continue }
                if let first = seen[id.lowercased()] {
                    report(element.path.key("id"), "\(Self.quote(id)) is also the id of \(first); component ids must differ")
                    continue
                }
                seen[id.lowercased()] = element.path
                page.components.append(StatusPageComponent(id: id, name: name, description: description))
            }
        }
        if let webhooks = field(fields, "webhooks", { array($0, at: $1) }) {
            var seen: [String: ConfigPath] = [:]
            for element in webhooks {
                guard let hook = object(element.value, at: element.path, allowedKeys: ["id", "url", "secret"]) else { continue }
                let id = field(hook, "id", required: true) { identifier($0, at: $1) }
                let url = field(hook, "url", required: true) { httpURL($0, at: $1) }
                let signingSecret = field(hook, "secret", required: true) { secret($0, at: $1) }
                guard let id, let url, let signingSecret else { continue }
                if let first = seen[id] {
                    report(element.path.key("id"), "\(Self.quote(id)) is also the id of \(first); webhook ids must differ")
                    continue
                }
                seen[id] = element.path
                page.webhooks.append(StatusWebhook(id: id, url: url, secret: signingSecret))
            }
        }
        return page
    }

    func readPostmortems(_ root: ObjectFields) -> PostmortemsConfig {
        guard let fields = section(root, "postmortems", keys: ["directory"]) else { return PostmortemsConfig() }
        return PostmortemsConfig(directory: field(fields, "directory") { string($0, at: $1) })
    }

    /// `severities[n].targets`: `{ "acknowledge": "5m", "mitigate": "30m", "resolve": "2h" }`.
    func readTargets(_ value: JSONValue, at path: ConfigPath) -> SeverityTargets? {
        guard let fields = object(value, at: path, allowedKeys: ["acknowledge", "mitigate", "resolve"]) else { return nil }
        return SeverityTargets(
            acknowledge: field(fields, "acknowledge") { duration($0, at: $1) },
            mitigate: field(fields, "mitigate") { duration($0, at: $1) },
            resolve: field(fields, "resolve") { duration($0, at: $1) })
    }
}
