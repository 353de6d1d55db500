import Foundation
import Hummingbird
import IncidentCore
import Logging
import Scheduler

/// The outbox's dead letters, behind the `/api` token: what was given up on and why, and the two things
/// an operator can do about a dead message (`klaxon outbox list|retry ID|drop ID`).
///
/// - `GET /api/outbox?state=dead|pending|delivered&limit=N` (default dead, 100): newest first.
/// - `POST /api/outbox/{id}/retry`: the dead message goes back in its queue, due now, attempts reset.
/// - `POST /api/outbox/{id}/drop`: the dead message is deleted.
/// Both POSTs change state, so they take the same browser guard as `/api/commands` (JSON only, no
/// foreign `Origin`), and 404 for an id that is not a dead message.
struct OutboxController {
    let store: any IncidentStore
    let clock: any WallClock
    let outboxBell: Doorbell
    let logger: Logger

    func addRoutes(to api: RouterGroup<BasicRequestContext>) {
        api.get("outbox") { request, _ in
            let stateName = request.uri.queryParameters.get("state") ?? OutboxState.dead.rawValue
            guard let state = OutboxState(rawValue: stateName) else {
                return Response.error("state must be pending, delivered or dead", status: .badRequest)
            }
            let limit = min(max(request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 100, 1), 1000)
            return try Response.json(try await store.outboxEntries(state: state, limit: limit).map(OutboxEntryView.init))
        }
        api.post("outbox/:id/retry") { request, context in
            if let refusal = BrowserRequestGuard.refusal(of: request) { return refusal }
            guard let id = context.parameters.get("id").flatMap(Int64.init) else {
                return Response.error("the id must be a number", status: .badRequest)
            }
            guard try await store.requeueDeadOutboxMessage(id, now: clock.now()) else {
                return Response.error("no dead outbox message \(id)", status: .notFound)
            }
            logger.notice("dead outbox message queued again", metadata: ["outbox_id": "\(id)"])
            outboxBell.ring()
            return try Response.json(OutboxActionAnswer(id: id, outcome: "queued"))
        }
        api.post("outbox/:id/drop") { request, context in
            if let refusal = BrowserRequestGuard.refusal(of: request) { return refusal }
            guard let id = context.parameters.get("id").flatMap(Int64.init) else {
                return Response.error("the id must be a number", status: .badRequest)
            }
            guard try await store.deleteDeadOutboxMessage(id) else {
                return Response.error("no dead outbox message \(id)", status: .notFound)
            }
            logger.notice("dead outbox message dropped", metadata: ["outbox_id": "\(id)"])
            return try Response.json(OutboxActionAnswer(id: id, outcome: "dropped"))
        }
    }
}

struct OutboxActionAnswer: Codable {
    var id: Int64
    var outcome: String
}

/// An outbox row in `GET /api/outbox`: the incident as people write it (`INC-42`).
struct OutboxEntryView: Codable {
    var id: Int64
    var lane: String
    var platform: String
    var incident: String?
    var kind: String
    var state: String
    var attempts: Int
    var createdAt: Date
    var lastError: String?

    init(_ entry: OutboxEntry) {
        id = entry.id
        lane = entry.lane
        platform = entry.platform
        incident = entry.incidentID.map { "\($0)" }
        kind = entry.kind
        state = entry.state.rawValue
        attempts = entry.attempts
        createdAt = entry.createdAt
        lastError = entry.lastError
    }
}
