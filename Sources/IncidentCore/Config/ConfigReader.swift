import Foundation

/// A position in `bot-config.json`, as problems name it: `severities[2].updateEvery`, `people.alice.slack`,
/// `$` for the document itself. Keys that are not plain words are bracketed: `people["jean luc"]`.
struct ConfigPath: Sendable, Hashable, CustomStringConvertible {
    private enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    private var components: [Component] = []

    static let root = ConfigPath()

    func key(_ key: String) -> ConfigPath {
        var path = self
        path.components.append(.key(key))
        return path
    }

    func index(_ index: Int) -> ConfigPath {
        var path = self
        path.components.append(.index(index))
        return path
    }

    var description: String {
        guard !components.isEmpty else { return "$" }
        var text = ""
        for component in components {
            switch component {
            case .key(let key) where Self.isPlainKey(key):
                text += text.isEmpty ? key : ".\(key)"
            case .key(let key):
                text += "[\(ConfigReader.quote(key))]"
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    private static func isPlainKey(_ key: String) -> Bool {
        !key.isEmpty && key.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }
    }
}

/// An object's members once checked against the keys its section allows. Unknown and duplicate keys have
/// been reported; `null` members are left out, because `null` means the same as leaving the key out.
struct ObjectFields {
    let path: ConfigPath
    /// Allowed keys with a non-null value, in document order (first occurrence only).
    let keys: [String]
    let values: [String: JSONValue]

    var isEmpty: Bool { keys.isEmpty }
}

/// The walk over a parsed document: typed reads that record a problem, with its path, instead of stopping
/// at the first. Every read returns nil when the value is absent or wrong, so section readers fall back to
/// defaults and carry on; `ConfigLoader` only returns a config when no problem was recorded.
///
/// A class because section readers pass its methods as closures; it lives for one `load` call and is never
/// shared between tasks.
final class ConfigReader {
    let environment: [String: String]
    private(set) var problems: [ConfigProblem] = []
    /// Every secret's value, kept only so that `scrubbedProblems` can make sure none appears in a message.
    private var secretValues: Set<String> = []

    init(environment: [String: String]) {
        self.environment = environment
    }

    func report(_ path: ConfigPath, _ message: String) {
        problems.append(ConfigProblem(path: path.description, message: message))
    }

    func report(_ problem: ConfigProblem) {
        problems.append(problem)
    }

    /// The problems, with any secret value that found its way into a message (say, the same environment
    /// variable used for a token and, by mistake, for the port) replaced by `<secret>`. Values shorter than
    /// eight characters are left alone: they would match ordinary words, and no real token is that short.
    var scrubbedProblems: [ConfigProblem] {
        let secrets = secretValues.filter { $0.count >= 8 }.sorted { $0.count > $1.count }
        guard !secrets.isEmpty else { return problems }
        return problems.map { problem in
            var scrubbed = problem
            for secret in secrets {
                // Messages quote values escaped, so the escaped form is looked for too.
                for form in Set([secret, Self.escape(secret)]) {
                    scrubbed.message = scrubbed.message.replacingOccurrences(of: form, with: "<secret>")
                }
            }
            return scrubbed
        }
    }

    // MARK: Objects and arrays

    /// The value as an object whose keys must come from `allowedKeys`; `ignoredKeys` are accepted and
    /// skipped. `unknownKeyNoun` names what an unknown key is in the message (`key`, `template`).
    func object(_ value: JSONValue, at path: ConfigPath, allowedKeys: [String], ignoredKeys: Set<String> = [], unknownKeyNoun: String = "key") -> ObjectFields? {
        guard case .object(let members) = value else {
            reportTypeMismatch(expected: "an object", got: value, at: path)
            return nil
        }
        var keys: [String] = []
        var values: [String: JSONValue] = [:]
        var seen: Set<String> = []
        for member in members {
            let memberPath = path.key(member.key)
            guard seen.insert(member.key).inserted else {
                report(memberPath, "duplicate key")
                continue
            }
            if ignoredKeys.contains(member.key) { continue }
            guard allowedKeys.contains(member.key) else {
                report(memberPath, "unknown \(unknownKeyNoun)\(Self.hint(for: member.key, among: allowedKeys, known: "\(unknownKeyNoun)s"))")
                continue
            }
            if member.value == .null { continue }
            keys.append(member.key)
            values[member.key] = member.value
        }
        return ObjectFields(path: path, keys: keys, values: values)
    }

    /// An object whose keys are names the config chooses (person ids): its members in document order,
    /// duplicates reported and dropped, `null` members left out.
    func entries(_ value: JSONValue, at path: ConfigPath) -> [(key: String, value: JSONValue, path: ConfigPath)]? {
        guard case .object(let members) = value else {
            reportTypeMismatch(expected: "an object", got: value, at: path)
            return nil
        }
        var seen: Set<String> = []
        var result: [(key: String, value: JSONValue, path: ConfigPath)] = []
        for member in members {
            let memberPath = path.key(member.key)
            guard seen.insert(member.key).inserted else {
                report(memberPath, "duplicate key")
                continue
            }
            if member.value != .null { result.append((member.key, member.value, memberPath)) }
        }
        return result
    }

    func array(_ value: JSONValue, at path: ConfigPath) -> [(value: JSONValue, path: ConfigPath)]? {
        guard case .array(let elements) = value else {
            reportTypeMismatch(expected: "an array", got: value, at: path)
            return nil
        }
        return elements.enumerated().map { ($0.element, path.index($0.offset)) }
    }

    /// The field `key` of `fields`, read by `parse`; nil when absent (a problem if `required`) or invalid.
    func field<Value>(_ fields: ObjectFields, _ key: String, required: Bool = false, _ parse: (JSONValue, ConfigPath) -> Value?) -> Value? {
        let path = fields.path.key(key)
        guard let value = fields.values[key] else {
            if required { report(path, "missing required field") }
            return nil
        }
        return parse(value, path)
    }

    // MARK: Scalars

    /// A string with `${VAR}` references expanded. Blank strings are refused unless `allowEmpty`.
    /// `expected` names what the setting is for the type-mismatch message.
    func string(_ value: JSONValue, at path: ConfigPath, allowEmpty: Bool = false, expected: String = "a string") -> String? {
        guard case .string(let raw) = value else {
            reportTypeMismatch(expected: expected, got: value, at: path)
            return nil
        }
        guard let text = expand(raw, at: path, isSecret: false) else { return nil }
        if !allowEmpty && text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            report(path, "must not be empty")
            return nil
        }
        return text
    }

    /// Like `string`, but the value never appears in a message, not even in a type mismatch. An empty
    /// value is a problem unless `emptyMeansUnset`, where it reads as nil without one.
    func secret(_ value: JSONValue, at path: ConfigPath, emptyMeansUnset: Bool = false) -> Secret? {
        guard case .string(let raw) = value else {
            reportTypeMismatch(expected: "a string", got: value, at: path, isSecret: true)
            return nil
        }
        guard let text = expand(raw, at: path, isSecret: true) else { return nil }
        secretValues.insert(text)
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            if !emptyMeansUnset { report(path, "must not be empty") }
            return nil
        }
        return Secret(text)
    }

