import AsyncHTTPClient
import Crypto
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1

/// Posts pager notices to the gateways in `paging.webhooks` (SMS, voice, a home-grown pager).
///
/// The request, documented for gateway authors in docs/paging.md:
/// - `POST <url>` with the notice as JSON (`Content-Type: application/json`);
/// - `X-Klaxon-Timestamp`: Unix seconds at sending; `X-Klaxon-Signature`: `v1=` and the hex HMAC-SHA256,
///   keyed with the webhook's secret, of `v1:<timestamp>:<body>`, so a gateway can refuse forgeries and
///   replays (the same scheme as Slack's request signing, which gateway authors tend to know);
/// - `X-Klaxon-Delivery`: the outbox message id. A retried notice carries the same id and the same body,
///   so a gateway that keeps the ids it has seen pages each person once even when an answer was lost.
///
/// Answers: 2xx is delivered; 429 waits for `Retry-After`; 408, 5xx and network errors are retried with
/// backoff by the outbox; 401/403 park the pager lane until the gateway answers again; any other 4xx means the gateway refuses this notice, and it is given up.
public struct PagerWebhookClient: Sendable {
    private let webhooks: [String: PagerWebhook]
    private let httpClient: HTTPClient
    private let clock: any WallClock
    private let timeout: TimeAmount
    private let logger: Logger

    public init(webhooks: [PagerWebhook], httpClient: HTTPClient, clock: any WallClock, timeout: TimeAmount = .seconds(10), logger: Logger) {
        self.webhooks = Dictionary(webhooks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.httpClient = httpClient
        self.clock = clock
        self.timeout = timeout
        self.logger = logger
    }

    /// The body of a notice: stable for a given notice (sorted keys), so each retry sends the same bytes.
    public static func body(of notice: PagerNotice) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(notice)
    }

    /// `v1=<hex HMAC-SHA256(secret, "v1:<timestamp>:<body>")>`.
    public static func signature(body: Data, timestamp: Int, secret: Secret) -> String {
        var signed = Data("v1:\(timestamp):".utf8)
        signed.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.exposedValue.utf8)))
        return "v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    public func deliver(_ notice: PagerNotice, outboxID: Int64) async throws(DeliveryFailure) -> Delivery {
        guard let webhook = webhooks[notice.webhook] else {
            throw .permanent("pager webhook \"\(notice.webhook)\" is no longer in paging.webhooks")
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
        request.headers.add(name: "X-Klaxon-Event", value: notice.event.rawValue)
        request.headers.add(name: "X-Klaxon-Delivery", value: String(outboxID))
        request.headers.add(name: "X-Klaxon-Timestamp", value: String(timestamp))
        request.headers.add(name: "X-Klaxon-Signature", value: Self.signature(body: body, timestamp: timestamp, secret: webhook.secret))
        request.body = .bytes(ByteBuffer(bytes: body))

        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: timeout)
        } catch {
            throw .transient("pager webhook \(webhook.id): \(error)")
        }
        // The answer's body is not needed; reading a little of it frees the connection and helps a log line.
        let answer = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
        let status = Int(response.status.code)
        switch status {
        case 200..<300:
            logger.debug("pager webhook delivered", metadata: ["webhook": "\(webhook.id)", "event": "\(notice.event.rawValue)"])
            return Delivery(platformMessageID: response.headers.first(name: "X-Request-Id"))
        case 429:
            throw .rateLimited(retryAfter: Self.retryAfter(response.headers, now: clock.now()) ?? 5)
        case 408, 500...:
            throw .transient("pager webhook \(webhook.id): HTTP \(status)")
        case 401, 403:
            // The gateway refuses our signature or account, not this notice: every page would fail alike.
            throw .unauthorized("pager webhook \(webhook.id): HTTP \(status)")
        default:
            throw .permanent("pager webhook \(webhook.id) refused the notice: HTTP \(status) \(answer.prefix(200))")
        }
    }

    /// `Retry-After` in seconds or as an HTTP date.
    static func retryAfter(_ headers: HTTPHeaders, now: Date) -> TimeInterval? {
        guard let value = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = RateLimitHeader.number(headers, "Retry-After") { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSince(now)) }
    }
}
