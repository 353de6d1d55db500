import Foundation

// How `bot-config.json` is described (issue #10: once). Each JSON object is a struct here that conforms
// to `ConfigObject`: its stored properties are the keys (synthesized `Decodable`), the property's initial
// value is the default of a key left out, and `rules` adds what the Swift type cannot say (required,
// ranges, time zones, URLs, ids…). `ConfigDecoder` reads the document through these and reports every
// problem with its path; `KlaxonConfig+Validation.swift` checks what spans sections (people named in
// rotations, severities named elsewhere). Nothing else lists keys: unknown keys are the ones no struct
// asked for.
//
// To add a key:
//   1. add the property, with its default, to the struct (and to its `init` if callers need it);
//   2. if the key needs more than its type, add an entry to the struct's `rules`;
//   3. describe it in bot-config.schema.json and docs/configuration.md (ConfigSchemaTests fail until the
//      schema and the structs agree).
// A new object is a new struct conforming to `ConfigObject` (give it `defaults`); a value with a syntax of
// its own (`"15m"`) conforms to `ConfigScalar`, a word from a fixed set to `ConfigChoice`. Cross-references
// go in `KlaxonConfig.validate()`.

/// Everything `bot-config.json` says. `ConfigLoader` builds it and reports every problem with the JSON path
/// of the field at fault; once built, a config is valid: cross references (rotation members, escalation
/// targets, severity ids) have been checked.
public struct KlaxonConfig: Sendable, Decodable {
    public var server: ServerConfig
    public var storage: StorageConfig
    public var logging: LoggingConfig
    public var platforms: PlatformsConfig
    public var incidents: IncidentsConfig
    /// In order of gravity: the first is the worst.
    public var severities: [SeverityPolicy]
    /// Person id (as used in rotations and escalation) → their identities.
    public var people: [String: Person]
    public var oncall: OnCallConfig
    /// Template name → mustache source, overriding the defaults in `DefaultTemplates`.
    public var templates: [String: String]
    public var outbox: OutboxConfig
    /// Outbound pager webhooks (SMS and voice gateways), beside the chat pages.
    public var paging: PagingConfig
    /// Monitoring systems that open and feed incidents.
    public var alerts: AlertsConfig
    /// Named sets of person ids, for `permissions` (`group:ops-leads`).
    public var groups: [String: [String]]
    /// Action (`declare:sev1`, `severity`, `oncall.override`, …) → who may. An action not listed is open to
    /// anyone; no `permissions` at all is today's behaviour: everyone may do everything.
    public var permissions: [String: [Grantee]]
    /// How long records kept only for bookkeeping are kept.
    public var retention: RetentionConfig
    /// Outgoing mail (`email:` notification targets).
    public var email: EmailConfig
    /// Issue trackers incidents are filed in (`severities[].ticket`).
    public var tickets: TicketsConfig
    /// The public status page and its webhooks.
    public var statusPage = StatusPageConfig()
    /// Post-mortem drafts as files.
    public var postmortems = PostmortemsConfig()
    /// When the organisation works: business durations (`"1bd"`) and "next sprint" are counted in it.
    public var calendar: BusinessCalendar? = nil
    /// Kinds of incident (`security`, `data-loss`) whose rules add to the severity's.
    public var incidentTypes: [IncidentTypeConfig] = []
    /// Discord channels reached through their incoming webhooks (`discord:<id>` targets).
    public var discord: DiscordConfig = .init()

    public init(
        server: ServerConfig = .init(), storage: StorageConfig = .init(), logging: LoggingConfig = .init(),
        platforms: PlatformsConfig = .init(), incidents: IncidentsConfig = .init(), severities: [SeverityPolicy],
        people: [String: Person] = [:], oncall: OnCallConfig = .init(), templates: [String: String] = [:],
        outbox: OutboxConfig = .init(), paging: PagingConfig = .init(), alerts: AlertsConfig = .init(),
        groups: [String: [String]] = [:], permissions: [String: [Grantee]] = [:], retention: RetentionConfig = .init(),
        email: EmailConfig = .init(), tickets: TicketsConfig = .init()
    ) {
        self.retention = retention
        self.email = email
        self.tickets = tickets
        self.server = server
        self.storage = storage
        self.logging = logging
        self.platforms = platforms
        self.incidents = incidents
        self.severities = severities
        self.people = people
        self.oncall = oncall
        self.templates = templates
        self.outbox = outbox
        self.paging = paging
        self.alerts = alerts
        self.groups = groups
        self.permissions = permissions
    }

    /// Finds a severity by id or alias, forgiving of case and of the ways people write it:
    /// `sev1`, `SEV-1`, `Sev 1`, `p0`, `critical`.
    public func severity(named token: String) -> SeverityPolicy? {
        let wanted = SeverityPolicy.normalize(token)
        return severities.first { policy in
            SeverityPolicy.normalize(policy.id) == wanted || policy.aliases.contains { SeverityPolicy.normalize($0) == wanted }
        }
    }

    public func severity(id: String) -> SeverityPolicy? { severities.first { $0.id == id } }

