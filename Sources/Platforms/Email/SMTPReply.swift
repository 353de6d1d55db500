import Foundation
import NIOCore

/// One SMTP reply: a three-digit code and its text lines (RFC 5321 §4.2). A multi-line reply
/// (`250-first`, `250-…`, `250 last`) arrives as one value.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// 4xx: the server may accept the same thing later.
    public var isTransientFailure: Bool { (400..<500).contains(code) }
    /// 5xx: it never will.
    public var isPermanentFailure: Bool { (500..<600).contains(code) }

    public var description: String { "\(code) \(lines.joined(separator: " / "))".trimmingCharacters(in: .whitespaces) }
}

/// A server that does not speak SMTP as RFC 5321 writes it.
struct SMTPProtocolViolation: Error, CustomStringConvertible {
    var description: String
}

/// Bytes → replies. Line and reply sizes are capped, so a broken or hostile server cannot make Klaxon
/// buffer without bound.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    static let maxLineBytes = 4096
    static let maxLines = 200

    private var pending: [String] = []
    private var pendingCode: Int?

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLineBytes { throw SMTPProtocolViolation(description: "a reply line longer than \(Self.maxLineBytes) bytes") }
            return .needMoreData
        }
        let length = view.distance(from: view.startIndex, to: newline) + 1
        guard var line = buffer.readString(length: length) else { return .needMoreData }
        while line.last == "\n" || line.last == "\r" || line.last == "\r\n" { line.removeLast() }
        let reply = try take(line)
        if let reply { context.fireChannelRead(wrapInboundOut(reply)) }
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// One line; a reply once its last line is in.
    mutating func take(_ line: String) throws -> SMTPReply? {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200..<600).contains(code) || (100..<200).contains(code)
        else { throw SMTPProtocolViolation(description: "not an SMTP reply line: \"\(line.prefix(80))\"") }
        if let pendingCode, pendingCode != code {
            throw SMTPProtocolViolation(description: "reply code changed from \(pendingCode) to \(code) inside one reply")
        }
        let separator: UInt8? = bytes.count > 3 ? bytes[3] : nil
        guard separator == nil || separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
            throw SMTPProtocolViolation(description: "not an SMTP reply line: \"\(line.prefix(80))\"")
        }
        pending.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if separator == UInt8(ascii: "-") {
            guard pending.count < Self.maxLines else { throw SMTPProtocolViolation(description: "a reply of more than \(Self.maxLines) lines") }
            pendingCode = code
            return nil
        }
        defer {
            pending = []
            pendingCode = nil
        }
        return SMTPReply(code: code, lines: pending)
    }
}
