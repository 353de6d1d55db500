import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Why a Web API call failed, in the terms that decide what to do next.
public enum SlackAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// HTTP 429 (or `ok:false` with `ratelimited`): wait this long before calling the method again.
    case rateLimited(method: String, retryAfter: TimeInterval)
    /// Slack answered `{"ok":false,"error":"…"}`.
    case refused(method: String, error: String)
    /// An HTTP status other than 200 and 429.
    case httpStatus(method: String, status: Int)
    /// No answer: connection refused or reset, time-out.
    case unreachable(method: String, reason: String)
    /// An answer that is not Slack's JSON envelope.
    case malformedResponse(method: String)

    /// `ok:false` errors worth retrying: Slack's own trouble, not ours.
    static let transientErrors: Set<String> = ["internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"]

    /// `ok:false` errors about the token, not the request: every call fails alike until an admin fixes the
    /// app (reinstalls it, restores a scope, reactivates its user), so the platform is parked, not the message.
    static let credentialErrors: Set<String> = [
        "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "missing_scope",
        "no_permission", "not_allowed_token_type", "team_access_not_granted", "ekm_access_denied", "org_login_required",
    ]

    public var method: String {
        switch self {
        case .rateLimited(let method, _), .refused(let method, _), .httpStatus(let method, _), .unreachable(let method, _), .malformedResponse(let method):
            method
        }
    }

    /// Whether the call may have taken effect although it failed: no answer came, or a server error did.
    public var mayHaveBeenDone: Bool {
        switch self {
        case .unreachable, .malformedResponse: true
        case .httpStatus(_, let status): status >= 500
        case .rateLimited, .refused: false
        }
    }

    /// The Slack error code of an `ok:false` answer.
    public var slackError: String? {
        if case .refused(_, let error) = self { return error }
        return nil
    }

    /// What the outbox sender should do about it. `ok:false` is mostly an answer about the request itself
    /// (`channel_not_found`, `is_archived`, `msg_too_long`): sending it again cannot help, and giving up
    /// lets the incident's later messages go out. Credential errors are about the app, not the request.
    public var deliveryFailure: DeliveryFailure {
        switch self {
        case .rateLimited(_, let retryAfter):
            .rateLimited(retryAfter: retryAfter)
        case .refused(_, let error) where Self.transientErrors.contains(error):
            .transient(description)
        case .refused(_, let error) where Self.credentialErrors.contains(error):
            .unauthorized(description)
        case .refused:
            .permanent(description)
        case .httpStatus(_, let status) where status >= 500 || status == 408:
            .transient(description)
        case .httpStatus(_, let status) where status == 401 || status == 403:
            .unauthorized(description)
        case .httpStatus:
            .permanent(description)
        case .unreachable, .malformedResponse:
            .transient(description)
        }
    }

    public var description: String {
        switch self {
        case .rateLimited(let method, let retryAfter): "\(method): rate limited for \(retryAfter)s"
        case .refused(let method, let error): "\(method): \(error)"
        case .httpStatus(let method, let status): "\(method): HTTP \(status)"
        case .unreachable(let method, let reason): "\(method): \(reason)"
        case .malformedResponse(let method): "\(method): the answer is not Slack's JSON"
        }
    }
}

/// Slack's answer envelope: every method answers `{"ok": true, …}` or `{"ok": false, "error": "…"}`.
public struct SlackStatus: Decodable, Sendable {
    public var ok: Bool
    public var error: String?
    public var warning: String?
}

/// The Web API over AsyncHTTPClient (docs.slack.dev/apis/web-api): `POST {apiBaseURL}/{method}` with a
/// form body and `Authorization: Bearer <token>`. Every call has a deadline and a capped answer; a 429
/// puts the method on cooldown for every caller (see `SlackMethodCooldowns`). There are no retries here:
/// the outbox retries deliveries with backoff and jitter, and inbound paths (`views.open` within a
/// trigger's 3 seconds) cannot wait anyway.
public struct SlackWebAPI: Sendable {
    public struct Settings: Sendable {
        /// The whole call, connection to last byte.
        public var timeout: TimeInterval = 10
        public var maxResponseBytes = 4 << 20
        /// When a 429 carries no (readable) `Retry-After`.
        public var defaultRetryAfter: TimeInterval = 5
        public init(timeout: TimeInterval = 10, maxResponseBytes: Int = 4 << 20, defaultRetryAfter: TimeInterval = 5) {
            self.timeout = timeout
            self.maxResponseBytes = maxResponseBytes
            self.defaultRetryAfter = defaultRetryAfter
        }
    }