    public func incidentType(id: String) -> IncidentTypeConfig? { incidentTypes.first { $0.id == id } }

    /// The calendar business durations are counted in: `calendar`, else Monday to Friday 09:00–17:00 UTC.
    public var businessCalendar: BusinessCalendar { calendar ?? .standard }

    /// The chain a severity's pages and escalations walk: its own `escalation`, else `oncall.escalation`.
    public func escalationChain(for severity: String) -> [EscalationStep] {
        self.severity(id: severity)?.escalation ?? oncall.escalation
    }

    /// The person whose identity on `platform` is `user` (by id, or by name where ids are usernames).
    public func personID(for user: ChatUser, on platform: PlatformKind) -> String? {
        people.sorted { $0.key < $1.key }.first { _, person in
            guard let identity = person.identity(on: platform) else { return false }
            return identity == user.id || identity == user.name
        }?.key
    }
}

extension KlaxonConfig: ConfigObject {
    static let defaults = KlaxonConfig(severities: [])
    static let rules: [String: [ConfigRule]] = [
        "severities": [.required, .notEmpty("at least one severity is required")], "templates": [.allowEmpty],
        "groups": [.notEmpty("must list at least one person id")], "permissions": [.notEmpty("must list at least one grantee")],
    ]
}

public struct ServerConfig: Sendable, Decodable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// Larger request bodies are refused with 413.
    public var maxBodyBytes: Int = 1 << 20
    /// When set, every `/api/*` request must carry `Authorization: Bearer <apiToken>`. Required when
    /// `host` is not a loopback address (see `exposureProblem`).
    public var apiToken: Secret?
    /// A connection with no request in progress for this long is closed.
    public var idleTimeout: TimeSpan = TimeSpan(seconds: 60)
    /// From a connection's start (or its last response) to a complete request head; slower is closed.
    public var headerTimeout: TimeSpan = TimeSpan(seconds: 10)
    /// From a request's head to the end of its body; slower is closed.
    public var bodyTimeout: TimeSpan = TimeSpan(seconds: 30)
    /// Connections open at once; beyond it new ones wait in the kernel's backlog until one closes. The
    /// daemon lowers it to what its file descriptor limit allows.
    public var maxConnections: Int = 4096
    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, apiToken: Secret? = nil) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.apiToken = apiToken
    }

    /// Why the daemon must not start with these settings, if it must not: `/api/*` acts as any user on
    /// every platform, so it is open without a token only where nothing but this machine can reach it.
    /// Checked when the config is loaded and again once `--host` has had its say.
    public var exposureProblem: ConfigProblem? {
        guard apiToken == nil, !Self.isLoopback(host) else { return nil }
        return ConfigProblem(
            path: "server.apiToken",
            message: "required when server.host is not a loopback address (it is \"\(host)\"): without it anyone who reaches the port "
                + "can act as any user through /api/commands; set it, e.g. \"apiToken\": \"${KLAXON_API_TOKEN}\"")
    }

    /// `localhost`, `127.x.x.x` and `::1`: addresses only this machine can connect to.
    public static func isLoopback(_ host: String) -> Bool {
        let name = host.trimmingCharacters(in: CharacterSet(charactersIn: "[] ")).lowercased()
        if name == "localhost" || name == "::1" || name == "0:0:0:0:0:0:0:1" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCII) && UInt8($0) != nil }
    }
}

extension ServerConfig: ConfigObject {
    static let defaults = ServerConfig()
    static let rules: [String: [ConfigRule]] = [
        "port": [.range(1...65535)], "maxBodyBytes": [.atLeast(1)], "apiToken": [.emptyMeansUnset], "maxConnections": [.range(1...1_000_000)],
    ]
}

/// Exactly one of the two is set (the loader refuses a config that sets both).
public struct StorageConfig: Sendable, Decodable {
    public var sqlite: SQLiteStorageConfig?
    public var postgres: PostgresStorageConfig?
    /// How long a claimed timer or outbox message is one replica's before another may take it over: the
    /// failover time after a replica dies. Senders renew what they are still delivering, so a slow
    /// platform does not make a short lease unsafe.
    public var leaseTime: TimeSpan = TimeSpan(seconds: 10)
    public init(sqlite: SQLiteStorageConfig? = .init(), postgres: PostgresStorageConfig? = nil) {
        self.sqlite = sqlite
        self.postgres = postgres
    }
}

extension StorageConfig: ConfigObject { static let defaults = StorageConfig(sqlite: nil) }

/// A PostgreSQL database shared by one or more replicas (`PostgresStorage`).
public struct PostgresStorageConfig: Sendable, Decodable {
    /// `postgres://user:password@host:port/database?sslmode=…`, a secret because the password is in it.
    /// The loader has checked that it parses (`PostgresURL`).
    public var url: Secret
    /// The most connections one replica opens.
    public var poolSize: Int = 8
    public init(url: Secret, poolSize: Int = 8) {
        self.url = url
        self.poolSize = poolSize
    }
}

