/// Decodes a `Decodable` payload from an `application/x-www-form-urlencoded` body whose fields are flat
/// strings, as Slack's and Mattermost's slash commands and Slack's interactivity posts are. The payload
/// types are the same ones Socket Mode decodes from JSON.
///
/// Written for the command path: every slash command is one of these, and a general form decoder (nested
/// `a[b]` keys, arrays) spent more on a command's eight fields than the rest of its HTTP handling did
/// (`bench/profile`). The fields are read by `FormBody`, once, as bytes.
enum FormDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from body: String) throws -> T {
        try T(from: FlatFieldsDecoder(fields: try FormBody.strictFields(body), codingPath: []))
    }
}

/// A `Decoder` over one level of string fields. Numbers and booleans are read from their text; anything
/// else is a type mismatch naming the field.
private struct FlatFieldsDecoder: Decoder {
    let fields: [String: String]
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(FlatFieldsContainer<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "a form holds named fields, not a list"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(String.self, .init(codingPath: codingPath, debugDescription: "a form holds named fields, not one value"))
    }
}

private struct FlatFieldsContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [String: String]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    /// A form has no null: a field is there (possibly empty) or it is not.
    func decodeNil(forKey key: Key) throws -> Bool { fields[key.stringValue] == nil }

    func decode(_ type: String.Type, forKey key: Key) throws -> String { try text(key) }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        switch try text(key) {
        case "true", "1": return true
        case "false", "0": return false
        default: throw mismatch(Bool.self, key)
        }
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try parse(key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try parse(key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try parse(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try parse(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try parse(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try parse(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try parse(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try parse(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try parse(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try parse(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try parse(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try parse(key) }

    /// Text-like types only: a form field cannot hold anything nested.
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        if let text = try text(key) as? T { return text }
        guard let parsable = T.self as? any LosslessStringConvertible.Type, let value = parsable.init(try text(key)) as? T else {
            throw mismatch(T.self, key)
        }
        return value
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw mismatch([String: String].self, key)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw mismatch([String].self, key)
    }

    func superDecoder() throws -> any Decoder {
        FlatFieldsDecoder(fields: fields, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        throw mismatch([String: String].self, key)
    }

    private func text(_ key: Key) throws -> String {
        guard let text = fields[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "the form has no field \(key.stringValue)"))
        }
        return text
    }

    private func parse<T: LosslessStringConvertible>(_ key: Key) throws -> T {
        guard let value = T(try text(key)) else { throw mismatch(T.self, key) }
        return value
    }

    private func mismatch(_ type: Any.Type, _ key: Key) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath + [key], debugDescription: "the form field \(key.stringValue) is not a \(type)"))
    }
}
