/// The containers `ConfigDecoder` hands to `init(from:)`. They never throw for a config problem: each
/// read goes back to the decoder, which records problems and returns placeholders.
struct ConfigKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: ConfigDecoder
    /// First occurrences only (the session reports the others), `null` members left out: `null` means the
    /// same as leaving the key out.
    private let members: [String: JSONValue]
    private let order: [String]

    init(decoder: ConfigDecoder, members: [JSONMember]) {
        self.decoder = decoder
        var values: [String: JSONValue] = [:]
        var order: [String] = []
        for member in members where values[member.key] == nil && member.value != .null {
            values[member.key] = member.value
            order.append(member.key)
        }
        self.members = values
        self.order = order
    }

    var codingPath: [any CodingKey] { decoder.codingPath }

    /// Asking for every key (as a dictionary does) consults them all.
    var allKeys: [Key] {
        for name in order { consult(name) }
        return order.compactMap { Key(stringValue: $0) }
    }

    private func consult(_ name: String) {
        if !decoder.muted { decoder.session.consulted(name, in: decoder.path, present: members[name] != nil) }
    }

    func contains(_ key: Key) -> Bool {
        consult(key.stringValue)
        return members[key.stringValue] != nil
    }

    func decodeNil(forKey key: Key) throws -> Bool { !contains(key) }

    /// The member's value; when it is absent, the object type's default for it, a "missing required
    /// field" problem, or nil for an optional.
    private func read<T: Decodable>(_ type: T.Type, forKey key: Key, optional: Bool) throws -> T? {
        let name = key.stringValue
        consult(name)
        let member = decoder.member(key, value: members[name] ?? .null)
        let required = member.has(.required) || decoder.rules.contains { $0.requiredKeys.contains(name) }
        if required && !decoder.muted { decoder.session.requiredKeys[decoder.path, default: []].insert(name) }
        if members[name] != nil { return try member.decode(type) }
        if required { member.report("missing required field") }
        if let defaults = decoder.objectType?.defaults, let fallback = Mirror(reflecting: defaults).descendant(name) as? T { return fallback }
        if optional { return nil }
        if !required { member.report("missing required field") }
        return try member.placeholder(type)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try value(type, key) }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try read(type, forKey: key, optional: true) }

    // The standard library's own `decodeIfPresent` for these skips `read`, and with it the key's rules
    // (a required `String?` must still be reported missing).
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try read(type, forKey: key, optional: true) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try read(type, forKey: key, optional: true) }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try value(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try value(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try value(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try value(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try value(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try value(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try value(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try value(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try value(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try value(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try value(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try value(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try value(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try value(type, key) }

    /// Every `decode` overload comes here, so that primitives take the same path as the rest.
    private func value<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
        guard let value = try read(type, forKey: key, optional: false) else { return try decoder.member(key, value: .null).placeholder(type) }
        return value
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        consult(key.stringValue)
        return try decoder.member(key, value: members[key.stringValue] ?? .null).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        consult(key.stringValue)
        return try decoder.member(key, value: members[key.stringValue] ?? .null).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        consult(key.stringValue)
        return decoder.member(key, value: members[key.stringValue] ?? .null)
    }
}

struct ConfigUnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: ConfigDecoder
    let elements: [JSONValue]
    private(set) var currentIndex = 0

    init(decoder: ConfigDecoder, elements: [JSONValue]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> ConfigDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "read past the end of the array"))
        }
        defer { currentIndex += 1 }
        return decoder.element(currentIndex, value: elements[currentIndex])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next().decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decode(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

/// Strings, integers and booleans, with the decoder's rules; config files have no other scalars.
struct ConfigSingleValueContainer: SingleValueDecodingContainer {
    let decoder: ConfigDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { decoder.boolean() }
    func decode(_ type: String.Type) throws -> String { decoder.string() }
    func decode(_ type: Int.Type) throws -> Int { decoder.integer() }
    func decode(_ type: Double.Type) throws -> Double { Double(decoder.integer()) }
    func decode(_ type: Float.Type) throws -> Float { Float(decoder.integer()) }
    func decode(_ type: Int8.Type) throws -> Int8 { Int8(clamping: decoder.integer()) }
    func decode(_ type: Int16.Type) throws -> Int16 { Int16(clamping: decoder.integer()) }
    func decode(_ type: Int32.Type) throws -> Int32 { Int32(clamping: decoder.integer()) }
    func decode(_ type: Int64.Type) throws -> Int64 { Int64(decoder.integer()) }
    func decode(_ type: UInt.Type) throws -> UInt { UInt(clamping: decoder.integer()) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { UInt8(clamping: decoder.integer()) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { UInt16(clamping: decoder.integer()) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { UInt32(clamping: decoder.integer()) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { UInt64(clamping: decoder.integer()) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decode(type) }
}