extension PostgresStorageConfig: ConfigObject {
    static let defaults = PostgresStorageConfig(url: Secret(""))
    static let rules: [String: [ConfigRule]] = ["url": [.required], "poolSize": [.range(1...1000)]]
}

public struct SQLiteStorageConfig: Sendable, Decodable {
    /// Relative paths are read from the working directory.
    public var path: String = "data/klaxon.sqlite"
    public init(path: String = "data/klaxon.sqlite") { self.path = path }
}

extension SQLiteStorageConfig: ConfigObject { static let defaults = SQLiteStorageConfig() }

public struct LoggingConfig: Sendable, Decodable {
    public enum Format: String, Sendable, CaseIterable { case plain, json }
    public var level: String = "info"
    public var format: Format = .plain
    public init(level: String = "info", format: Format = .plain) {
        self.level = level
        self.format = format
    }
}

extension LoggingConfig: ConfigObject {
    static let defaults = LoggingConfig()
    static let rules: [String: [ConfigRule]] = ["level": [.oneOf(ConfigLoader.logLevels)]]
}

public struct PlatformsConfig: Sendable, Decodable {
    public var console: ConsoleConfig?
    public var slack: SlackConfig?
    public var rocketchat: RocketChatConfig?
    public var mattermost: MattermostConfig?
    public init(console: ConsoleConfig? = .init(), slack: SlackConfig? = nil, rocketchat: RocketChatConfig? = nil, mattermost: MattermostConfig? = nil) {
        self.console = console
        self.slack = slack
        self.rocketchat = rocketchat
        self.mattermost = mattermost
    }

    public var enabled: [PlatformKind] {
        var kinds: [PlatformKind] = []
        if console != nil { kinds.append(.console) }
        if slack != nil { kinds.append(.slack) }
        if rocketchat != nil { kinds.append(.rocketchat) }
        if mattermost != nil { kinds.append(.mattermost) }
        return kinds
    }

    public func announceChannel(for platform: PlatformKind) -> String? {
        switch platform {
        case .console: console?.announceChannel
        case .slack: slack?.announceChannel
        case .rocketchat: rocketchat?.announceChannel
        case .mattermost: mattermost?.announceChannel
        }
    }
}

extension PlatformsConfig: ConfigObject { static let defaults = PlatformsConfig(console: nil) }

/// The built-in platform: commands arrive over `POST /api/commands` (or `klaxon cmd`), and what the bot
/// posts is kept in the store and shown at `GET /api/messages`.
public struct ConsoleConfig: Sendable, Decodable {
    public var announceChannel: String = "incidents"
    public init(announceChannel: String = "incidents") { self.announceChannel = announceChannel }
}

extension ConsoleConfig: ConfigObject { static let defaults = ConsoleConfig() }

public struct SlackConfig: Sendable, Decodable {
    public var signingSecret: Secret
    public var botToken: Secret
    /// Set to use Socket Mode instead of public request URLs.
    public var appToken: Secret?
    public var apiBaseURL: String = "https://slack.com/api"
    public var announceChannel: String
    /// A user group (`S0…`) kept equal to whoever is on call.
    public var oncallUserGroup: String?
    public init(
        signingSecret: Secret, botToken: Secret, appToken: Secret? = nil, apiBaseURL: String = "https://slack.com/api", announceChannel: String,
        oncallUserGroup: String? = nil
    ) {
        self.signingSecret = signingSecret
        self.botToken = botToken
        self.appToken = appToken
        self.apiBaseURL = apiBaseURL
        self.announceChannel = announceChannel
        self.oncallUserGroup = oncallUserGroup
    }
}

extension SlackConfig: ConfigObject {
    static let defaults = SlackConfig(signingSecret: Secret(""), botToken: Secret(""), announceChannel: "")
    static let rules: [String: [ConfigRule]] = [
        "signingSecret": [.required], "botToken": [.required], "apiBaseURL": [.httpURL], "announceChannel": [.required],
    ]
}

public struct RocketChatConfig: Sendable, Decodable {
    public struct Poll: Sendable, Decodable {
        public var rooms: [String]
        public var every: TimeSpan
        public init(rooms: [String], every: TimeSpan) {
            self.rooms = rooms
            self.every = every
        }
    }
    public var serverURL: String
    public var userId: String
    public var authToken: Secret
    public var webhookToken: Secret?
    public var announceChannel: String
    public var triggers: [String] = ["/incident", "!incident"]
    public var poll: Poll?
    /// Incident channels as private groups (`groups.create`) instead of public channels: only the
    /// people Klaxon invites see them.
    public var privateChannels: Bool = false
    /// A handle (`oncall`) whose mentions (`@oncall`) Klaxon answers by mentioning whoever is on call now:
    /// Rocket.Chat's counterpart of Slack's `oncallUserGroup` (runbook 004-14). nil: off.
    public var oncallMention: String?
    public init(
        serverURL: String, userId: String, authToken: Secret, webhookToken: Secret?, announceChannel: String, triggers: [String] = ["/incident", "!incident"],
        poll: Poll? = nil, privateChannels: Bool = false
    ) {
        self.serverURL = serverURL
        self.userId = userId
        self.authToken = authToken
        self.webhookToken = webhookToken
        self.announceChannel = announceChannel
        self.triggers = triggers
        self.poll = poll
        self.privateChannels = privateChannels
    }
}