    /// A JSON integer in `range`. A string is accepted only when it holds a `${VAR}` reference, since the
    /// environment can only supply text: `"port": "${PORT:-8080}"`.
    func integer(_ value: JSONValue, at path: ConfigPath, in range: ClosedRange<Int>) -> Int? {
        let literal: String
        let shown: String
        switch value {
        case .number(let number):
            literal = number
            shown = number
        case .string(let raw) where EnvironmentInterpolation.containsReference(raw):
            guard let text = expand(raw, at: path, isSecret: false) else { return nil }
            literal = text.trimmingCharacters(in: .whitespaces)
            shown = Self.quote(text)
        default:
            reportTypeMismatch(expected: "an integer", got: value, at: path)
            return nil
        }
        let digits = literal.hasPrefix("-") ? literal.dropFirst() : Substring(literal)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            report(path, "expected an integer, got \(shown)")
            return nil
        }
        guard let number = Int(literal), range.contains(number) else {
            // Too large for `Int` is out of range too, whatever the range.
            if range.upperBound == Int.max {
                report(path, "must be at least \(range.lowerBound), got \(shown)")
            } else {
                report(path, "must be between \(range.lowerBound) and \(range.upperBound), got \(shown)")
            }
            return nil
        }
        return number
    }

    /// `true` or `false`; as with integers, a string only when it holds a `${VAR}` reference.
    func boolean(_ value: JSONValue, at path: ConfigPath) -> Bool? {
        switch value {
        case .bool(let flag):
            return flag
        case .string(let raw) where EnvironmentInterpolation.containsReference(raw):
            guard let text = expand(raw, at: path, isSecret: false) else { return nil }
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true": return true
            case "false": return false
            default:
                report(path, "expected a boolean, got \(Self.quote(text))")
                return nil
            }
        default:
            reportTypeMismatch(expected: "a boolean", got: value, at: path)
            return nil
        }
    }

    /// A `TimeSpan` such as `"15m"`, at most `TimeSpan.maximum`. Zero is refused unless `allowZero`: a
    /// cadence or deadline of 0s is a mistake, and leaving the key out is how to say "none".
    func duration(_ value: JSONValue, at path: ConfigPath, allowZero: Bool = false) -> TimeSpan? {
        guard let text = string(value, at: path, allowEmpty: true, expected: "a duration such as \"15m\"") else { return nil }
        let span: TimeSpan
        switch TimeSpan.parse(text) {
        case .success(let parsed):
            span = parsed
        case .failure(.notADuration):
            report(path, "\(Self.quote(text)) is not a duration")
            return nil
        case .failure(.tooLong):
            report(path, "\(Self.quote(text)) is longer than the maximum of \(TimeSpan.maximum) (one year)")
            return nil
        }
        if !allowZero && span.seconds == 0 {
            report(path, "must be longer than 0s")
            return nil
        }
        return span
    }

    /// One of a fixed set of words, exactly as written.
    func choice(_ value: JSONValue, at path: ConfigPath, from options: [String]) -> String? {
        guard let text = string(value, at: path) else { return nil }
        guard options.contains(text) else {
            report(path, "\(Self.quote(text)) is not one of \(options.joined(separator: ", "))")
            return nil
        }
        return text
    }

    /// An IANA zone that Foundation knows, such as `Europe/Berlin`.
    func timeZone(_ value: JSONValue, at path: ConfigPath) -> String? {
        guard let text = string(value, at: path) else { return nil }
        guard TimeZone(identifier: text) != nil else {
            let suggestion = Self.closest(to: text, among: TimeZone.knownTimeZoneIdentifiers).map { " (did you mean \(Self.quote($0))?)" } ?? ""
            report(path, "\(Self.quote(text)) is not a known time zone\(suggestion)")
            return nil
        }
        return text
    }

    /// An absolute `http` or `https` URL with a host.
    func httpURL(_ value: JSONValue, at path: ConfigPath) -> String? {
        guard let text = string(value, at: path) else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else {
            report(path, "\(Self.quote(text)) is not an http or https URL")
            return nil
        }
        return text
    }

    /// A name other settings refer to (a person, a rotation, a severity): letters, digits, `.`, `_`, `-`,
    /// starting with a letter or digit, so that `person:<id>` and chat commands can carry it.
    func identifier(_ value: JSONValue, at path: ConfigPath) -> String? {
        guard let text = string(value, at: path) else { return nil }
        guard Self.isValidIdentifier(text) else {
            report(path, "\(Self.quote(text)) is not a valid id (letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit)")
            return nil
        }
        return text
    }

    static func isValidIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-") }
    }

    /// A non-empty array of non-empty strings; `noun` says what the entries are for the empty-array message.
    func stringList(_ value: JSONValue, at path: ConfigPath, noun: String) -> [String]? {
        guard let elements = array(value, at: path) else { return nil }
        guard !elements.isEmpty else {
            report(path, "must list at least one \(noun)")
            return nil
        }
        let strings = elements.map { string($0.value, at: $0.path) }
        guard strings.allSatisfy({ $0 != nil }) else { return nil }
        return strings.compactMap { $0 }
    }

    // MARK: Messages

    private func expand(_ raw: String, at path: ConfigPath, isSecret: Bool) -> String? {
        switch EnvironmentInterpolation.expand(raw, environment: environment) {
        case .expanded(let text):
            return text
        case .failed(let failures):
            for failure in failures {
                switch failure {
                case .unset(let name):
                    report(path, "environment variable \(name) is not set")
                case .unterminated:
                    report(path, "\"${\" is not closed by \"}\" (write \"$${\" for a literal \"${\")")
                case .invalidName(let name):
                    // A secret written inline may contain `${`; its text stays out of the message.
                    let shown = isSecret ? "" : " \(Self.quote("${\(name)}"))"
                    report(path, "invalid environment variable reference\(shown): names are letters, digits and \"_\", not starting with a digit")
                }
            }
            return nil
        }
    }

    private func reportTypeMismatch(expected: String, got value: JSONValue, at path: ConfigPath, isSecret: Bool = false) {
        report(path, "expected \(expected), got \(Self.describe(value, isSecret: isSecret))")
    }

    /// How a wrong value is shown: scalars as written, containers by kind, secrets by kind only.
    static func describe(_ value: JSONValue, isSecret: Bool = false) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): isSecret ? "a boolean" : String(flag)
        case .number(let literal): isSecret ? "a number" : literal
        case .string(let text): isSecret ? "a string" : quote(text)
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// `"text"`, with quotes, backslashes and line breaks escaped so a problem stays on one line.
    static func quote(_ text: String) -> String {
        "\"\(escape(text))\""
    }

    private static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            case "\r\n": escaped += "\\r\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// ` (did you mean "port"?)` when a known word is close, else ` (known keys: a, b, c)`.
    static func hint(for word: String, among candidates: [String], known: String) -> String {
        if let suggestion = closest(to: word, among: candidates) { return " (did you mean \(quote(suggestion))?)" }
        guard !candidates.isEmpty else { return "" }
        return " (known \(known): \(candidates.joined(separator: ", ")))"
    }

    /// The candidate nearest to `word` by edit distance (case-insensitive, a swap of neighbours counting as
    /// one edit), if near enough to be a plausible typo: one edit per three characters, at most three.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let allowed = max(1, min(3, word.count / 3))
        let wanted = Array(word.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(wanted, Array(candidate.lowercased()))
            if distance <= allowed, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.candidate
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var twoRowsBack = [Int](repeating: 0, count: b.count + 1)
        var previousRow = Array(0...b.count)
        var currentRow = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            currentRow[0] = i
            for j in 1...b.count {
                let substitution = previousRow[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                currentRow[j] = min(previousRow[j] + 1, currentRow[j - 1] + 1, substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    currentRow[j] = min(currentRow[j], twoRowsBack[j - 2] + 1)
                }
            }
            (twoRowsBack, previousRow, currentRow) = (previousRow, currentRow, twoRowsBack)
        }
        return previousRow[b.count]
    }
}
