import Foundation

/// An `application/x-www-form-urlencoded` body, as Slack sends slash commands and interactions and
/// Mattermost sends slash commands.
public struct FormBody: Sendable, Hashable {
    /// The last value wins when a name repeats (Slack never repeats one).
    public private(set) var fields: [String: String] = [:]

    public init(_ body: some DataProtocol) {
        self.init(bytes: Array(body))
    }

    public init(string: String) {
        self.init(bytes: Array(string.utf8))
    }

    /// Works on bytes: a slash command arrives on every request, and Foundation's percent decoding of
    /// each field costs more than the rest of the parsing together.
    private init(bytes: [UInt8]) {
        for pair in Self.pairs(bytes) {
            guard let name = pair.name else { continue }
            fields[name] = pair.value ?? ""
        }
    }

    /// Each `name=value` pair of the body, decoded; nil where a part does not decode (a broken escape,
    /// bytes that are not UTF-8). A pair without `=` has an empty value.
    private static func pairs(_ bytes: [UInt8]) -> [(name: String?, value: String?)] {
        bytes.split(separator: UInt8(ascii: "&")).map { pair in
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            return (decode(pair[..<(equals ?? pair.endIndex)]), equals.map { decode(pair[pair.index(after: $0)...]) } ?? "")
        }
    }

    public subscript(name: String) -> String? { fields[name] }

    /// The fields of `body` as a dictionary.
    public static func parse(_ body: String) -> [String: String] { FormBody(string: body).fields }

    /// Every field of `body`, or the first one that does not decode (a broken escape, bytes that are not
    /// UTF-8), named by its position: what `FormDecoder` reads, where a damaged field must not pass as an
    /// empty one.
    static func strictFields(_ body: String) throws -> [String: String] {
        var fields: [String: String] = [:]
        for (position, pair) in pairs(Array(body.utf8)).enumerated() {
            guard let name = pair.name, let value = pair.value else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: [], debugDescription: "field \(position + 1) of the form is not valid percent-encoded UTF-8"))
            }
            fields[name] = value
        }
        return fields
    }

    /// `+` is a space in forms; everything else is percent-encoded UTF-8. nil for a broken escape or
    /// bytes that are not UTF-8.
    private static func decode(_ component: ArraySlice<UInt8>) -> String? {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(component.count)
        var index = component.startIndex
        while index < component.endIndex {
            let byte = component[index]
            switch byte {
            case UInt8(ascii: "+"):
                decoded.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard component.endIndex - index > 2,
                    let high = component[index + 1].hexDigitValue, let low = component[index + 2].hexDigitValue
                else { return nil }
                decoded.append(high << 4 | low)
                index += 2
            default:
                decoded.append(byte)
            }
            index += 1
        }
        return String(validating: decoded, as: UTF8.self)
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
