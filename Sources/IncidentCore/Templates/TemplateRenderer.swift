import Mustache

/// Renders the message templates: the defaults overlaid with `templates` from the config.
public struct TemplateRenderer: Sendable {
    private let library: MustacheLibrary

    public struct InvalidTemplate: Error, CustomStringConvertible {
        public var name: String
        public var reason: String
        public var description: String { "templates.\(name): \(reason)" }
    }

    public init(overrides: [String: String] = [:]) throws {
        var library = MustacheLibrary()
        for (name, source) in DefaultTemplates.all.merging(overrides, uniquingKeysWith: { _, override in override }) {
            do {
                // Chat text, not HTML: nothing is escaped; platform adapters escape what their API needs.
                // An email's HTML part (`…HTML`) is HTML: there mustache escapes every `{{value}}`.
                let pragma = name.hasSuffix("HTML") ? "" : "{{% CONTENT_TYPE: TEXT}}"
                try library.register(pragma + source, named: name)
            } catch {
                throw InvalidTemplate(name: name, reason: "is not a valid mustache template (\(error))")
            }
        }
        self.library = library
    }

    /// Renders `name` with `values`; trailing blank lines that optional sections leave are trimmed.
    public func render(_ name: String, _ values: [String: Any]) -> String {
        let text = library.render(values, withTemplate: name) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .reversed().drop { $0.allSatisfy(\.isWhitespace) }.reversed()
            .joined(separator: "\n")
    }
}
