import Foundation
import IncidentCore

/// An `EmailMessage` as RFC 5322 text: headers, then a multipart/alternative body with a plain-text and an
/// HTML part (mail readers show the last part they can display, so HTML goes second).
///
/// Both parts are UTF-8 in quoted-printable: readable on the wire, safe in 7-bit transport. The boundary
/// contains `=_`, which quoted-printable output can never contain, so no body can end a part early.
public enum MIMEMessage {
    public struct Envelope: Sendable {
        public var from: String
        public var date: Date
        public var messageID: String

        public init(from: String, date: Date, messageID: String) {
            self.from = from
            self.date = date
            self.messageID = messageID
        }
    }

    public static func render(_ message: EmailMessage, envelope: Envelope) -> String {
        // From the Message-ID (FNV-1a; `hashValue` differs per process), so a retry sends the same bytes.
        let digest = envelope.messageID.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        let boundary = "=_klaxon_" + String(digest, radix: 36)
        var headers: [(String, String)] = [
            ("Date", rfc5322Date(envelope.date)),
            ("From", mailbox(envelope.from)),
            ("To", message.to.joined(separator: ", ")),
            ("Subject", encodedHeaderText(message.subject)),
            ("Message-ID", "<\(envelope.messageID)>"),
            ("MIME-Version", "1.0"),
            ("Content-Type", "multipart/alternative; boundary=\"\(boundary)\""),
            // RFC 3834: out-of-office replies and bounces-by-robot are not wanted for a notification.
            ("Auto-Submitted", "auto-generated"),
        ]
        if let id = message.incidentID { headers.append(("X-Klaxon-Incident", id)) }
        var out = headers.map { "\($0): \($1)\r\n" }.joined()
        out += "\r\n"
        out += "This is a multi-part message in MIME format.\r\n"
        for (type, body) in [("text/plain", message.text), ("text/html", message.html)] {
            out += "--\(boundary)\r\n"
            out += "Content-Type: \(type); charset=utf-8\r\n"
            out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            out += quotedPrintable(body)
            out += "\r\n"
        }
        out += "--\(boundary)--\r\n"
        return out
    }

    /// `Mon, 07 Dec 2026 09:15:00 +0000`.
    public static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    /// A header's free text (Subject): kept as is when plain ASCII, else RFC 2047 encoded words (`=?UTF-8?B?…?=`),
    /// each at most 75 characters and never splitting a character, folded onto continuation lines. Line
    /// breaks become spaces: a header value is one line.
    public static func encodedHeaderText(_ text: String) -> String {
        let flat = text.map { $0.isNewline ? " " : String($0) }.joined()
        if flat.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 && $0.value != 127 }), flat.utf8.count <= 900 { return flat }
        // "=?UTF-8?B?" + "?=" is 12 characters; 45 bytes become 60 characters of base64: 72 in all.
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in flat {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    /// `Name <address>` with the name encoded or quoted as it needs; a bare address as is.
    static func mailbox(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.lastIndex(of: "<"), trimmed.hasSuffix(">") else { return trimmed }
        let name = trimmed[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let address = trimmed[open...]
        guard !name.isEmpty else { return String(address) }
        if name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == " ") }) {
            return "\(name) \(address)"
        }
        if name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 }) {
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\" \(address)"
        }
        return "\(encodedHeaderText(name)) \(address)"
    }

    /// RFC 2045 §6.7: printable ASCII as is (but `=`), other bytes as `=XX`, spaces before a line end
    /// encoded, lines kept under 76 characters with soft breaks (`=` at the end).
    public static func quotedPrintable(_ text: String) -> String {
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for (index, line) in lines.enumerated() {
            if index > 0 { out += Array("\r\n".utf8) }
            let bytes = Array(line.utf8)
            var column = 0
            for (position, byte) in bytes.enumerated() {
                let isLast = position == bytes.count - 1
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !isLast)
                let encoded: [UInt8] = literal ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]]
                // Room for a soft break's `=` within 76 characters, unless this is the line's last piece.
                if column + encoded.count > (isLast ? 76 : 75) {
                    out += Array("=\r\n".utf8)
                    column = 0
                }
                out += encoded
                column += encoded.count
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
