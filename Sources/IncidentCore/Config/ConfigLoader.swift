import Foundation
import Mustache

/// One thing wrong with `bot-config.json`: where (a JSON path such as `severities[2].updateEvery`, or `$`
/// for the document as a whole) and what. Messages never contain a secret's value.
public struct ConfigProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Everything wrong with a config, in the order the document was read.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) {
        self.problems = problems
    }

    /// One line per problem.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Turns the text of `bot-config.json` into a `KlaxonConfig`, or into the full list of what is wrong with
/// it. Pure: the caller reads the file and passes the environment that `${VAR}` references come from.
///
/// The document is walked by hand rather than decoded with `Codable`, because a decoder stops at the first
/// error and a person fixing a config wants all of them, each with the path of the field at fault.
public enum ConfigLoader {
    /// Parses and validates. `environment` supplies `${VAR}` values. Returns every problem found, not just
    /// the first.
    public static func load(json: [UInt8], environment: [String: String]) -> Result<KlaxonConfig, ConfigErrors> {
        let document: JSONValue
        do {
            document = try JSONParser.parse(json)
        } catch {
            return .failure(ConfigErrors(problems: [ConfigProblem(path: "$", message: error.description)]))
        }
        let reader = ConfigReader(environment: environment)
        let config = reader.readConfig(document)
        guard let config, reader.problems.isEmpty else {
            return .failure(ConfigErrors(problems: reader.scrubbedProblems))
        }
        return .success(config)
    }

    public static func load(json: String, environment: [String: String]) -> Result<KlaxonConfig, ConfigErrors> {
        load(json: Array(json.utf8), environment: environment)
    }

    /// The names `templates` may override; they are the templates `DefaultTemplates` provides.
    public static let templateNames = [
        "initialAlert", "announcement", "update", "reminder", "resolution",
        "summary", "page", "escalation", "review", "postmortem",
    ]

    /// What `logging.level` accepts: swift-log's levels.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// The placeholders `incidents.channelName` understands, and those of them that differ between
    /// incidents declared on the same day.
    static let channelNamePlaceholders = ["date", "seq", "id", "slug", "severity", "service"]
    /// `{slug}` and `{service}` repeat when two incidents share a title or a service on one day; every
    /// platform then appends `-2`, `-3` to the name (as Slack does on `name_taken`), so they still get
    /// channels of their own.
    static let uniqueChannelNamePlaceholders = ["seq", "id", "slug", "service"]
}

// MARK: - Sections

extension ConfigReader {
    func readConfig(_ document: JSONValue) -> KlaxonConfig? {
        let topLevelKeys = ["server", "storage", "logging", "platforms", "incidents", "severities", "people", "oncall", "templates", "outbox", "paging", "alerts", "groups", "permissions", "retention"]
        // `$schema` lets editors find bot-config.schema.json; it means nothing to Klaxon.
        guard let root = object(document, at: .root, allowedKeys: topLevelKeys, ignoredKeys: ["$schema"]) else { return nil }

        let server = readServer(root)
        let storage = readStorage(root)
        let logging = readLogging(root)
        let platforms = readPlatforms(root)
        var incidents = readIncidents(root)
        let severities = readSeverities(root)
        let people = readPeople(root)
        let oncall = readOnCall(root, people: people, platforms: platforms)
        let templates = readTemplates(root)
        let outbox = readOutbox(root)
        let paging = readPaging(root, severityIDs: severities.map(\.id))
        if let name = incidents.defaultSeverity {
            if let policy = severities.first(where: { $0.id == name || $0.aliases.contains(name.lowercased()) }) {
                incidents.defaultSeverity = policy.id
            } else if !severities.isEmpty {
                report(ConfigPath.root.key("incidents").key("defaultSeverity"),
                       "unknown severity \(Self.quote(name))" + Self.hint(for: name, among: severities.map(\.id), known: "severity ids"))
            }
        }
        let alerts = readAlerts(root, severityIDs: severities.map(\.id), platforms: platforms)
        let groups = readGroups(root, people: people.byID)
        let permissions = readPermissions(root, severities: severities, people: people.byID, groups: groups)
        let retention = readRetention(root)

        return KlaxonConfig(
            server: server, storage: storage, logging: logging, platforms: platforms, incidents: incidents,
            severities: severities, people: people.byID, oncall: oncall, templates: templates, outbox: outbox,
            paging: paging, alerts: alerts, groups: groups, permissions: permissions, retention: retention
        )
    }

