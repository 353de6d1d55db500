import Mustache

// MARK: - Cross-references

extension KlaxonConfig {
    /// What the types alone cannot check: names one section gives and another uses (people in rotations,
    /// severities in paging and permissions), ids that must differ, templates that must compile.
    /// `peopleInDocumentOrder` decides which of two people claiming one chat identity is reported.
    func validate(peopleInDocumentOrder: [String]? = nil) -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        func report(_ path: ConfigPath, _ message: String, given premises: [ConfigPath] = []) {
            var problem = ConfigProblem(path, message)
            problem.premises = premises
            problems.append(problem)
        }
        let root = ConfigPath.root
        let severityIDs = severities.map(\.id)
        let personIDs = peopleInDocumentOrder ?? people.keys.sorted()
        func unknownSeverity(_ name: String, at path: ConfigPath) {
            report(path, "unknown severity \(ConfigText.quote(name))" + ConfigText.hint(for: name, among: severityIDs, known: "severity ids"))
        }
        func unknownPerson(_ id: String, at path: ConfigPath) {
            report(path, "unknown person \(ConfigText.quote(id))" + ConfigText.hint(for: id, among: personIDs, known: "people"))
        }

        if platforms.enabled.isEmpty {
            report(root.key("platforms"), "at least one platform must be configured (console needs no credentials)")
        }
        if storage.sqlite != nil, storage.postgres != nil {
            report(root.key("storage"), "sqlite and postgres are exclusive: set one of them")
        }
        if !(3...600).contains(storage.leaseTime.seconds) {
            report(root.key("storage").key("leaseTime"), "must be between 3s and 10m (the failover time after a replica dies)")
        }
        if let postgres = storage.postgres, !postgres.url.isEmpty, case .failure(let problem) = PostgresURL.parse(postgres.url.exposedValue) {
            report(root.key("storage").key("postgres").key("url"), "the URL \(problem.description)")
        }

        validateChannelName(at: root.key("incidents").key("channelName"), report: { report($0, $1) })
        if let name = incidents.defaultSeverity, declarableSeverity(name) == nil, !severities.isEmpty {
            unknownSeverity(name, at: root.key("incidents").key("defaultSeverity"))
        }
        validateSeverityNames(report: { report($0, $1) })

        // Platform → identity → the person who has it, to catch two people claiming one chat account.
        var identityOwners: [PlatformKind: [String: String]] = [:]
        for id in personIDs {
            guard let person = people[id] else { continue }
            let path = root.key("people").key(id)
            if !ConfigText.isValidIdentifier(id) {
                report(path, "\(ConfigText.quote(id)) is not a valid person id (\(ConfigText.identifierRule))")
            }
            for platform in PlatformKind.allCases {
                guard let identity = person.identity(on: platform), !identity.isEmpty else { continue }
                if let other = identityOwners[platform]?[identity] {
                    report(path.key(platform.rawValue), "\(ConfigText.quote(identity)) is also the \(platform) identity of \(root.key("people").key(other))")
                } else {
                    identityOwners[platform, default: [:]][identity] = id
                }
            }
        }

        let rotations = root.key("oncall").key("rotations")
        var rotationOwners: [String: ConfigPath] = [:]
        for (index, rotation) in oncall.rotations.enumerated() {
            let path = rotations.index(index)
            for (position, member) in rotation.members.enumerated() where people[member] == nil {
                report(
                    path.key("members").index(position),
                    "no person \(ConfigText.quote(member)) in people" + ConfigText.suggestion(for: member, among: personIDs))
            }
            // Turns begin at hand-offs, so a turn lasts a whole number of the hand-off's own rhythm.
            let period = ConfigText.quote(rotation.period.description)
            let handoff = ConfigText.quote(rotation.handoff.description)
            if rotation.handoff.weekday != nil, rotation.period.seconds % (7 * 86_400) != 0 {
                report(path.key("period"), "\(period) does not fit handoff \(handoff): a weekly hand-off needs whole weeks", given: [path.key("handoff")])
            } else if rotation.handoff.weekday == nil, rotation.period.seconds % 86_400 != 0 {
                report(path.key("period"), "\(period) does not fit handoff \(handoff): a daily hand-off needs whole days", given: [path.key("handoff")])
            }
            guard !rotation.id.isEmpty else { continue }
            if let other = rotationOwners[rotation.id] {
                report(path.key("id"), "\(ConfigText.quote(rotation.id)) is already used by \(other)")
            } else {
                rotationOwners[rotation.id] = path
            }
        }
        // Escalation chains, notification rules, checkpoints, calendars, incident types, Discord webhooks.
        validatePolicy(personIDs: personIDs, report: { report($0, $1, given: $2) })
        validateEmail(report: { report($0, $1) })
        validateStatusPage(report: { report($0, $1) })
        validateTickets(report: { report($0, $1) })

