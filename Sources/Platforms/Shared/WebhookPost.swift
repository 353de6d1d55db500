import AsyncHTTPClient
import Foundation
import IncidentCore
import NIOCore
import NIOHTTP1

/// One JSON POST to a webhook (pager and status gateways, Discord) through the shared transport: a
/// network error is reported as transient, and up to 4 KiB of the answer is kept (a failure's body says
/// why). The caller reads the status (`HTTPOutcome`).
enum WebhookPost {
    /// The transport every webhook client sends through.
    static func transport(httpClient: HTTPClient, timeout: TimeAmount) -> HTTPTransport {
        HTTPTransport(httpClient: httpClient, timeout: timeout, maxResponseBytes: 4096, oversized: .truncate)
    }

    /// `receiver` names the webhook in errors (`pager webhook p1`). `urlIsSecret`: the URL carries a token
    /// (Discord's), so a network error is reported by its type only, never by a description that could
    /// quote the URL.
    static func send(
        _ body: Data, to url: String, headers: [(String, String)], transport: HTTPTransport, receiver: String, urlIsSecret: Bool = false
    ) async throws(DeliveryFailure) -> HTTPTransport.Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Klaxon")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            return try await transport.send(request)
        } catch {
            throw .transient("\(receiver): \(error.reason(urlIsSecret: urlIsSecret))")
        }
    }
}
