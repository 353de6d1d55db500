import Foundation
import HTTPTypes
import Hummingbird
import IncidentCore
import Platforms

/// Who may use `/api/*`: with `server.apiToken` set, only requests carrying
/// `Authorization: Bearer <token>` (401 otherwise); without it, anyone who can reach the loopback
/// address the daemon is then confined to (`ServerConfig.exposureProblem`).
struct APITokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: Secret?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return try await next(request, context) }
        let presented = SharedToken.credentials(inAuthorization: request.headers[.authorization], scheme: "Bearer")
        guard SharedToken.matches(presented, token) else {
            var response = Response.error("missing or wrong API token: send Authorization: Bearer <server.apiToken>", status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }
}

/// What a web page in the operator's browser could send to the daemon, refused before a command runs.
///
/// A page on any site may POST to `127.0.0.1` with `Content-Type: text/plain` and no CORS preflight, and
/// its fetch carries the page's `Origin`; `klaxon cmd`, curl and other programs send no `Origin` at all.
enum BrowserRequestGuard {
    /// nil when `request` may go on; else the response refusing it.
    static func refusal(of request: Request) -> Response? {
        problem(of: request).map { Response.error($0.message, status: $0.status) }
    }

    /// Why `request` is refused, for callers that also audit the refusal; nil when it may go on.
    static func problem(of request: Request) -> (message: String, status: HTTPResponse.Status)? {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            return ("Content-Type must be application/json", .unsupportedMediaType)
        }
        if let origin = request.headers[.origin], !isOwnOrigin(origin, host: request.head.authority) {
            return ("cross-origin requests are refused", .forbidden)
        }
        return nil
    }

    /// Whether `origin` is the daemon's own, as the request addressed it (`Host`): a page the daemon
    /// served itself. Case-insensitive, as host names are; `null` (sandboxed or file pages) never is.
    static func isOwnOrigin(_ origin: String, host: String?) -> Bool {
        guard let host, !host.isEmpty else { return false }
        let origin = origin.lowercased()
        return ["http://", "https://"].contains { origin == $0 + host.lowercased() }
    }
}
