import Foundation

/// An incident as the public may see it: what was published and nothing else. No timeline, notes,
/// roles, people, severity or resolution text ever reaches this type, so nothing built from it (the
/// status page, its JSON and feed, the status webhooks) can leak them.
public struct PublicIncident: Sendable, Codable, Hashable {
    public var id: String
    public var title: String
    public var state: PublicState
    /// The component's id and name, when the incident is attached to a configured one.
    public var component: String?
    public var componentName: String?
    public var startedAt: Date
    public var resolvedAt: Date?
    /// Oldest first, each text with people's names taken out.
    public var updates: [PublicUpdate]

    public init(
        id: String, title: String, state: PublicState, component: String?, componentName: String?, startedAt: Date, resolvedAt: Date?, updates: [PublicUpdate]
    ) {
        self.id = id
        self.title = title
        self.state = state
        self.component = component
        self.componentName = componentName
        self.startedAt = startedAt
        self.resolvedAt = resolvedAt
        self.updates = updates
    }

    public var isOpen: Bool { state != .resolved }

    /// The public view of `incident`, or nil when nothing of it was published.
    public static func of(_ incident: Incident, config: KlaxonConfig) -> PublicIncident? {
        guard incident.isPublished else { return nil }
        let redactor = PublicText(people: config.people)
        let component = incident.statusComponent.flatMap { config.statusPage.component(id: $0) }
        let updates = (incident.publicUpdates ?? []).map { update in
            PublicUpdate(at: update.at, state: update.state, text: update.text.map(redactor.redacted))
        }
        return PublicIncident(
            id: incident.id.description, title: redactor.redacted(incident.title), state: PublicState(incident.status),
            component: component?.id, componentName: component?.name, startedAt: incident.declaredAt,
            resolvedAt: incident.status.isOpen ? nil : incident.resolvedAt, updates: updates)
    }
}

/// Takes people out of text meant for the public: chat mentions (`<@U0ALICE>`, `@alice`) and the names
/// and ids of configured people become "the team".
public struct PublicText: Sendable {
    private let names: [String]

    public init(people: [String: Person]) {
        // Longest first, so "Alice Adams" goes before "Alice".
        var names = Set<String>()
        for (id, person) in people {
            if id.count >= 3 { names.insert(id) }
            if let name = person.name, name.count >= 3 {
                names.insert(name)
                for part in name.split(separator: " ") where part.count >= 3 { names.insert(String(part)) }
            }
        }
        self.names = names.sorted { $0.count > $1.count }
    }

    public static let replacement = "the team"

    public func redacted(_ text: String) -> String {
        var words: [String] = []
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if word.hasPrefix("<@") || (word.hasPrefix("@") && word.count > 1) {
                let trailing = word.reversed().prefix { ".,;:!?)".contains($0) }
                words.append(Self.replacement + String(trailing.reversed()))
            } else {
                words.append(String(word))
            }
        }
        var result = words.joined(separator: " ")
        for name in names {
            result = Self.replacingWord(name, in: result)
        }
        return result
    }

    /// Whole-word, case-insensitive.
    private static func replacingWord(_ word: String, in text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let range = rest.range(of: word, options: .caseInsensitive) {
            let before = range.lowerBound == rest.startIndex ? nil : rest[rest.index(before: range.lowerBound)]
            let after = range.upperBound == rest.endIndex ? nil : rest[range.upperBound]
            let isWord = !(before?.isLetter ?? false) && !(before?.isNumber ?? false) && !(after?.isLetter ?? false) && !(after?.isNumber ?? false)
            result += rest[..<range.lowerBound]
            result += isWord ? replacement : String(rest[range])
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
