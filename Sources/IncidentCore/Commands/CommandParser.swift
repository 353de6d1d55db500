import Foundation

/// Reads the `/incident` command language into an `IncidentCommand`.
///
/// Pure: no I/O, no clock, no store. Everything it needs to know about the deployment (the severity
/// levels and the rotation ids) is given to `init`. A command it cannot understand comes back as a
/// `CommandUsageError` whose `message` says what was wrong and whose `usage` is the verb's usage line;
/// no input makes it crash.
///
/// Words are split on any run of whitespace. Free text (titles, updates, notes, resolutions) is kept as
/// typed apart from trimming, Slack's `&amp;`, `&lt;`, `&gt;` escapes and one pair of surrounding quotes.
public struct CommandParser: Sendable {
    /// The configured severities, worst first, as `KlaxonConfig.severities` orders them.
    public let severities: [SeverityPolicy]
    public let rotationIDs: [String]
    /// Letter prefixes of numbered severity names (`sev`, `p`): `sev9` is then recognised as a severity
    /// that does not exist rather than read as the first word of a title.
    private let numberedSeverityPrefixes: Set<String>
    /// Every id and alias, normalized (`SeverityPolicy.normalize`), to its severity, the first configured
    /// one where two share a name: built once, where looking a word up used to normalize every id and
    /// alias again for each word of each command (bench/profile).
    private let severitiesByName: [String: SeverityPolicy]

