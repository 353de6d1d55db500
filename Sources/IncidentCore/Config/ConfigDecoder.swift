import Foundation

/// A `Decoder` over a parsed `bot-config.json` that never stops at the first problem: a wrong type, a
/// missing required key or a bad value is recorded in the `ConfigDecodingSession` with its JSON path, and
/// a placeholder is returned so that decoding goes on and one run reports everything.
///
/// It also applies what the config types declare (`ConfigObject.defaults` for keys left out,
/// `ConfigObject.rules` for ranges, required keys and the like), expands `${VAR}` in strings, and notes
/// which keys each object was asked for, so that one check afterwards reports every key nothing asked for.
struct ConfigDecoder: Decoder {
    let session: ConfigDecodingSession
    let value: JSONValue
    let path: ConfigPath
    let codingPath: [any CodingKey]
    /// What the config types declare for the key this value sits at.
    var rules: [ConfigRule] = []
    /// Set when this value is being decoded as a `ConfigObject`: its keys' rules and defaults.
    var objectType: (any ConfigObject.Type)?
    /// Placeholders are decoded muted: a value already reported must not produce more problems.
    var muted = false

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(session: ConfigDecodingSession, value: JSONValue) {
        self.session = session
        self.value = value
        self.path = .root
        self.codingPath = []
    }

    private init(parent: ConfigDecoder, key: any CodingKey, path: ConfigPath, value: JSONValue, rules: [ConfigRule]) {
        session = parent.session
        self.value = value
        self.path = path
        codingPath = parent.codingPath + [key]
        self.rules = rules
        muted = parent.muted
    }

    func report(_ message: String) {
        if !muted { session.report(ConfigProblem(path, message)) }
    }

    func has(_ rule: ConfigRule) -> Bool { rules.contains(rule) }

    // MARK: Children

    /// The decoder for member `key` of this object: its rules are the object type's for that key, or,
    /// in a dictionary (`people`, `permissions`), the dictionary's own.
    func member(_ key: any CodingKey, value: JSONValue) -> ConfigDecoder {
        let name = key.stringValue
        let memberRules = objectType.map { $0.rules[name] ?? [] } ?? rules
        return ConfigDecoder(parent: self, key: key, path: path.key(name), value: value, rules: memberRules)
    }

    /// Elements of a list share the list's rules (`identifier` on a list of ids).
    func element(_ index: Int, value: JSONValue) -> ConfigDecoder {
        ConfigDecoder(parent: self, key: IndexKey(index), path: path.index(index), value: value, rules: rules)
    }

