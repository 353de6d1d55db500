import Foundation

/// An `application/x-www-form-urlencoded` body, as Slack sends slash commands and interactions and
/// Mattermost sends slash commands.
public struct FormBody: Sendable, Hashable {
    /// The last value wins when a name repeats (Slack never repeats one).
    public private(set) var fields: [String: String] = [:]

    public init(_ body: some DataProtocol) {
        self.init(string: String(decoding: body, as: UTF8.self))
    }

    public init(string: String) {
        for pair in string.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            fields[name] = parts.count == 2 ? (Self.decode(parts[1]) ?? "") : ""
        }
    }

    public subscript(name: String) -> String? { fields[name] }

    /// The fields of `body` as a dictionary.
    public static func parse(_ body: String) -> [String: String] { FormBody(string: body).fields }

    /// `+` is a space in forms; everything else is percent-encoded UTF-8.
    private static func decode(_ component: Substring) -> String? {
        component.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// Encodes fields the way `FormBody` reads them (only unreserved characters stay as they are).
    public static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }
}