    public init(severities: [SeverityPolicy], rotationIDs: [String], defaultSeverity: String? = nil) {
        self.severities = severities
        self.rotationIDs = rotationIDs
        self.defaultSeverity = defaultSeverity.flatMap { id in severities.first { $0.id == id } } ?? severities.last
        var prefixes: Set<String> = ["sev", "p"]
        for name in severities.flatMap({ [$0.id] + $0.aliases }) {
            let normalized = SeverityPolicy.normalize(name)
            let letters = normalized.prefix { $0.isASCII && $0.isLetter }
            let digits = normalized.dropFirst(letters.count)
            if !letters.isEmpty, !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                prefixes.insert(String(letters))
            }
        }
        self.numberedSeverityPrefixes = prefixes
        var byName: [String: SeverityPolicy] = [:]
        for policy in severities {
            for name in [policy.id] + policy.aliases {
                let normalized = SeverityPolicy.normalize(name)
                if !normalized.isEmpty, byName[normalized] == nil { byName[normalized] = policy }
            }
        }
        self.severitiesByName = byName
    }

    /// The severity of a `declare` that names none (runbook 004 writes
    /// `/incident create "API response time degraded"`): `incidents.defaultSeverity`, else the last, least
    /// severe, configured severity, so that declaring without thinking pages nobody by mistake; the
    /// commander raises it with `/incident severity` if needed.
    public let defaultSeverity: SeverityPolicy?

    /// `text` is what follows `/incident` (Slack's `text` field), e.g. `declare sev1 "Payment processing down"`.
    /// It may also still start with the trigger word itself (`/incident ...` or `!incident ...`): strip it.
    public func parse(_ text: String) -> Result<IncidentCommand, CommandUsageError> {
        do throws(CommandUsageError) {
            return .success(try command(in: text))
        } catch {
            return .failure(error)
        }
    }

    // MARK: - Verbs

    private func command(in text: String) throws(CommandUsageError) -> IncidentCommand {
        var words = CommandWords(text)
        if let first = words.peek(), Self.triggerWords.contains(first.lowercased()) {
            words.skip(1)
        }
        guard let first = words.peek() else { return .help(verb: nil) }
        if let declaration = try bareDeclaration(words) {
            return declaration
        }
        guard let verb = CommandVerb.named(String(first)) else {
            throw unknownCommand(first)
        }
        words.skip(1)
        switch verb {
        case .declare:
            return try declare(&words)
        case .ack:
            return .ack(try onlyIncidentReference(&words, for: .ack))
        case .update:
            let reference = incidentReference(&words)
            guard let text = FreeText.clean(words.takeRest()) else {
                throw usageError(.update, "update needs the text of the update.")
            }
            return .update(reference, text: text)
        case .status:
            return try status(&words)
        case .set:
            return try setFact(&words)
        case .severity:
            return try severityChange(&words)
        case .role:
            return try role(&words)
        case .note:
            let reference = incidentReference(&words)
            guard let text = FreeText.clean(words.takeRest()) else {
                throw usageError(.note, "note needs the text to add to the timeline.")
            }
            return .note(reference, text: text)
        case .report:
            let reference = incidentReference(&words)
            guard let text = FreeText.clean(words.takeRest()) else {
                throw usageError(.report, "report needs what was reported, e.g. /incident report Customer X cannot check out.")
            }
            return .report(reference, text: text)
        case .mitigate:
            let reference = incidentReference(&words)
            return .mitigate(reference, text: FreeText.clean(words.takeRest()))
        case .resolve:
            return try resolve(&words)
        case .close:
            let reference = incidentReference(&words)
            return .close(reference, text: FreeText.clean(words.takeRest()))
        case .reopen:
            return .reopen(try onlyIncidentReference(&words, for: .reopen))
        case .timeline:
            return .timeline(try onlyIncidentReference(&words, for: .timeline))
        case .postmortem:
            return .postmortem(try onlyIncidentReference(&words, for: .postmortem))
        case .list:
            return try list(&words)
        case .oncall:
            return .oncall(try oncall(&words))
        case .page:
            return try page(&words)
        case .escalate:
            return .escalate(try onlyIncidentReference(&words, for: .escalate))
        case .type:
            let reference = incidentReference(&words)
            guard let type = words.next() else {
                throw usageError(.type, "type needs the incident type, e.g. /incident type security.")
            }
            try expectEnd(of: &words, for: .type)
            return .setType(reference, String(type).lowercased())
        case .component:
            return try component(&words)
        case .action:
            return try action(&words)
        case .stats:
            return .stats(try stats(&words))
        case .help:
            return try help(&words)
        case .cadence:
            return try cadence(&words)
        case .meeting:
            let reference = incidentReference(&words)
            guard let link = FreeText.clean(words.takeRest()) else {
                throw usageError(.meeting, "meeting needs the meeting's link, e.g. /incident meeting \(IncidentFact.meeting.example).")
            }
            return .set(reference, FactAssignment(fact: .meeting, input: .text(link)))
        }
    }

    /// `cadence [INC-n] <duration|off|default>` (002-15).
    private func cadence(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let reference = incidentReference(&words)
        guard let word = words.next() else {
            throw usageError(.cadence, "cadence needs how often updates are due, e.g. /incident cadence 10m (or off, or default).")
        }
        try expectEnd(of: &words, for: .cadence)
        switch word.lowercased() {
        case "off", "none", "never": return .cadence(reference, .off)
        case "default", "reset", "severity": return .cadence(reference, .severityDefault)
        default: break
        }
        switch TimeSpan.parse(String(word)) {
        case .success(let span) where span >= .minutes(1):
            return .cadence(reference, .every(span))
        case .success:
            throw usageError(.cadence, "An update cadence is at least 1m.")
        case .failure(.tooLong):
            throw usageError(.cadence, "\(Self.quoted(word)) is longer than the maximum of \(TimeSpan.maximum).")
        case .failure(.notADuration):
            throw usageError(.cadence, "\(Self.quoted(word)) is not a duration such as 10m, or off, or default.")
        }
    }

    /// `--monitor 1h` or `--monitor=1h`, before or after a resolution's text (002-19).
    private func monitorOption(_ words: inout CommandWords) throws(CommandUsageError) -> TimeSpan? {
        guard let word = words.peek()?.lowercased(), word == "--monitor" || word.hasPrefix("--monitor=") else { return nil }
        words.skip(1)
        var written = String(word.dropFirst("--monitor=".count))
        if word == "--monitor" {
            guard let next = words.next() else { throw usageError(.resolve, "--monitor needs how long to watch, e.g. --monitor 1h.") }
            written = String(next)
        }
        switch TimeSpan.parse(written) {
        case .success(let span) where span.seconds > 0: return span
        case .failure(.tooLong): throw usageError(.resolve, "\(Self.quoted(written)) is longer than the maximum of \(TimeSpan.maximum).")
        default: throw usageError(.resolve, "--monitor needs a duration such as 1h, not \(Self.quoted(written)).")
        }
    }

    /// `resolve [INC-n] [--monitor <duration>] [text] [--monitor <duration>]`.
    private func resolve(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let reference = incidentReference(&words)
        var monitor = try monitorOption(&words)
        var text = String(words.takeRest())
        // At the end: `Rolled forward the fix --monitor 1h`.
        let parts = text.split(whereSeparator: \.isWhitespace)
        if monitor == nil, let last = parts.last {
            var tail: CommandWords?
            if last.lowercased().hasPrefix("--monitor=") {
                tail = CommandWords(String(last))
            } else if parts.count >= 2, parts[parts.count - 2].lowercased() == "--monitor" {
                tail = CommandWords(parts.suffix(2).joined(separator: " "))
            }
            if var tail, let span = try monitorOption(&tail) {
                monitor = span
                let cut = text.range(of: parts[parts.count - (last.lowercased().hasPrefix("--monitor=") ? 1 : 2)], options: .backwards)!
                text = String(text[..<cut.lowerBound])
            }
        }
        return .resolve(reference, text: FreeText.clean(text), monitor: monitor)
    }

    /// What chat users type before the command when there is no slash command (Rocket.Chat's outgoing
    /// webhook, the console), or what some platforms leave in the text.
    private static let triggerWords: Set<String> = ["/incident", "!incident"]

    /// `/incident SEV1 Payment processing down`: a command that starts with a severity declares.
    ///
    /// `sev` is also an alias of the `severity` verb, so `/incident sev 1 <title>` declares, while a
    /// lone `/incident sev 2` (no title, which a declaration needs) changes the severity instead.
    private func bareDeclaration(_ words: CommandWords) throws(CommandUsageError) -> IncidentCommand? {
        guard let first = words.peek() else { return nil }
        let firstIsVerb = CommandVerb.named(String(first)) != nil
        switch readSeverity(words) {
        case .found(let policy, let wordCount):
            // A verb wins over a one-word severity alias that happens to spell it.
            if firstIsVerb && wordCount == 1 { return nil }
            var rest = words
            rest.skip(wordCount)
            if firstIsVerb && rest.isEmpty { return .severity(nil, policy.id) }
            let type = try typeOption(&rest)
            return .declare(severity: policy.id, title: try title(&rest), type: type)
        case .unknown(let written) where !firstIsVerb:
            throw unknownSeverity(written, for: .declare)
        case .unknown, .notASeverity:
            return nil
        }
    }

    /// `declare [severity] <title>`. Without a severity, `defaultSeverity`.
    private func declare(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let severity: SeverityPolicy
        switch readSeverity(words) {
        case .found(let policy, let wordCount):
            words.skip(wordCount)
            severity = policy
        case .unknown(let written):
            throw unknownSeverity(written, for: .declare)
        case .notASeverity:
            guard let fallback = defaultSeverity else {
                throw usageError(.declare, "No severities are configured, so nothing can be declared.")
            }
            severity = fallback
        }
        let type = try typeOption(&words)
        return .declare(severity: severity.id, title: try title(&words), type: type)
    }

    /// `--type security` or `--type=security` before the title.
    private func typeOption(_ words: inout CommandWords) throws(CommandUsageError) -> String? {
        guard let word = words.peek()?.lowercased(), word == "--type" || word.hasPrefix("--type=") else { return nil }
        words.skip(1)
        var type = String(word.dropFirst("--type=".count))
        if word == "--type" {
            guard let next = words.next() else { throw usageError(.declare, "--type needs an incident type, e.g. --type security.") }
            type = next.lowercased()
        }
        guard !type.isEmpty else { throw usageError(.declare, "--type needs an incident type, e.g. --type security.") }
        return type
    }

    private func title(_ words: inout CommandWords) throws(CommandUsageError) -> String {
        guard let title = FreeText.clean(words.takeRest()) else {
            throw usageError(.declare, "declare needs a title.")
        }
        return title
    }

    /// `status [INC-n] <investigating|identified|monitoring|resolved> [public text]`.
    private func status(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let reference = incidentReference(&words)
        let choices = IncidentStatus.settableByStatusCommand.map(\.rawValue).joined(separator: ", ")
        // Nothing after it: show the incident's status card.
        guard let word = words.next() else { return .statusCard(reference) }
        guard let status = IncidentStatus(rawValue: word.lowercased()),
            IncidentStatus.settableByStatusCommand.contains(status)
        else {
            throw usageError(.status, "Unknown status \(Self.quoted(word)). Use one of: \(choices).")
        }
        return .status(reference, status, text: FreeText.clean(words.takeRest()))
    }

    /// `set [INC-n] <fact> <value>`; `set` alone lists the facts.
    private func setFact(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let reference = incidentReference(&words)
        guard let name = words.next() else { return .set(reference, nil) }
        guard let fact = IncidentFact.named(String(name)) else {
            let names = IncidentFact.allCases.map(\.rawValue)
            let typed = Array(SeverityPolicy.normalize(String(name)))
            let near = names.min { Self.editDistance(typed, Array($0.lowercased())) < Self.editDistance(typed, Array($1.lowercased())) }
            let hint = near.flatMap { Self.editDistance(typed, Array($0.lowercased())) <= 3 ? " Did you mean \"\($0)\"?" : nil } ?? ""
            throw usageError(.set, "Unknown fact \(Self.quoted(name)).\(hint) Facts: \(names.joined(separator: ", ")).")
        }
        guard let value = FreeText.clean(words.takeRest()) else {
            throw usageError(.set, "set \(fact.rawValue) needs a value, e.g. /incident set \(fact.rawValue) \(fact.example).")
        }
        if fact.isFlag {
            guard let flag = FactValueSyntax.flag(value) else {
                throw usageError(.set, "\(fact.rawValue) is yes or no, not \(Self.quoted(value)).")
            }
            return .set(reference, FactAssignment(fact: fact, input: .text(flag)))
        }
        if fact.isAddressList {
            switch FactValueSyntax.addresses(value) {
            case .success(let list): return .set(reference, FactAssignment(fact: fact, input: .text(list)))
            case .failure(let problem):
                throw usageError(.set, "\(Self.quoted(problem.word)) is not an email address; \(fact.rawValue) is a list such as \(fact.example).")
            }
        }
        guard fact.isTime else { return .set(reference, FactAssignment(fact: fact, input: .text(value))) }
        switch FactTime.parse(value) {
        case .success(let time):
            return .set(reference, FactAssignment(fact: fact, input: .time(time)))
        case .failure(let problem):
            throw usageError(.set, "\(fact.rawValue): \(problem.description)")
        }
    }

    /// `severity [INC-n] <level>`.
    private func severityChange(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let reference = incidentReference(&words)
        guard let first = words.peek() else {
            throw usageError(.severity, "severity needs a level. \(severityChoices)")
        }
        switch readSeverity(words) {
        case .found(let policy, let wordCount):
            words.skip(wordCount)
            try expectEnd(of: &words, for: .severity)
            return .severity(reference, policy.id)
        case .unknown(let written):
            throw unknownSeverity(written, for: .severity)
        case .notASeverity:
            throw unknownSeverity(String(first), for: .severity)
        }
    }

    /// `role [INC-n] <role> <@user>`, or the other way round: `role @alice ic`.
    private func role(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let reference = incidentReference(&words)
        guard let first = words.next() else {
            throw usageError(.role, "role needs a role (\(Self.roleChoices)) and a person (@name).")
        }
        guard let second = words.next() else {
            if IncidentRole.parse(String(first)) != nil {
                throw usageError(.role, "role needs the person to assign, as @name.")
            }
            if ChatMention.parse(String(first)) != nil {
                throw usageError(.role, "role needs a role: \(Self.roleChoices).")
            }
            throw unknownRole(first)
        }
        let assignment: (IncidentRole, ChatUser)
        if let role = IncidentRole.parse(String(first)) {
            assignment = (role, try person(second, for: .role))
        } else if let user = ChatMention.parse(String(first)) {
            guard let role = IncidentRole.parse(String(second)) else { throw unknownRole(second) }
            assignment = (role, user)
        } else if IncidentRole.parse(String(second)) != nil {
            throw notAMention(first, for: .role)
        } else {
            throw unknownRole(first)
        }
        try expectEnd(of: &words, for: .role)
        return .role(reference, assignment.0, assignment.1)
    }

    /// `list` or `list all`.
    private func list(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        var includeClosed = false
        if let word = words.peek(), word.lowercased() == "all" {
            words.skip(1)
            includeClosed = true
        }
        try expectEnd(of: &words, for: .list)
        return .list(includeClosed: includeClosed)
    }

    /// `oncall`, `oncall <rotation>`, `oncall override <@user> [rotation] until <date time> | for <duration>`.
    private func oncall(_ words: inout CommandWords) throws(CommandUsageError) -> OnCallCommand {
        guard let first = words.next() else { return .show(rotation: nil) }
        if first.lowercased() == "override" {
            return try onCallOverride(&words)
        }
        if ["ping", "mention"].contains(first.lowercased()), !rotationIDs.contains(where: { $0.lowercased() == first.lowercased() }) {
            try expectEnd(of: &words, for: .oncall)
            return .mention
        }
        let rotation = try knownRotation(first, for: .oncall)
        try expectEnd(of: &words, for: .oncall)
        return .show(rotation: rotation)
    }

    private func onCallOverride(_ words: inout CommandWords) throws(CommandUsageError) -> OnCallCommand {
        let missingEnd = "oncall override needs an end: until YYYY-MM-DD HH:MM, or for a duration like 4h."
        guard let userWord = words.next() else {
            throw usageError(.oncall, "oncall override needs the person taking over, as @name.")
        }
        let user = try person(userWord, for: .oncall)
        guard var keyword = words.next() else { throw usageError(.oncall, missingEnd) }
        var rotation: String?
        if !Self.overrideEndKeywords.contains(keyword.lowercased()) {
            // Either a rotation, then `until`/`for`; or a misplaced end (`tomorrow`), which is reported as such.
            let followedByEnd = words.peek().map { Self.overrideEndKeywords.contains($0.lowercased()) } ?? false
            let isRotation = rotationIDs.contains { $0.lowercased() == keyword.lowercased() }
            guard isRotation || followedByEnd else {
                throw usageError(.oncall, "Expected until or for, got \(Self.quoted(keyword)). \(missingEnd)")
            }
            rotation = try knownRotation(keyword, for: .oncall)
            guard let next = words.next() else { throw usageError(.oncall, missingEnd) }
            keyword = next
        }
        let end: OverrideEnd
        switch keyword.lowercased() {
        case "until":
            end = try overrideEndTime(&words)
        case "for":
            end = try overrideDuration(&words)
        default:
            throw usageError(.oncall, "Expected until or for, got \(Self.quoted(keyword)). \(missingEnd)")
        }
        return .override(user: user, rotation: rotation, until: end)
    }

    private static let overrideEndKeywords: Set<String> = ["until", "for"]

    /// `until 2026-11-25 09:00` or `until 2026-11-25T09:00`: a local time, checked for being a real one.
    private func overrideEndTime(_ words: inout CommandWords) throws(CommandUsageError) -> OverrideEnd {
        guard let dateWord = words.next() else {
            throw usageError(.oncall, "until needs a date and time: YYYY-MM-DD HH:MM.")
        }
        let date: Substring
        let time: Substring
        let written: String
        // `2026-11-25T09:00`: the ISO 8601 `T` comes right after the day's digits.
        if let separator = dateWord.firstIndex(where: { $0 == "T" || $0 == "t" }),
            separator > dateWord.startIndex, dateWord[dateWord.index(before: separator)].isNumber
        {
            date = dateWord[..<separator]
            time = dateWord[dateWord.index(after: separator)...]
            written = String(dateWord)
        } else {
            guard let timeWord = words.next() else {
                throw usageError(.oncall, "until needs a time after the date: YYYY-MM-DD HH:MM.")
            }
            date = dateWord
            time = timeWord
            written = "\(dateWord) \(timeWord)"
        }
        try expectEnd(of: &words, for: .oncall)
        switch OverrideLocalTime.parse(date: date, time: time) {
        case .success(let value):
            return .localTime(year: value.year, month: value.month, day: value.day, hour: value.hour, minute: value.minute)
        case .failure(let problem):
            throw usageError(.oncall, "Invalid date and time \(Self.quoted(written)): \(problem.description).")
        }
    }

    /// `for 4h`, `for 1h30m`, and, forgivingly, `for 1h 30m`.
    private func overrideDuration(_ words: inout CommandWords) throws(CommandUsageError) -> OverrideEnd {
        let written = words.takeRest()
        guard !written.isEmpty else {
            throw usageError(.oncall, "for needs a duration, like 4h or 1h30m.")
        }
        switch TimeSpan.parse(String(written.filter { !$0.isWhitespace })) {
        case .success(let span) where span > .zero:
            return .duration(span)
        case .failure(.tooLong):
            throw usageError(.oncall, "Invalid duration \(Self.quoted(written)): an override lasts at most \(TimeSpan.maximum) (one year).")
        case .success, .failure(.notADuration):
            throw usageError(.oncall, "Invalid duration \(Self.quoted(written)): write it like 4h, 90m or 1h30m.")
        }
    }

    /// `page [INC-n] <@user|rotation|rotation:ID>`.
    private func page(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let reference = incidentReference(&words)
        guard let word = words.next() else {
            let rotations = rotationIDs.isEmpty ? "" : " or a rotation (\(rotationChoices))"
            throw usageError(.page, "page needs someone to page: @name\(rotations).")
        }
        let target: PageTarget
        if let user = ChatMention.parse(String(word)) {
            target = .user(user)
        } else if word.lowercased().hasPrefix("rotation:") {
            target = .rotation(try knownRotation(word.dropFirst("rotation:".count), for: .page))
        } else if let rotation = rotationIDs.first(where: { $0.lowercased() == word.lowercased() }) {
            target = .rotation(rotation)
        } else if word.hasPrefix("@") || word.hasPrefix("<") {
            throw notAMention(word, for: .page)
        } else {
            let rotations = rotationIDs.isEmpty ? "" : " or a rotation: \(rotationChoices)"
            throw usageError(.page, "Unknown rotation or person \(Self.quoted(word)). Page a person as @name\(rotations).")
        }
        try expectEnd(of: &words, for: .page)
        return .page(reference, target)
    }

    /// `help` or `help <verb>`; the verb comes back under its canonical name.
    private func help(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        guard let word = words.next() else { return .help(verb: nil) }
        guard let verb = CommandVerb.named(String(word)) else {
            throw unknownCommand(word, usage: CommandVerb.help.usage)
        }
        try expectEnd(of: &words, for: .help)
        return .help(verb: verb.rawValue)
    }

    /// `component [INC-n] <id|none>`. Whether the id is a configured component is the engine's check.
    private func component(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let reference = incidentReference(&words)
        guard let word = words.next() else {
            throw usageError(.component, "component needs the component the incident affects (or none).")
        }
        try expectEnd(of: &words, for: .component)
        let name = String(word)
        return .component(reference, ["none", "-", "clear"].contains(name.lowercased()) ? nil : name)
    }

    /// `action [INC-n] "<text>" [@owner] [due YYYY-MM-DD]` or `action [INC-n] done <n>`. The owner and the
    /// due date are read from the end, so the text itself may hold any words.
    private func action(_ words: inout CommandWords) throws(CommandUsageError) -> IncidentCommand {
        let reference = incidentReference(&words)
        if let first = words.peek(), first.lowercased() == "done" {
            words.skip(1)
            guard let word = words.next() else { throw usageError(.action, "action done needs the item's number.") }
            guard let number = Int(word.hasPrefix("#") ? word.dropFirst() : word), number > 0 else {
                throw usageError(.action, "\(Self.quoted(word)) is not an action item number.")
            }
            try expectEnd(of: &words, for: .action)
            return .action(reference, .done(number))
        }
        var parts = words.takeRest().split(whereSeparator: \.isWhitespace)
        var due: String?
        if parts.count >= 2, parts[parts.count - 2].lowercased() == "due" {
            let written = parts[parts.count - 1]
            guard let day = Self.calendarDay(written) else {
                throw usageError(.action, "Invalid due date \(Self.quoted(written)): write it as YYYY-MM-DD.")
            }
            due = day
            parts.removeLast(2)
        }
        var owner: ChatUser?
        if let last = parts.last, let user = ChatMention.parse(String(last)) {
            owner = user
            parts.removeLast()
        }
        guard let text = FreeText.clean(parts.joined(separator: " ")) else {
            throw usageError(.action, "action needs what is to be done.")
        }
        return .action(reference, .add(text: text, owner: owner, due: due))
    }

    /// `YYYY-MM-DD`, checked for being a real day.
    static func calendarDay(_ text: some StringProtocol) -> String? {
        let pieces = text.split(separator: "-")
        guard pieces.count == 3, pieces[0].count == 4, pieces[1].count == 2, pieces[2].count == 2,
            let year = Int(pieces[0]), let month = Int(pieces[1]), let day = Int(pieces[2])
        else { return nil }
        guard case .success = OverrideLocalTime.parse(date: Substring(String(format: "%04d-%02d-%02d", year, month, day)), time: "00:00") else { return nil }
        return String(format: "%04d-%02d-%02d", year, month, day)
    }

    /// `stats [30d|this month|YYYY-MM] [severity]`, in either order; the default is the last 30 days.
    private func stats(_ words: inout CommandWords) throws(CommandUsageError) -> StatsQuery {
        var query = StatsQuery()
        var periodSet = false
        while let word = words.next() {
            let lowered = word.lowercased()
            if !periodSet, lowered == "this", words.peek()?.lowercased() == "month" {
                words.skip(1)
                query.period = .thisMonth
                periodSet = true
            } else if !periodSet, let month = Self.calendarMonth(word) {
                query.period = .month(year: month.year, month: month.month)
                periodSet = true
            } else if !periodSet, let span = TimeSpan(parsing: lowered), span.seconds > 0 {
                query.period = .last(span)
                periodSet = true
            } else if query.severity == nil, let policy = severity(named: String(word)) {
                query.severity = policy.id
            } else {
                throw usageError(
                    .stats,
                    "Unexpected \(Self.quoted(word)): give a period (30d, this month, 2026-11) and/or a severity (\(severities.map(\.id).joined(separator: ", ")))."
                )
            }
        }
        return query
    }

    /// `2026-11`.
    public static func calendarMonth(_ text: some StringProtocol) -> (year: Int, month: Int)? {
        let pieces = text.split(separator: "-")
        guard pieces.count == 2, pieces[0].count == 4, pieces[1].count == 2, let year = Int(pieces[0]), let month = Int(pieces[1]),
            (1...12).contains(month)
        else { return nil }
        return (year, month)
    }

    // MARK: - Shared pieces

    /// An explicit incident right after the verb (`INC-42`), read if present.
    private func incidentReference(_ words: inout CommandWords) -> IncidentReference {
        guard let word = words.peek(), let id = IncidentID(parsing: String(word)) else { return nil }
        words.skip(1)
        return id
    }

    /// For verbs that take nothing but an optional incident: `ack`, `ack INC-7`.
    private func onlyIncidentReference(_ words: inout CommandWords, for verb: CommandVerb) throws(CommandUsageError) -> IncidentReference {
        let reference = incidentReference(&words)
        try expectEnd(of: &words, for: verb)
        return reference
    }

    private func expectEnd(of words: inout CommandWords, for verb: CommandVerb) throws(CommandUsageError) {
        let extra = words.takeRest()
        guard extra.isEmpty else {
            throw usageError(verb, "Unexpected \(Self.quoted(extra)) after \(verb.rawValue).")
        }
    }

    private func person(_ word: Substring, for verb: CommandVerb) throws(CommandUsageError) -> ChatUser {
        guard let user = ChatMention.parse(String(word)) else { throw notAMention(word, for: verb) }
        return user
    }

    private func knownRotation(_ word: Substring, for verb: CommandVerb) throws(CommandUsageError) -> String {
        guard let rotation = rotationIDs.first(where: { $0.lowercased() == word.lowercased() }) else {
            let choices = rotationIDs.isEmpty ? "No rotations are configured." : "Use one of: \(rotationChoices)."
            throw usageError(verb, "Unknown rotation \(Self.quoted(word)). \(choices)")
        }
        return rotation
    }

    // MARK: - Severities

    private enum SeverityReading {
        /// A configured severity, written in `wordCount` words (`sev1` is one, `Sev 1` two).
        case found(SeverityPolicy, wordCount: Int)
        /// Written like a severity (`sev9`, `P 7`) but not a configured one.
        case unknown(String)
        case notASeverity
    }

    /// Reads a severity at the start of `words` without consuming it.
    private func readSeverity(_ words: CommandWords) -> SeverityReading {
        guard let first = words.peek() else { return .notASeverity }
        // `Sev 1`: a word of letters, then a word of digits.
        if let second = words.peek(1),
            SeverityPolicy.normalize(String(first)).allSatisfy({ $0.isASCII && $0.isLetter }),
            !second.isEmpty, second.allSatisfy({ $0.isASCII && $0.isNumber })
        {
            let joined = String(first) + String(second)
            if let policy = severity(named: joined) { return .found(policy, wordCount: 2) }
            if looksLikeNumberedSeverity(joined) { return .unknown("\(first) \(second)") }
        }
        if let policy = severity(named: String(first)) { return .found(policy, wordCount: 1) }
        if looksLikeNumberedSeverity(String(first)) { return .unknown(String(first)) }
        return .notASeverity
    }

    /// Same matching as `KlaxonConfig.severity(named:)`: ids and aliases, through `SeverityPolicy.normalize`.
    private func severity(named token: String) -> SeverityPolicy? {
        severitiesByName[SeverityPolicy.normalize(token)]
    }

    private func looksLikeNumberedSeverity(_ token: String) -> Bool {
        let normalized = SeverityPolicy.normalize(token)
        let letters = normalized.prefix { $0.isASCII && $0.isLetter }
        let digits = normalized.dropFirst(letters.count)
        return numberedSeverityPrefixes.contains(String(letters))
            && !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    private var severityChoices: String {
        severities.isEmpty ? "No severities are configured." : "Use one of: \(severities.map(\.id).joined(separator: ", "))."
    }

    private func unknownSeverity(_ written: String, for verb: CommandVerb) -> CommandUsageError {
        usageError(verb, "Unknown severity \(Self.quoted(written)). \(severityChoices)")
    }

    // MARK: - Errors

    private var rotationChoices: String { rotationIDs.joined(separator: ", ") }

    private static let roleChoices = IncidentRole.allCases.map(\.rawValue).joined(separator: ", ")

    private func usageError(_ verb: CommandVerb, _ message: String) -> CommandUsageError {
        // 000-01: a declaration that went wrong lists the levels to choose from, with what each means.
        guard verb == .declare, !severities.isEmpty else { return CommandUsageError(message: message, usage: verb.usage) }
        let levels = severities.map { "• " + $0.helpLine }
        return CommandUsageError(message: ([message, "Severities (worst first):"] + levels).joined(separator: "\n"), usage: verb.usage)
    }

    private func unknownRole(_ word: Substring) -> CommandUsageError {
        usageError(.role, "Unknown role \(Self.quoted(word)). Use one of: \(Self.roleChoices).")
    }

    private func notAMention(_ word: Substring, for verb: CommandVerb) -> CommandUsageError {
        usageError(verb, "Expected a person as @name, got \(Self.quoted(word)).")
    }

    /// Points at the nearest verb, and shows its usage; with nothing near, points at `help`.
    private func unknownCommand(_ word: Substring, usage: String? = nil) -> CommandUsageError {
        guard let suggestion = Self.closestVerb(to: String(word)) else {
            return CommandUsageError(
                message: "Unknown command \(Self.quoted(word)). Try /incident help.",
                usage: usage ?? CommandVerb.help.usage
            )
        }
        return CommandUsageError(
            message: "Unknown command \(Self.quoted(word)). Did you mean \"\(suggestion.word)\"?",
            usage: usage ?? suggestion.verb.usage
        )
    }

    /// The verb word nearest to a mistyped one, if any is close enough to be what was meant: one edit
    /// away for short words, two for longer ones. Symbols and one-letter aliases (`?`, `-h`, `u`) are
    /// never suggested.
    static func closestVerb(to word: String) -> (word: String, verb: CommandVerb)? {
        let typed = Array(word.lowercased())
        // No alias is longer than 13 letters; a much longer word is not a typo of one.
        guard !typed.isEmpty, typed.count <= 20 else { return nil }
        let allowedDistance = typed.count <= 4 ? 1 : 2
        var best: (word: String, verb: CommandVerb, distance: Int)?
        for verb in CommandVerb.allCases {
            for alias in verb.aliases where alias.count >= 2 && alias.first?.isLetter == true {
                let distance = editDistance(typed, Array(alias))
                if distance <= allowedDistance, distance < typed.count, distance < (best?.distance ?? .max) {
                    best = (alias, verb, distance)
                }
            }
        }
        return best.map { ($0.word, $0.verb) }
    }

    /// Levenshtein distance that also counts swapping two neighbours as one edit (`decalre` → `declare`).
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // distances[i][j]: edits turning the first i characters of a into the first j of b.
        var distances = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { distances[i][0] = i }
        for j in 0...b.count { distances[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let substitution = a[i - 1] == b[j - 1] ? 0 : 1
                var best = min(distances[i - 1][j] + 1, distances[i][j - 1] + 1, distances[i - 1][j - 1] + substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    best = min(best, distances[i - 2][j - 2] + 1)
                }
                distances[i][j] = best
            }
        }
        return distances[a.count][b.count]
    }

    /// Echoes what someone typed back to them on one line, cut short so a pasted log does not become
    /// the reply.
    static func quoted(_ text: some StringProtocol) -> String {
        let limit = 40
        let oneLine = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return oneLine.count > limit ? "\"\(oneLine.prefix(limit))…\"" : "\"\(oneLine)\""
    }
}

