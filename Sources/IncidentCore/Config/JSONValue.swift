/// A parsed JSON document, as `ConfigLoader` needs it. It keeps what `JSONSerialization` loses: the order
/// of an object's members, keys written twice, and a number's literal text (so `8080`, `8080.5` and `true`
/// stay distinguishable, and a problem can quote the number as it was written).
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The literal as written in the document, e.g. `-12`, `8080.5`, `1e3`.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a key written twice appears twice.
    case object([JSONMember])
}

struct JSONMember: Sendable, Equatable {
    var key: String
    var value: JSONValue
}

/// Where and why a document is not JSON. Line and column count from 1; columns count characters.
struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    var line: Int
    var column: Int
    var reason: String

    var description: String { "malformed JSON at line \(line), column \(column): \(reason)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes. It is small on purpose: configuration files are short, and
/// owning the parser is what lets `ConfigLoader` report positions, duplicate keys and integer literals.
struct JSONParser {
    /// Deeper documents are refused rather than risking the stack on a hostile or broken file.
    static let maximumDepth = 200

    private let bytes: [UInt8]
    private var offset = 0
    private var depth = 0

    static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        return try parser.parseDocument()
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        // Editors on some systems write a byte order mark; it is not part of the document.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { offset = 3 }
        skipWhitespace()
        guard offset < bytes.count else { throw failure("the document is empty") }
        let value = try parseValue()
        skipWhitespace()
        guard offset == bytes.count else { throw failure("unexpected \(describeCurrent()) after the end of the document") }
        return value
    }

    // MARK: Values

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard let byte = current else { throw failure("expected a value, found the end of the document") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw failure("expected a value, found \(describeCurrent())")
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        offset += 1  // {
        var members: [JSONMember] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            offset += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else {
                throw failure("expected a key in double quotes, found \(describeCurrent())")
            }
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("expected \":\" after the key, found \(describeCurrent())") }
            offset += 1
            skipWhitespace()
            members.append(JSONMember(key: key, value: try parseValue()))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                depth -= 1
                return .object(members)
            default:
                throw failure("expected \",\" or \"}\" after an object member, found \(describeCurrent())")
            }
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        offset += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            offset += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","):
                offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                depth -= 1
                return .array(elements)
            default:
                throw failure("expected \",\" or \"]\" after an array element, found \(describeCurrent())")
            }
        }
    }

    private mutating func enterContainer() throws(JSONSyntaxError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func expectLiteral(_ literal: String) throws(JSONSyntaxError) {
        guard bytes[offset...].starts(with: literal.utf8) else { throw failure("expected a value, found \(describeCurrent())") }
        offset += literal.utf8.count
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, returned as written.
    private mutating func parseNumber() throws(JSONSyntaxError) -> String {
        let start = offset
        if current == UInt8(ascii: "-") { offset += 1 }
        if current == UInt8(ascii: "0") {
            offset += 1
        } else if let byte = current, isDigit(byte) {
            skipDigits()
        } else {
            throw failure("expected a digit, found \(describeCurrent())")
        }
        if current == UInt8(ascii: ".") {
            offset += 1
            guard let byte = current, isDigit(byte) else { throw failure("expected a digit after \".\", found \(describeCurrent())") }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            guard let byte = current, isDigit(byte) else { throw failure("expected a digit in the exponent, found \(describeCurrent())") }
            skipDigits()
        }
        // Only ASCII was consumed, so this cannot fail.
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        offset += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                offset += 1
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw failure("the string before this point is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                offset += 1
                try parseEscape(into: &utf8)
            case 0x00..<0x20:
                throw failure("control character in a string (write it as an escape such as \\n)")
            default:
                utf8.append(byte)
                offset += 1
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(JSONSyntaxError) {
        guard let byte = current else { throw failure("unterminated string") }
        offset += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalarValue = try parseHexQuad()
            if (0xD800..<0xDC00).contains(scalarValue) {
                // A high surrogate must be followed by `\u` and a low surrogate; together they are one scalar.
                guard current == UInt8(ascii: "\\"), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "u") else {
                    throw failure("unpaired surrogate in a \\u escape")
                }
                offset += 2
                let low = try parseHexQuad()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate in a \\u escape") }
                scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(scalarValue) else { throw failure("unpaired surrogate in a \\u escape") }
            utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
            offset -= 1
            throw failure("invalid escape \\\(describeCurrent(quoted: false)) in a string")
        }
    }

    private mutating func parseHexQuad() throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current, let digit = hexDigitValue(byte) else {
                throw failure("expected four hex digits after \\u, found \(describeCurrent())")
            }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    // MARK: Bytes

    private var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { offset += 1 }
    }

    private mutating func skipDigits() {
        while let byte = current, isDigit(byte) { offset += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private func hexDigitValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// What is at the current position, for a message: `"]"`, `the end of the document`. Only ever one
    /// character, so a malformed secret is never echoed whole.
    private func describeCurrent(quoted: Bool = true) -> String {
        guard let byte = current else { return "the end of the document" }
        if byte == UInt8(ascii: "\"") && quoted { return "a quotation mark" }
        if byte >= 0x21 && byte < 0x7F {
            let character = String(UnicodeScalar(byte))
            return quoted ? "\"\(character)\"" : character
        }
        switch byte {
        case 0x20: return "a space"
        case 0x0A, 0x0D: return "a line break"
        case 0x09: return "a tab"
        default: return byte < 0x80 ? "a control character" : "a non-ASCII character"
        }
    }

    /// An error at the current position, counting lines by `\n` and columns by characters (UTF-8 lead bytes).
    private func failure(_ reason: String) -> JSONSyntaxError {
        var line = 1
        var column = 1
        let start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        for byte in bytes[start..<max(start, min(offset, bytes.count))] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONSyntaxError(line: line, column: column, reason: reason)
    }
}
