import Foundation
import Mustache

/// Turns the text of `bot-config.json` into a `KlaxonConfig`, or into the full list of what is wrong with
/// it. Pure: the caller reads the file and passes the environment that `${VAR}` references come from.
///
/// The document is parsed by `JSONParser` (positions, duplicate keys), decoded through `ConfigDecoder`
/// (which records every problem rather than stopping at the first), checked for keys no type asked for,
/// and validated across sections; problems come back in document order, one line each.
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
        let session = ConfigDecodingSession(document: document, environment: environment)
        var config = decode(document, in: session)
        session.reportDuplicateAndUnknownKeys()
        fillContextualDefaults(&config, written: session.written)
        readPasswordFromEnvironment(&config, environment: environment, written: session.written, session: session)
        let alreadyWrong = { (path: ConfigPath) in session.hasProblems(within: path) || path.ancestors.contains(where: session.hasProblem(at:)) }
        for problem in config.validate(peopleInDocumentOrder: document["people"]?.keys.filter { config.people[$0] != nil })
        where !([problem.location ?? .root] + problem.premises).contains(where: alreadyWrong) {
            session.report(problem)
        }
        normalizeSeverityNames(&config)
        // A broken host or token has been reported already; do not also call the token missing.
        if let problem = config.server.exposureProblem, !session.hasProblems(within: .root.key("server")) {
            session.report(ConfigProblem(.root.key("server").key("apiToken"), problem.message))
        }
        let problems = session.sortedScrubbedProblems
        return problems.isEmpty ? .success(config) : .failure(ConfigErrors(problems: problems))
    }

    public static func load(json: String, environment: [String: String]) -> Result<KlaxonConfig, ConfigErrors> {
        load(json: Array(json.utf8), environment: environment)
    }

    /// The document decoded, with placeholders where there were problems. Also what the schema test
    /// decodes to learn which keys the types ask for.
    static func decode(_ document: JSONValue, in session: ConfigDecodingSession) -> KlaxonConfig {
        // `$schema` lets editors find bot-config.schema.json; it means nothing to Klaxon.
        session.ignoredKeys[.root] = ["$schema"]
        let decoder = ConfigDecoder(session: session, value: document)
        do {
            return try decoder.decode(KlaxonConfig.self)
        } catch {
            // Config types never throw; a problem here is a type that is not a config type.
            session.report(ConfigProblem(.root, "cannot be read: \(error)"))
            return KlaxonConfig.defaults
        }
    }

    /// `email.smtp.passwordEnv`: the password from the variable it names, scrubbed from messages like any
    /// secret; exclusive with `password`.
    private static func readPasswordFromEnvironment(
        _ config: inout KlaxonConfig, environment: [String: String], written: Set<ConfigPath>, session: ConfigDecodingSession
    ) {
        guard let name = config.email.smtp?.passwordEnv else { return }
        let smtp = ConfigPath.root.key("email").key("smtp")
        if written.contains(smtp.key("password")) {
            session.report(ConfigProblem(smtp.key("passwordEnv"), "give password or passwordEnv, not both"))
            return
        }
        guard let value = environment[name], !value.isEmpty else {
            session.report(ConfigProblem(smtp.key("passwordEnv"), "the environment variable \(ConfigText.quote(name)) is not set"))
            return
        }
        session.secretValues.insert(value)
        config.email.smtp?.password = Secret(value)
    }

    /// Defaults that depend on other sections or on the key's absence rather than on its type.
    private static func fillContextualDefaults(_ config: inout KlaxonConfig, written: Set<ConfigPath>) {
        // A topic channel shows the first rotation unless it names one; `#devops` and `devops` are one channel.
        for index in config.oncall.topicChannels.indices {
            if config.oncall.topicChannels[index].rotation.isEmpty, let first = config.oncall.rotations.first {
                config.oncall.topicChannels[index].rotation = first.id
            }
            let channel = config.oncall.topicChannels[index].channel
            if channel.hasPrefix("#") { config.oncall.topicChannels[index].channel = String(channel.dropFirst()) }
        }
        // `@oncall` and `oncall` name the same handle.
        if let handle = config.platforms.rocketchat?.oncallMention, handle.hasPrefix("@") {
            config.platforms.rocketchat?.oncallMention = String(handle.dropFirst())
        }
        // SMTPS listens on 465; submission (STARTTLS or none) on 587.
        if config.email.smtp?.tls == .implicit, !written.contains(ConfigPath.root.key("email").key("smtp").key("port")) {
            config.email.smtp?.port = 465
        }
        // `…/api/v3/` and `…/api/v3` mean the same; paths are appended with their own `/`.
        if let base = config.tickets.github?.apiBaseURL, base.hasSuffix("/") { config.tickets.github?.apiBaseURL = String(base.dropLast()) }
        if config.storage.sqlite == nil && config.storage.postgres == nil { config.storage.sqlite = SQLiteStorageConfig() }
        // Empty means unset, so the shipped `"${KLAXON_API_TOKEN:-}"` needs the variable only where the
        // API is exposed; `exposureProblem` says so when it is.
        if config.server.apiToken?.exposedValue.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true { config.server.apiToken = nil }
        // On the console people are plain names; the id is the natural one.
        for (id, person) in config.people where person.console == nil { config.people[id]?.console = id }
        // A policy rule without an id is named by its position (1, 2, …): the id names its timer.
        func numberRules(_ rules: inout [PolicyRule], at path: ConfigPath) {
            for index in rules.indices where !written.contains(path.index(index).key("id")) { rules[index].id = String(index + 1) }
        }
        let severities = ConfigPath.root.key("severities")
        for index in config.severities.indices {
            numberRules(&config.severities[index].notify, at: severities.index(index).key("notify"))
            numberRules(&config.severities[index].checkpoints, at: severities.index(index).key("checkpoints"))
        }
        let types = ConfigPath.root.key("incidentTypes")
        for index in config.incidentTypes.indices {
            numberRules(&config.incidentTypes[index].notify, at: types.index(index).key("notify"))
            numberRules(&config.incidentTypes[index].checkpoints, at: types.index(index).key("checkpoints"))
            // An incident type's name defaults to its id.
            if !written.contains(types.index(index).key("name")) { config.incidentTypes[index].name = config.incidentTypes[index].id }
        }
        let sources = ConfigPath.root.key("alerts").key("sources")
        for index in config.alerts.sources.indices {
            // Without a platform named, the first configured one (the console when none other is).
            if !written.contains(sources.index(index).key("platform")), let first = config.platforms.enabled.first {
                config.alerts.sources[index].platform = first
            }
            if config.alerts.sources[index].severity.default.isEmpty, let least = config.severities.last {
                config.alerts.sources[index].severity.default = least.id
            }
        }
    }

    /// `declare:p0` and a default severity written as an alias are stored under the severity's id.
    private static func normalizeSeverityNames(_ config: inout KlaxonConfig) {
        if let name = config.incidents.defaultSeverity, let policy = config.declarableSeverity(name) { config.incidents.defaultSeverity = policy.id }
        config.permissions = Dictionary(
            config.permissions.map { action, grantees in
                guard action.hasPrefix("declare:"), let policy = config.declarableSeverity(String(action.dropFirst("declare:".count))) else {
                    return (action, grantees)
                }
                return ("declare:\(policy.id)", grantees)
            }, uniquingKeysWith: { first, _ in first })
    }

    /// The names `templates` may override; they are the templates `DefaultTemplates` provides.
    public static let templateNames = [
        "initialAlert", "announcement", "announceDigest", "update", "reminder", "resolution",
        "summary", "page", "escalation", "review", "postmortem",
        "emailSubject", "emailText", "emailHTML", "ticketTitle", "ticketBody", "ticketResolved", "publicAcknowledged",
        "ticketReopened", "actionItemTitle", "actionItemBody",
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
