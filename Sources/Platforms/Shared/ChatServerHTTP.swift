import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1

// The HTTP plumbing shared by the Rocket.Chat and Mattermost REST clients: both are self-hosted servers
// spoken to with a JSON body and a token header, and both limit how fast a client may call. The call
// itself goes through the transport every outbound client shares (HTTPTransport).

/// Why a REST call to a chat server failed, in the terms the callers act on.
public enum ChatServerFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// HTTP 429, or a route we know is exhausted: call again after this many seconds.
    case rateLimited(retryAfter: TimeInterval)
    /// No answer, a time-out, or a 5xx: worth retrying later.
    case unreachable(String)
    /// 401/403: the token is wrong or lacks a permission. Retrying will not help until an admin acts.
    case unauthorized(String)
    /// A 4xx the server explained in its error envelope: `code` is Rocket.Chat's `errorType` or
    /// Mattermost's `id`, what code paths compare; `message` is for people.
    case refused(status: Int, code: String, message: String)
    /// A 2xx whose body is not what the API documents.
    case malformed(String)

    /// What the outbox sender should do about it.
    public var deliveryFailure: DeliveryFailure {
        switch self {
        case .rateLimited(let retryAfter): .rateLimited(retryAfter: retryAfter)
        case .unreachable(let reason): .transient(reason)
        case .unauthorized(let reason): .unauthorized("unauthorized: \(reason)")
        case .refused(let status, let code, let message): .permanent("HTTP \(status) \(code): \(message)")
        // A proxy returning an HTML error page with 200 is the usual cause; it tends to pass.
        case .malformed(let reason): .transient(reason)
        }
    }

    public var description: String {
        switch self {
        case .rateLimited(let retryAfter): "rate limited for \(retryAfter)s"
        case .unreachable(let reason): "unreachable: \(reason)"
        case .unauthorized(let reason): "unauthorized: \(reason)"
        case .refused(let status, let code, let message): "refused (HTTP \(status), \(code)): \(message)"
        case .malformed(let reason): "malformed answer: \(reason)"
        }
    }
}

/// One answer from a chat server, body collected.
typealias ChatServerResponse = HTTPTransport.Answer

/// Sends JSON requests to one server.
struct ChatServerHTTP: Sendable {
    /// A deadline per call; larger answers than 4 MiB are refused (a history page or a user record is a
    /// few kilobytes).
    let transport: HTTPTransport
    /// `https://chat.example.com`, without a trailing slash.
    let baseURL: String
    let headers: HTTPHeaders
    let logger: Logger

    init(httpClient: HTTPClient, baseURL: String, headers: HTTPHeaders, timeout: TimeAmount = .seconds(15), logger: Logger) {
        self.transport = HTTPTransport(httpClient: httpClient, timeout: timeout)
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.headers = headers
        self.logger = logger
    }

    /// `path` starts with `/`; `query` values are percent-encoded here. `timeout` replaces the client's
    /// deadline for calls that someone is waiting on (a lookup inside a slash command's three seconds).
    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], json body: Data? = nil, timeout: TimeAmount? = nil)
        async throws(ChatServerFailure) -> ChatServerResponse
    {
        var url = baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.percentEncode($0.0))=\(Self.percentEncode($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        request.headers.replaceOrAdd(name: "Accept", value: "application/json")
        if let body {
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            return try await transport.send(request, timeout: timeout, logger: logger)
        } catch {
            throw .unreachable("\(method) \(path): \(error.detail)")
        }
    }

    /// RFC 3986 unreserved characters stay; everything else is escaped (a `+` in a timestamp too).
    static func percentEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

/// A shared token from a request (a webhook's, a slash command's, the API's) against the configured one.
public enum SharedToken {
    /// In constant time, whatever was presented (`HexHMAC.tokenMatches`); an unset token matches nothing.
    public static func matches(_ given: String?, _ expected: Secret?) -> Bool {
        HexHMAC.tokenMatches(given, expected)
    }

    /// The credentials of an `Authorization` header of `scheme` (`Bearer`, `Token`; any case):
    /// `Bearer abc` → `abc`; nil for another scheme or none.
    public static func credentials(inAuthorization header: String?, scheme: String) -> String? {
        guard let parts = header?.split(separator: " ", maxSplits: 1), parts.count == 2,
            parts[0].lowercased() == scheme.lowercased()
        else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

/// Reading the JSON the servers send.
enum ChatServerJSON {
    static let decoder = JSONDecoder()
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func decode<T: Decodable>(_ type: T.Type, from response: ChatServerResponse, call: String) throws(ChatServerFailure) -> T {
        do {
            return try decoder.decode(type, from: response.body)
        } catch {
            throw .malformed("\(call): \(error)")
        }
    }

    static func encode(_ value: some Encodable) -> Data {
        // Our own request types only hold strings, numbers and arrays of them: encoding cannot fail.
        (try? encoder.encode(value)) ?? Data("{}".utf8)
    }
}
