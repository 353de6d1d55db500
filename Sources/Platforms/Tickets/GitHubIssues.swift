import AsyncHTTPClient
import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Opens, comments on and closes incidents' issues through GitHub's REST API (docs/tickets.md), and tells
/// the outbox what each answer means:
/// - 2xx: done; an opened issue's number and link go on the incident.
/// - 401 (`Bad credentials`), or 403 that is not a rate limit (the token may not write issues): the
///   `tickets` lane is parked until GitHub takes the token again.
/// - 403 or 429 with `retry-after`: wait that long; with `x-ratelimit-remaining: 0`: wait until
///   `x-ratelimit-reset`; a rate limit without either: a minute (GitHub's own advice).
/// - 422 (validation failed), 404, 410: this action can never succeed; dead letter, with GitHub's errors.
/// - 408, 5xx, network errors: retried with backoff.
public struct GitHubIssues: TicketClient {
    /// The REST API version these requests are written against.
    public static let apiVersion = "2022-11-28"

    private let config: GitHubConfig
    private let transport: HTTPTransport
    private let clock: any WallClock
    private let logger: Logger

    public init(config: GitHubConfig, httpClient: HTTPClient, clock: any WallClock, timeout: TimeAmount = .seconds(10), logger: Logger) {
        self.config = config
        self.transport = HTTPTransport(httpClient: httpClient, timeout: timeout)
        self.clock = clock
        self.logger = logger
    }

    /// `mayHaveBeenSentBefore`: an earlier attempt at this open may have created the issue without Klaxon
    /// hearing back; the repository's newest issues are searched for the incident's marker first.
    public func deliver(_ action: TicketAction, incident: Incident?, mayHaveBeenSentBefore: Bool) async throws(DeliveryFailure) -> Delivery {
        let repository = "/repos/\(action.target.owner)/\(action.target.repo)"
        switch action.operation {
        case .open(let title, let body, let labels):
            let marker = IncidentEngine.ticketMarker(action.incidentID, actionItem: action.actionItem)
            if mayHaveBeenSentBefore, let existing = try await findIssue(marked: marker, in: repository) {
                logger.notice("issue was opened by an earlier attempt", metadata: ["incident": "\(action.incidentID)", "issue": "\(existing.number)"])
                return delivery(of: existing, target: action.target)
            }
            var text = body
            // An action item's issue links the incident's (GitHub turns `#12` into a link both ways); the
            // incident's issue was opened first, so its number is known by now unless it was given up.
            if action.actionItem != nil, let parent = incident?.ticket?.number, parent > 0 {
                text = "Follow-up of #\(parent).\n\n" + text
            }
            let issue: Issue = try await send(.POST, repository + "/issues", body: NewIssue(title: title, body: text, labels: labels), expecting: Issue.self)
            return delivery(of: issue, target: action.target)
        case .comment(let body):
            let number = try issueNumber(of: incident, action)
            let comment: Comment = try await send(.POST, repository + "/issues/\(number)/comments", body: NewComment(body: body), expecting: Comment.self)
            return Delivery(platformMessageID: comment.id.map(String.init))
        case .close:
            let number = try issueNumber(of: incident, action)
            let issue: Issue = try await send(
                .PATCH, repository + "/issues/\(number)", body: IssueState(state: "closed", state_reason: "completed"), expecting: Issue.self)
            return Delivery(platformMessageID: "#\(issue.number)")
        case .reopen:
            let number = try issueNumber(of: incident, action)
            let issue: Issue = try await send(
                .PATCH, repository + "/issues/\(number)", body: IssueState(state: "open", state_reason: "reopened"), expecting: Issue.self)
            return Delivery(platformMessageID: "#\(issue.number)")
        }
    }

    private func delivery(of issue: Issue, target: TicketTarget) -> Delivery {
        Delivery(platformMessageID: "#\(issue.number)", ticket: TicketLink(target: target, number: issue.number, url: issue.html_url))
    }

    private func issueNumber(of incident: Incident?, _ action: TicketAction) throws(DeliveryFailure) -> Int {
        // Actions of one incident go out in order, so the open was delivered before this; without a number
        // it was given up (its dead letter says why) and there is no issue to change.
        if let item = action.actionItem {
            guard let number = incident?.actionItems?.first(where: { $0.number == item })?.ticket?.number else {
                throw .permanent("\(action.target): action item \(item) of \(action.incidentID) has no issue (its opening was given up)")
            }
            return number
        }
        guard let number = incident?.ticket?.number else {
            throw .permanent("\(action.target): \(action.incidentID) has no issue (its opening was given up)")
        }
        return number
    }