    /// The object at `parent[key]`, checked against `keys`; nil when absent or not an object.
    func section(_ parent: ObjectFields, _ key: String, keys: [String]) -> ObjectFields? {
        field(parent, key) { object($0, at: $1, allowedKeys: keys) }
    }

    private func readServer(_ root: ObjectFields) -> ServerConfig {
        var server = ServerConfig()
        let problemsBefore = problems.count
        let serverKeys = ["host", "port", "maxBodyBytes", "apiToken", "idleTimeout", "headerTimeout", "bodyTimeout", "maxConnections"]
        if let fields = section(root, "server", keys: serverKeys) {
            if let timeout = field(fields, "idleTimeout", { duration($0, at: $1) }) { server.idleTimeout = timeout }
            if let timeout = field(fields, "headerTimeout", { duration($0, at: $1) }) { server.headerTimeout = timeout }
            if let timeout = field(fields, "bodyTimeout", { duration($0, at: $1) }) { server.bodyTimeout = timeout }
            if let limit = field(fields, "maxConnections", { integer($0, at: $1, in: 1...1_000_000) }) { server.maxConnections = limit }
            if let host = field(fields, "host", { string($0, at: $1) }) { server.host = host }
            if let port = field(fields, "port", { integer($0, at: $1, in: 1...65535) }) { server.port = port }
            if let limit = field(fields, "maxBodyBytes", { integer($0, at: $1, in: 1...Int.max) }) { server.maxBodyBytes = limit }
            // Empty means unset, so the shipped `"${KLAXON_API_TOKEN:-}"` needs the variable only where
            // the API is exposed; `exposureProblem` below says so when it is.
            server.apiToken = field(fields, "apiToken") { secret($0, at: $1, emptyMeansUnset: true) }
        }
        // A broken host or token has been reported already; do not also call the token missing.
        if problems.count == problemsBefore, let problem = server.exposureProblem { report(problem) }
        return server
    }

    private func readStorage(_ root: ObjectFields) -> StorageConfig {
        var storage = StorageConfig()
        guard let fields = section(root, "storage", keys: ["sqlite", "postgres"]) else { return storage }
        if let sqlite = section(fields, "sqlite", keys: ["path"]),
           let path = field(sqlite, "path", { string($0, at: $1) }) {
            storage.sqlite = SQLiteStorageConfig(path: path)
        }
        guard fields.values["postgres"] != nil else { return storage }
        if fields.values["sqlite"] != nil {
            report(fields.path, "sqlite and postgres are exclusive: set one of them")
        }
        storage.sqlite = nil
        guard let postgres = section(fields, "postgres", keys: ["url", "poolSize"]) else { return storage }
        let url = field(postgres, "url", required: true) { value, path -> Secret? in
            guard let url = secret(value, at: path) else { return nil }
            if case .failure(let problem) = PostgresURL.parse(url.exposedValue) {
                report(path, "the URL \(problem.description)")
                return nil
            }
            return url
        }
        let poolSize = field(postgres, "poolSize") { integer($0, at: $1, in: 1...1000) }
        if let url { storage.postgres = PostgresStorageConfig(url: url, poolSize: poolSize ?? 8) }
        return storage
    }

    private func readLogging(_ root: ObjectFields) -> LoggingConfig {
        var logging = LoggingConfig()
        guard let fields = section(root, "logging", keys: ["level", "format"]) else { return logging }
        if let level = field(fields, "level", { choice($0, at: $1, from: ConfigLoader.logLevels) }) { logging.level = level }
        let formats = LoggingConfig.Format.allCases.map(\.rawValue)
        if let format = field(fields, "format", { choice($0, at: $1, from: formats) }).flatMap(LoggingConfig.Format.init(rawValue:)) {
            logging.format = format
        }
        return logging
    }

    // MARK: Platforms

    private func readPlatforms(_ root: ObjectFields) -> PlatformsConfig {
        // Without a `platforms` section Klaxon runs with the console platform alone.
        guard let fields = section(root, "platforms", keys: PlatformKind.allCases.map(\.rawValue)) else { return PlatformsConfig() }
        if fields.isEmpty {
            report(fields.path, "at least one platform must be configured (console needs no credentials)")
        }
        // Each platform's section is read only when present, so the environment variables of platforms
        // that are not configured are never asked for.
        return PlatformsConfig(
            console: section(fields, "console", keys: ["announceChannel"]).map(readConsole),
            slack: section(fields, "slack", keys: ["signingSecret", "botToken", "appToken", "apiBaseURL", "announceChannel", "oncallUserGroup"]).flatMap(readSlack),
            rocketchat: section(fields, "rocketchat", keys: ["serverURL", "userId", "authToken", "webhookToken", "announceChannel", "triggers", "poll", "privateChannels", "oncallMention"]).flatMap(readRocketChat),
            mattermost: section(fields, "mattermost", keys: ["serverURL", "botToken", "teamId", "commandToken", "announceChannel", "privateChannels", "actionsURL"]).flatMap(readMattermost)
        )
    }

