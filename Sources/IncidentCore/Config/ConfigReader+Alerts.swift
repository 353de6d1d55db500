import Mustache

// MARK: - alerts

extension ConfigReader {
    func readAlerts(_ root: ObjectFields, severityIDs: [String], platforms: PlatformsConfig) -> AlertsConfig {
        var alerts = AlertsConfig()
        guard let fields = section(root, "alerts", keys: ["sources", "storm", "postEvery", "flapping"]) else { return alerts }
        if fields.values["flapping"] != nil {
            alerts.flapping = field(fields, "flapping") { value, path -> FlappingRule? in
                guard let rule = object(value, at: path, allowedKeys: ["changes", "within"]) else { return nil }
                let changes = field(rule, "changes", required: true) { integer($0, at: $1, in: 1...10_000) }
                let within = field(rule, "within", required: true) { duration($0, at: $1) }
                guard let changes, let within else { return nil }
                return FlappingRule(changes: changes, within: within)
            }
        }
        if let every = field(fields, "postEvery", { duration($0, at: $1, allowZero: true) }) { alerts.postEvery = every }
        if let elements = field(fields, "sources", { array($0, at: $1) }) {
            var seen: [String: ConfigPath] = [:]
            for element in elements {
                guard let source = readAlertSource(element.value, at: element.path, severityIDs: severityIDs, platforms: platforms) else { continue }
                if let first = seen[source.id] {
                    report(element.path.key("id"), "\(Self.quote(source.id)) is also the id of \(first); source ids must differ")
                    continue
                }
                seen[source.id] = element.path
                alerts.sources.append(source)
            }
        }
        alerts.storm = field(fields, "storm") { value, path -> StormRule? in
            guard let storm = object(value, at: path, allowedKeys: ["reports", "within", "raiseBy"]) else { return nil }
            let reports = field(storm, "reports", required: true) { integer($0, at: $1, in: 1...1_000_000) }
            let within = field(storm, "within", required: true) { duration($0, at: $1) }
            let raiseBy = field(storm, "raiseBy") { integer($0, at: $1, in: 1...max(1, severityIDs.count - 1)) } ?? 1
            guard let reports, let within else { return nil }
            return StormRule(reports: reports, within: within, raiseBy: raiseBy)
        }
        return alerts
    }

    private func readAlertSource(_ value: JSONValue, at path: ConfigPath, severityIDs: [String], platforms: PlatformsConfig) -> AlertSourceConfig? {
        let keys = ["id", "kind", "token", "signingSecret", "platform", "severity", "title", "autoResolve", "reopenWithin"]
        guard let fields = object(value, at: path, allowedKeys: keys) else { return nil }
        let id = field(fields, "id", required: true) { identifier($0, at: $1) }
        let kind = field(fields, "kind", required: true) { choice($0, at: $1, from: AlertSourceKind.allCases.map(\.rawValue)) }
            .flatMap(AlertSourceKind.init(rawValue:))
        let token = field(fields, "token") { secret($0, at: $1) }
        let signingSecret = field(fields, "signingSecret") { secret($0, at: $1) }
        let enabled = platforms.enabled.map(\.rawValue)
        let platform = field(fields, "platform") { value, path -> PlatformKind? in
            guard let name = choice(value, at: path, from: PlatformKind.allCases.map(\.rawValue)), let platform = PlatformKind(rawValue: name) else { return nil }
            guard platforms.enabled.contains(platform) else {
                report(path, "platform \(Self.quote(name)) is not configured under `platforms` (configured: \(enabled.joined(separator: ", ")))")
                return nil
            }
            return platform
        }
        let severity = field(fields, "severity") { readSeverityMapping($0, at: $1, severityIDs: severityIDs) }
        let title = field(fields, "title") { value, path -> String? in
            guard let template = string(value, at: path) else { return nil }
            do {
                _ = try MustacheTemplate(string: template)
            } catch {
                report(path, "is not a valid mustache template (\(error))")
                return nil
            }
            return template
        }
        let autoResolve = field(fields, "autoResolve") { boolean($0, at: $1) } ?? false
        let reopenWithin = field(fields, "reopenWithin") { duration($0, at: $1) }

        if fields.values["token"] == nil, fields.values["signingSecret"] == nil {
            report(path, "needs `token` (Authorization: Bearer) or `signingSecret` (X-Klaxon-Signature): alerts page people, so nobody may post them unauthenticated")
        }
        guard let id, let kind else { return nil }
        // Without a platform named, the first configured one (the console when none other is).
        guard let platform = platform ?? (fields.values["platform"] == nil ? platforms.enabled.first : nil) else { return nil }
        let mapping = severity ?? AlertSeverityMapping(defaultSeverity: severityIDs.last ?? "")
        if fields.values["severity"] != nil, severity == nil { return nil }
        return AlertSourceConfig(
            id: id, kind: kind, token: token, signingSecret: signingSecret, platform: platform, severity: mapping,
            title: title ?? AlertSourceConfig.defaultTitle, autoResolve: autoResolve, reopenWithin: reopenWithin)
    }

    private func readSeverityMapping(_ value: JSONValue, at path: ConfigPath, severityIDs: [String]) -> AlertSeverityMapping? {
        guard let fields = object(value, at: path, allowedKeys: ["label", "map", "default"]) else { return nil }
        let label = field(fields, "label") { string($0, at: $1) } ?? "severity"
        var ok = true
        func known(_ name: String, at path: ConfigPath) -> Bool {
            guard severityIDs.contains(name) else {
                report(path, "unknown severity \(Self.quote(name))" + Self.hint(for: name, among: severityIDs, known: "severity ids"))
                ok = false
                return false
            }
            return true
        }
        var map: [String: String] = [:]
        if let entries = field(fields, "map", { entries($0, at: $1) }) {
            for entry in entries {
                guard let target = string(entry.value, at: entry.path) else {
                    ok = false
                    continue
                }
                if known(target, at: entry.path) { map[entry.key] = target }
            }
        }
        let fallback = field(fields, "default") { value, path -> String? in
            guard let name = string(value, at: path) else { return nil }
            return known(name, at: path) ? name : nil
        }
        if fields.values["default"] != nil, fallback == nil { ok = false }
        guard ok else { return nil }
        return AlertSeverityMapping(label: label, map: map, defaultSeverity: fallback ?? severityIDs.last ?? "")
    }
}