    /// The newest issues (open or closed), looking for the incident's marker in their bodies.
    private func findIssue(marked marker: String, in repository: String) async throws(DeliveryFailure) -> Issue? {
        let issues: [Issue] = try await send(
            .GET, repository + "/issues?state=all&sort=created&direction=desc&per_page=50", body: nil as NewComment?, expecting: [Issue].self)
        return issues.first { $0.pull_request == nil && ($0.body ?? "").contains(marker) }
    }

    // MARK: HTTP

    private func send<Body: Encodable, Answer: Decodable>(
        _ method: HTTPMethod, _ path: String, body: Body?, expecting: Answer.Type
    ) async throws(DeliveryFailure) -> Answer {
        var request = HTTPClientRequest(url: config.apiBaseURL + path)
        request.method = method
        // GitHub's documented headers: its media type, a User-Agent (requests without one are refused),
        // the API version, and the token as a bearer.
        request.headers.add(name: "Accept", value: "application/vnd.github+json")
        request.headers.add(name: "User-Agent", value: "Klaxon")
        request.headers.add(name: "X-GitHub-Api-Version", value: Self.apiVersion)
        request.headers.add(name: "Authorization", value: "Bearer \(config.token.exposedValue)")
        if let body {
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                request.body = .bytes(ByteBuffer(data: try encoder.encode(body)))
            } catch {
                throw .permanent("cannot encode the request: \(error)")
            }
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let what = "GitHub \(method) \(path.split(separator: "?").first ?? "")"
        let answer: HTTPTransport.Answer
        do {
            answer = try await transport.send(request)
        } catch {
            throw .transient("\(what): \(error.reason(urlIsSecret: false))")
        }
        let status = answer.status
        if HTTPOutcome(status: status) == .success {
            do {
                return try JSONDecoder().decode(Answer.self, from: answer.body)
            } catch {
                throw .transient("\(what): HTTP \(status) with an answer that could not be read: \(error)")
            }
        }
        // An error answer that is not GitHub's JSON (a proxy's page) still has its status to go by.
        let problem = (try? JSONDecoder().decode(GitHubError.self, from: answer.body))?.summary ?? "HTTP \(status)"
        throw Self.failure(status: status, headers: answer.headers, problem: "\(what): \(status) \(problem)", now: clock.now())
    }

    /// What an error answer means for the outbox.
    static func failure(status: Int, headers: HTTPHeaders, problem: String, now: Date) -> DeliveryFailure {
        let remaining = headers.first(name: "x-ratelimit-remaining").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let retryAfter = RateLimitHeader.retryAfter(headers, now: now)
        // GitHub answers a spent rate limit with 403 as well as 429, told apart by its headers and message.
        switch status {
        case 403, 429:
            if let retryAfter { return .rateLimited(retryAfter: max(1, retryAfter)) }
            if remaining == 0 {
                let reset = RateLimitHeader.number(headers, "x-ratelimit-reset").map { Date(timeIntervalSince1970: $0) }
                return .rateLimited(retryAfter: max(1, reset.map { $0.timeIntervalSince(now) } ?? 60))
            }
            if status == 429 || problem.localizedCaseInsensitiveContains("rate limit") { return .rateLimited(retryAfter: 60) }
            return .unauthorized(problem)
        default:
            return HTTPOutcome(status: status).deliveryFailure(reason: problem, refused: problem, retryAfter: 60) ?? .transient(problem)
        }
    }

    // MARK: Payloads (GitHub's field names)

    struct NewIssue: Encodable {
        var title: String
        var body: String
        var labels: [String]
    }

    struct NewComment: Encodable {
        var body: String
    }

    struct IssueState: Encodable {
        var state: String
        var state_reason: String
    }

    struct Issue: Decodable {
        var number: Int
        var html_url: String?
        var body: String?
        /// Present on pull requests, which the issues listing includes.
        var pull_request: PullRequestMarker?
    }

    /// Only whether the key is there matters.
    struct PullRequestMarker: Decodable {}

    struct Comment: Decodable {
        var id: Int?
    }

    /// `{"message": "Validation Failed", "errors": [{"resource": "Issue", "field": "title", "code": "missing_field"}]}`.
    struct GitHubError: Decodable {
        struct Detail: Decodable {
            var resource: String?
            var field: String?
            var code: String?
            var message: String?
        }

        var message: String?
        var errors: [Detail]?

        var summary: String {
            let details = (errors ?? []).map { detail in
                [detail.resource, detail.field, detail.code, detail.message].compactMap { $0 }.joined(separator: " ")
            }
            return ([message ?? "error"] + details).joined(separator: "; ")
        }
    }
}