        validateTemplates(templates, at: root.key("templates"), report: { report($0, $1) })
        for (index, severity) in severities.enumerated() {
            validateTemplates(severity.templates, at: root.key("severities").index(index).key("templates"), report: { report($0, $1) })
        }
        for (index, type) in incidentTypes.enumerated() {
            validateTemplates(type.templates, at: root.key("incidentTypes").index(index).key("templates"), report: { report($0, $1) })
        }
        validateFacts(report: { report($0, $1) })

        var webhookOwners: [String: ConfigPath] = [:]
        for (index, webhook) in paging.webhooks.enumerated() {
            let path = root.key("paging").key("webhooks").index(index)
            for (position, name) in (webhook.severities ?? []).enumerated() where !severityIDs.contains(name) {
                unknownSeverity(name, at: path.key("severities").index(position))
            }
            if let first = webhookOwners[webhook.id] {
                report(path.key("id"), "\(ConfigText.quote(webhook.id)) is also the id of \(first); webhook ids must differ")
            } else {
                webhookOwners[webhook.id] = path
            }
        }

        var sourceOwners: [String: ConfigPath] = [:]
        let enabled = platforms.enabled
        for (index, source) in alerts.sources.enumerated() {
            let path = root.key("alerts").key("sources").index(index)
            if !enabled.isEmpty, !enabled.contains(source.platform) {
                report(
                    path.key("platform"),
                    "platform \(ConfigText.quote(source.platform.rawValue)) is not configured under `platforms` (configured: \(enabled.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            for (label, target) in source.severity.map where !severityIDs.contains(target) {
                unknownSeverity(target, at: path.key("severity").key("map").key(label))
            }
            if !source.severity.default.isEmpty, !severityIDs.contains(source.severity.default) {
                unknownSeverity(source.severity.default, at: path.key("severity").key("default"))
            }
            do {
                _ = try MustacheTemplate(string: source.title)
            } catch {
                report(path.key("title"), "is not a valid mustache template (\(error))")
            }
            if source.token == nil, source.signingSecret == nil {
                report(
                    path,
                    "needs `token` (Authorization: Bearer) or `signingSecret` (X-Klaxon-Signature): alerts page people, so nobody may post them unauthenticated"
                )
            }
            if let first = sourceOwners[source.id] {
                report(path.key("id"), "\(ConfigText.quote(source.id)) is also the id of \(first); source ids must differ")
            } else {
                sourceOwners[source.id] = path
            }
        }
        if let storm = alerts.storm, storm.raiseBy > max(1, severities.count - 1) {
            report(root.key("alerts").key("storm").key("raiseBy"), "must be between 1 and \(max(1, severities.count - 1)), got \(storm.raiseBy)")
        }

        for (name, members) in groups {
            let path = root.key("groups").key(name)
            if !ConfigText.isValidIdentifier(name) { report(path, "group names are letters, digits, - and _") }
            for (position, member) in members.enumerated() where people[member] == nil { unknownPerson(member, at: path.index(position)) }
        }

        for (action, grantees) in permissions {
            let path = root.key("permissions").key(action)
            if action.hasPrefix("declare:") {
                let token = String(action.dropFirst("declare:".count))
                guard let policy = declarableSeverity(token) else {
                    unknownSeverity(token, at: path)
                    continue
                }
                if action != "declare:\(policy.id)", permissions["declare:\(policy.id)"] != nil {
                    report(path, "\(ConfigText.quote("declare:\(policy.id)")) is listed twice")
                }
            } else if !PermissionAction.names.contains(action) {
                let known = PermissionAction.names + ["declare:<severity>"]
                report(
                    path, "unknown action" + ConfigText.hint(for: action, among: PermissionAction.names, known: "actions (\(known.joined(separator: ", ")))"))
                continue
            }
            for (position, grantee) in grantees.enumerated() {
                switch grantee {
                case .person(let id) where people[id] == nil:
                    unknownPerson(id, at: path.index(position))
                case .group(let name) where groups[name] == nil:
                    report(
                        path.index(position),
                        "unknown group \(ConfigText.quote(name))" + ConfigText.hint(for: name, among: groups.keys.sorted(), known: "groups"))
                default:
                    break
                }
            }
        }
        return problems
    }

    /// The severity `declare:<token>` and `incidents.defaultSeverity` mean: by id or alias.
    func declarableSeverity(_ token: String) -> SeverityPolicy? {
        severities.first { $0.id == token || $0.aliases.contains(token.lowercased()) }
    }

