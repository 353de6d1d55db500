import Foundation
import HTTPTypes
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// Tickets end to end against a GitHub-shaped server over loopback: issues opened with the severity's
/// labels, linked on the incident, commented on and closed at resolution; low severities filed as tickets
/// instead of channels; and each documented failure handled as GitHub asks.
@Suite("Tickets: GitHub issues through the outbox")
struct TicketTests {
    static let api = TicketTarget(owner: "acme", repo: "api")

    static func daemon(_ directory: TemporaryDirectory, github: FakeGitHub, clock: ManualClock) async throws -> TestDaemon {
        try await TestDaemon.open(path: directory.file("tickets.sqlite"), clock: clock) { config in
            config.tickets = TicketsConfig(github: GitHubConfig(token: Secret(FakeGitHub.token), apiBaseURL: github.baseURL))
            // Runbook 003: a GitHub issue labelled bug + P0-critical (SEV-1) or P1-high (SEV-2).
            config.editSeverity("sev1") { $0.ticket = TicketPolicy(to: Self.api, labels: ["bug", "P0-critical"]) }
            config.editSeverity("sev2") { $0.ticket = TicketPolicy(to: Self.api, labels: ["bug", "P1-high"]) }
            // Runbooks 000 and 002: P3 / SEV3-4 are filed as tickets, without a channel.
            config.editSeverity("sev3") {
                $0.ticket = TicketPolicy(to: Self.api, labels: ["P3"])
                $0.openAs = .ticket
            }
        }
    }

    static func entries(_ klaxon: TestDaemon, _ state: OutboxState) async throws -> [OutboxEntry] {
        try await klaxon.store.outboxEntries(state: state, limit: 100).filter { $0.lane == "tickets" }.sorted { $0.id < $1.id }
    }

    static func list(_ klaxon: TestDaemon) async -> String {
        let context = CommandContext(platform: .console, conversation: Conversation(platform: .console, channelID: "incidents"), user: Fixture.user("alice"))
        return await klaxon.daemon.commands.handle(text: "list", context: context).reply.text
    }

    @Test func anIssueIsOpenedLabelledLinkedAndClosedAtResolution() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await Self.daemon(directory, github: github, clock: clock)

            let id = try await klaxon.declare("sev1", "Checkout is down")
            #expect(try await Self.entries(klaxon, .pending).map(\.kind) == ["ticket_open"])
            await klaxon.sender.drainOnce()

