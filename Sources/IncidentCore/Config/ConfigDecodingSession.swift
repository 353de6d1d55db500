import Foundation

/// What one `ConfigLoader.load` learns while decoding: the problems, which keys each object was asked
/// for, and every secret value (so that none can slip into a message). A class because every
/// `ConfigDecoder` of the load shares it; it lives for one load and is never shared between tasks.
final class ConfigDecodingSession {
    let environment: [String: String]
    let document: JSONValue
    private(set) var problems: [(problem: ConfigProblem, position: [Int])] = []
    var secretValues: Set<String> = []
    /// Object path → the keys asked for there, in the order first asked.
    private(set) var consultedKeys: [ConfigPath: [String]] = [:]
    /// Object path → the keys asked for there that `ConfigRule.required` marks (and so were present, or
    /// reported missing); the schema test compares them with the schema's `required`.
    var requiredKeys: [ConfigPath: Set<String>] = [:]
    /// Value path → the words it may be, for keys with `ConfigRule.oneOf` or a `ConfigChoice` type, and
    /// the integer range of keys with `ConfigRule.range`; the schema test compares them with the schema.
    var choices: [ConfigPath: [String]] = [:]
    var ranges: [ConfigPath: ClosedRange<Int>] = [:]
    /// Paths of members that were present when asked for.
    private(set) var written: Set<ConfigPath> = []
    /// The objects read as keyed containers, in order, with their members.
    private var openedObjects: [(path: ConfigPath, members: [JSONMember])] = []
    /// Keys accepted without meaning anything, per object (`$schema` at the top).
    var ignoredKeys: [ConfigPath: Set<String>] = [:]

    init(document: JSONValue, environment: [String: String]) {
        self.document = document
        self.environment = environment
    }

    func report(_ problem: ConfigProblem, at position: [Int]? = nil) {
        let position = position ?? problem.location.map(document.position(of:)) ?? []
        problems.append((problem, position))
    }

    func consulted(_ key: String, in object: ConfigPath, present: Bool) {
        if !(consultedKeys[object]?.contains(key) ?? false) { consultedKeys[object, default: []].append(key) }
        if present { written.insert(object.key(key)) }
    }

    func opened(_ decoder: ConfigDecoder, members: [JSONMember]) {
        if !openedObjects.contains(where: { $0.path == decoder.path }) { openedObjects.append((decoder.path, members)) }
    }

    /// Whether a problem was reported at exactly `path`.
    func hasProblem(at path: ConfigPath) -> Bool {
        problems.contains { $0.problem.location == path }
    }

    /// Whether a problem was reported at `path` or inside it.
    func hasProblems(within path: ConfigPath) -> Bool {
        problems.contains { $0.problem.location?.isWithin(path) ?? false }
    }

    /// Keys written twice, and keys no type asked for, in every object that was read. Run once decoding is
    /// done, when every question has been asked.
    func reportDuplicateAndUnknownKeys() {
        for (path, members) in openedObjects {
            let known = consultedKeys[path] ?? []
            let ignored = ignoredKeys[path] ?? []
            let objectPosition = document.position(of: path)
            var seen: Set<String> = []
            for (index, member) in members.enumerated() {
                let memberPath = path.key(member.key)
                guard seen.insert(member.key).inserted else {
                    report(ConfigProblem(memberPath, "duplicate key"), at: objectPosition + [index])
                    continue
                }
                guard !known.contains(member.key), !ignored.contains(member.key) else { continue }
                report(ConfigProblem(memberPath, "unknown key" + ConfigText.hint(for: member.key, among: known, known: "keys")))
            }
        }
    }

    /// The problems in document order, with any secret value that found its way into a message (say, the
    /// same environment variable used for a token and, by mistake, for the port) replaced by `<secret>`.
    /// Values shorter than eight characters are left alone: they would match ordinary words, and no real
    /// token is that short.
    var sortedScrubbedProblems: [ConfigProblem] {
        let ordered = problems.enumerated().sorted { left, right in
            left.element.position == right.element.position
                ? left.offset < right.offset
                : left.element.position.lexicographicallyPrecedes(right.element.position)
        }.map(\.element.problem)
        let secrets = secretValues.filter { $0.count >= 8 }.sorted { $0.count > $1.count }
        return ordered.map { problem in
            var scrubbed = problem
            for secret in secrets {
                // Messages quote values escaped, so the escaped form is looked for too.
                for form in Set([secret, ConfigText.escape(secret)]) {
                    scrubbed.message = scrubbed.message.replacingOccurrences(of: form, with: "<secret>")
                }
            }
            return scrubbed
        }
    }
}