/// The words of a command, read left to right.
///
/// Words are separated by any run of whitespace (spaces, tabs, line breaks). What is left once the
/// structured words are read is handed out as typed, so free text keeps its own spacing and lines.
struct CommandWords {
    /// What has not been read yet; it starts at a word, never with whitespace.
    private var remaining: Substring

    init(_ text: String) {
        remaining = Substring(text).drop(while: \.isWhitespace)
    }

    var isEmpty: Bool { remaining.isEmpty }

    /// The word `offset` words ahead, without reading it.
    func peek(_ offset: Int = 0) -> Substring? {
        var lookahead = self
        lookahead.skip(offset)
        return lookahead.next()
    }

    mutating func next() -> Substring? {
        guard !remaining.isEmpty else { return nil }
        let end = Self.endOfWord(in: remaining)
        let word = remaining[..<end]
        remaining = remaining[end...].drop(while: \.isWhitespace)
        return word
    }

    mutating func skip(_ count: Int) {
        var skipped = 0
        while skipped < count, next() != nil {
            skipped += 1
        }
    }

    /// Everything not read yet, as typed, without trailing whitespace; afterwards nothing is left.
    mutating func takeRest() -> Substring {
        defer { remaining = "" }
        guard let last = remaining.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return remaining[...last]
    }

