import Foundation
import HTTPTypes
import Hummingbird
import IncidentCore
import Logging
import NIOCore
import Platforms
import Scheduler

/// The outbox's dead letters, behind the `/api` token: what was given up on and why, and the two things
/// an operator can do about a dead message (`klaxon outbox list|retry ID|drop ID`).
///
/// - `GET /api/outbox?state=dead|pending|delivered&limit=N` (default dead, 100): newest first.
/// - `POST /api/outbox/{id}/retry`: the dead message goes back in its queue, due now, attempts reset.
/// - `POST /api/outbox/{id}/drop`: the dead message is deleted.
/// Both POSTs change state, so they take the same browser guard as `/api/commands` (JSON only, no
/// foreign `Origin`), and 404 for an id that is not a dead message. Each POST, done or refused, is a line
/// of the audit log with the caller's `user` (from the JSON body) and remote address.
struct OutboxController {
    let store: any IncidentStore
    let clock: any WallClock
    let outboxBell: Doorbell
    /// Resolves the caller's `user` to a configured person, as for console commands.
    let people: KlaxonConfig
    let logger: Logger

    func addRoutes(to api: RouterGroup<KlaxonRequestContext>) {
        api.get("outbox") { request, _ in
            let stateName = request.uri.queryParameters.get("state") ?? OutboxState.dead.rawValue
            guard let state = OutboxState(rawValue: stateName) else {
                return Response.error("state must be pending, delivered or dead", status: .badRequest)
            }
            let limit = min(max(request.uri.queryParameters.get("limit").flatMap(Int.init) ?? 100, 1), 1000)
            return try Response.json(try await store.outboxEntries(state: state, limit: limit).map(OutboxEntryView.init))
        }
        api.post("outbox/:id/retry") { request, context in
            try await act(.retry, request: request, context: context)
        }
        api.post("outbox/:id/drop") { request, context in
            try await act(.drop, request: request, context: context)
        }
    }

    private enum Action: String {
        case retry, drop
    }

    /// Retries or drops a dead message, and writes the call into the audit log whatever its outcome: who
    /// (the body's `user`, else `api`), from where, and what came of it.
    private func act(_ action: Action, request: Request, context: KlaxonRequestContext) async throws -> Response {
        var entry = AuditEntry(
            at: clock.now(), platform: .console, userID: "api", userName: nil, personID: nil, channel: nil,
            text: "POST \(request.uri.path)", outcome: CommandOutcome.applied.rawValue, reason: nil, incidentID: nil,
            remoteAddress: context.remoteAddressText)
        func refuse(_ message: String, status: HTTPResponse.Status, outcome: CommandOutcome) async -> Response {
            entry.outcome = outcome.rawValue
            entry.reason = message
            await record(entry)
            return Response.error(message, status: status)
        }
        if let problem = BrowserRequestGuard.problem(of: request) {
            return await refuse(problem.message, status: problem.status, outcome: .denied)
        }
        let body = try await request.collectBody(limit: Self.maxBodyBytes)
        if body.readableBytes > 0 {
            do {
                let caller = try APIJSON.decoder.decode(OutboxActionRequest.self, from: Data(body.readableBytesView))
                if let user = caller.user?.trimmingCharacters(in: .whitespaces), !user.isEmpty {
                    entry.userID = user
                    entry.userName = user
                    entry.personID = people.personID(for: ChatUser(id: user, name: user), on: .console)
                }
            } catch {
                return await refuse("expected JSON {\"user\": \"alice\"} or {}", status: .badRequest, outcome: .invalid)
            }
        }
        guard let id = context.parameters.get("id").flatMap(Int64.init) else {
            return await refuse("the id must be a number", status: .badRequest, outcome: .invalid)
        }
        let done: Bool
        do {
            switch action {
            case .retry: done = try await store.requeueDeadOutboxMessage(id, now: clock.now())
            case .drop: done = try await store.deleteDeadOutboxMessage(id)
            }
        } catch {
            _ = await refuse("not saved: the store refused the change", status: .serviceUnavailable, outcome: .failed)
            throw error
        }
        guard done else {
            return await refuse("no dead outbox message \(id)", status: .notFound, outcome: .rejected)
        }
        await record(entry)
        switch action {
        case .retry:
            logger.notice("dead outbox message queued again", metadata: ["outbox_id": "\(id)", "user": "\(entry.userID)"])
            outboxBell.ring()
            return try Response.json(OutboxActionAnswer(id: id, outcome: "queued"))
        case .drop:
            logger.notice("dead outbox message dropped", metadata: ["outbox_id": "\(id)", "user": "\(entry.userID)"])
            return try Response.json(OutboxActionAnswer(id: id, outcome: "dropped"))
        }
    }

    /// The body is a user name at most.
    private static let maxBodyBytes = 16 << 10

    /// A line that cannot be saved is logged instead: the call's own answer stands either way.
    private func record(_ entry: AuditEntry) async {
        var changes = ChangeSet()
        changes.audit = [entry]
        do {
            try await store.commit(changes)
        } catch {
            logger.error(
                "audit line not saved", metadata: ["text": "\(entry.text)", "outcome": "\(entry.outcome)", "error": "\(error)"])
        }
    }
}

/// What `klaxon outbox retry|drop` sends: who asks, for the audit log.
struct OutboxActionRequest: Codable {
    var user: String?
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
