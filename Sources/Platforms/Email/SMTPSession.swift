import Foundation
import NIOCore
import NIOSSL

/// Why a mail could not be handed over, in terms that decide what happens next (`EmailSender` maps them to
/// the outbox's retry, dead letter or parked lane).
public enum SMTPFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// Connecting, reading or writing failed, or the server took too long: try again later.
    case connection(String)
    /// The server answered `command` with something other than what comes next: 4xx means later, 5xx never.
    case refused(command: String, reply: SMTPReply)
    /// `tls: "required"` and the server does not offer STARTTLS.
    case startTLSUnavailable
    /// The TLS handshake failed (an untrusted or expired certificate, a wrong host name).
    case tls(String)
    /// The server refused our username and password (535) or offers no mechanism we speak.
    case authentication(String)
    /// Every recipient was refused for good (5xx to each RCPT TO).
    case recipientsRefused([String])

    public var description: String {
        switch self {
        case .connection(let reason): "connection: \(reason)"
        case .refused(let command, let reply): "\(command) refused: \(reply)"
        case .startTLSUnavailable: "the server does not offer STARTTLS and email.smtp.tls is \"required\""
        case .tls(let reason): "TLS: \(reason)"
        case .authentication(let reason): "authentication: \(reason)"
        case .recipientsRefused(let reasons): "every recipient refused: \(reasons.joined(separator: "; "))"
        }
    }
}

/// What one successful hand-over came to.
public struct SMTPReceipt: Sendable, Hashable {
    /// Recipients the server accepted.
    public var accepted: [String]
    /// Recipients it refused for good, with its reply: the others still got the message.
    public var refused: [String]
    /// The server's answer to the end of DATA (often a queue id).
    public var reply: SMTPReply
}

/// The parameters of one SMTP conversation.
public struct SMTPSessionSettings: Sendable {
    public var host: String
    public var port: Int
    /// The name given in EHLO.
    public var clientName: String
    public var tls: SMTPTLSModeSetting
    public var credentials: (username: String, password: String)?
    public var timeout: TimeAmount

    public init(host: String, port: Int, clientName: String, tls: SMTPTLSModeSetting, credentials: (username: String, password: String)?, timeout: TimeAmount) {
        self.host = host
        self.port = port
        self.clientName = clientName
        self.tls = tls
        self.credentials = credentials
        self.timeout = timeout
    }
}

/// The TLS half of the settings, with its context built once.
public enum SMTPTLSModeSetting: Sendable {
    case none
    case startTLS(NIOSSLContext, required: Bool)
    case implicit(NIOSSLContext)
}

/// One mail handed to an SMTP server (RFC 5321): greeting, EHLO, STARTTLS when offered or required, AUTH
/// PLAIN or LOGIN, MAIL FROM, RCPT TO for each recipient, DATA with dot-stuffing, QUIT.
public enum SMTPSession {
    public static func send(
        from sender: String, to recipients: [String], data: String, settings: SMTPSessionSettings, group: any EventLoopGroup
    ) async throws(SMTPFailure) -> SMTPReceipt {
        let connection: SMTPConnection
        var implicitContext: NIOSSLContext?
        if case .implicit(let context) = settings.tls { implicitContext = context }
        do {
            connection = try await SMTPConnection.connect(
                host: settings.host, port: settings.port, implicitTLS: implicitContext, serverHostname: serverHostname(settings.host),
                timeout: settings.timeout, group: group)
        } catch {
            throw classify(error, doing: "connect to \(settings.host):\(settings.port)")
        }
        do {
            let receipt = try await converse(connection, from: sender, to: recipients, data: data, settings: settings)
            // Polite, not needed: the mail is the server's once DATA is answered 250.
            _ = try? await connection.command("QUIT")
            await connection.close()
            return receipt
        } catch {
            await connection.close()
            throw error
        }
    }