    /// A word ends at whitespace, except inside Slack's `<...>` markup, whose label may hold spaces
    /// (`<@U0ADA|Ada Lovelace>`) but never a line break.
    private static func endOfWord(in text: Substring) -> Substring.Index {
        var searchFrom = text.startIndex
        if text.first == "<", let close = text.firstIndex(where: { $0 == ">" || $0.isNewline }), text[close] == ">" {
            searchFrom = close
        }
        return text[searchFrom...].firstIndex(where: \.isWhitespace) ?? text.endIndex
    }
}

/// Free text as people type it into chat.
public enum FreeText {
    /// The longest title, update, note or resolution Klaxon keeps, in characters. Longer text is cut
    /// here, where it is parsed, and ends in "…": a pasted log must not become a message that Slack
    /// (3,000 characters per section), Rocket.Chat (5,000 by default) or Mattermost (16,383) refuses,
    /// and so an outbox message that can never be delivered.
    public static let maximumLength = 3_000

    /// Trims, decodes Slack's three escapes, drops one pair of quotes around the whole text and cuts it
    /// to `maximumLength`; `nil` when nothing is left.
    static func clean(_ raw: some StringProtocol) -> String? {
        let decoded = trimmed(decodeSlackEscapes(String(raw)))
        let unquoted = trimmed(removingSurroundingQuotes(decoded))
        return unquoted.isEmpty ? nil : truncated(unquoted)
    }

