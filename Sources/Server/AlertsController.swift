import Foundation
import HTTPTypes
import Hummingbird
import IncidentCore
import Logging
import NIOCore
import Platforms

/// `POST /alerts/<kind>/<source>`: monitoring notifications in (docs/alerts.md). The source must be
/// configured with that kind; the request must carry its token or signature (401 otherwise, nothing
/// recorded); the body must decode (400 naming the JSON path of the first problem). Then the notification
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
        guard let kind = AlertSourceKind(rawValue: kindName) else {
            return .error("unknown alert route /alerts/\(kindName)/…: use alertmanager, grafana or webhook", status: .notFound)
        }
        guard let source = sources.first(where: { $0.id == sourceID }) else {
            return .error("no alert source \"\(sourceID)\" is configured (alerts.sources)", status: .notFound)
        }
        guard source.kind == kind else {
            return .error("source \"\(source.id)\" posts to /alerts/\(source.kind.rawValue)/\(source.id)", status: .notFound)
        }
        let body = Data(try await request.collectBody(limit: maxBodyBytes).readableBytesView)
        guard verifier.isAuthorized(
            source, authorization: request.headers[.authorization],
            signature: request.headers[HTTPField.Name(AlertRequestVerifier.signatureHeader)!], body: body)
        else {
            metrics.recordAlert(source: source.id, outcome: "unauthorized")
            return .error("missing or wrong credentials for alert source \"\(source.id)\"", status: .unauthorized)
        }
        let notification: AlertNotification
        do {
            notification = try AlertPayloads.decode(body, kind: kind, source: source.id)
        } catch {
            metrics.recordAlert(source: source.id, outcome: "malformed")
            return .error(error.description, status: .badRequest)
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

struct AlertAnswer: Codable, Sendable {
    var outcome: String
    var incident: String?
    var detail: String
}
