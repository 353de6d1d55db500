import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1

/// Every outbound HTTP call (the Slack Web API, Rocket.Chat, Mattermost, GitHub, the pager, status and
/// Discord webhooks) goes through one of these: a deadline on every call, a cap on the answer's size, and
/// one way of reporting that no answer came. What an answer's status means is `HTTPOutcome`'s; each
/// client keeps only its API's shape (envelopes, rate-limit headers, error codes).
struct HTTPTransport: Sendable {
    /// An answer, its body read up to the cap.
    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
        /// The body was longer than the cap and was cut there (only when the transport was asked to keep
        /// oversized answers).
        var truncated = false

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// No (usable) answer: refused or reset connection, TLS failure, time-out, an answer over the cap.
    struct Failure: Error, Sendable {
        var timedOut: Bool
        /// The error's type only: never quotes the URL, which may carry a token (Discord's, `response_url`).
        var kind: String
        /// The error's own description: may quote the URL.
        var detail: String

        /// What callers put in a reason: the detail, or only the kind when the URL is a credential.
        func reason(urlIsSecret: Bool) -> String {
            if timedOut { return "timed out" }
            return urlIsSecret ? kind : detail
        }
    }

    /// What to do with an answer longer than the cap: refuse it (an API answer must be read whole) or keep
    /// its start (a webhook's answer only says why it refused).
    enum Oversized: Sendable {
        case refuse, truncate
    }

    let httpClient: HTTPClient
    let timeout: TimeAmount
    let maxResponseBytes: Int
    let oversized: Oversized

    init(httpClient: HTTPClient, timeout: TimeAmount, maxResponseBytes: Int = 4 << 20, oversized: Oversized = .refuse) {
        self.httpClient = httpClient
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.oversized = oversized
    }

    /// `timeout` replaces the transport's deadline for calls someone is waiting on (a lookup inside a
    /// slash command's three seconds).
    func send(_ request: HTTPClientRequest, timeout: TimeAmount? = nil, logger: Logger? = nil) async throws(Failure) -> Answer {
        do {
            let response = try await httpClient.execute(request, timeout: timeout ?? self.timeout, logger: logger)
            var body = ByteBuffer()
            var truncated = false
            for try await chunk in response.body {
                guard body.readableBytes + chunk.readableBytes <= maxResponseBytes else {
                    if oversized == .refuse { throw NIOTooManyBytesError(maxBytes: maxResponseBytes) }
                    var start = chunk
                    if let kept = start.readSlice(length: maxResponseBytes - body.readableBytes) { body.writeImmutableBuffer(kept) }
                    truncated = true
                    break
                }
                body.writeImmutableBuffer(chunk)
            }
            return Answer(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView), truncated: truncated)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw Failure(timedOut: true, kind: "\(type(of: error))", detail: "\(error)")
        } catch {
            throw Failure(timedOut: false, kind: "\(type(of: error))", detail: "\(error)")
        }
    }
}

/// What an HTTP status means to a caller that retries, read the same way for every outbound client.
enum HTTPOutcome: Sendable, Equatable {
    case success
    /// 429: call again later (`RateLimitHeader.retryAfter`, or what the API's body says).
    case rateLimited
    /// 401, 403: our credentials are refused; every call fails alike until an admin acts.
    case unauthorized
    /// 408 and 5xx: the receiver's trouble, worth retrying with backoff.
    case retryable
    /// Any other status: retrying the same request cannot help.
    case permanent

    init(status: Int) {
        switch status {
        case 200..<300: self = .success
        case 429: self = .rateLimited
        case 401, 403: self = .unauthorized
        case 408, 500...: self = .retryable
        default: self = .permanent
        }
    }

    /// The outbox's reading of a failed call: `reason` says what failed (kept with a retry or a parked
    /// lane), `refused` why a permanent refusal gave the message up, `retryAfter` the wait after a 429.
    func deliveryFailure(
        reason: @autoclosure () -> String, refused: @autoclosure () -> String, retryAfter: @autoclosure () -> TimeInterval
    ) -> DeliveryFailure? {
        switch self {
        case .success: nil
        case .rateLimited: .rateLimited(retryAfter: retryAfter())
        case .unauthorized: .unauthorized(reason())
        case .retryable: .transient(reason())
        case .permanent: .permanent(refused())
        }
    }
}
