import Foundation
import IncidentCore
import NIOHTTP1
import Testing

@testable import Platforms

/// GitHub's error answers as the outbox reads them, header by header (docs/tickets.md, "Failures").
@Suite("Tickets: GitHub's answers")
struct GitHubAnswerTests {
    static let now = Date(timeIntervalSince1970: 1_796_634_000)

    static func failure(_ status: Int, _ headers: [(String, String)] = [], problem: String = "p") -> DeliveryFailure {
        GitHubIssues.failure(status: status, headers: HTTPHeaders(headers), problem: problem, now: now)
    }

    @Test func rateLimitsWaitAsTheHeadersSay() {
        #expect(Self.failure(403, [("retry-after", "42")]) == .rateLimited(retryAfter: 42))
        #expect(Self.failure(429, [("retry-after", "42"), ("x-ratelimit-remaining", "0")]) == .rateLimited(retryAfter: 42), "retry-after first")
        #expect(
            Self.failure(403, [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "\(Int(Self.now.timeIntervalSince1970) + 300)")])
                == .rateLimited(retryAfter: 300))
        #expect(
            Self.failure(403, [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "\(Int(Self.now.timeIntervalSince1970) - 5)")])
                == .rateLimited(retryAfter: 1), "a reset in the past: at once, not never")
        // A secondary rate limit without headers: a minute, as GitHub advises.
        #expect(Self.failure(403, problem: "You have exceeded a secondary rate limit") == .rateLimited(retryAfter: 60))
        #expect(Self.failure(429) == .rateLimited(retryAfter: 60))
    }

    @Test func credentialsAndPermissionsParkTheLane() {
        #expect(Self.failure(401, problem: "401 Bad credentials") == .unauthorized("401 Bad credentials"))
        #expect(
            Self.failure(403, [("x-ratelimit-remaining", "4999")], problem: "403 Resource not accessible by personal access token")
                == .unauthorized("403 Resource not accessible by personal access token"))
    }

    @Test func refusalsOfTheActionAreDeadAndOutagesRetried() {
        #expect(Self.failure(422, problem: "422 Validation Failed") == .permanent("422 Validation Failed"))
        #expect(Self.failure(404) == .permanent("p"))
        #expect(Self.failure(410) == .permanent("p"))
        #expect(Self.failure(502) == .transient("p"))
        #expect(Self.failure(408) == .transient("p"))
    }

    @Test func targetsParseOnlyAsGitHubRepositories() {
        #expect(TicketTarget(parsing: "github:acme/api") == TicketTarget(owner: "acme", repo: "api"))
        #expect(TicketTarget(parsing: "github:acme/api.js") == TicketTarget(owner: "acme", repo: "api.js"))
        for bad in ["acme/api", "github:acme", "github:acme/api/extra", "github:/api", "github:acme/..", "github:ac me/api", "jira:acme/api"] {
            #expect(TicketTarget(parsing: bad) == nil, "\(bad)")
        }
    }
}