    private func readConsole(_ fields: ObjectFields) -> ConsoleConfig {
        var console = ConsoleConfig()
        if let channel = field(fields, "announceChannel", { string($0, at: $1) }) { console.announceChannel = channel }
        return console
    }

    private func readSlack(_ fields: ObjectFields) -> SlackConfig? {
        // Every field is read before any is required, so that all of their problems are reported.
        let signingSecret = field(fields, "signingSecret", required: true) { secret($0, at: $1) }
        let botToken = field(fields, "botToken", required: true) { secret($0, at: $1) }
        let appToken = field(fields, "appToken") { secret($0, at: $1) }
        let apiBaseURL = field(fields, "apiBaseURL") { httpURL($0, at: $1) }
        let announceChannel = field(fields, "announceChannel", required: true) { string($0, at: $1) }
        let oncallUserGroup = field(fields, "oncallUserGroup") { string($0, at: $1) }
        guard let signingSecret, let botToken, let announceChannel else { return nil }
        var slack = SlackConfig(signingSecret: signingSecret, botToken: botToken, appToken: appToken, announceChannel: announceChannel, oncallUserGroup: oncallUserGroup)
        if let apiBaseURL { slack.apiBaseURL = apiBaseURL }
        return slack
    }

    private func readRocketChat(_ fields: ObjectFields) -> RocketChatConfig? {
        let serverURL = field(fields, "serverURL", required: true) { httpURL($0, at: $1) }
        let userId = field(fields, "userId", required: true) { string($0, at: $1) }
        let authToken = field(fields, "authToken", required: true) { secret($0, at: $1) }
        let webhookToken = field(fields, "webhookToken") { secret($0, at: $1) }
        let announceChannel = field(fields, "announceChannel", required: true) { string($0, at: $1) }
        let triggers = field(fields, "triggers") { stringList($0, at: $1, noun: "trigger") }
        let poll = field(fields, "poll") { value, path -> RocketChatConfig.Poll? in
            guard let pollFields = object(value, at: path, allowedKeys: ["rooms", "every"]) else { return nil }
            let rooms = field(pollFields, "rooms", required: true) { stringList($0, at: $1, noun: "room") }
            let every = field(pollFields, "every", required: true) { duration($0, at: $1) }
            guard let rooms, let every else { return nil }
            return RocketChatConfig.Poll(rooms: rooms, every: every)
        }
        let privateChannels = field(fields, "privateChannels") { boolean($0, at: $1) }
        let oncallMention = field(fields, "oncallMention") { value, path -> String? in
            guard let text = string(value, at: path) else { return nil }
            let handle = text.hasPrefix("@") ? String(text.dropFirst()) : text
            guard Self.isValidIdentifier(handle) else {
                report(path, "\(Self.quote(text)) is not a usable handle (letters, digits, \".\", \"_\" and \"-\"), e.g. \"oncall\"")
                return nil
            }
            return handle
        }
        guard let serverURL, let userId, let authToken, let announceChannel else { return nil }
        var rocketChat = RocketChatConfig(serverURL: serverURL, userId: userId, authToken: authToken, webhookToken: webhookToken, announceChannel: announceChannel, poll: poll)
        if let triggers { rocketChat.triggers = triggers }
        if let privateChannels { rocketChat.privateChannels = privateChannels }
        rocketChat.oncallMention = oncallMention
        return rocketChat
    }

    private func readMattermost(_ fields: ObjectFields) -> MattermostConfig? {
        let serverURL = field(fields, "serverURL", required: true) { httpURL($0, at: $1) }
        let botToken = field(fields, "botToken", required: true) { secret($0, at: $1) }
        let teamId = field(fields, "teamId", required: true) { string($0, at: $1) }
        let commandToken = field(fields, "commandToken", required: true) { secret($0, at: $1) }
        let announceChannel = field(fields, "announceChannel", required: true) { string($0, at: $1) }
        let privateChannels = field(fields, "privateChannels") { boolean($0, at: $1) }
        let actionsURL = field(fields, "actionsURL") { httpURL($0, at: $1) }
        guard let serverURL, let botToken, let teamId, let commandToken, let announceChannel else { return nil }
        return MattermostConfig(
            serverURL: serverURL, botToken: botToken, teamId: teamId, commandToken: commandToken, announceChannel: announceChannel,
            privateChannels: privateChannels ?? false, actionsURL: actionsURL)
    }