    /// `text` without white space (newlines included) at either end. In Swift rather than through
    /// Foundation's `trimmingCharacters(in:)`, which bridges to NSString: every command's text passes here.
    public static func trimmed(_ text: some StringProtocol) -> String {
        let scalars = String(text).unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }

    /// `text` cut to at most `limit` characters, the last of them "…" when anything was cut.
    public static func truncated(_ text: String, to limit: Int = maximumLength) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(max(0, limit - 1))) + "…"
    }

    /// Slack sends `&`, `<` and `>` typed by people as `&amp;`, `&lt;` and `&gt;` (and only those).
    /// One pass, so `&amp;lt;` becomes the `&lt;` that was typed.
    static func decodeSlackEscapes(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let escapes: [(escaped: String, character: Character)] = [("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")]
        var decoded = ""
        var rest = Substring(text)
        while let first = rest.first {
            if first == "&", let escape = escapes.first(where: { rest.hasPrefix($0.escaped) }) {
                decoded.append(escape.character)
                rest = rest.dropFirst(escape.escaped.count)
            } else {
                decoded.append(first)
                rest = rest.dropFirst()
            }
        }
        return decoded
    }

    /// Opening and closing marks of the quotes people (and phones' smart punctuation) type.
    private static let quotePairs: [(open: Character, close: Character)] = [
        ("\"", "\""), ("“", "”"), ("„", "“"), ("”", "”"), ("«", "»"),
        ("'", "'"), ("‘", "’"),
    ]

    /// `"Payment processing down"` → `Payment processing down`. Only when the quotes wrap the whole
    /// text: `"a" and "b"` stays as typed, as does an unbalanced `"a`. Apostrophes between letters
    /// inside single quotes (`'Bob's laptop'`) do not count as closing quotes.
    static func removingSurroundingQuotes(_ text: String) -> String {
        guard text.count >= 2, let first = text.first, let last = text.last else { return text }
        guard let pair = quotePairs.first(where: { $0.open == first && $0.close == last }) else { return text }
        let inner = Array(text.dropFirst().dropLast())
        let isSingleQuote = pair.close == "'" || pair.close == "’"
        for (index, character) in inner.enumerated() where character == pair.close {
            let betweenLetters =
                index > 0 && index < inner.count - 1
                && inner[index - 1].isLetter && inner[index + 1].isLetter
            if !(isSingleQuote && betweenLetters) { return text }
        }
        return String(inner)
    }
}

