import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1

/// Posts status notices to `statusPage.webhooks` (an external status page, a static site builder).
///
/// The request is the pager webhooks' (docs/status-page.md): JSON body with sorted keys, the same bytes on
/// every retry; `X-Klaxon-Event`, `X-Klaxon-Delivery` (the outbox id, stable across retries, for
/// de-duplication), `X-Klaxon-Timestamp` and `X-Klaxon-Signature: v1=<hex HMAC-SHA256 of
/// "v1:<timestamp>:<body>">`. Answers are read alike: 2xx delivered, 429 waits, 408/5xx and network
/// errors retried by the outbox, 401/403 park the lane, other 4xx give the notice up.
public struct StatusWebhookClient: Sendable {
    private let webhooks: [String: StatusWebhook]
    private let httpClient: HTTPClient
    private let clock: any WallClock
    private let timeout: TimeAmount
    private let logger: Logger

    public init(webhooks: [StatusWebhook], httpClient: HTTPClient, clock: any WallClock, timeout: TimeAmount = .seconds(10), logger: Logger) {
        self.webhooks = Dictionary(webhooks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.httpClient = httpClient
        self.clock = clock
        self.timeout = timeout
        self.logger = logger
    }

    public static func body(of notice: StatusNotice) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(notice)
    }

    public func deliver(_ notice: StatusNotice, outboxID: Int64) async throws(DeliveryFailure) -> Delivery {
        guard let webhook = webhooks[notice.webhook] else {
            throw .permanent("status webhook \"\(notice.webhook)\" is no longer in statusPage.webhooks")
        }
        let body: Data
        do {
            body = try Self.body(of: notice)
        } catch {
            throw .permanent("cannot encode the notice: \(error)")
        }
        let timestamp = Int(clock.now().timeIntervalSince1970)
        var request = HTTPClientRequest(url: webhook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Klaxon")
        request.headers.add(name: "X-Klaxon-Event", value: notice.event)
        request.headers.add(name: "X-Klaxon-Delivery", value: String(outboxID))
        request.headers.add(name: "X-Klaxon-Timestamp", value: String(timestamp))
        request.headers.add(name: "X-Klaxon-Signature", value: PagerWebhookClient.signature(body: body, timestamp: timestamp, secret: webhook.secret))
        request.body = .bytes(ByteBuffer(bytes: body))

        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: timeout)
        } catch {
            throw .transient("status webhook \(webhook.id): \(error)")
        }
        let answer: String
        do {
            answer = String(buffer: try await response.body.collect(upTo: 4096))
        } catch {
            // The status decides; a body that could not be read only loses a log detail.
            answer = "(body unreadable: \(error))"
        }
        let status = Int(response.status.code)
        switch status {
        case 200..<300:
            logger.debug("status webhook delivered", metadata: ["webhook": "\(webhook.id)", "event": "\(notice.event)"])
            return Delivery(platformMessageID: response.headers.first(name: "X-Request-Id"))
        case 429:
            throw .rateLimited(retryAfter: PagerWebhookClient.retryAfter(response.headers, now: clock.now()) ?? 5)
        case 408, 500...:
            throw .transient("status webhook \(webhook.id): HTTP \(status)")
        case 401, 403:
            throw .unauthorized("status webhook \(webhook.id): HTTP \(status)")
        default:
            throw .permanent("status webhook \(webhook.id) refused the notice: HTTP \(status) \(answer.prefix(200))")
        }
    }
}