extension RocketChatConfig.Poll: ConfigObject {
    static let defaults = RocketChatConfig.Poll(rooms: [], every: .zero)
    static let rules: [String: [ConfigRule]] = ["rooms": [.required, .notEmpty("must list at least one room")], "every": [.required]]
}

extension RocketChatConfig: ConfigObject {
    static let defaults = RocketChatConfig(serverURL: "", userId: "", authToken: Secret(""), webhookToken: nil, announceChannel: "")
    static let rules: [String: [ConfigRule]] = [
        "serverURL": [.required, .httpURL], "userId": [.required], "authToken": [.required], "announceChannel": [.required],
        "triggers": [.notEmpty("must list at least one trigger")],
    ]
}

public struct MattermostConfig: Sendable, Decodable {
    public var serverURL: String
    public var botToken: Secret
    public var teamId: String
    public var commandToken: Secret
    public var announceChannel: String
    /// Incident channels as private channels (`type: "P"`) instead of open ones.
    public var privateChannels: Bool = false
    /// The address at which Mattermost reaches Klaxon's `POST /mattermost/actions`; when set, alerts carry
    /// interactive buttons, otherwise the commands to type.
    public var actionsURL: String?
    public init(
        serverURL: String, botToken: Secret, teamId: String, commandToken: Secret, announceChannel: String, privateChannels: Bool = false,
        actionsURL: String? = nil
    ) {
        self.serverURL = serverURL
        self.botToken = botToken
        self.teamId = teamId
        self.commandToken = commandToken
        self.announceChannel = announceChannel
        self.privateChannels = privateChannels
        self.actionsURL = actionsURL
    }
}

extension MattermostConfig: ConfigObject {
    static let defaults = MattermostConfig(serverURL: "", botToken: Secret(""), teamId: "", commandToken: Secret(""), announceChannel: "")
    static let rules: [String: [ConfigRule]] = [
        "serverURL": [.required, .httpURL], "botToken": [.required], "teamId": [.required], "commandToken": [.required],
        "announceChannel": [.required], "actionsURL": [.httpURL],
    ]
}

public struct IncidentsConfig: Sendable, Decodable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Each incident gets its own channel.
        case channel
        /// Each incident is a thread under its announcement in the announce channel.
        case thread
    }
    public var mode: Mode = .channel
    /// `{date}` (YYYY-MM-DD), `{seq}` (the day's number, 001), `{id}` (42), `{slug}` (from the title), `{severity}`.
    public var channelName: String = "incident-{date}-{seq}"
    /// The zone `{date}` and the day's numbering are counted in.
    public var timeZone: String = "UTC"
    /// How many update cadences may pass without an update before the escalation chain hears of it.
    public var overdueAfterCadences: Int = 2
    /// After `resolve`, how long to watch before the incident closes by itself (nil: it stays resolved
    /// until someone closes it).
    public var monitorFor: TimeSpan? = nil
    /// The after-incident checklist (001-21 "After every incident: - [ ] Action items tracked? - [ ] Customer
    /// comms sent?"): posted at resolution and added to the incident's action items, so each is ticked off
    /// with `/incident action done <n>` and the summary and exports show what is still open.
    public var checklist: [String] = []
    /// Whether text users write (titles, updates, notes, resolutions) may notify a whole room with
    /// `@here`, `@channel`, `@all`, `@everyone`, `<!channel>` and the like. Off by default: those are
    /// neutralised (see `BroadcastMentions`); templates keep theirs either way.
    public var allowBroadcastMentions: Bool = false
    /// The severity of a `declare` that names none (runbook 004: `/incident create "API response time
    /// degraded"`). nil: the least severe configured one.
    public var defaultSeverity: String? = nil
    /// Named links templates show as `{{links.<name>}}` (`statusPage`, `runbook`, `oncallSchedule`: 000-30, 000-33).
    public var links: [String: String] = [:]
    /// How incident ids are shown and typed (`INC-{year}-{seq:3}`); the default is `INC-{n}`.
    public var idFormat: IncidentLabelFormat = .standard
    public init(
        mode: Mode = .channel, channelName: String = "incident-{date}-{seq}", timeZone: String = "UTC", overdueAfterCadences: Int = 2,
        monitorFor: TimeSpan? = nil, allowBroadcastMentions: Bool = false
    ) {
        self.mode = mode
        self.channelName = channelName
        self.timeZone = timeZone
        self.overdueAfterCadences = overdueAfterCadences
        self.monitorFor = monitorFor
        self.allowBroadcastMentions = allowBroadcastMentions
    }
}

extension IncidentsConfig: ConfigObject {
    static let defaults = IncidentsConfig()
    static let rules: [String: [ConfigRule]] = ["timeZone": [.timeZone], "overdueAfterCadences": [.atLeast(1)]]
}

