import Foundation
import IncidentCore
import Testing

@testable import Platforms

/// The wire formats, without a server: DATA's dot-stuffing, quoted-printable, encoded header words.
@Suite("Email: message formats")
struct MIMEMessageTests {
    @Test func dotStuffingDoublesLeadingDotsAndEndsWithALoneDot() {
        #expect(SMTPData.encode("a\n.b\n.\nc") == "a\r\n..b\r\n..\r\nc\r\n.\r\n")
        #expect(SMTPData.encode("a\r\nb\r\n") == "a\r\nb\r\n.\r\n", "an ending line break is not doubled")
        #expect(SMTPData.encode("") == ".\r\n")
    }

    @Test func quotedPrintableKeepsLinesShortAndEncodesWhatIsNotPlainASCII() {
        let long = String(repeating: "é", count: 60) + " x"
        let encoded = MIMEMessage.quotedPrintable("= café \n\(long)\nend ")
        let lines = encoded.components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(lines.first == "=3D caf=C3=A9=20", "`=`, non-ASCII and a trailing space are encoded")
        #expect(lines.last == "end=20")
        #expect(lines.dropFirst().dropLast().allSatisfy { $0.hasSuffix("=") || $0.hasSuffix(" x") }, "soft breaks inside the long line")
        #expect(!encoded.contains("=_"), "the boundary's `=_` cannot appear in quoted-printable text")
    }

    @Test func headerTextIsEncodedOnlyWhenItMustBe() {
        #expect(MIMEMessage.encodedHeaderText("[SEV1] INC-7: Checkout down") == "[SEV1] INC-7: Checkout down")
        #expect(MIMEMessage.encodedHeaderText("two\nlines") == "two lines", "no header injection through a line break")
        let encoded = MIMEMessage.encodedHeaderText(String(repeating: "Ü", count: 40))
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.count > 1)
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
        let decoded = words.map { word in
            String(decoding: Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) ?? Data(), as: UTF8.self)
        }.joined()
        #expect(decoded == String(repeating: "Ü", count: 40), "no character is split between words")
    }

    @Test func multiLineRepliesAreOneReply() throws {
        var decoder = SMTPReplyDecoder()
        #expect(try decoder.take("250-mail.example.com") == nil)
        #expect(try decoder.take("250-STARTTLS") == nil)
        #expect(try decoder.take("250 AUTH PLAIN LOGIN") == SMTPReply(code: 250, lines: ["mail.example.com", "STARTTLS", "AUTH PLAIN LOGIN"]))
        #expect(try decoder.take("354") == SMTPReply(code: 354, lines: [""]))
        #expect(throws: (any Error).self) { try decoder.take("hello") }
        var mixed = SMTPReplyDecoder()
        _ = try mixed.take("250-first")
        #expect(throws: (any Error).self) { try mixed.take("550 second") }
    }

    @Test func addressesThatCouldForgeACommandAreRefused() {
        #expect(EmailAddress.isPlausible("oncall@example.com"))
        #expect(!EmailAddress.isPlausible("a@example.com>\r\nRCPT TO:<b@example.com"))
        #expect(!EmailAddress.isPlausible("a b@example.com"))
        #expect(!EmailAddress.isPlausible("nobody"))
        #expect(EmailAddress.bareAddress(of: "Klaxon <klaxon@example.com>") == "klaxon@example.com")
    }
}