    // MARK: Incidents and severities

    private func readIncidents(_ root: ObjectFields) -> IncidentsConfig {
        var incidents = IncidentsConfig()
        guard let fields = section(root, "incidents", keys: ["mode", "channelName", "timeZone", "overdueAfterCadences", "monitorFor", "allowBroadcastMentions", "defaultSeverity", "links", "idFormat"]) else { return incidents }
        let modes = IncidentsConfig.Mode.allCases.map(\.rawValue)
        if let mode = field(fields, "mode", { choice($0, at: $1, from: modes) }).flatMap(IncidentsConfig.Mode.init(rawValue:)) { incidents.mode = mode }
        if let channelName = field(fields, "channelName", { channelNameTemplate($0, at: $1) }) { incidents.channelName = channelName }
        if let timeZone = field(fields, "timeZone", { timeZone($0, at: $1) }) { incidents.timeZone = timeZone }
        if let cadences = field(fields, "overdueAfterCadences", { integer($0, at: $1, in: 1...Int.max) }) { incidents.overdueAfterCadences = cadences }
        incidents.monitorFor = field(fields, "monitorFor") { duration($0, at: $1) }
        if let allow = field(fields, "allowBroadcastMentions", { boolean($0, at: $1) }) { incidents.allowBroadcastMentions = allow }
        // Checked against the severities once they are read (see `readConfig`).
        incidents.defaultSeverity = field(fields, "defaultSeverity") { string($0, at: $1) }
        let idFormat = field(fields, "idFormat") { value, path -> IncidentLabelFormat? in
            guard let text = string(value, at: path) else { return nil }
            switch IncidentLabelFormat.parse(text) {
            case .success(let format): return format
            case .failure(let problem):
                report(path, problem.description)
                return nil
            }
        }
        if let idFormat { incidents.idFormat = idFormat }
        if let links = field(fields, "links", { entries($0, at: $1) }) {
            for link in links {
                if !Self.isValidIdentifier(link.key) {
                    report(link.path, "\(Self.quote(link.key)) is not a usable link name (letters, digits, \".\", \"_\" and \"-\")")
                } else if let url = string(link.value, at: link.path) {
                    incidents.links[link.key] = url
                }
            }
        }
        return incidents
    }

    /// The channel name pattern: known placeholders only, and at least one that tells apart incidents of
    /// the same day, or the second incident would collide with the first one's channel.
    private func channelNameTemplate(_ value: JSONValue, at path: ConfigPath) -> String? {
        guard let template = string(value, at: path) else { return nil }
        let placeholders = Self.placeholders(in: template)
        let known = ConfigLoader.channelNamePlaceholders
        let unknown = placeholders.filter { !known.contains($0) }
        for name in unknown {
            report(path, "unknown placeholder {\(name)} (known: \(known.map { "{\($0)}" }.joined(separator: ", ")))")
        }
        let unique = ConfigLoader.uniqueChannelNamePlaceholders
        guard placeholders.contains(where: unique.contains) else {
            report(path, "\(Self.quote(template)) must contain {seq}, {id}, {slug} or {service} so that incidents are told apart")
            return nil
        }
        return unknown.isEmpty ? template : nil
    }