/// What one severity level means for the bot: how often to remind, how fast someone must acknowledge,
/// whether to page, when the review is due.
public struct SeverityPolicy: Sendable, Decodable, Hashable {
    public var id: String
    public var aliases: [String] = []
    public var name: String
    public var description: String?
    /// Cadence of status updates; nil for "no updates needed" (runbook 000's P3).
    public var updateEvery: TimeSpan?
    /// Time to acknowledge before the escalation chain is walked; nil: no acknowledgement timeout.
    public var ackWithin: TimeSpan?
    /// Whether declaring pages on-call.
    public var page: Bool = false
    /// Post-incident review due this long after resolution; nil: no review.
    public var reviewWithin: TimeSpan?
    /// An open incident older than this notifies the escalation chain (runbook 000: a P0 over an hour).
    public var escalateAfter: TimeSpan?
    /// File an issue for each incident of this severity (runbook 003: `bug` + `P0-critical`; docs/tickets.md).
    public var ticket: TicketPolicy? = nil
    /// `channel` (default) or `ticket`: no incident channel, only the ticket (runbooks 000 and 002: P3 and
    /// SEV3/4 "file ticket"). Needs `ticket`.
    public var openAs: OpenAs = .channel
    /// MTTA / MTTM / MTTR targets for the statistics; nil: none set.
    public var targets: SeverityTargets?
    /// Template name → mustache source for incidents of this severity, over the global `templates`
    /// (000-05: `@channel` on P0 only; 000-20: a less formal P1 post-mortem).
    public var templates: [String: String] = [:]
    /// Someone must acknowledge within this, paging or not (runbook 002's SEV3 "< 1 hour", 001's Sev 3
    /// "next business day"); when it passes unacknowledged the room and the announce channel are told.
    public var respondWithin: Deadline? = nil
    /// This severity's own acknowledgement chain, instead of `oncall.escalation`.
    public var escalation: [EscalationStep]? = nil
    /// Timed notifications (`notify[]`): who else is told, when, unless what.
    public var notify: [PolicyRule] = []
    /// Timed prompts in the incident room (`checkpoints[]`).
    public var checkpoints: [PolicyRule] = []
    /// How long a resolved incident of this severity is watched before it closes, over
    /// `incidents.monitorFor` (002-19: 30 min after a restart, 1 h after a fix-forward is `resolve --monitor 1h`).
    public var monitorFor: TimeSpan? = nil
    /// The review meeting's link (000-19: the call the attendees join), shown as `{{meeting}}` until an
    /// incident sets its own with `/incident meeting <url>`.
    public var meeting: String? = nil

    public init(
        id: String, aliases: [String] = [], name: String, description: String? = nil, updateEvery: TimeSpan? = nil, ackWithin: TimeSpan? = nil,
        page: Bool = false, reviewWithin: TimeSpan? = nil, escalateAfter: TimeSpan? = nil
    ) {
        self.id = id
        self.aliases = aliases
        self.name = name
        self.description = description
        self.updateEvery = updateEvery
        self.ackWithin = ackWithin
        self.page = page
        self.reviewWithin = reviewWithin
        self.escalateAfter = escalateAfter
    }

    /// `SEV-1`, `Sev 1`, `sev_1` → `sev1`.
    public static func normalize(_ token: String) -> String {
        token.lowercased().filter { $0 != "-" && $0 != " " && $0 != "_" }
    }

    /// `SEV1` for display.
    public var label: String { id.uppercased() }

    /// `SEV1 (p0, critical) · Critical: Complete outage`: the line help and declare's errors show (000-01).
    public var helpLine: String {
        let aliases = aliases.isEmpty ? "" : " (\(aliases.joined(separator: ", ")))"
        let meaning = description.flatMap { $0.isEmpty ? nil : ": \($0)" } ?? ""
        return "\(label)\(aliases) · \(name)\(meaning)"
    }
}

extension SeverityPolicy: ConfigObject {
    static let defaults = SeverityPolicy(id: "", name: "")
    static let rules: [String: [ConfigRule]] = [
        "id": [.required, .identifier], "name": [.required], "description": [.allowEmpty], "meeting": [.httpURL],
        "escalation": [.notEmpty("must list at least one step (leave it out to use oncall.escalation)")],
        "notify": [.requires(PolicyRule.notificationKeys)], "checkpoints": [.requires(PolicyRule.checkpointKeys)],
    ]
}

/// One person's identities on each platform.
public struct Person: Sendable, Decodable, Hashable {
    public var name: String?
    public var slack: String?
    public var rocketchat: String?
    public var mattermost: String?
    /// On the console platform people are plain names; defaults to the person id.
    public var console: String?
    public var timezone: String?
    /// Contact details handed to pager webhooks, which call or text people; chat never shows them.
    public var phone: String?
    public var email: String?

