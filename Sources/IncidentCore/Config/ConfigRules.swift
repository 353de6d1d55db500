/// What a config type says about one of its keys beyond its Swift type. `ConfigDecoder` applies these as
/// it reads the key's value, so a rule is one entry beside the property it is about.
enum ConfigRule: Sendable, Equatable {
    /// Leaving the key out is a problem (otherwise it takes the type's default).
    case required
    /// An integer within these bounds.
    case range(ClosedRange<Int>)
    /// A blank string is a value, not a mistake.
    case allowEmpty
    /// A secret left empty means "not set" (`"${KLAXON_API_TOKEN:-}"`).
    case emptyMeansUnset
    /// A duration of `0s` is a value (a cadence or deadline of zero is otherwise a mistake).
    case allowZero
    /// An empty list is a problem, with this message.
    case notEmpty(String)
    /// One of these words, exactly as written.
    case oneOf([String])
    /// An IANA time zone such as `Europe/Berlin`.
    case timeZone
    /// An absolute `http` or `https` URL with a host.
    case httpURL
    /// A name other settings refer to (`ConfigText.isValidIdentifier`).
    case identifier
    /// A `YYYY-MM-DD` calendar date.
    case date
    /// The objects at this key (or in this list) must have these keys, beyond what their type requires:
    /// for one type read in two places with different needs (a notification rule must `notify`, a
    /// checkpoint must have `at` and `say`; both are `PolicyRule`).
    case requires([String])
    /// Notify targets an escalation step may name: people (`rotation:`, `person:`, `group:`) and mailboxes
    /// (`email:`); channels and webhooks belong in policy rules.
    case escalationTargets

    var range: ClosedRange<Int>? {
        if case .range(let range) = self { return range }
        return nil
    }

    /// The keys `requires` names, if it is that rule.
    var requiredKeys: [String] {
        if case .requires(let keys) = self { return keys }
        return []
    }

    var isNotEmpty: Bool {
        if case .notEmpty = self { return true }
        return false
    }

    static func atLeast(_ minimum: Int) -> ConfigRule { .range(minimum...Int.max) }
}

/// A JSON object of `bot-config.json`, decoded by the type's synthesized `init(from:)`.
protocol ConfigObject: Decodable {
    /// A value whose properties are the defaults of keys left out. Required keys hold placeholders here.
    static var defaults: Self { get }
    /// Key → what else is true of its value (see `ConfigRule`); keys not named have no rules.
    static var rules: [String: [ConfigRule]] { get }
}

extension ConfigObject {
    static var rules: [String: [ConfigRule]] { [:] }
}

/// A value written as one JSON scalar with a syntax of its own (`"15m"`, `"rotation:primary"`): it reads
/// itself from the decoder, reporting what is wrong, and returns a placeholder when something is.
protocol ConfigScalar: Decodable {
    init(configValue decoder: ConfigDecoder)
}

extension ConfigScalar {
    /// For `init(from:)`: config scalars are read by `ConfigDecoder` only.
    init(viaConfigDecoder decoder: any Decoder) throws {
        guard let decoder = decoder as? ConfigDecoder else {
            throw DecodingError.typeMismatch(Self.self, .init(codingPath: decoder.codingPath, debugDescription: "read by ConfigDecoder only"))
        }
        self.init(configValue: decoder)
    }
}

/// A word from a fixed set: a `String` enum.
protocol ConfigChoice: Decodable {
    init?(rawValue: String)
    static var choices: [String] { get }
    static var firstChoice: Self { get }
}

extension ConfigChoice where Self: CaseIterable & RawRepresentable, RawValue == String {
    static var choices: [String] { allCases.map(\.rawValue) }
    static var firstChoice: Self { allCases[allCases.startIndex] }
}

extension LoggingConfig.Format: ConfigChoice {}
extension IncidentsConfig.Mode: ConfigChoice {}
extension PlatformKind: ConfigChoice {}
extension PagerEvent: ConfigChoice {}
extension AlertSourceKind: ConfigChoice {}

extension Secret: ConfigScalar {
    public init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

    /// Like a string, but the value never appears in a message, not even in a type mismatch.
    init(configValue decoder: ConfigDecoder) {
        self.init(decoder.string(isSecret: true))
    }
}

