#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The JSON text of an `Encodable` value, written in one pass: what the stores keep as an incident's body
/// and an outbox message's action, made for every change.
///
/// Why not `JSONEncoder` alone: it builds a tree of boxed values first and serialises it afterwards, and
/// that was most of what preparing a declaration's rows cost (the incident and half a dozen messages).
/// Here each value is written where it stands. That works for values that fill their containers in order
/// (every synthesised `Codable`, and the hand-written ones here); a value that goes back to a container it
/// has left, asks for a super-encoder, or encodes a number JSON cannot hold is handed to `fallback`, so
/// the text is always what `JSONDecoder` reads back into the same value. Dates are written as
/// `JSONEncoder`'s default writes them (seconds since 2001 through `Date`'s own `Codable`); the encoder
/// given must use the default strategies, as the stores' do.
public enum JSONText {
    public static func encode<Value: Encodable>(_ value: Value, fallback: JSONEncoder) throws -> String {
        let writer = JSONTextWriter()
        do {
            try writer.write(value, codingPath: [])
            if writer.isComplete { return writer.text }
        } catch is JSONTextWriter.Unsupported {
            // Below: the whole value again, the other way.
        }
        return String(decoding: try fallback.encode(value), as: UTF8.self)
    }
}

/// The text being written, and the containers open in it (innermost last). Lives for one `encode` call.
final class JSONTextWriter {
    /// A value this writer cannot write in one pass (see `JSONText`).
    struct Unsupported: Error {}

    private struct Frame {
        let id: Int
        let isObject: Bool
        var count = 0
    }

    private var bytes: [UInt8] = []
    private var frames: [Frame] = []
    private var nextFrameID = 0
    /// Set when a container was used out of order, where the protocol gives no way to throw.
    private(set) var failed = false
    /// Whether the top-level value wrote anything.
    private var wroteValue = false

    init() {
        bytes.reserveCapacity(1024)
    }

    var isComplete: Bool { !failed && wroteValue && frames.isEmpty }
    var text: String { String(decoding: bytes, as: UTF8.self) }

    func fail() { failed = true }

    // MARK: Values

    /// Writes `value` at the current position, closing whatever containers it opened.
    func write<Value: Encodable>(_ value: Value, codingPath: [any CodingKey]) throws {
        if try writePrimitive(value) { return }
        let depth = frames.count
        let encoder = JSONTextEncoder(writer: self, codingPath: codingPath, depth: depth)
        try value.encode(to: encoder)
        guard !failed else { throw Unsupported() }
        if !encoder.wroteSomething {
            // JSONEncoder writes an object for a nested value that encodes nothing; at the top it throws.
            guard depth > 0 else { throw Unsupported() }
            append("{}")
        }
        close(downTo: depth)
        wroteValue = true
    }

    /// Strings, numbers and booleans, written without going through `encode(to:)`. Told apart by their
    /// metatypes (a pointer comparison) rather than by casts, which cost more than writing them: every
    /// other value comes through here too.
    private func writePrimitive<Value: Encodable>(_ value: Value) throws -> Bool {
        // `unsafeBitCast` below only ever converts a value to its own type (the metatypes are equal).
        if Value.self == String.self {
            writeString(unsafeBitCast(value, to: String.self))
        } else if Value.self == Int.self {
            append(String(unsafeBitCast(value, to: Int.self)))
        } else if Value.self == Bool.self {
            append(unsafeBitCast(value, to: Bool.self) ? "true" : "false")
        } else if Value.self == Double.self {
            try writeNumber(unsafeBitCast(value, to: Double.self))
        } else if Value.self == Int64.self {
            append(String(unsafeBitCast(value, to: Int64.self)))
        } else {
            // The other integer and floating-point types write themselves through a single-value container.
            return false
        }
        wroteValue = true
        return true
    }

    func writeNumber<Number: BinaryFloatingPoint & CustomStringConvertible>(_ number: Number) throws {
        // JSONEncoder refuses NaN and infinities (its default strategy); so does the fallback.
        guard number.isFinite else { throw Unsupported() }
        append(number.description)
    }

    func writeInteger<Integer: BinaryInteger>(_ integer: Integer) {
        append(String(integer))
    }

    func writeNull() {
        append("null")
    }