    public init(
        name: String? = nil, slack: String? = nil, rocketchat: String? = nil, mattermost: String? = nil, console: String? = nil,
        timezone: String? = nil, phone: String? = nil, email: String? = nil
    ) {
        self.name = name
        self.slack = slack
        self.rocketchat = rocketchat
        self.mattermost = mattermost
        self.console = console
        self.timezone = timezone
        self.phone = phone
        self.email = email
    }

    public func identity(on platform: PlatformKind) -> String? {
        switch platform {
        case .console: console
        case .slack: slack
        case .rocketchat: rocketchat
        case .mattermost: mattermost
        }
    }
}

extension Person: ConfigObject {
    static let defaults = Person()
    static let rules: [String: [ConfigRule]] = ["timezone": [.timeZone]]
}

public struct OnCallConfig: Sendable, Decodable {
    public var rotations: [RotationConfig]
    public var escalation: [EscalationStep]
    /// After the last step, start over this many times (0: walk the chain once).
    public var repeatEscalation: Int = 0
    /// Channels whose topic always names who is on call (runbook 004-12: "Current on-call: Posted in
    /// Rocket.Chat #devops topic"), updated at every hand-off and override.
    public var topicChannels: [OnCallTopicChannel] = []
    public init(rotations: [RotationConfig] = [], escalation: [EscalationStep] = [], repeatEscalation: Int = 0) {
        self.rotations = rotations
        self.escalation = escalation
        self.repeatEscalation = repeatEscalation
    }

    public func rotation(id: String) -> RotationConfig? { rotations.first { $0.id == id } }
}

extension OnCallConfig: ConfigObject {
    static let defaults = OnCallConfig()
    static let rules: [String: [ConfigRule]] = ["repeatEscalation": [.atLeast(0)]]
}

/// `oncall.topicChannels[]`: one channel on one platform showing one rotation's on-call person.
public struct OnCallTopicChannel: Sendable, Hashable, Decodable {
    public var platform: PlatformKind
    /// The channel's name (Rocket.Chat, Mattermost, console) or id (Slack: `C0…`).
    public var channel: String
    /// The rotation shown; empty in the file means the first one (filled in by the loader).
    public var rotation: String = ""

    public init(platform: PlatformKind, channel: String, rotation: String) {
        self.platform = platform
        self.channel = channel
        self.rotation = rotation
    }
}

extension OnCallTopicChannel: ConfigObject {
    static let defaults = OnCallTopicChannel(platform: .console, channel: "", rotation: "")
    static let rules: [String: [ConfigRule]] = ["platform": [.required], "channel": [.required]]
}

/// A rotation: members take turns, each for `period`, handing off at `handoff` local time.
public struct RotationConfig: Sendable, Decodable, Hashable {
    public var id: String
    /// Person ids, in turn order.
    public var members: [String]
    public var period: TimeSpan
    public var handoff: Handoff
    /// IANA zone the hand-off time is read in.
    public var timezone: String
    /// The local date (YYYY-MM-DD) on which the first member's first turn starts; turns are counted from
    /// the first hand-off at or after it. Defaults to 2024-01-01.
    public var start: String = "2024-01-01"

    public init(id: String, members: [String], period: TimeSpan, handoff: Handoff, timezone: String, start: String = "2024-01-01") {
        self.id = id
        self.members = members
        self.period = period
        self.handoff = handoff
        self.timezone = timezone
        self.start = start
    }
}

extension RotationConfig: ConfigObject {
    static let defaults = RotationConfig(id: "", members: [], period: .zero, handoff: Handoff(weekday: nil, hour: 0, minute: 0), timezone: "")
    static let rules: [String: [ConfigRule]] = [
        "id": [.required, .identifier], "members": [.required, .notEmpty("must list at least one person")], "period": [.required],
        "handoff": [.required], "timezone": [.required, .timeZone], "start": [.date],
    ]
}

/// `"monday 09:00"` (weekly rotations) or `"09:00"` (any day).
public struct Handoff: Sendable, Hashable, CustomStringConvertible {
    /// 1 = Sunday … 7 = Saturday, as `Calendar` counts; nil for "every day".
    public var weekday: Int?
    public var hour: Int
    public var minute: Int

    public init(weekday: Int?, hour: Int, minute: Int) {
        self.weekday = weekday
        self.hour = hour
        self.minute = minute
    }

    static let weekdayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

