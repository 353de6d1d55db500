import Foundation
import HTTPTypes
import Hummingbird
import IncidentCore
import Logging
import NIOCore
import Platforms

/// `POST /alerts/<kind>/<source>`: monitoring notifications in (docs/alerts.md). The source must be
/// configured with that kind; the request must carry its token or signature (401 otherwise, nothing
/// recorded but an audit line, as for every call refused at the door); the body must decode (400 naming
/// the JSON path of the first problem). Then the notification
/// goes through the same engine, lanes, store transaction and outbox as a command. A store failure answers
/// 503, so the sender retries: Alertmanager does on 5xx, and a redelivery of the same notification is
/// recognised and changes nothing.
struct AlertsController {
    let commands: CommandService
    let sources: [AlertSourceConfig]
    let maxBodyBytes: Int
    let metrics: KlaxonMetrics
    let logger: Logger
    private let verifier = AlertRequestVerifier()

    init(commands: CommandService, sources: [AlertSourceConfig], maxBodyBytes: Int, metrics: KlaxonMetrics, logger: Logger) {
        self.commands = commands
        self.sources = sources
        self.maxBodyBytes = maxBodyBytes
        self.metrics = metrics
        self.logger = logger
    }

    func addRoutes(to router: Router<KlaxonRequestContext>) {
        router.post("alerts/:kind/:source") { request, context in
            try await receive(request, context: context)
        }
    }

    private func receive(_ request: Request, context: KlaxonRequestContext) async throws -> Response {
        let kindName = context.parameters.get("kind") ?? ""
        let sourceID = context.parameters.get("source") ?? ""
        // As called, for the audit line; bounded, since the caller chose it.
        let route = String("/alerts/\(kindName)/\(sourceID)".prefix(200))
        let named = sources.first { $0.id == sourceID }
        guard let kind = AlertSourceKind(rawValue: kindName) else {
            return await refuse(named, route: route, "unknown alert route /alerts/\(kindName)/…: use alertmanager, grafana or webhook", status: .notFound)
        }
        guard let source = named else {
            return await refuse(nil, route: route, "no alert source \"\(sourceID)\" is configured (alerts.sources)", status: .notFound)
        }
        guard source.kind == kind else {
            return await refuse(source, route: route, "source \"\(source.id)\" posts to /alerts/\(source.kind.rawValue)/\(source.id)", status: .notFound)
        }
        let body: Data
        do {
            body = Data(try await request.collectBody(limit: maxBodyBytes).readableBytesView)
        } catch let error as NIOTooManyBytesError {
            // Answered 413 by Hummingbird (`HTTPResponseError`), as before; audited first.
            await audit(source, route: route, reason: "\(error.status.code): the body is over \(maxBodyBytes) bytes (server.maxBodyBytes)")
            throw error
        }
        guard
            verifier.isAuthorized(
                source, authorization: request.headers[.authorization],
                signature: request.headers[HTTPField.Name(AlertRequestVerifier.signatureHeader)!], body: body)
        else {
            metrics.recordAlert(source: source.id, outcome: "unauthorized")
            return await refuse(source, route: route, "missing or wrong credentials for alert source \"\(source.id)\"", status: .unauthorized)
        }
        let notification: AlertNotification
        do {
            notification = try AlertPayloads.decode(body, kind: kind, source: source.id)
        } catch {
            metrics.recordAlert(source: source.id, outcome: "malformed")
            return await refuse(source, route: route, error.description, status: .badRequest)
        }
        let result = await commands.ingest(notification, from: source)
        metrics.recordAlert(source: source.id, outcome: result.outcome.rawValue)
        if result.outcome == .failed {
            logger.warning("alert notification not saved", metadata: ["source": "\(source.id)", "group": "\(notification.groupKey)"])
            return .error(result.reply.text, status: .serviceUnavailable)
        }
        return try .json(AlertAnswer(outcome: result.outcome.rawValue, incident: result.reply.incidentID?.description, detail: result.reply.text))
    }
}

extension AlertsController {
    /// The answer to a call refused at the door, after its audit line.
    private func refuse(_ source: AlertSourceConfig?, route: String, _ message: String, status: HTTPResponse.Status) async -> Response {
        await audit(source, route: route, reason: "\(status.code): \(message)")
        return .error(message, status: status)
    }

    /// The answer does not wait on a store that cannot take the line; the log says so instead.
    private func audit(_ source: AlertSourceConfig?, route: String, reason: String) async {
        do {
            try await commands.auditRefusedAlertCall(source: source, route: route, reason: reason)
        } catch {
            logger.warning("could not write the audit line of a refused alert call", metadata: ["route": "\(route)", "error": "\(error)"])
        }
    }
}

struct AlertAnswer: Codable, Sendable {
    var outcome: String
    var incident: String?
    var detail: String
}