    public let baseURL: String
    public let cooldowns: CooldownGate
    private let transport: HTTPTransport
    private let botToken: Secret
    private let clock: any WallClock
    private let settings: Settings
    private let logger: Logger

    public init(
        baseURL: String, botToken: Secret, httpClient: HTTPClient, clock: any WallClock, settings: Settings = Settings(),
        cooldowns: CooldownGate = CooldownGate(), logger: Logger
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.botToken = botToken
        self.transport = HTTPTransport(httpClient: httpClient, timeout: Self.timeAmount(settings.timeout), maxResponseBytes: settings.maxResponseBytes)
        self.clock = clock
        self.settings = settings
        self.cooldowns = cooldowns
        self.logger = logger
    }

    /// Calls `method` with `arguments` (a form; JSON arguments such as `blocks` go in as JSON text) and
    /// decodes the answer as `Response`. `token` replaces the bot token (Socket Mode's app token);
    /// `timeout` replaces the usual deadline, for calls made while Slack waits for our answer.
    public func call<Response: Decodable>(
        _ method: String, _ arguments: [(String, String)] = [], token: Secret? = nil, timeout: TimeInterval? = nil, as _: Response.Type
    ) async throws(SlackAPIError) -> Response {
        if let wait = cooldowns.remaining(method, now: clock.now()) {
            throw .rateLimited(method: method, retryAfter: wait)
        }
        var request = HTTPClientRequest(url: "\(baseURL)/\(method)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \((token ?? botToken).exposedValue)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: FormBody.encode(arguments)))

        let (status, headers, body) = try await send(request, method: method, timeout: timeout)
        if status == 429 {
            let retryAfter = RateLimitHeader.number(headers, "Retry-After").map { max($0, 0) } ?? settings.defaultRetryAfter
            cooldowns.coolDown(method, for: retryAfter, now: clock.now())
            logger.notice("slack rate limited", metadata: ["method": "\(method)", "retry_after": "\(retryAfter)"])
            throw .rateLimited(method: method, retryAfter: retryAfter)
        }
        guard status == 200 else {
            logger.warning("slack call failed", metadata: ["method": "\(method)", "status": "\(status)"])
            throw .httpStatus(method: method, status: status)
        }
        let decoder = JSONDecoder()
        guard let envelope = try? decoder.decode(SlackStatus.self, from: body) else { throw .malformedResponse(method: method) }
        guard envelope.ok else {
            let error = envelope.error ?? "unknown_error"
            if error == "ratelimited" {
                cooldowns.coolDown(method, for: settings.defaultRetryAfter, now: clock.now())
                throw .rateLimited(method: method, retryAfter: settings.defaultRetryAfter)
            }
            logger.debug("slack refused", metadata: ["method": "\(method)", "error": "\(error)"])
            throw .refused(method: method, error: error)
        }
        do {
            return try decoder.decode(Response.self, from: body)
        } catch {
            throw .malformedResponse(method: method)
        }
    }

    /// Calls a method whose answer only matters for `ok`.
    public func call(_ method: String, _ arguments: [(String, String)] = [], token: Secret? = nil) async throws(SlackAPIError) {
        _ = try await call(method, arguments, token: token, as: SlackStatus.self)
    }

    /// Posts JSON to an interaction's `response_url` (a message only the clicking user sees, or a reply).
    /// Slack's hooks take no token: the URL is the credential, so it is never logged.
    public func respond(to responseURL: String, json: Data, timeout: TimeInterval) async throws(SlackAPIError) {
        var request = HTTPClientRequest(url: responseURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.body = .bytes(ByteBuffer(data: json))
        let (status, _, _) = try await send(request, method: "response_url", timeout: timeout)
        guard status == 200 else { throw .httpStatus(method: "response_url", status: status) }
    }

    private static func timeAmount(_ seconds: TimeInterval) -> TimeAmount { .milliseconds(Int64(seconds * 1000)) }

    private func send(_ request: HTTPClientRequest, method: String, timeout: TimeInterval? = nil) async throws(SlackAPIError) -> (Int, HTTPHeaders, Data) {
        do {
            let answer = try await transport.send(request, timeout: timeout.map(Self.timeAmount), logger: logger)
            return (answer.status, answer.headers, answer.body)
        } catch {
            // By the error's type only: a `response_url` is a credential and a description could quote it.
            logger.warning("slack call failed", metadata: ["method": "\(method)", "error": "\(error.reason(urlIsSecret: true))"])
            throw .unreachable(method: method, reason: error.reason(urlIsSecret: true))
        }
    }
}

/// Encodes a value as the JSON text of one form argument (`blocks`, `view`, `metadata`).
enum SlackJSONArgument {
    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Arguments are our own strings, ids and blocks: encoding cannot fail.
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }
}