/// A wall-clock date and time as written in `oncall override ... until`, checked to exist.
struct OverrideLocalTime: Hashable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int

    /// Why a written date and time is not a real one; `description` finishes the sentence of the reply.
    enum Problem: Error, CustomStringConvertible {
        case format
        case month(Int)
        case day(Int)
        case hour(Int)
        case minute(Int)

        var description: String {
            switch self {
            case .format: "write it as YYYY-MM-DD HH:MM"
            case .month(let month): "there is no month \(month)"
            case .day(let day): "that month has no day \(day)"
            case .hour(let hour): "there is no hour \(hour)"
            case .minute(let minute): "there is no minute \(minute)"
            }
        }
    }

    /// `date` is `YYYY-MM-DD`, `time` is `HH:MM` (or `H:MM`).
    static func parse(date: Substring, time: Substring) -> Result<OverrideLocalTime, Problem> {
        let dateParts = date.split(separator: "-", omittingEmptySubsequences: false)
        let timeParts = time.split(separator: ":", omittingEmptySubsequences: false)
        guard dateParts.count == 3, timeParts.count == 2,
            dateParts[0].count == 4, (1...2).contains(dateParts[1].count), (1...2).contains(dateParts[2].count),
            (1...2).contains(timeParts[0].count), timeParts[1].count == 2,
            let year = number(dateParts[0]), let month = number(dateParts[1]), let day = number(dateParts[2]),
            let hour = number(timeParts[0]), let minute = number(timeParts[1])
        else { return .failure(.format) }
        guard (1...12).contains(month) else { return .failure(.month(month)) }
        guard (1...daysIn(month: month, year: year)).contains(day) else { return .failure(.day(day)) }
        guard (0...23).contains(hour) else { return .failure(.hour(hour)) }
        guard (0...59).contains(minute) else { return .failure(.minute(minute)) }
        return .success(OverrideLocalTime(year: year, month: month, day: day, hour: hour, minute: minute))
    }

    /// ASCII digits only: `Int("+5")` would accept a sign, and other scripts' digits are not meant here.
    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2:
            let isLeapYear = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            return isLeapYear ? 29 : 28
        case 4, 6, 9, 11:
            return 30
        default:
            return 31
        }
    }
}