    /// The channel name pattern: known placeholders only, and at least one that tells apart incidents of
    /// the same day, or the second incident would collide with the first one's channel.
    private func validateChannelName(at path: ConfigPath, report: (ConfigPath, String) -> Void) {
        let template = incidents.channelName
        var placeholders: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            let afterOpen = rest[rest.index(after: open)...]
            guard let close = afterOpen.firstIndex(of: "}") else { break }
            placeholders.append(String(afterOpen[..<close]))
            rest = afterOpen[afterOpen.index(after: close)...]
        }
        let known = ConfigLoader.channelNamePlaceholders
        for name in placeholders where !known.contains(name) {
            report(path, "unknown placeholder {\(name)} (known: \(known.map { "{\($0)}" }.joined(separator: ", ")))")
        }
        if !placeholders.contains(where: ConfigLoader.uniqueChannelNamePlaceholders.contains) {
            report(path, "\(ConfigText.quote(template)) must contain {seq}, {id}, {slug} or {service} so that incidents are told apart")
        }
    }

    /// `severity(named:)` matches ids and aliases after `SeverityPolicy.normalize`, so two severities must
    /// not share one under that comparison, and an alias that normalizes to nothing (`"-"`) could never be
    /// typed. Ids are claimed first, so a clash between an id and another's alias is reported on the alias.
    private func validateSeverityNames(report: (ConfigPath, String) -> Void) {
        let paths = severities.indices.map { ConfigPath.root.key("severities").index($0) }
        var owner: [String: Int] = [:]
        func claim(_ name: String, by index: Int, at path: ConfigPath) {
            let normalized = SeverityPolicy.normalize(name)
            guard !normalized.isEmpty else { return }
            if let other = owner[normalized], other != index {
                report(path, "\(ConfigText.quote(name)) is already used by \(paths[other]) (\(severities[other].id))")
            } else {
                owner[normalized] = index
            }
        }
        for (index, severity) in severities.enumerated() { claim(severity.id, by: index, at: paths[index].key("id")) }
        for (index, severity) in severities.enumerated() {
            for (position, alias) in severity.aliases.enumerated() {
                let path = paths[index].key("aliases").index(position)
                if !alias.isEmpty, SeverityPolicy.normalize(alias).isEmpty { report(path, "\(ConfigText.quote(alias)) is not a usable alias") }
                claim(alias, by: index, at: path)
            }
        }
    }
}

// MARK: - Email and tickets

extension KlaxonConfig {
    /// `email.smtp`: a sender that is an address, and AUTH settings that make sense together.
    func validateEmail(report: (ConfigPath, String) -> Void) {
        guard let smtp = email.smtp else { return }
        let path = ConfigPath.root.key("email").key("smtp")
        if !smtp.from.isEmpty, EmailAddress.bareAddress(of: smtp.from) == nil || smtp.from.contains(where: \.isNewline) {
            report(path.key("from"), "\(ConfigText.quote(smtp.from)) is not a sender such as \"klaxon@example.com\" or \"Klaxon <klaxon@example.com>\"")
        }
        let hasPassword = smtp.password != nil || smtp.passwordEnv != nil
        if smtp.username != nil, !hasPassword {
            report(path.key("username"), "AUTH needs a password too: add password (\"${SMTP_PASSWORD}\") or passwordEnv")
        } else if smtp.username == nil, hasPassword {
            report(path.key("password"), "a password without a username is never used: add username")
        }
        if smtp.username != nil, smtp.tls == .none {
            report(path.key("tls"), "\"none\" would send the password in clear: use \"starttls\", \"required\" or \"implicit\"")
        }
    }

    /// An `email:` target can be sent to: mail is configured, and a person or group it names exists and
    /// has an address.
    func validateMailTarget(_ addressee: EmailAddressee, at path: ConfigPath, report: (ConfigPath, String) -> Void) {
        guard email.smtp != nil else {
            report(path, "email targets need email.smtp (docs/email.md)")
            return
        }
        func checkHasAddress(_ id: String) {
            guard let person = people[id] else { return }
            guard let address = person.email else {
                report(path, "people.\(id) has no email")
                return
            }
            if !EmailAddress.isPlausible(address) {
                report(path, "people.\(id).email \(ConfigText.quote(address)) is not an address such as \"carol@example.com\"")
            }
        }
        switch addressee {
        case .address, .customers:
            break
        case .person(let id):
            guard people[id] != nil else {
                report(path, "no person \(ConfigText.quote(id)) in people" + ConfigText.hint(for: id, among: people.keys.sorted(), known: "people"))
                return
            }
            checkHasAddress(id)
        case .group(let name):
            guard let members = groups[name] else {
                report(path, "no group \(ConfigText.quote(name)) in groups" + ConfigText.hint(for: name, among: groups.keys.sorted(), known: "groups"))
                return
            }
            for member in members { checkHasAddress(member) }
        }
    }