extension TimeSpan: ConfigScalar {
    /// `"15m"`, at most `TimeSpan.maximum`. Zero only where the key allows it: elsewhere a cadence or
    /// deadline of 0s is a mistake, and leaving the key out is how to say "none".
    init(configValue decoder: ConfigDecoder) {
        self = .zero
        let text = decoder.string(expected: "a duration such as \"15m\"")
        guard case .string = decoder.value, !text.isEmpty else { return }
        switch TimeSpan.parse(text) {
        case .success(let span) where span.seconds == 0 && !decoder.has(.allowZero):
            decoder.report("must be longer than 0s")
        case .success(let span):
            self = span
        case .failure(.notADuration):
            decoder.report("\(ConfigText.quote(text)) is not a duration")
        case .failure(.tooLong):
            decoder.report("\(ConfigText.quote(text)) is longer than the maximum of \(TimeSpan.maximum) (one year)")
        }
    }
}

extension Handoff: ConfigScalar {
    public init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

    init(configValue decoder: ConfigDecoder) {
        let text = decoder.string()
        if let handoff = Handoff(parsing: text) {
            self = handoff
        } else {
            if !text.isEmpty { decoder.report("\(ConfigText.quote(text)) is not a hand-off time such as \"monday 09:00\" or \"09:00\"") }
            self = Handoff(weekday: nil, hour: 0, minute: 0)
        }
    }
}

extension NotifyTarget: ConfigScalar {
    public init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

    /// Whether the target exists (a rotation, a webhook…) is checked in `KlaxonConfig.validate()`.
    init(configValue decoder: ConfigDecoder) {
        let text = decoder.string()
        let stepTarget = decoder.has(.escalationTargets)
        if let target = NotifyTarget(parsing: text) {
            self = target
            if stepTarget, !target.isEscalationTarget {
                decoder.report(
                    "\(ConfigText.quote(text)): an escalation step notifies people (rotation:, person:, group:) or mailboxes (email:); put channels and webhooks in a severity's \"notify\" rules"
                )
            }
            return
        }
        self = .person("")
        guard !text.isEmpty else { return }
        // A bare id is the likely slip; offer the spelled-out form when it names something.
        let document = decoder.session.document
        let rotationIDs = document["oncall"]?["rotations"]?.elements.compactMap { $0["id"]?.text } ?? []
        let personIDs = document["people"]?.keys ?? []
        let groupIDs = document["groups"]?.keys ?? []
        let guess =
            rotationIDs.contains(text)
            ? "rotation:\(text)"
            : personIDs.contains(text) ? "person:\(text)" : groupIDs.contains(text) ? "group:\(text)" : nil
        let forms = stepTarget ? NotifyTarget.escalationForms : NotifyTarget.forms
        let what =
            text.hasPrefix("email:")
            ? "an email target (\"email:<address>\", \"email:person:<id>\" or \"email:group:<name>\")"
            : "one of \(forms.map { "\"\($0)\"" }.joined(separator: ", "))"
        decoder.report("\(ConfigText.quote(text)) is not \(what)" + (guess.map { " (did you mean \(ConfigText.quote($0))?)" } ?? ""))
    }
}

extension Grantee: ConfigScalar {
    public init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

    init(configValue decoder: ConfigDecoder) {
        let text = decoder.string()
        if let grantee = Grantee(parsing: text) {
            self = grantee
            return
        }
        self = .anyone
        if !text.isEmpty {
            decoder.report(
                "\(ConfigText.quote(text)) is not a grantee: use anyone, oncall, members, person:<id>, group:<name> or role:<ic|lead|comms|scribe|author>")
        }
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    var elements: [JSONValue] {
        guard case .array(let elements) = self else { return [] }
        return elements
    }

    var keys: [String] {
        guard case .object(let members) = self else { return [] }
        return members.map(\.key)
    }

    var text: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }
}

extension IncidentLabelFormat: ConfigScalar {
    public init(from decoder: any Decoder) throws { try self.init(viaConfigDecoder: decoder) }

    /// `"INC-{year}-{seq:3}"`; a problem names what is wrong with the pattern.
    init(configValue decoder: ConfigDecoder) {
        let text = decoder.string()
        switch IncidentLabelFormat.parse(text) {
        case .success(let format):
            self = format
        case .failure(let problem):
            if !text.isEmpty { decoder.report(problem.description) }
            self = .standard
        }
    }
}