    /// The names inside `{…}` in a channel name pattern, in order.
    private static func placeholders(in template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            let afterOpen = rest[rest.index(after: open)...]
            guard let close = afterOpen.firstIndex(of: "}") else { break }
            names.append(String(afterOpen[..<close]))
            rest = afterOpen[afterOpen.index(after: close)...]
        }
        return names
    }

    private func readSeverities(_ root: ObjectFields) -> [SeverityPolicy] {
        guard let elements = field(root, "severities", required: true, { array($0, at: $1) }) else { return [] }
        if elements.isEmpty {
            report(root.path.key("severities"), "at least one severity is required")
        }
        let severityKeys = ["id", "aliases", "name", "description", "updateEvery", "ackWithin", "page", "reviewWithin", "escalateAfter", "templates"]
        var parsed: [(path: ConfigPath, policy: SeverityPolicy)] = []
        for element in elements {
            guard let fields = object(element.value, at: element.path, allowedKeys: severityKeys) else { continue }
            let id = field(fields, "id", required: true) { identifier($0, at: $1) }
            let aliases = field(fields, "aliases") { value, path in
                array(value, at: path)?.compactMap { alias in
                    string(alias.value, at: alias.path).map { (path: alias.path, name: $0) }
                }
            } ?? []
            let name = field(fields, "name", required: true) { string($0, at: $1) }
            let description = field(fields, "description") { string($0, at: $1, allowEmpty: true) }
            let updateEvery = field(fields, "updateEvery") { duration($0, at: $1) }
            let ackWithin = field(fields, "ackWithin") { duration($0, at: $1) }
            let page = field(fields, "page") { boolean($0, at: $1) } ?? false
            let reviewWithin = field(fields, "reviewWithin") { duration($0, at: $1) }
            let escalateAfter = field(fields, "escalateAfter") { duration($0, at: $1) }
            let templates = field(fields, "templates") { templateSources($0, at: $1) }
            guard let id, let name else { continue }
            var policy = SeverityPolicy(
                id: id, aliases: aliases.map(\.name), name: name, description: description, updateEvery: updateEvery,
                ackWithin: ackWithin, page: page, reviewWithin: reviewWithin, escalateAfter: escalateAfter
            )
            policy.templates = templates ?? [:]
            parsed.append((element.path, policy))
            checkAliasesAreUsable(aliases)
        }
        checkSeverityNamesAreUnique(parsed)
        return parsed.map(\.policy)
    }

    /// An alias that normalizes to nothing (`"-"`) could never be typed.
    private func checkAliasesAreUsable(_ aliases: [(path: ConfigPath, name: String)]) {
        for alias in aliases where SeverityPolicy.normalize(alias.name).isEmpty {
            report(alias.path, "\(Self.quote(alias.name)) is not a usable alias")
        }
    }

    /// `KlaxonConfig.severity(named:)` matches ids and aliases after `SeverityPolicy.normalize`, so two
    /// severities must not share one under that comparison. Ids are claimed first, so a clash between an
    /// id and another severity's alias is reported on the alias.
    private func checkSeverityNamesAreUnique(_ severities: [(path: ConfigPath, policy: SeverityPolicy)]) {
        var owner: [String: Int] = [:]
        func claim(_ name: String, by index: Int, at path: ConfigPath) {
            let normalized = SeverityPolicy.normalize(name)
            guard !normalized.isEmpty else { return }
            if let other = owner[normalized], other != index {
                let otherSeverity = severities[other]
                report(path, "\(Self.quote(name)) is already used by \(otherSeverity.path) (\(otherSeverity.policy.id))")
            } else {
                owner[normalized] = index
            }
        }
        for (index, severity) in severities.enumerated() {
            claim(severity.policy.id, by: index, at: severity.path.key("id"))
        }
        for (index, severity) in severities.enumerated() {
            for (aliasIndex, alias) in severity.policy.aliases.enumerated() {
                claim(alias, by: index, at: severity.path.key("aliases").index(aliasIndex))
            }
        }
    }

    // MARK: People and on-call

    /// People by id, plus every id written in `people` (even of entries with problems), so that references
    /// to a person whose entry is broken are not reported a second time as unknown.
    struct People {
        var byID: [String: Person] = [:]
        var ids: [String] = []
    }

    private func readPeople(_ root: ObjectFields) -> People {
        var people = People()
        guard let entries = field(root, "people", { entries($0, at: $1) }) else { return people }
        let personKeys = ["name", "slack", "rocketchat", "mattermost", "console", "timezone", "phone", "email"]
        // Platform → identity → the person who has it, to catch two people claiming one chat account.
        var identityOwners: [PlatformKind: [String: String]] = [:]
        for entry in entries {
            people.ids.append(entry.key)
            if !Self.isValidIdentifier(entry.key) {
                report(entry.path, "\(Self.quote(entry.key)) is not a valid person id (letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit)")
            }
            guard let fields = object(entry.value, at: entry.path, allowedKeys: personKeys) else { continue }
            var person = Person(
                name: field(fields, "name") { string($0, at: $1) },
                slack: field(fields, "slack") { string($0, at: $1) },
                rocketchat: field(fields, "rocketchat") { string($0, at: $1) },
                mattermost: field(fields, "mattermost") { string($0, at: $1) },
                console: field(fields, "console") { string($0, at: $1) },
                timezone: field(fields, "timezone") { timeZone($0, at: $1) },
                phone: field(fields, "phone") { string($0, at: $1) },
                email: field(fields, "email") { string($0, at: $1) }
            )
            // On the console people are plain names; the id is the natural one.
            if person.console == nil { person.console = entry.key }
            for platform in PlatformKind.allCases {
                guard let identity = person.identity(on: platform) else { continue }
                if let other = identityOwners[platform]?[identity] {
                    report(entry.path.key(platform.rawValue), "\(Self.quote(identity)) is also the \(platform) identity of \(ConfigPath.root.key("people").key(other))")
                } else {
                    identityOwners[platform, default: [:]][identity] = entry.key
                }
            }
            people.byID[entry.key] = person
        }
        return people
    }

    /// `{"platform": "rocketchat", "channel": "devops", "rotation": "primary"}`; the rotation defaults to the first.
    private func readTopicChannel(_ value: JSONValue, at path: ConfigPath, rotationIDs: [String], platforms: PlatformsConfig) -> OnCallTopicChannel? {
        guard let fields = object(value, at: path, allowedKeys: ["platform", "channel", "rotation"]) else { return nil }
        let names = PlatformKind.allCases.map(\.rawValue)
        let platform = field(fields, "platform", required: true) { choice($0, at: $1, from: names) }.flatMap(PlatformKind.init(rawValue:))
        if let platform, !platforms.enabled.contains(platform) {
            report(path.key("platform"), "\(Self.quote(platform.rawValue)) is not configured in platforms")
        }
        let channel = field(fields, "channel", required: true) { string($0, at: $1) }
        let rotation = field(fields, "rotation") { value, path -> String? in
            guard let id = string(value, at: path) else { return nil }
            guard rotationIDs.contains(id) else {
                report(path, "no rotation \(Self.quote(id)) in oncall.rotations\(Self.suggestion(for: id, among: rotationIDs))")
                return nil
            }
            return id
        }
        if fields.values["rotation"] == nil, rotationIDs.isEmpty {
            report(path, "needs a rotation, and oncall.rotations has none")
        }
        guard let platform, platforms.enabled.contains(platform), let channel, let rotation = rotation ?? (fields.values["rotation"] == nil ? rotationIDs.first : nil) else { return nil }
        return OnCallTopicChannel(platform: platform, channel: channel.hasPrefix("#") ? String(channel.dropFirst()) : channel, rotation: rotation)
    }

    private func readOnCall(_ root: ObjectFields, people: People, platforms: PlatformsConfig) -> OnCallConfig {
        var oncall = OnCallConfig()
        guard let fields = section(root, "oncall", keys: ["rotations", "escalation", "repeatEscalation", "topicChannels"]) else { return oncall }
        var rotationIDs: [String] = []
        if let elements = field(fields, "rotations", { array($0, at: $1) }) {
            var idOwners: [String: ConfigPath] = [:]
            for element in elements {
                let (id, rotation) = readRotation(element.value, at: element.path, people: people)
                guard let id else { continue }
                if let other = idOwners[id] {
                    report(element.path.key("id"), "\(Self.quote(id)) is already used by \(other)")
                } else {
                    idOwners[id] = element.path
                    rotationIDs.append(id)
                }
                if let rotation { oncall.rotations.append(rotation) }
            }
        }
        if let elements = field(fields, "escalation", { array($0, at: $1) }) {
            oncall.escalation = elements.compactMap { readEscalationStep($0.value, at: $0.path, rotationIDs: rotationIDs, personIDs: people.ids) }
        }
        if let repeats = field(fields, "repeatEscalation", { integer($0, at: $1, in: 0...Int.max) }) { oncall.repeatEscalation = repeats }
        if let elements = field(fields, "topicChannels", { array($0, at: $1) }) {
            oncall.topicChannels = elements.compactMap { readTopicChannel($0.value, at: $0.path, rotationIDs: rotationIDs, platforms: platforms) }
        }
        return oncall
    }

    /// The rotation's id (whenever it could be read, for the uniqueness check) and the rotation (when all
    /// of it could).
    private func readRotation(_ value: JSONValue, at path: ConfigPath, people: People) -> (String?, RotationConfig?) {
        guard let fields = object(value, at: path, allowedKeys: ["id", "members", "period", "handoff", "timezone", "start"]) else { return (nil, nil) }
        let id = field(fields, "id", required: true) { identifier($0, at: $1) }
        let members = field(fields, "members", required: true) { value, path -> [String]? in
            guard let members = stringList(value, at: path, noun: "person") else { return nil }
            var allKnown = true
            for (index, member) in members.enumerated() where !people.ids.contains(member) {
                report(path.index(index), "no person \(Self.quote(member)) in people\(Self.suggestion(for: member, among: people.ids))")
                allKnown = false
            }
            return allKnown ? members : nil
        }
        let period = field(fields, "period", required: true) { duration($0, at: $1) }
        let handoff = field(fields, "handoff", required: true) { value, path -> Handoff? in
            guard let text = string(value, at: path) else { return nil }
            guard let handoff = Handoff(parsing: text) else {
                report(path, "\(Self.quote(text)) is not a hand-off time such as \"monday 09:00\" or \"09:00\"")
                return nil
            }
            return handoff
        }
        let timezone = field(fields, "timezone", required: true) { timeZone($0, at: $1) }
        let start = field(fields, "start") { calendarDate($0, at: $1) }
        if let period, let handoff {
            checkPeriodFitsHandoff(period, handoff, at: path.key("period"))
        }
        guard let id, let members, let period, let handoff, let timezone else { return (id, nil) }
        var rotation = RotationConfig(id: id, members: members, period: period, handoff: handoff, timezone: timezone)
        if let start { rotation.start = start }
        return (id, rotation)
    }

    /// Turns begin at hand-offs, so a turn must last a whole number of the hand-off's own rhythm: whole
    /// weeks for `"monday 09:00"`, whole days for `"09:00"`.
    private func checkPeriodFitsHandoff(_ period: TimeSpan, _ handoff: Handoff, at path: ConfigPath) {
        let week: Int64 = 7 * 86_400
        if handoff.weekday != nil, period.seconds % week != 0 {
            report(path, "\(Self.quote(period.description)) does not fit handoff \(Self.quote(handoff.description)): a weekly hand-off needs whole weeks")
        } else if handoff.weekday == nil, period.seconds % 86_400 != 0 {
            report(path, "\(Self.quote(period.description)) does not fit handoff \(Self.quote(handoff.description)): a daily hand-off needs whole days")
        }
    }

    /// A real `YYYY-MM-DD` date (2024-02-30 is refused).
    private func calendarDate(_ value: JSONValue, at path: ConfigPath) -> String? {
        guard let text = string(value, at: path) else { return nil }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let isWellFormed = parts.count == 3 && parts.map(\.count) == [4, 2, 2] && parts.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isNumber } }
        guard isWellFormed, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              DateComponents(calendar: calendar, year: year, month: month, day: day).isValidDate
        else {
            report(path, "\(Self.quote(text)) is not a date such as \"2024-01-01\"")
            return nil
        }
        return text
    }

    private func readEscalationStep(_ value: JSONValue, at path: ConfigPath, rotationIDs: [String], personIDs: [String]) -> EscalationStep? {
        guard let fields = object(value, at: path, allowedKeys: ["after", "notify"]) else { return nil }
        let after = field(fields, "after", required: true) { duration($0, at: $1, allowZero: true) }
        let notify = field(fields, "notify", required: true) { value, path -> [NotifyTarget]? in
            guard let entries = array(value, at: path) else { return nil }
            guard !entries.isEmpty else {
                report(path, "must list at least one target")
                return nil
            }
            let targets = entries.map { notifyTarget($0.value, at: $0.path, rotationIDs: rotationIDs, personIDs: personIDs) }
            return targets.allSatisfy { $0 != nil } ? targets.compactMap { $0 } : nil
        }
        guard let after, let notify else { return nil }
        return EscalationStep(after: after, notify: notify)
    }

    private func notifyTarget(_ value: JSONValue, at path: ConfigPath, rotationIDs: [String], personIDs: [String]) -> NotifyTarget? {
        guard let text = string(value, at: path) else { return nil }
        guard let target = NotifyTarget(parsing: text) else {
            // A bare id is the likely slip; offer the spelled-out form when it names something.
            let guess = rotationIDs.contains(text) ? "rotation:\(text)" : personIDs.contains(text) ? "person:\(text)" : nil
            let hint = guess.map { " (did you mean \(Self.quote($0))?)" } ?? ""
            report(path, "\(Self.quote(text)) is not \"rotation:<id>\" or \"person:<id>\"\(hint)")
            return nil
        }
        switch target {
        case .rotation(let id) where !rotationIDs.contains(id):
            report(path, "no rotation \(Self.quote(id)) in oncall.rotations\(Self.suggestion(for: id, among: rotationIDs))")
            return nil
        case .person(let id) where !personIDs.contains(id):
            report(path, "no person \(Self.quote(id)) in people\(Self.suggestion(for: id, among: personIDs))")
            return nil
        default:
            return target
        }
    }

    private static func suggestion(for word: String, among candidates: [String]) -> String {
        closest(to: word, among: candidates).map { " (did you mean \(quote($0))?)" } ?? ""
    }

    // MARK: Templates and outbox

    private func readTemplates(_ root: ObjectFields) -> [String: String] {
        field(root, "templates") { templateSources($0, at: $1) } ?? [:]
    }

    /// A `templates` object: the global one, or a severity's (`severities[0].templates`).
    private func templateSources(_ value: JSONValue, at path: ConfigPath) -> [String: String]? {
        guard let fields = object(value, at: path, allowedKeys: ConfigLoader.templateNames, unknownKeyNoun: "template") else { return nil }
        var templates: [String: String] = [:]
        for name in fields.keys {
            guard let source = field(fields, name, { string($0, at: $1, allowEmpty: true) }) else { continue }
            // Compiled here too, so `check-config` names a broken template by its path instead of the
            // daemon failing to start.
            do {
                _ = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
                templates[name] = source
            } catch {
                report(path.key(name), "is not a valid mustache template (\(error))")
            }
        }
        return templates
    }

    private func readOutbox(_ root: ObjectFields) -> OutboxConfig {
        var outbox = OutboxConfig()
        guard let fields = section(root, "outbox", keys: ["retryFor", "maxAttempts"]) else { return outbox }
        if let span = field(fields, "retryFor", { duration($0, at: $1) }) { outbox.retryFor = span }
        if let attempts = field(fields, "maxAttempts", { integer($0, at: $1, in: 1...Int.max) }) { outbox.maxAttempts = attempts }
        return outbox
    }

    private func readRetention(_ root: ObjectFields) -> RetentionConfig {
        var retention = RetentionConfig()
        guard let fields = section(root, "retention", keys: ["inboundDedupe", "deliveredOutbox", "consoleLines", "every", "batchSize"]) else {
            return retention
        }
        if let span = field(fields, "inboundDedupe", { duration($0, at: $1) }) { retention.inboundDedupe = span }
        if let span = field(fields, "deliveredOutbox", { duration($0, at: $1) }) { retention.deliveredOutbox = span }
        if let lines = field(fields, "consoleLines", { integer($0, at: $1, in: 1...100_000_000) }) { retention.consoleLines = lines }
        if let span = field(fields, "every", { duration($0, at: $1) }) { retention.every = span }
        if let size = field(fields, "batchSize", { integer($0, at: $1, in: 1...100_000) }) { retention.batchSize = size }
        return retention
    }

    // MARK: Paging

    private func readPaging(_ root: ObjectFields, severityIDs: [String]) -> PagingConfig {
        var paging = PagingConfig()
        guard let fields = section(root, "paging", keys: ["webhooks"]),
              let elements = field(fields, "webhooks", { array($0, at: $1) })
        else { return paging }
        var seen: [String: ConfigPath] = [:]
        for element in elements {
            guard let webhook = readPagerWebhook(element.value, at: element.path, severityIDs: severityIDs) else { continue }
            if let first = seen[webhook.id] {
                report(element.path.key("id"), "\(Self.quote(webhook.id)) is also the id of \(first); webhook ids must differ")
                continue
            }
            seen[webhook.id] = element.path
            paging.webhooks.append(webhook)
        }
        return paging
    }

    private func readPagerWebhook(_ value: JSONValue, at path: ConfigPath, severityIDs: [String]) -> PagerWebhook? {
        guard let fields = object(value, at: path, allowedKeys: ["id", "url", "secret", "severities", "events"]) else { return nil }
        let id = field(fields, "id", required: true) { identifier($0, at: $1) }
        let url = field(fields, "url", required: true) { httpURL($0, at: $1) }
        let signingSecret = field(fields, "secret", required: true) { secret($0, at: $1) }
        let severities = field(fields, "severities") { value, path -> [String]? in
            guard let list = stringList(value, at: path, noun: "severity") else { return nil }
            var known: [String] = []
            for (index, name) in list.enumerated() {
                if severityIDs.contains(name) {
                    known.append(name)
                } else {
                    report(path.index(index), "unknown severity \(Self.quote(name))" + Self.hint(for: name, among: severityIDs, known: "severity ids"))
                }
            }
            return known.count == list.count ? known : nil
        }
        let events = field(fields, "events") { value, path -> Set<PagerEvent>? in
            guard let list = stringList(value, at: path, noun: "event") else { return nil }
            let names = PagerEvent.allCases.map(\.rawValue)
            var events: Set<PagerEvent> = []
            for (index, name) in list.enumerated() {
                if let event = PagerEvent(rawValue: name) {
                    events.insert(event)
                } else {
                    report(path.index(index), "unknown event \(Self.quote(name)); use any of \(names.joined(separator: ", "))")
                }
            }
            return events.count == Set(list).count ? events : nil
        }
        guard let id, let url, let signingSecret else { return nil }
        return PagerWebhook(id: id, url: url, secret: signingSecret, severities: severities, events: events ?? PagerEvent.defaults)
    }
}