    /// Decodes this value as `T`. Problems are recorded, not thrown; only a type that is neither a config
    /// type nor built from them could throw, and that is reported at this path too.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let scalar = T.self as? any ConfigScalar.Type, let decoded = scalar.init(configValue: self) as? T { return decoded }
        if let choice = T.self as? any ConfigChoice.Type {
            if !muted { session.choices[path] = choice.choices }
            let text = string()
            if let decoded = choice.init(rawValue: text) as? T { return decoded }
            if !text.isEmpty { report("\(ConfigText.quote(text)) is not one of \(choice.choices.joined(separator: ", "))") }
            return try placeholder(T.self)
        }
        var decoder = self
        decoder.objectType = T.self as? any ConfigObject.Type
        do {
            return try T(from: decoder)
        } catch {
            report("cannot be read: \(error)")
            return try placeholder(T.self)
        }
    }

    /// Some value of `T` for a place whose problem is already reported.
    func placeholder<T: Decodable>(_ type: T.Type) throws -> T {
        if let choice = T.self as? any ConfigChoice.Type, let first = choice.firstChoice as? T { return first }
        var decoder = ConfigDecoder(parent: self, key: IndexKey(0), path: path, value: .null, rules: [])
        decoder.muted = true
        return try decoder.decode(T.self)
    }

    // MARK: Containers

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            reportTypeMismatch(expected: "an object")
            var muted = self
            muted.muted = true
            return KeyedDecodingContainer(ConfigKeyedContainer<Key>(decoder: muted, members: []))
        }
        if !muted { session.opened(self, members: members) }
        return KeyedDecodingContainer(ConfigKeyedContainer<Key>(decoder: self, members: members))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            reportTypeMismatch(expected: "an array")
            return ConfigUnkeyedContainer(decoder: self, elements: [])
        }
        if elements.isEmpty, case .notEmpty(let message)? = rules.first(where: \.isNotEmpty) { report(message) }
        return ConfigUnkeyedContainer(decoder: self, elements: elements)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { ConfigSingleValueContainer(decoder: self) }

    // MARK: Scalars

    /// A string with `${VAR}` references expanded, checked against the key's rules. Blank strings are
    /// refused unless the key allows them. `expected` names the setting for a type mismatch.
    func string(expected: String = "a string", isSecret: Bool = false) -> String {
        guard case .string(let raw) = value else {
            reportTypeMismatch(expected: expected, isSecret: isSecret)
            return ""
        }
        guard let text = expand(raw, isSecret: isSecret) else { return "" }
        if isSecret { session.secretValues.insert(text) }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            if !has(.allowEmpty) && !has(.emptyMeansUnset) { report("must not be empty") }
            return text
        }
        for rule in rules {
            if case .oneOf(let options) = rule, !muted { session.choices[path] = options }
            check(text, against: rule)
        }
        return text
    }

    private func check(_ text: String, against rule: ConfigRule) {
        let quoted = ConfigText.quote(text)
        switch rule {
        case .oneOf(let options) where !options.contains(text):
            report("\(quoted) is not one of \(options.joined(separator: ", "))")
        case .timeZone where TimeZone(identifier: text) == nil:
            report("\(quoted) is not a known time zone" + ConfigText.suggestion(for: text, among: TimeZone.knownTimeZoneIdentifiers))
        case .httpURL:
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = url.host, !host.isEmpty
            else { return report("\(quoted) is not an http or https URL") }
        case .identifier where !ConfigText.isValidIdentifier(text):
            report("\(quoted) is not a valid id (\(ConfigText.identifierRule))")
        case .date where !Self.isCalendarDate(text):
            report("\(quoted) is not a date such as \"2024-01-01\"")
        default:
            break
        }
    }

    /// A real `YYYY-MM-DD` date (2024-02-30 is refused).
    private static func isCalendarDate(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        guard parts.count == 3, parts.map(\.count) == [4, 2, 2], parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return false }
        return DateComponents(calendar: calendar, year: year, month: month, day: day).isValidDate
    }

    /// A JSON integer within the key's `range`. A string is accepted only when it holds a `${VAR}`
    /// reference, since the environment can only supply text: `"port": "${PORT:-8080}"`.
    func integer() -> Int {
        let range = rules.lazy.compactMap(\.range).first ?? Int.min...Int.max
        if !muted { session.ranges[path] = range }
        let literal: String
        let shown: String
        switch value {
        case .number(let number):
            (literal, shown) = (number, number)
        case .string(let raw) where EnvironmentInterpolation.containsReference(raw):
            guard let text = expand(raw, isSecret: false) else { return range.lowerBound }
            (literal, shown) = (text.trimmingCharacters(in: .whitespaces), ConfigText.quote(text))
        default:
            reportTypeMismatch(expected: "an integer")
            return range.lowerBound
        }
        let digits = literal.hasPrefix("-") ? literal.dropFirst() : Substring(literal)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            report("expected an integer, got \(shown)")
            return range.lowerBound
        }
        guard let number = Int(literal), range.contains(number) else {
            // Too large for `Int` is out of range too, whatever the range.
            report(
                range.upperBound == Int.max
                    ? "must be at least \(range.lowerBound), got \(shown)"
                    : "must be between \(range.lowerBound) and \(range.upperBound), got \(shown)")
            return range.lowerBound
        }
        return number
    }

    /// `true` or `false`; as with integers, a string only when it holds a `${VAR}` reference.
    func boolean() -> Bool {
        switch value {
        case .bool(let flag):
            return flag
        case .string(let raw) where EnvironmentInterpolation.containsReference(raw):
            guard let text = expand(raw, isSecret: false) else { return false }
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true": return true
            case "false": return false
            default:
                report("expected a boolean, got \(ConfigText.quote(text))")
                return false
            }
        default:
            reportTypeMismatch(expected: "a boolean")
            return false
        }
    }

    private func expand(_ raw: String, isSecret: Bool) -> String? {
        switch EnvironmentInterpolation.expand(raw, environment: session.environment) {
        case .expanded(let text):
            return text
        case .failed(let failures):
            for failure in failures {
                switch failure {
                case .unset(let name):
                    report("environment variable \(name) is not set")
                case .unterminated:
                    report("\"${\" is not closed by \"}\" (write \"$${\" for a literal \"${\")")
                case .invalidName(let name):
                    // A secret written inline may contain `${`; its text stays out of the message.
                    let shown = isSecret ? "" : " \(ConfigText.quote("${\(name)}"))"
                    report("invalid environment variable reference\(shown): names are letters, digits and \"_\", not starting with a digit")
                }
            }
            return nil
        }
    }

    func reportTypeMismatch(expected: String, isSecret: Bool = false) {
        report("expected \(expected), got \(ConfigText.describe(value, isSecret: isSecret))")
    }
}

/// An array index in a coding path.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}
