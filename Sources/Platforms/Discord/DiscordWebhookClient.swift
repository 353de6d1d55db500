import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1

/// Posts to Discord channels through their incoming webhooks (`discord.webhooks`): `POST <url>` with
/// `{"content": …, "allowed_mentions": {"parse": []}}`. No mention in the text pings anyone: the posts are
/// announcements, and who is paged is decided in chat.
///
/// Answers: 2xx is delivered; 429 waits for `retry_after` (body, seconds) or `Retry-After`; 408, 5xx and
/// network errors are retried with backoff by the outbox; any other 4xx (a deleted webhook answers 404, a
/// bad token 401) is given up with the reason: these posts ride in a chat platform's lane, so a broken
/// webhook must not park that platform.
public struct DiscordWebhookClient: OutboxClient {
    private let webhooks: [String: DiscordWebhook]
    private let transport: HTTPTransport
    private let logger: Logger

    /// Discord refuses `content` longer than this.
    static let maximumContent = 2000

    public init(webhooks: [DiscordWebhook], httpClient: HTTPClient, timeout: TimeAmount = .seconds(10), logger: Logger) {
        self.webhooks = Dictionary(webhooks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.transport = WebhookPost.transport(httpClient: httpClient, timeout: timeout)
        self.logger = logger
    }

    /// The JSON body, with the content cut to what Discord takes.
    public static func body(of post: DiscordPost) throws -> Data {
        struct Body: Encodable {
            struct AllowedMentions: Encodable { var parse: [String] = [] }
            var content: String
            var allowed_mentions = AllowedMentions()
        }
        let content = post.content.count > maximumContent ? String(post.content.prefix(maximumContent - 1)) + "…" : post.content
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Body(content: content))
    }

    /// Discord webhooks take no key of ours to drop a repeat, so `outboxID` goes unused.
    public func deliver(_ post: DiscordPost, outboxID: Int64) async throws(DeliveryFailure) -> Delivery {
        guard let webhook = webhooks[post.webhook] else {
            throw .permanent("Discord webhook \"\(post.webhook)\" is no longer in discord.webhooks")
        }
        let body: Data
        do {
            body = try Self.body(of: post)
        } catch {
            throw .permanent("cannot encode the Discord post: \(error)")
        }
        // The URL carries the webhook's token: it is never logged, only the webhook's id.
        let answer = try await WebhookPost.send(
            body, to: webhook.url.exposedValue, headers: [], transport: transport, receiver: "Discord webhook \(webhook.id)", urlIsSecret: true)
        let what = "Discord webhook \(webhook.id)"
        let refused = "\(what) refused the post: HTTP \(answer.status) \(answer.text.prefix(200))"
        switch HTTPOutcome(status: answer.status) {
        case .success:
            logger.debug("Discord webhook delivered", metadata: ["webhook": "\(webhook.id)"])
            return Delivery()
        case .unauthorized:
            // A bad token in the webhook's URL: only a config change helps, and the chat lane must not park.
            throw .permanent(refused)
        case let outcome:
            throw outcome.deliveryFailure(
                reason: "\(what): HTTP \(answer.status)", refused: refused, retryAfter: Self.retryAfter(body: answer.text, headers: answer.headers) ?? 5)
                ?? .transient(what)
        }
    }

    /// Discord's `{"retry_after": 1.5}`, else the `Retry-After` header, in seconds.
    static func retryAfter(body: String, headers: HTTPHeaders) -> TimeInterval? {
        struct RateLimit: Decodable { var retry_after: Double }
        // A body that is not Discord's JSON (a proxy's page) leaves the header to go by.
        if let limit = try? JSONDecoder().decode(RateLimit.self, from: Data(body.utf8)) { return max(0, limit.retry_after) }
        return RateLimitHeader.number(headers, "Retry-After").map { max(0, $0) }
    }
}
