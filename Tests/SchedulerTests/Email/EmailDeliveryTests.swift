import Foundation
import IncidentCore
import KlaxonTestSupport
import Logging
import Platforms
import Testing

/// The SMTP client against a real server (aiosmtpd on loopback): what arrives, with TLS and AUTH, and how
/// each kind of refusal is classified for the outbox.
@Suite("Email: the SMTP client against a real server", .enabled(if: SMTPPeer.isAvailable || SMTPPeer.isRequired, "aiosmtpd is not installed"))
struct EmailDeliveryTests {
    static let clock = ManualClock(now: Date(timeIntervalSince1970: 1_796_634_000))  // 2026-12-07 09:00:00 UTC

    static func sender(_ smtp: SMTPConfig) throws -> EmailSender {
        try EmailSender(config: smtp, clientName: "klaxon.test", clock: clock, logger: quietLogger)
    }

    static let message = EmailMessage(
        to: ["oncall@example.com", "lead@example.org"],
        subject: "[SEV1 INCIDENT] INC-7: Zahlungen schlagen fehl – Ümlaut ✓",
        text: "Paged: INC-7 (SEV1)\n.hidden starts with a dot\n.\nlast line with trailing space \nnon-ASCII: café ✓",
        html: "<p>Paged: <b>INC-7</b> &amp; more</p>\n.dot line in HTML",
        incidentID: "INC-7", reason: "page")