            let issue = try #require(github.issues.first)
            #expect(issue.title == "[SEV1] \(id): Checkout is down")
            #expect(issue.labels == ["bug", "P0-critical"])  // 003-09
            #expect(issue.body.contains(IncidentEngine.ticketMarker(id)))
            let incident = try #require(try await klaxon.store.incident(id))
            #expect(incident.ticket == TicketLink(target: Self.api, number: 1, url: "https://github.com/acme/api/issues/1"))
            #expect(await Self.list(klaxon).contains("ticket https://github.com/acme/api/issues/1"))
            #expect(
                try await klaxon.store.outboxMessages(incident: id).contains { if case .openRoom = $0.action { true } else { false } },
                "a SEV1 still gets its channel")

            await klaxon.run("resolve \(id) rolled back the deploy", as: "alice")
            await klaxon.sender.drainOnce()
            let closed = try #require(github.issues.first)
            #expect(closed.comments.count == 1)
            #expect(closed.comments.first?.contains("rolled back the deploy") == true)
            #expect(closed.state == "closed")
            #expect(closed.stateReason == "completed")
            #expect(try await Self.entries(klaxon, .delivered).map(\.kind) == ["ticket_open", "ticket_comment", "ticket_close"])

            // GitHub's documented request headers, on every request.
            for request in github.requests {
                #expect(request.headers["accept"] == "application/vnd.github+json")
                #expect(request.headers["x-github-api-version"] == "2022-11-28")
                #expect(request.headers["user-agent"]?.isEmpty == false)
                #expect(request.headers["authorization"] == "Bearer \(FakeGitHub.token)")
            }
            #expect(
                github.requests.map { "\($0.method) \($0.path)" } == [
                    "POST /repos/acme/api/issues", "POST /repos/acme/api/issues/1/comments", "PATCH /repos/acme/api/issues/1",
                ])
            try await klaxon.close()
        }
    }

    @Test func aLowSeverityIsFiledAsATicketInsteadOfAChannel() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await Self.daemon(directory, github: github, clock: clock)

            let result = await klaxon.run("declare sev3 Typo on the pricing page")
            let id = try #require(result.reply.incidentID)
            #expect(result.reply.text.contains("No channel: filed as a ticket in github:acme/api"))
            await klaxon.sender.drainOnce()
            // 000-24, 002-06: no channel is opened; the ticket is the record.
            let actions = try await klaxon.store.outboxMessages(incident: id).map(\.action)
            #expect(!actions.contains { if case .openRoom = $0 { true } else { false } })
            #expect(github.issues.map(\.labels) == [["P3"]])
            #expect(try await klaxon.store.incident(id)?.room == nil)
            // Its messages went where it was declared.
            #expect(try await klaxon.consoleLines().contains { $0.channel == "incidents" && $0.text.contains("Typo on the pricing page") })
            #expect(!(await Self.list(klaxon)).contains("#incident-"), "no channel to name")
            try await klaxon.close()
        }
    }

    @Test func badCredentialsParkTheLaneUntilGitHubTakesTheTokenAgain() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await Self.daemon(directory, github: github, clock: clock)
            github.script(.init(status: .unauthorized, message: "Bad credentials"))

            let id = try await klaxon.declare("sev2", "Search is slow")
            await klaxon.sender.drainOnce()
            let parked = try #require(klaxon.sender.health.parked(.tickets))
            #expect(parked.reason.contains("401 Bad credentials"))
            #expect(try await Self.entries(klaxon, .pending).count == 1, "kept, not given up")
            #expect(
                try await klaxon.store.outboxMessages(incident: id).filter { $0.lane != .tickets }.allSatisfy { $0.state == .delivered }, "chat is not held up")

            clock.advance(by: 5)  // the first probe
            await klaxon.sender.drainOnce()
            #expect(klaxon.sender.health.parked(.tickets) == nil)
            #expect(github.issues.map(\.labels) == [["bug", "P1-high"]])
            try await klaxon.close()
        }
    }

    @Test func rateLimitsWaitForTheResetOrTheRetryAfter() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await Self.daemon(directory, github: github, clock: clock)
            let reset = Int(clock.now().timeIntervalSince1970) + 120
            github.script(
                .init(
                    status: .forbidden, headers: ["x-ratelimit-remaining": "0", "x-ratelimit-reset": "\(reset)", "x-ratelimit-limit": "5000"],
                    message: "API rate limit exceeded for user ID 1."),
                .init(status: .tooManyRequests, headers: ["retry-after": "30"], message: "You have exceeded a secondary rate limit."))

            _ = try await klaxon.declare("sev2", "Search is slow")
            await klaxon.sender.drainOnce()
            clock.advance(by: 100)  // before x-ratelimit-reset
            await klaxon.sender.drainOnce()
            #expect(github.requests.count == 1, "nothing sent before the reset")
            clock.advance(by: 21)
            await klaxon.sender.drainOnce()
            #expect(github.requests.count == 2)
            clock.advance(by: 25)  // retry-after is 30 s
            await klaxon.sender.drainOnce()
            #expect(github.requests.count == 2)
            clock.advance(by: 6)
            await klaxon.sender.drainOnce()
            #expect(github.issues.count == 1)
            let delivered = try #require(try await Self.entries(klaxon, .delivered).first)
            #expect(delivered.attempts == 0, "waiting for a rate limit is not a failed attempt")
            #expect(klaxon.sender.health.parked(.tickets) == nil)
            try await klaxon.close()
        }
    }

    @Test func aValidationFailureGoesToTheDeadLetters() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await Self.daemon(directory, github: github, clock: clock)
            github.script(
                .init(
                    status: .unprocessableContent, message: "Validation Failed", errors: [["resource": "Issue", "field": "labels", "code": "invalid"]]))

            let id = try await klaxon.declare("sev2", "Search is slow")
            await klaxon.sender.drainOnce()
            clock.advance(by: 3600)
            await klaxon.sender.drainOnce()
            let dead = try #require(try await Self.entries(klaxon, .dead).first)
            #expect(dead.kind == "ticket_open")
            #expect(dead.lastError?.contains("422 Validation Failed; Issue labels invalid") == true, "\(String(describing: dead.lastError))")
            #expect(github.requests.count == 1, "not retried")
            #expect(try await klaxon.store.incident(id)?.ticket?.number == nil)

            // Resolving later: nothing to comment on or close, and the reason says so.
            await klaxon.run("resolve \(id)")
            await klaxon.sender.drainOnce()
            let later = try await Self.entries(klaxon, .dead)
            #expect(later.map(\.kind) == ["ticket_open", "ticket_comment", "ticket_close"])
            #expect(later.last?.lastError?.contains("has no issue") == true)
            try await klaxon.close()
        }
    }

    @Test func aRetriedOpenFindsTheIssueAnEarlierAttemptCreated() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await Self.daemon(directory, github: github, clock: clock)
            // The issue is created, but the answer is lost to a gateway error.
            github.script(.init(status: .badGateway, message: "Server Error", createFirst: true))

            let id = try await klaxon.declare("sev2", "Search is slow")
            await klaxon.sender.drainOnce()
            #expect(github.issues.count == 1)
            #expect(try await Self.entries(klaxon, .pending).first?.attempts == 1)
            clock.advance(by: 2)
            await klaxon.sender.drainOnce()
            #expect(github.issues.count == 1, "not filed twice")
            #expect(github.requests.map(\.method) == ["POST", "GET"])
            #expect(try await klaxon.store.incident(id)?.ticket?.number == 1)
            try await klaxon.close()
        }
    }
}
