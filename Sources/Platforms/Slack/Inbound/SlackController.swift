import Foundation
import HTTPTypes
import Hummingbird
import IncidentCore
import Logging
import NIOCore

/// Slack's request URLs, as `slack-app-manifest.yml` names them: `POST /slack/commands`,
/// `/slack/interactions` and `/slack/events`. Every request is checked against the signing secret before
/// anything is read from it; a request that fails gets 401 and changes nothing.
struct SlackController {
    let inbound: SlackInbound
    let verifier: SlackRequestVerifier
    let maxBodyBytes: Int
    let logger: Logger

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("slack/commands") { request, _ in try await command(request) }
        router.post("slack/events") { request, _ in try await event(request) }
        router.post("slack/interactions") { request, _ in try await interaction(request) }
    }

    private func command(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        let form = String(decoding: body.readableBytesView, as: UTF8.self)
        let command = Result { try SlackSlashCommand(form: form) }
        // Slack checks the certificate of a distributed app's URL with `ssl_check=1` (and no command): nothing
        // to run, so it is answered like bolt answers it, before verification.
        if case .failure = command, SlackCertificateCheck.isCheck(form: form) { return Response(status: .ok) }
        try verify(request, body: body)
        switch command {
        case .success(let command):
            return try Response.json(await inbound.slashCommand(command))
        case .failure(let error):
            return undecodable("slash command", error)
        }
    }

    private func event(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        try verify(request, body: body)
        let envelope: SlackEventEnvelope
        do {
            envelope = try JSONDecoder().decode(SlackEventEnvelope.self, from: Data(body.readableBytesView))
        } catch { return undecodable("Slack event", error) }
        let retry = request.headers[Self.retryNumber].flatMap { Int($0) }
        switch await inbound.event(envelope, retryAttempt: retry) {
        case .challenge(let challenge):
            return try Response.json(["challenge": challenge])
        case .acknowledged:
            return Response(status: .ok)
        }
    }

    private func interaction(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        try verify(request, body: body)
        let interaction: SlackInteraction
        do {
            interaction = try SlackInteraction(form: String(decoding: body.readableBytesView, as: UTF8.self))
        } catch { return undecodable("Slack interaction", error) }
        guard let answer = await inbound.interaction(interaction) else { return Response(status: .ok) }
        return try Response.json(answer)
    }

    /// A signed request whose body does not decode as `what`: 400, and a log line saying why.
    private func undecodable(_ what: String, _ error: any Error) -> Response {
        logger.warning("slack request refused: cannot decode it", metadata: ["expected": "\(what)", "error": "\(error)"])
        return Response.error("not a \(what)", status: .badRequest)
    }

    static let signature = HTTPField.Name("X-Slack-Signature")!
    static let timestamp = HTTPField.Name("X-Slack-Request-Timestamp")!
    static let retryNumber = HTTPField.Name("X-Slack-Retry-Num")!

    private func verify(_ request: Request, body: ByteBuffer) throws {
        do {
            try verifier.verify(body: Data(body.readableBytesView), timestamp: request.headers[Self.timestamp], signature: request.headers[Self.signature])
        } catch {
            logger.warning("slack request refused", metadata: ["path": "\(request.uri.path)", "reason": "\(error)"])
            throw HTTPError(.unauthorized, message: "invalid Slack signature")
        }
    }
}
