import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Hands outbox emails to the SMTP server in `email.smtp`, and tells the outbox what a failure means:
/// - 4xx replies, connection failures and time-outs: transient, retried with backoff (`outbox.retryFor`);
/// - 5xx replies (a refused sender, every recipient refused, a refused message): permanent, dead letter;
/// - refused credentials, a TLS failure, STARTTLS required but not offered: nothing can go out until an
///   admin acts, so the email lane is parked like a chat platform refusing its token.
///
/// Each retry sends the same Message-ID (made of the outbox id), so a mail system that keeps ids drops a
/// copy that an attempt interrupted after the server's 250 would otherwise add.
public struct EmailSender: OutboxClient {
    private let config: SMTPConfig
    private let tls: SMTPTLSModeSetting
    private let clientName: String
    private let clock: any WallClock
    private let group: any EventLoopGroup
    private let logger: Logger

    /// Builds the TLS context once: a `caFile` that cannot be read is a start-up error, not a retry loop.
    public init(
        config: SMTPConfig, clientName: String = "localhost", clock: any WallClock, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws {
        self.config = config
        self.clientName = clientName
        self.clock = clock
        self.group = group
        self.logger = logger
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let caFile = config.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw SMTPFailure.tls("email.smtp.caFile \"\(caFile)\" cannot be read")
            }
            tlsConfiguration.additionalTrustRoots = [.file(caFile)]
        }
        switch config.tls {
        case .none: tls = .none
        case .starttls: tls = .startTLS(try NIOSSLContext(configuration: tlsConfiguration), required: false)
        case .required: tls = .startTLS(try NIOSSLContext(configuration: tlsConfiguration), required: true)
        case .implicit: tls = .implicit(try NIOSSLContext(configuration: tlsConfiguration))
        }
    }

    /// `klaxon.<incident>.<outbox id>@<sender's domain>`: the same for every attempt at one message.
    public func messageID(for message: EmailMessage, outboxID: Int64) -> String {
        let domain = EmailAddress.bareAddress(of: config.from)?.split(separator: "@").last.map(String.init) ?? "klaxon.invalid"
        let incident = message.incidentID.map { "\($0)." } ?? ""
        return "klaxon.\(incident)\(outboxID)@\(domain)"
    }

    public func deliver(_ message: EmailMessage, outboxID: Int64) async throws(DeliveryFailure) -> Delivery {
        guard let sender = EmailAddress.bareAddress(of: config.from) else { throw .permanent("email.smtp.from has no address") }
        let recipients = message.to.filter(EmailAddress.isPlausible)
        guard !recipients.isEmpty else { throw .permanent("no plausible recipient in \(message.to)") }
        let id = messageID(for: message, outboxID: outboxID)
        let data = MIMEMessage.render(message, envelope: .init(from: config.from, date: clock.now(), messageID: id))
        let credentials = config.username.flatMap { user in config.password.map { (username: user, password: $0.exposedValue) } }
        let settings = SMTPSessionSettings(
            host: config.host, port: config.port, clientName: clientName, tls: tls, credentials: credentials,
            timeout: .seconds(max(1, config.timeout.seconds)))
        do {
            let receipt = try await SMTPSession.send(from: sender, to: recipients, data: data, settings: settings, group: group)
            if !receipt.refused.isEmpty {
                logger.warning("email delivered, but some recipients were refused", metadata: ["message_id": "\(id)", "refused": "\(receipt.refused)"])
            }
            logger.debug("email delivered", metadata: ["message_id": "\(id)", "to": "\(receipt.accepted.count)"])
            return Delivery(platformMessageID: id)
        } catch {
            throw Self.outboxFailure(error)
        }
    }

    /// What the outbox does with each kind of SMTP failure.
    public static func outboxFailure(_ failure: SMTPFailure) -> DeliveryFailure {
        switch failure {
        case .connection:
            return .transient("smtp \(failure)")
        case .refused(_, let reply) where reply.isTransientFailure:
            return .transient("smtp \(failure)")
        case .refused(_, let reply) where reply.isPermanentFailure:
            return .permanent("smtp \(failure)")
        case .refused:
            // A 2xx or 3xx where another was due: a confused server, worth another try.
            return .transient("smtp \(failure)")
        case .recipientsRefused:
            return .permanent("smtp \(failure)")
        case .startTLSUnavailable, .tls, .authentication:
            return .unauthorized("smtp \(failure)")
        }
    }
}
