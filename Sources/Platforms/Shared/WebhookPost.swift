import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1

/// One JSON POST to a webhook (pager and status gateways, Discord): sent with a deadline, a network error
/// reported as transient, and up to 4 KiB of the answer read (a failure's body says why; reading it also
/// frees the connection). The caller classifies the status.
enum WebhookPost {
    /// `receiver` names the webhook in errors (`pager webhook p1`). `urlIsSecret`: the URL carries a token
    /// (Discord's), so a network error is reported by its type only, never by a description that could
    /// quote the URL.
    static func send(
        _ body: Data, to url: String, headers: [(String, String)], httpClient: HTTPClient, timeout: TimeAmount, receiver: String,
        urlIsSecret: Bool = false, logger: Logger
    ) async throws(DeliveryFailure) -> (response: HTTPClientResponse, answer: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Klaxon")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: timeout)
        } catch {
            throw .transient("\(receiver): \(urlIsSecret ? "\(type(of: error))" : "\(error)")")
        }
        do {
            return (response, String(buffer: try await response.body.collect(upTo: 4096)))
        } catch {
            // The status decides; an unreadable body only loses the reason (and a 429's wait in the body).
            logger.debug("webhook answer unreadable", metadata: ["receiver": "\(receiver)", "error": "\(type(of: error))"])
            return (response, "")
        }
    }
}
