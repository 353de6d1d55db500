/// One thing wrong with `bot-config.json`: where (a JSON path such as `severities[2].updateEvery`, or `$`
/// for the document as a whole) and what. Messages never contain a secret's value.
public struct ConfigProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var message: String
    /// The path as components, when the problem came from the loader; it orders problems by where they
    /// sit in the document.
    var location: ConfigPath?
    /// Paths this problem follows from: when one of them is already wrong, this one is not reported.
    var premises: [ConfigPath] = []

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    init(_ location: ConfigPath, _ message: String) {
        self.path = location.description
        self.message = message
        self.location = location
    }

    public var description: String { "\(path): \(message)" }
}

/// Everything wrong with a config, in the order the document was written.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]

    public init(problems: [ConfigProblem]) {
        self.problems = problems
    }

    /// One line per problem.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// A position in `bot-config.json`, as problems name it: `severities[2].updateEvery`, `people.alice.slack`,
/// `$` for the document itself. Keys that are not plain words are bracketed: `people["jean luc"]`.
struct ConfigPath: Sendable, Hashable, CustomStringConvertible {
    enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    private(set) var components: [Component] = []

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

    /// The paths that contain this one, the document's root first.
    var ancestors: [ConfigPath] {
        (0..<components.count).map { count in
            var path = ConfigPath()
            path.components = Array(components.prefix(count))
            return path
        }
    }

    /// Whether `self` is `other` or lies inside it.
    func isWithin(_ other: ConfigPath) -> Bool { components.starts(with: other.components) }

    var description: String {
        guard !components.isEmpty else { return "$" }
        var text = ""
        for component in components {
            switch component {
            case .key(let key) where Self.isPlainKey(key):
                text += text.isEmpty ? key : ".\(key)"
            case .key(let key):
                text += "[\(ConfigText.quote(key))]"
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

extension JSONValue {
    /// Where `path` sits in this document, for sorting problems into document order: the index of each
    /// key among its object's members (the first occurrence; one past the last member for a key that is
    /// absent, so "missing" comes after what is there) and each array index.
    func position(of path: ConfigPath) -> [Int] {
        var node: JSONValue? = self
        var position: [Int] = []
        for component in path.components {
            switch (component, node) {
            case (.key(let key), .object(let members)?):
                let index = members.firstIndex { $0.key == key }
                position.append(index ?? members.count)
                node = index.map { members[$0].value }
            case (.index(let index), .array(let elements)?):
                position.append(index)
                node = elements.indices.contains(index) ? elements[index] : nil
            default:
                position.append(Int.max)
                node = nil
            }
        }
        return position
    }
}