    /// `severities[].ticket` needs a tracker to file in; `openAs: ticket` needs a ticket.
    func validateTickets(report: (ConfigPath, String) -> Void) {
        for (index, severity) in severities.enumerated() {
            let path = ConfigPath.root.key("severities").index(index)
            if severity.ticket != nil, tickets.github == nil {
                report(path.key("ticket").key("to"), "github targets need tickets.github (docs/tickets.md)")
            }
            if severity.openAs == .ticket, severity.ticket == nil {
                report(path.key("openAs"), "\"ticket\" needs a ticket: add \"ticket\": {\"to\": \"github:<owner>/<repo>\"}")
            }
        }
    }
}

// MARK: - Status page

extension KlaxonConfig {
    /// Component and webhook ids are what incidents and outbox rows refer to: each must be unique.
    func validateStatusPage(report: (ConfigPath, String) -> Void) {
        let page = ConfigPath.root.key("statusPage")
        var components: [String: ConfigPath] = [:]
        for (index, component) in statusPage.components.enumerated() where !component.id.isEmpty {
            let path = page.key("components").index(index)
            if let first = components[component.id.lowercased()] {
                report(path.key("id"), "\(ConfigText.quote(component.id)) is also the id of \(first); component ids must differ")
            } else {
                components[component.id.lowercased()] = path
            }
        }
        var webhooks: [String: ConfigPath] = [:]
        for (index, webhook) in statusPage.webhooks.enumerated() where !webhook.id.isEmpty {
            let path = page.key("webhooks").index(index)
            if let first = webhooks[webhook.id] {
                report(path.key("id"), "\(ConfigText.quote(webhook.id)) is also the id of \(first); webhook ids must differ")
            } else {
                webhooks[webhook.id] = path
            }
        }
    }
}

// MARK: - Templates, links, topic channels

extension KlaxonConfig {
    /// Known names only, and sources that compile, so `check-config` names a broken template by its path
    /// instead of the daemon failing to start.
    func validateTemplates(_ sources: [String: String], at path: ConfigPath, report: (ConfigPath, String) -> Void) {
        for (name, source) in sources.sorted(by: { $0.key < $1.key }) {
            guard ConfigLoader.templateNames.contains(name) else {
                report(path.key(name), "unknown template" + ConfigText.hint(for: name, among: ConfigLoader.templateNames, known: "templates"))
                continue
            }
            do {
                _ = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + source)
            } catch {
                report(path.key(name), "is not a valid mustache template (\(error))")
            }
        }
    }

    /// Link names are template variables (`{{links.runbook}}`); topic channels need an enabled platform and
    /// a rotation; the Rocket.Chat on-call handle must be one a message can mention.
    func validateFacts(report: (ConfigPath, String) -> Void) {
        let incidentsPath = ConfigPath.root.key("incidents")
        for name in incidents.links.keys.sorted() where !ConfigText.isValidIdentifier(name) {
            report(incidentsPath.key("links").key(name), "\(ConfigText.quote(name)) is not a usable link name (letters, digits, \".\", \"_\" and \"-\")")
        }
        let rotationIDs = oncall.rotations.map(\.id)
        for (index, entry) in oncall.topicChannels.enumerated() {
            let path = ConfigPath.root.key("oncall").key("topicChannels").index(index)
            if !platforms.enabled.contains(entry.platform) {
                report(path.key("platform"), "\(ConfigText.quote(entry.platform.rawValue)) is not configured in platforms")
            }
            if entry.rotation.isEmpty {
                report(path, "needs a rotation, and oncall.rotations has none")
            } else if !rotationIDs.contains(entry.rotation) {
                report(
                    path.key("rotation"),
                    "no rotation \(ConfigText.quote(entry.rotation)) in oncall.rotations" + ConfigText.suggestion(for: entry.rotation, among: rotationIDs))
            }
        }
        if let handle = platforms.rocketchat?.oncallMention, !ConfigText.isValidIdentifier(handle) {
            report(
                ConfigPath.root.key("platforms").key("rocketchat").key("oncallMention"),
                "\(ConfigText.quote(handle)) is not a usable handle (letters, digits, \".\", \"_\" and \"-\"), e.g. \"oncall\"")
        }
    }
}
