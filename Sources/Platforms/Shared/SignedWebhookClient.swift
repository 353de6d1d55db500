import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1

/// What a signed webhook carries: the notice is the JSON body, and names the configured webhook it goes to.
public protocol SignedWebhookNotice: Encodable, Sendable {
    /// Which configured webhook this goes to; its URL and secret are read at delivery, so the outbox never
    /// holds the secret and a rotated secret applies to what is still pending.
    var webhook: String { get }
    /// `X-Klaxon-Event`.
    var eventName: String { get }
    /// "pager webhook": in errors and logs.
    static var receiverName: String { get }
    /// "paging.webhooks": where the webhooks are configured, for the error when one is gone.
    static var configPath: String { get }
}

/// A configured receiver of signed webhooks.
public protocol SignedWebhookTarget: Sendable {
    var id: String { get }
    var url: String { get }
    var secret: Secret { get }
}

/// Posts notices to signed webhooks (pager gateways, status pages), one scheme for all, documented for
/// receivers in docs/paging.md:
/// - `POST <url>` with the notice as JSON (`Content-Type: application/json`), keys sorted, so each retry
///   sends the same bytes;
/// - `X-Klaxon-Timestamp`: Unix seconds at sending; `X-Klaxon-Signature`: `v1=` and the hex HMAC-SHA256,
///   keyed with the webhook's secret, of `v1:<timestamp>:<body>`, so a receiver can refuse forgeries and
///   replays (the same scheme as Slack's request signing, which receiver authors tend to know);
/// - `X-Klaxon-Event`; `X-Klaxon-Delivery`: the outbox message id. A retried notice carries the same id and
///   the same body, so a receiver that keeps the ids it has seen acts once even when an answer was lost.
///
/// Answers: 2xx is delivered; 429 waits for `Retry-After`; 408, 5xx and network errors are retried with
/// backoff by the outbox; 401/403 park the lane until the receiver answers again (it refuses our signature
/// or account, not this notice); any other 4xx means the receiver refuses this notice, and it is given up.
public struct SignedWebhookClient<Notice: SignedWebhookNotice>: OutboxClient {
    private struct Endpoint: Sendable {
        var id: String
        var url: String
        var secret: Secret
    }

    private let webhooks: [String: Endpoint]
    private let transport: HTTPTransport
    private let clock: any WallClock
    private let logger: Logger

    public init(
        webhooks: [some SignedWebhookTarget], httpClient: HTTPClient, clock: any WallClock, timeout: TimeAmount = .seconds(10), logger: Logger
    ) {
        self.webhooks = Dictionary(
            webhooks.map { ($0.id, Endpoint(id: $0.id, url: $0.url, secret: $0.secret)) }, uniquingKeysWith: { first, _ in first })
        self.transport = WebhookPost.transport(httpClient: httpClient, timeout: timeout)
        self.clock = clock
        self.logger = logger
    }

    /// The body of a notice: stable for a given notice (sorted keys), so each retry sends the same bytes.
    public static func body(of notice: Notice) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(notice)
    }

    /// `v1=<hex HMAC-SHA256(secret, "v1:<timestamp>:<body>")>`.
    public static func signature(body: Data, timestamp: Int, secret: Secret) -> String {
        var signed = Data("v1:\(timestamp):".utf8)
        signed.append(body)
        return "v1=" + HexHMAC.sign(signed, key: HexHMAC.key(secret))
    }

    public func deliver(_ notice: Notice, outboxID: Int64) async throws(DeliveryFailure) -> Delivery {
        let receiver = Notice.receiverName
        guard let webhook = webhooks[notice.webhook] else {
            throw .permanent("\(receiver) \"\(notice.webhook)\" is no longer in \(Notice.configPath)")
        }
        let body: Data
        do {
            body = try Self.body(of: notice)
        } catch {
            throw .permanent("cannot encode the notice: \(error)")
        }
        let timestamp = Int(clock.now().timeIntervalSince1970)
        let headers = [
            ("X-Klaxon-Event", notice.eventName), ("X-Klaxon-Delivery", String(outboxID)), ("X-Klaxon-Timestamp", String(timestamp)),
            ("X-Klaxon-Signature", Self.signature(body: body, timestamp: timestamp, secret: webhook.secret)),
        ]
        let answer = try await WebhookPost.send(body, to: webhook.url, headers: headers, transport: transport, receiver: "\(receiver) \(webhook.id)")
        // 401/403: the receiver refuses our signature or account, not this notice: every notice would fail alike.
        if let failure = HTTPOutcome(status: answer.status).deliveryFailure(
            reason: "\(receiver) \(webhook.id): HTTP \(answer.status)",
            refused: "\(receiver) \(webhook.id) refused the notice: HTTP \(answer.status) \(answer.text.prefix(200))",
            retryAfter: RateLimitHeader.retryAfter(answer.headers, now: clock.now()) ?? 5)
        {
            throw failure
        }
        logger.debug("\(receiver) delivered", metadata: ["webhook": "\(webhook.id)", "event": "\(notice.eventName)"])
        return Delivery(platformMessageID: answer.headers.first(name: "X-Request-Id"))
    }
}