    private static func converse(
        _ connection: SMTPConnection, from sender: String, to recipients: [String], data: String, settings: SMTPSessionSettings
    ) async throws(SMTPFailure) -> SMTPReceipt {
        try await expect(220, "greeting", from: connection, nil)
        var extensions = try await hello(connection, settings)
        if case .startTLS(let context, let required) = settings.tls {
            if extensions.keys.contains("STARTTLS") {
                try await expect(220, "STARTTLS", from: connection, "STARTTLS")
                do {
                    try await connection.startTLS(context: context, serverHostname: serverHostname(settings.host))
                } catch {
                    throw classify(error, doing: "start TLS")
                }
                // RFC 3207: what the server offered in clear is forgotten; ask again over TLS.
                extensions = try await hello(connection, settings)
            } else if required {
                throw .startTLSUnavailable
            }
        }
        if let credentials = settings.credentials {
            // Never a password in clear: the config loader refuses `tls: "none"` with a username, and a
            // `starttls` server that did not offer STARTTLS ends here.
            guard connection.isSecure else {
                throw .authentication("the server does not offer STARTTLS, and the password is not sent in clear")
            }
            try await authenticate(connection, credentials: credentials, mechanisms: extensions["AUTH"] ?? [])
        }
        try await expect(250, "MAIL FROM", from: connection, "MAIL FROM:<\(sender)>")
        var accepted: [String] = []
        var refused: [String] = []
        for recipient in recipients {
            let reply = try await exchange(connection, "RCPT TO", "RCPT TO:<\(recipient)>")
            switch reply.code {
            case 250, 251: accepted.append(recipient)
            case 500..<600: refused.append("\(recipient): \(reply)")
            // 4xx (a full mailbox, greylisting): nothing has been sent yet, so the whole mail waits and is
            // tried again later, rather than some recipients getting it twice.
            default: throw .refused(command: "RCPT TO", reply: reply)
            }
        }
        guard !accepted.isEmpty else {
            // Polite, not needed: the refusal below is what the caller hears, and the connection is closed next.
            _ = try? await connection.command("RSET")
            throw .recipientsRefused(refused)
        }
        try await expect(354, "DATA", from: connection, "DATA")
        let body = SMTPData.encode(data)
        let reply: SMTPReply
        do {
            reply = try await connection.send(raw: ByteBuffer(string: body))
        } catch {
            throw classify(error, doing: "send the message")
        }
        guard reply.code == 250 else { throw .refused(command: "end of DATA", reply: reply) }
        return SMTPReceipt(accepted: accepted, refused: refused, reply: reply)
    }

    /// EHLO; the extensions the server announced, keyword → parameters (`AUTH` → `PLAIN`, `LOGIN`).
    private static func hello(_ connection: SMTPConnection, _ settings: SMTPSessionSettings) async throws(SMTPFailure) -> [String: [String]] {
        let reply = try await expect(250, "EHLO", from: connection, "EHLO \(settings.clientName)")
        var extensions: [String: [String]] = [:]
        for line in reply.lines.dropFirst() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "=" }).map { String($0).uppercased() }
            guard let keyword = words.first else { continue }
            extensions[keyword, default: []] += words.dropFirst()
        }
        return extensions
    }

    /// AUTH PLAIN (RFC 4616) when offered, else AUTH LOGIN.
    private static func authenticate(
        _ connection: SMTPConnection, credentials: (username: String, password: String), mechanisms: [String]
    ) async throws(SMTPFailure) {
        let reply: SMTPReply
        if mechanisms.contains("PLAIN") {
            let token = Data("\0\(credentials.username)\0\(credentials.password)".utf8).base64EncodedString()
            reply = try await exchange(connection, "AUTH PLAIN", "AUTH PLAIN \(token)")
        } else if mechanisms.contains("LOGIN") {
            try await expect(334, "AUTH LOGIN", from: connection, "AUTH LOGIN")
            try await expect(334, "AUTH LOGIN", from: connection, Data(credentials.username.utf8).base64EncodedString())
            reply = try await exchange(connection, "AUTH LOGIN", Data(credentials.password.utf8).base64EncodedString())
        } else {
            throw .authentication(
                "the server offers no AUTH mechanism Klaxon speaks (PLAIN, LOGIN); it offers \(mechanisms.isEmpty ? "none" : mechanisms.joined(separator: ", "))"
            )
        }
        switch reply.code {
        case 235: return
        // 454 "temporary authentication failure": the server's trouble, not our password.
        case 400..<500: throw .refused(command: "AUTH", reply: reply)
        default: throw .authentication("the server refused the username and password: \(reply)")
        }
    }

    @discardableResult
    private static func expect(_ code: Int, _ what: String, from connection: SMTPConnection, _ line: String?) async throws(SMTPFailure) -> SMTPReply {
        let reply = try await exchange(connection, what, line)
        guard reply.code == code else { throw .refused(command: what, reply: reply) }
        return reply
    }

    private static func exchange(_ connection: SMTPConnection, _ what: String, _ line: String?) async throws(SMTPFailure) -> SMTPReply {
        do {
            return try await connection.command(line)
        } catch {
            throw classify(error, doing: what)
        }
    }

    /// NIO's and BoringSSL's errors as failures: TLS trouble is the configuration's (or the server's
    /// certificate's), everything else the network's.
    static func classify(_ error: any Error, doing what: String) -> SMTPFailure {
        if let failure = error as? SMTPFailure { return failure }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return .tls("\(what): \(error)")
        }
        return .connection("\(what): \(error)")
    }

    /// NIOSSL sends a host name for SNI and checks the certificate against it; an IP address is checked
    /// against the certificate's IP entries instead, and must not be sent as a name.
    static func serverHostname(_ host: String) -> String? {
        let isIPv4 = host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
        return isIPv4 || host.contains(":") ? nil : host
    }
}

/// DATA as it goes on the wire (RFC 5321 §4.5.2): every line ends in CRLF, a line that starts with `.` gets
/// a second one, and `.` alone on a line ends it.
public enum SMTPData {
    public static func encode(_ message: String) -> String {
        var lines = message.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        var out = ""
        out.reserveCapacity(message.utf8.count + 64)
        for line in lines {
            if line.hasPrefix(".") { out += "." }
            out += line
            out += "\r\n"
        }
        return out + ".\r\n"
    }
}