    func writeString(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            case UInt8(ascii: "\r"): append("\\r")
            case UInt8(ascii: "\t"): append("\\t")
            case 0..<0x20:
                let hex = String(byte, radix: 16)
                append("\\u00" + (hex.count == 1 ? "0" + hex : hex))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    // MARK: Containers

    /// Opens an object or an array at the current position; returns its frame's index and id.
    func open(object: Bool) -> (index: Int, id: Int) {
        bytes.append(UInt8(ascii: object ? "{" : "["))
        nextFrameID += 1
        frames.append(Frame(id: nextFrameID, isObject: object))
        return (frames.count - 1, nextFrameID)
    }

    /// Whether the frame at `index` is still the open container `id` (of the kind asked for).
    func isOpen(index: Int, id: Int) -> Bool {
        index < frames.count && frames[index].id == id
    }

    func frame(at index: Int) -> (id: Int, isObject: Bool)? {
        index < frames.count ? (frames[index].id, frames[index].isObject) : nil
    }

    /// Before an element of the container at `index` (`id`): closes the containers opened inside it since,
    /// and writes the comma. False when that container is no longer open (used out of order).
    func beginElement(in index: Int, id: Int) -> Bool {
        guard index < frames.count, frames[index].id == id else {
            failed = true
            return false
        }
        close(downTo: index + 1)
        if frames[index].count > 0 { bytes.append(UInt8(ascii: ",")) }
        frames[index].count += 1
        return true
    }

    func writeKey(_ key: String) {
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    func elementCount(in index: Int, id: Int) -> Int {
        isOpen(index: index, id: id) ? frames[index].count : 0
    }

    /// Closes the containers from the innermost down to the one at `depth` (included).
    private func close(downTo depth: Int) {
        while frames.count > depth {
            let frame = frames.removeLast()
            bytes.append(UInt8(ascii: frame.isObject ? "}" : "]"))
        }
    }
}

/// The `Encoder` one value is written through.
private final class JSONTextEncoder: Encoder {
    let writer: JSONTextWriter
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// How many containers were open when this value began: its own container, if any, is the next.
    let depth: Int
    private var container: (index: Int, id: Int, isObject: Bool)?
    private var usedSingleValue = false

    init(writer: JSONTextWriter, codingPath: [any CodingKey], depth: Int) {
        self.writer = writer
        self.codingPath = codingPath
        self.depth = depth
    }

    var wroteSomething: Bool { container != nil || usedSingleValue }

    /// This value's container: opened on the first request; the same one again while it is open.
    private func ownContainer(object: Bool) -> (index: Int, id: Int) {
        if let container {
            if container.isObject != object || !writer.isOpen(index: container.index, id: container.id) { writer.fail() }
            return (container.index, container.id)
        }
        if usedSingleValue { writer.fail() }
        let opened = writer.open(object: object)
        container = (opened.index, opened.id, object)
        return opened
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let (index, id) = ownContainer(object: true)
        return KeyedEncodingContainer(JSONTextKeyedContainer<Key>(writer: writer, index: index, id: id, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let (index, id) = ownContainer(object: false)
        return JSONTextUnkeyedContainer(writer: writer, index: index, id: id, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        if container != nil || usedSingleValue { writer.fail() }
        usedSingleValue = true
        return JSONTextSingleValue(writer: writer, codingPath: codingPath)
    }
}

private struct JSONTextKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONTextWriter
    let index: Int
    let id: Int
    let codingPath: [any CodingKey]

    /// Starts the element `key`; false (and the writer failed) when this container is closed already.
    private func begin(_ key: Key) -> Bool {
        guard writer.beginElement(in: index, id: id) else { return false }
        writer.writeKey(key.stringValue)
        return true
    }

    mutating func encodeNil(forKey key: Key) throws {
        guard begin(key) else { throw JSONTextWriter.Unsupported() }
        writer.writeNull()
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        guard begin(key) else { throw JSONTextWriter.Unsupported() }
        try writer.write(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        _ = begin(key)
        let (index, id) = writer.open(object: true)
        return KeyedEncodingContainer(JSONTextKeyedContainer<NestedKey>(writer: writer, index: index, id: id, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        _ = begin(key)
        let (index, id) = writer.open(object: false)
        return JSONTextUnkeyedContainer(writer: writer, index: index, id: id, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        writer.fail()
        return JSONTextEncoder(writer: writer, codingPath: codingPath, depth: 0)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        writer.fail()
        return JSONTextEncoder(writer: writer, codingPath: codingPath, depth: 0)
    }
}

private struct JSONTextUnkeyedContainer: UnkeyedEncodingContainer {
    let writer: JSONTextWriter
    let index: Int
    let id: Int
    let codingPath: [any CodingKey]

    var count: Int { writer.elementCount(in: index, id: id) }

    mutating func encodeNil() throws {
        guard writer.beginElement(in: index, id: id) else { throw JSONTextWriter.Unsupported() }
        writer.writeNull()
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        guard writer.beginElement(in: index, id: id) else { throw JSONTextWriter.Unsupported() }
        try writer.write(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        _ = writer.beginElement(in: index, id: id)
        let (index, id) = writer.open(object: true)
        return KeyedEncodingContainer(JSONTextKeyedContainer<NestedKey>(writer: writer, index: index, id: id, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        _ = writer.beginElement(in: index, id: id)
        let (index, id) = writer.open(object: false)
        return JSONTextUnkeyedContainer(writer: writer, index: index, id: id, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        writer.fail()
        return JSONTextEncoder(writer: writer, codingPath: codingPath, depth: 0)
    }
}

private struct JSONTextSingleValue: SingleValueEncodingContainer {
    let writer: JSONTextWriter
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws {
        writer.writeNull()
    }

    mutating func encode(_ value: Float) throws { try writer.writeNumber(value) }
    mutating func encode(_ value: Double) throws { try writer.writeNumber(value) }
    mutating func encode(_ value: Int8) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int16) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int32) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int64) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt8) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt16) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt32) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt64) throws { writer.writeInteger(value) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try writer.write(value, codingPath: codingPath)
    }
}