    @Test func aMessageArrivesWithItsHeadersAndBothParts() async throws {
        let directory = try TemporaryDirectory("klaxon-smtp")
        defer { directory.remove() }
        let peer = try await SMTPPeer.start(in: directory)
        defer { peer.stop() }
        let sender = try Self.sender(SMTPConfig(host: "127.0.0.1", port: peer.port, from: "Klaxon Bot <klaxon@example.com>", tls: .none))
        let delivery = try await sender.deliver(Self.message, outboxID: 42)
        #expect(delivery.platformMessageID == "klaxon.INC-7.42@example.com")

        let mail = try #require(try peer.received().first, "\(peer.output)")
        #expect(mail.mail_from == "klaxon@example.com")
        #expect(mail.rcpt_tos == ["oncall@example.com", "lead@example.org"])
        #expect(mail.headers["Subject"] == Self.message.subject, "a non-ASCII subject is encoded and decodes back")
        #expect(mail.headers["From"] == "Klaxon Bot <klaxon@example.com>")
        #expect(mail.headers["To"] == "oncall@example.com, lead@example.org")
        #expect(mail.headers["Message-ID"] == "<klaxon.INC-7.42@example.com>")
        #expect(mail.headers["Date"] == "Mon, 07 Dec 2026 09:00:00 +0000")
        #expect(mail.headers["MIME-Version"] == "1.0")
        #expect(mail.headers["Auto-Submitted"] == "auto-generated")
        #expect(mail.content_type == "multipart/alternative")
        #expect(mail.parts.map(\.type) == ["text/plain", "text/html"])
        #expect(mail.parts.allSatisfy { $0.charset == "utf-8" })
        // Dot-stuffing: lines that begin with "." (and "." alone) arrive whole, not as the end of DATA.
        #expect(
            mail.parts.first?.body.replacingOccurrences(of: "\r\n", with: "\n") == Self.message.text, "the line break before a boundary belongs to the boundary"
        )
        #expect(mail.parts.last?.body.replacingOccurrences(of: "\r\n", with: "\n") == Self.message.html)
        #expect(!mail.tls)
    }

    @Test func startTLSThenAuthPlain() async throws {
        let directory = try TemporaryDirectory("klaxon-smtp")
        defer { directory.remove() }
        let (certificate, key) = try await SMTPPeer.makeCertificate(in: directory)
        let peer = try await SMTPPeer.start(["--cert", certificate, "--key", key, "--auth", "klaxon:s3cret-pass"], in: directory)
        defer { peer.stop() }
        let sender = try Self.sender(
            SMTPConfig(
                host: "localhost", port: peer.port, from: "klaxon@example.com", username: "klaxon", password: Secret("s3cret-pass"), tls: .required,
                caFile: certificate))
        _ = try await sender.deliver(Self.message, outboxID: 1)
        let mail = try #require(try peer.received().first)
        #expect(mail.tls, "sent after STARTTLS")
        #expect(mail.login == "klaxon", "authenticated")
    }

    @Test func authLoginWhenPlainIsNotOffered() async throws {
        let directory = try TemporaryDirectory("klaxon-smtp")
        defer { directory.remove() }
        let (certificate, key) = try await SMTPPeer.makeCertificate(in: directory)
        let peer = try await SMTPPeer.start(["--cert", certificate, "--key", key, "--auth", "klaxon:s3cret-pass", "--only-login"], in: directory)
        defer { peer.stop() }
        let sender = try Self.sender(
            SMTPConfig(
                host: "localhost", port: peer.port, from: "klaxon@example.com", username: "klaxon", password: Secret("s3cret-pass"), tls: .starttls,
                caFile: certificate))
        _ = try await sender.deliver(Self.message, outboxID: 2)
        #expect(try peer.received().first?.login == "klaxon")
    }

    @Test func implicitTLS() async throws {
        let directory = try TemporaryDirectory("klaxon-smtp")
        defer { directory.remove() }
        let (certificate, key) = try await SMTPPeer.makeCertificate(in: directory)
        let peer = try await SMTPPeer.start(["--cert", certificate, "--key", key, "--implicit-tls"], in: directory)
        defer { peer.stop() }
        let sender = try Self.sender(SMTPConfig(host: "localhost", port: peer.port, from: "klaxon@example.com", tls: .implicit, caFile: certificate))
        _ = try await sender.deliver(Self.message, outboxID: 3)
        #expect(try peer.received().first?.tls == true)
    }

    /// Problems no retry can fix (our password, the server's certificate, TLS missing) park the email
    /// lane like a chat platform refusing its token: nothing is thrown away, nothing is sent in clear.
    @Test func refusedCredentialsAndTLSProblemsParkTheLane() async throws {
        let directory = try TemporaryDirectory("klaxon-smtp")
        defer { directory.remove() }
        let (certificate, key) = try await SMTPPeer.makeCertificate(in: directory)
        let secured = try await SMTPPeer.start(["--cert", certificate, "--key", key, "--auth", "klaxon:s3cret-pass"], in: directory)
        defer { secured.stop() }
        let plain = try await SMTPPeer.start(["--auth", "klaxon:s3cret-pass"], in: directory)
        defer { plain.stop() }
        let base = SMTPConfig(
            host: "localhost", port: secured.port, from: "klaxon@example.com", username: "klaxon", password: Secret("wrong-password"), tls: .required,
            caFile: certificate)

        let wrongPassword = await Self.failure(of: try Self.sender(base))
        #expect(Self.isUnauthorized(wrongPassword, mentioning: "535"), "\(String(describing: wrongPassword))")

        var untrusted = base
        untrusted.caFile = nil
        untrusted.password = Secret("s3cret-pass")
        let certificateFailure = await Self.failure(of: try Self.sender(untrusted))
        #expect(Self.isUnauthorized(certificateFailure, mentioning: "TLS"), "\(String(describing: certificateFailure))")

        var noSTARTTLS = base
        noSTARTTLS.port = plain.port
        noSTARTTLS.password = Secret("s3cret-pass")
        let required = await Self.failure(of: try Self.sender(noSTARTTLS))
        #expect(required == .unauthorized("smtp \(SMTPFailure.startTLSUnavailable)"))
        noSTARTTLS.tls = .starttls
        let inClear = await Self.failure(of: try Self.sender(noSTARTTLS))
        #expect(Self.isUnauthorized(inClear, mentioning: "not sent in clear"), "\(String(describing: inClear))")
        #expect(try secured.received().isEmpty && plain.received().isEmpty)
    }

    @Test func repliesAreClassifiedForTheOutbox() {
        let permanent = SMTPReply(code: 550, lines: ["5.1.1 no such user"])
        let transient = SMTPReply(code: 451, lines: ["4.3.0 try again later"])
        #expect(EmailSender.outboxFailure(.refused(command: "RCPT TO", reply: transient)) == .transient("smtp RCPT TO refused: 451 4.3.0 try again later"))
        #expect(EmailSender.outboxFailure(.refused(command: "end of DATA", reply: permanent)) == .permanent("smtp end of DATA refused: 550 5.1.1 no such user"))
        #expect(EmailSender.outboxFailure(.recipientsRefused(["a@example.com: 550"])) == .permanent("smtp every recipient refused: a@example.com: 550"))
        #expect(EmailSender.outboxFailure(.connection("connect: refused")) == .transient("smtp connection: connect: refused"))
        #expect(
            EmailSender.outboxFailure(.refused(command: "AUTH", reply: SMTPReply(code: 454, lines: ["later"]))) == .transient("smtp AUTH refused: 454 later"))
    }

    static func failure(of sender: EmailSender) async -> DeliveryFailure? {
        do {
            _ = try await sender.deliver(message, outboxID: 9)
            return nil
        } catch {
            return error
        }
    }

    static func isUnauthorized(_ failure: DeliveryFailure?, mentioning text: String) -> Bool {
        guard case .unauthorized(let reason) = failure else { return false }
        return reason.contains(text)
    }
}