    public init?(parsing text: String) {
        let words = text.lowercased().split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 1 || words.count == 2 else { return nil }
        var weekday: Int?
        if words.count == 2 {
            guard let index = Self.weekdayNames.firstIndex(where: { $0 == words[0] || $0.prefix(3) == words[0] }) else { return nil }
            weekday = index + 1
        }
        let clock = words.last!.split(separator: ":")
        guard clock.count == 2, clock[0].count <= 2, clock[1].count == 2,
            let hour = Int(clock[0]), let minute = Int(clock[1]),
            (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        self.init(weekday: weekday, hour: hour, minute: minute)
    }

    public var description: String {
        let time = "\(hour.zeroPadded(2)):\(minute.zeroPadded(2))"
        guard let weekday else { return time }
        return "\(Self.weekdayNames[weekday - 1]) \(time)"
    }
}

/// Who or where a page, an escalation step or a policy rule notifies. One case per kind of address, each
/// written `<kind>:<rest>`; a new kind (e.g. `email:`) is a new case here, its parsing below and its
/// delivery in `IncidentEngine+Policy`.
public enum NotifyTarget: Sendable, Hashable, CustomStringConvertible {
    /// Whoever is on call in the rotation.
    case rotation(String)
    case person(String)
    /// Every member of `groups.<name>`.
    case group(String)
    /// Mail, not chat: `email:oncall@example.com`, `email:person:carol`, `email:group:stakeholders`
    /// (docs/email.md). Nobody is paged in chat by it.
    case email(EmailAddressee)
    /// A named channel on an enabled platform (`channel:slack:security`): a cross-post, nobody paged.
    case channel(platform: PlatformKind, name: String)
    /// A configured `paging.webhooks[]` entry, by id, told whatever its `events` filter says.
    case webhook(String)
    /// A Discord channel through its incoming webhook (`discord.webhooks[].id`): a cross-post.
    case discord(String)

    /// The kinds `init(parsing:)` understands, for error messages.
    public static let forms = [
        "rotation:<id>", "person:<id>", "group:<name>", "email:<address>", "channel:<platform>:<name>", "webhook:<id>", "webhook:<url>", "discord:<id>",
    ]
    /// The kinds an escalation step may name: people and mailboxes.
    public static let escalationForms = Array(forms.prefix(4))

    /// Whether a `webhook:` target is a receiver's URL (`webhook:https://hooks.example.com/klaxon`) rather
    /// than the id of a `paging.webhooks` entry.
    public static func isWebhookURL(_ id: String) -> Bool {
        let lowered = id.lowercased()
        return lowered.hasPrefix("https://") || lowered.hasPrefix("http://")
    }

    /// `rotation:primary`, `person:carol`, `group:leads`, `email:…`, `channel:slack:security`, `webhook:phone`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { return nil }
        switch parts[0] {
        case "rotation": self = .rotation(parts[1])
        case "person": self = .person(parts[1])
        case "group": self = .group(parts[1])
        case "webhook": self = .webhook(parts[1])
        case "discord": self = .discord(parts[1])
        case "channel":
            let rest = parts[1].split(separator: ":", maxSplits: 1).map(String.init)
            guard rest.count == 2, let platform = PlatformKind(rawValue: rest[0].lowercased()) else { return nil }
            let name = rest[1].hasPrefix("#") ? String(rest[1].dropFirst()) : rest[1]
            guard !name.isEmpty else { return nil }
            self = .channel(platform: platform, name: name)
        case "email":
            guard let addressee = EmailAddressee(parsing: parts[1]) else { return nil }
            self = .email(addressee)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .rotation(let id): "rotation:\(id)"
        case .person(let id): "person:\(id)"
        case .group(let name): "group:\(name)"
        case .email(let addressee): "email:\(addressee)"
        case .channel(let platform, let name): "channel:\(platform.rawValue):\(name)"
        case .webhook(let id): "webhook:\(id)"
        case .discord(let id): "discord:\(id)"
        }
    }

    /// Whether the target stands for people (who can be paged, mentioned and messaged directly).
    public var namesPeople: Bool {
        switch self {
        case .rotation, .person, .group: true
        case .email, .channel, .webhook, .discord: false
        }
    }

    /// Whether an escalation step may name it: people, and mailboxes (mail is sent beside the page).
    public var isEscalationTarget: Bool {
        if case .email = self { return true }
        return namesPeople
    }
}

public struct EscalationStep: Sendable, Decodable, Hashable {
    /// The wait before this step, counted from when the step before it fired (docs/paging.md). The first
    /// step is paged at declaration; the second waits for the severity's `ackWithin` when it has one.
    public var after: TimeSpan
    public var notify: [NotifyTarget]
    public init(after: TimeSpan, notify: [NotifyTarget]) {
        self.after = after
        self.notify = notify
    }
}

extension EscalationStep: ConfigObject {
    static let defaults = EscalationStep(after: .zero, notify: [])
    static let rules: [String: [ConfigRule]] = [
        "after": [.required, .allowZero], "notify": [.required, .notEmpty("must list at least one target"), .escalationTargets],
    ]
}

public struct OutboxConfig: Sendable, Decodable {
    /// How long transient failures (5xx, time-outs) of a message are retried before it goes to the dead
    /// letters. Rate-limit waits and a platform refusing our credentials do not count.
    public var retryFor: TimeSpan = .hours(24)
    /// An older setting, still honoured when given: also give up after this many failed attempts.
    public var maxAttempts: Int?
    public init(retryFor: TimeSpan = .hours(24), maxAttempts: Int? = nil) {
        self.retryFor = retryFor
        self.maxAttempts = maxAttempts
    }
}

extension OutboxConfig: ConfigObject {
    static let defaults = OutboxConfig()
    static let rules: [String: [ConfigRule]] = ["maxAttempts": [.atLeast(1)]]
}

