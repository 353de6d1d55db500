import Mustache

/// Where a template override applies. An incident's message is rendered from the most specific scope
/// that overrides it (the incident type's, then the severity's: `IncidentEngine.templateScopes(for:)`),
/// then the global `templates`, then `DefaultTemplates`.
public enum TemplateScope: Hashable, Sendable {
    /// `severities[].templates`.
    case severity(String)
    /// `incidentTypes[].templates`.
    case type(String)

    /// The prefix its templates are registered under.
    var key: String {
        switch self {
        case .severity(let id): "severity:\(id)"
        case .type(let id): "type:\(id)"
        }
    }

    /// Where in `bot-config.json` its templates are written, for error messages.
    var configPath: String {
        switch self {
        case .severity(let id): "severities[id=\(id)].templates"
        case .type(let id): "incidentTypes[id=\(id)].templates"
        }
    }
}

/// Renders the message templates: the defaults overlaid with `templates` from the config, and those with
/// each scope's overrides.
public struct TemplateRenderer: Sendable {
    private let library: MustacheLibrary
    /// `scope.key/name` of every scoped override, so `render` knows which exist without trying them.
    private let scopedNames: Set<String>

    public struct InvalidTemplate: Error, CustomStringConvertible {
        public var name: String
        public var reason: String
        /// The config object holding it (`templates`, or a severity's).
        public var section: String = "templates"
        public var description: String { "\(section).\(name): \(reason)" }
    }

    public init(overrides: [String: String] = [:], scoped: [TemplateScope: [String: String]] = [:]) throws {
        var library = MustacheLibrary()
        func register(_ source: String, as registeredName: String, name: String, section: String) throws {
            do {
                // Chat text, not HTML: nothing is escaped; platform adapters escape what their API needs.
                // An email's HTML part (`…HTML`) is HTML: there mustache escapes every `{{value}}`.
                let pragma = name.hasSuffix("HTML") ? "" : "{{% CONTENT_TYPE: TEXT}}"
                try library.register(pragma + source, named: registeredName)
            } catch {
                throw InvalidTemplate(name: name, reason: "is not a valid mustache template (\(error))", section: section)
            }
        }
        for (name, source) in DefaultTemplates.all.merging(overrides, uniquingKeysWith: { _, override in override }) {
            try register(source, as: name, name: name, section: "templates")
        }
        var scopedNames: Set<String> = []
        for (scope, templates) in scoped {
            for (name, source) in templates {
                try register(source, as: "\(scope.key)/\(name)", name: name, section: scope.configPath)
                scopedNames.insert("\(scope.key)/\(name)")
            }
        }
        self.library = library
        self.scopedNames = scopedNames
    }

    /// Renders `name` with `values`, from the first of `scopes` that overrides it, else the global one;
    /// trailing blank lines that optional sections leave are trimmed.
    public func render(_ name: String, _ values: [String: Any], scopes: [TemplateScope] = []) -> String {
        let registered = scopes.lazy.map { "\($0.key)/\(name)" }.first(where: scopedNames.contains) ?? name
        return Self.trimmingBlankLinesAtTheEnd(library.render(values, withTemplate: registered) ?? "")
    }

    /// `text` without the lines at its end that hold only whitespace (and the line break before them).
    /// Found from the end, without splitting the message into lines: it runs for every message rendered.
    static func trimmingBlankLinesAtTheEnd(_ text: String) -> String {
        guard let lastVisible = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        let endOfLine = text[lastVisible...].firstIndex(of: "\n") ?? text.endIndex
        return endOfLine == text.endIndex ? text : String(text[..<endOfLine])
    }
}