/// `retention`: what is pruned, and when. Incidents, timelines, pending and dead messages are kept.
public struct RetentionConfig: Sendable, Decodable {
    /// Inbound dedupe keys (a Slack event id, an alert's redelivery) older than this are forgotten;
    /// platforms redeliver within minutes, so a week is plenty.
    public var inboundDedupe: TimeSpan = .days(7)
    /// Delivered outbox messages are deleted this long after delivery.
    public var deliveredOutbox: TimeSpan = .days(30)
    /// The console transcript (`GET /api/messages`) keeps its newest lines, this many.
    public var consoleLines: Int = 10_000
    /// Audit log entries (every command and state-changing API call) older than this are deleted: long
    /// enough for a yearly review of who did what, bounded so the table does not grow for ever.
    public var audit: TimeSpan = .days(400)
    /// How often pruning runs.
    public var every: TimeSpan = .hours(1)
    /// Rows deleted per statement: small, so no write waits long behind pruning.
    public var batchSize: Int = 500
    public init() {}
}

extension RetentionConfig: ConfigObject {
    static let defaults = RetentionConfig()
    static let rules: [String: [ConfigRule]] = ["consoleLines": [.range(1...100_000_000)], "batchSize": [.range(1...100_000)]]
}

/// `paging`: where pages go besides chat.
public struct PagingConfig: Sendable, Decodable {
    public var webhooks: [PagerWebhook] = []
    /// How often one person may be called through one webhook (pages and escalations).
    public var throttle = PageThrottleLimits()
    /// Signs the notices sent to policy rules' `webhook:<url>` targets (receivers not listed in `webhooks`),
    /// as each entry's `secret` signs its own.
    public var signingSecret: Secret? = nil
    public init(webhooks: [PagerWebhook] = [], throttle: PageThrottleLimits = PageThrottleLimits(), signingSecret: Secret? = nil) {
        self.webhooks = webhooks
        self.throttle = throttle
        self.signingSecret = signingSecret
    }

    /// The webhooks that want `event` for an incident of `severity` (not the rules' `webhook:<url>`
    /// receivers: they hear only from their rules).
    public func webhooks(for event: PagerEvent, severity: String) -> [PagerWebhook] {
        webhooks.filter { $0.events.contains(event) && ($0.severities?.contains(severity) ?? true) }
    }
}

extension PagingConfig: ConfigObject { static let defaults = PagingConfig() }

/// A JSON POST to an SMS or voice gateway each time Klaxon pages people, signed with HMAC-SHA256 so the
/// gateway can tell it from a forgery (docs/paging.md).
public struct PagerWebhook: Sendable, Decodable, Hashable {
    /// Names the webhook in logs, in the payload and in the outbox.
    public var id: String
    public var url: String
    public var secret: Secret
    /// Severity ids this webhook hears about; nil: every severity.
    public var severities: [String]?
    public var events: Set<PagerEvent>

    public init(id: String, url: String, secret: Secret, severities: [String]? = nil, events: Set<PagerEvent> = PagerEvent.defaults) {
        self.id = id
        self.url = url
        self.secret = secret
        self.severities = severities
        self.events = events
    }
}

extension PagerWebhook: ConfigObject {
    static let defaults = PagerWebhook(id: "", url: "", secret: Secret(""))
    static let rules: [String: [ConfigRule]] = [
        "id": [.required, .identifier], "url": [.required, .httpURL], "secret": [.required],
        "severities": [.notEmpty("must list at least one severity")], "events": [.notEmpty("must list at least one event")],
    ]
}

/// What a pager webhook is told about. Gateways that call people need `acknowledged` and `resolved` to stop
/// calling; those are opt-in, so a plain SMS gateway gets pages only.
public enum PagerEvent: String, Sendable, Hashable, Codable, CaseIterable {
    case page, escalation, acknowledged, resolved
    public static let defaults: Set<PagerEvent> = [.page, .escalation]
}

/// `discord`: Discord channels Klaxon posts to through incoming webhooks (runbook 000 announces publicly on
/// Slack and Discord). Outbound only: nobody types commands in Discord.
public struct DiscordConfig: Sendable, Decodable {
    public var webhooks: [DiscordWebhook] = []
    public init(webhooks: [DiscordWebhook] = []) { self.webhooks = webhooks }
}

extension DiscordConfig: ConfigObject { static let defaults = DiscordConfig() }

/// One incoming webhook: its URL holds its token, so it is a secret (`"${DISCORD_WEBHOOK_URL}"`).
public struct DiscordWebhook: Sendable, Decodable, Hashable {
    public var id: String
    /// Checked to be an http(s) URL in `validate()`, where the message can leave the value out.
    public var url: Secret
    public init(id: String, url: Secret) {
        self.id = id
        self.url = url
    }
}

extension DiscordWebhook: ConfigObject {
    static let defaults = DiscordWebhook(id: "", url: Secret(""))
    static let rules: [String: [ConfigRule]] = ["id": [.required, .identifier], "url": [.required]]
}
