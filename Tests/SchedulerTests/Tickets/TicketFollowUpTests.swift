import Foundation
import HTTPTypes
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// What happens to an incident's issue after it was filed: a reopened incident reopens it, and action
/// items become issues of their own, linked from the incident and closed by `/incident action done`.
/// Against the GitHub-shaped fake over loopback, through the outbox.
@Suite("Tickets: reopening and action items")
struct TicketFollowUpTests {
    static func issueLinks(_ klaxon: TestDaemon, _ id: IncidentID) async throws -> [Int: TicketLink] {
        let items = try await klaxon.store.incident(id)?.actionItems ?? []
        return Dictionary(uniqueKeysWithValues: items.compactMap { item in item.ticket.map { (item.number, $0) } })
    }

    @Test func reopeningTheIncidentReopensItsIssueWithAComment() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await TicketTests.daemon(directory, github: github, clock: clock)
            let id = try await klaxon.declare("sev1", "Checkout is down")
            await klaxon.sender.drainOnce()
            await klaxon.run("resolve \(id) rolled back the deploy", as: "alice")
            await klaxon.sender.drainOnce()
            #expect(github.issues.first?.state == "closed")

            clock.advance(by: 600)
            await klaxon.run("reopen \(id)", as: "bob")
            #expect(try await TicketTests.entries(klaxon, .pending).map(\.kind) == ["ticket_reopen", "ticket_comment"])
            await klaxon.sender.drainOnce()
            let issue = try #require(github.issues.first)
            #expect(issue.state == "open")
            #expect(issue.stateReason == "reopened")
            #expect(issue.comments.count == 2, "\(issue.comments)")
            #expect(issue.comments.last?.contains("\(id) was reopened") == true, "\(issue.comments)")
            #expect(issue.comments.last?.contains("bob") == true, "\(issue.comments)")
            #expect(
                github.requests.suffix(2).map { "\($0.method) \($0.path)" } == [
                    "PATCH /repos/acme/api/issues/1", "POST /repos/acme/api/issues/1/comments",
                ])
            #expect(github.requests.suffix(2).first?.json["state"] == .string("open"))

            // Resolved again, it closes again: one issue for the incident's whole life.
            await klaxon.run("resolve \(id) fixed the migration", as: "bob")
            await klaxon.sender.drainOnce()
            #expect(github.issues.count == 1)
            #expect(github.issues.first?.state == "closed")
            try await klaxon.close()
        }
    }

    @Test func anIncidentWithoutATicketReopensWithoutGitHub() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await TicketTests.daemon(directory, github: github, clock: clock)
            // sev4 has no ticket policy in this config.
            let id = try await klaxon.declare("sev4", "Typo in the docs")
            await klaxon.run("resolve \(id)", as: "alice")
            await klaxon.run("reopen \(id)", as: "alice")
            await klaxon.run("action \(id) Fix the docs linter", as: "alice")
            await klaxon.sender.drainOnce()
            #expect(try await TicketTests.entries(klaxon, .pending).isEmpty)
            #expect(try await TicketTests.entries(klaxon, .delivered).isEmpty)
            #expect(github.requests.isEmpty)
            #expect(try await klaxon.store.incident(id)?.actionItems?.first?.ticket == nil)
            try await klaxon.close()
        }
    }

    @Test func actionItemsBecomeIssuesLinkedFromTheIncidentAndCloseWhenDone() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await TicketTests.daemon(directory, github: github, clock: clock)
            let id = try await klaxon.declare("sev1", "Checkout is down")
            await klaxon.run("action \(id) \"Add connection pool alert\" @bob due 2026-12-20", as: "alice")
            await klaxon.run("action \(id) Document the failover", as: "alice")
            #expect(try await TicketTests.entries(klaxon, .pending).map(\.kind) == ["ticket_open", "ticket_open", "ticket_open"])
            await klaxon.sender.drainOnce()

            #expect(github.issues.map(\.number) == [1, 2, 3])
            let alert = github.issues[1]
            #expect(alert.title == "\(id) action 1: Add connection pool alert")
            #expect(alert.body.hasPrefix("Follow-up of #1."), "\(alert.body)")
            #expect(alert.body.contains("Due: 2026-12-20"), "\(alert.body)")
            #expect(alert.body.contains(IncidentEngine.ticketMarker(id, actionItem: 1)))
            #expect(alert.labels.isEmpty)
            #expect(github.issues[2].title == "\(id) action 2: Document the failover")
            let links = try await Self.issueLinks(klaxon, id)
            #expect(links[1] == TicketLink(target: TicketTests.api, number: 2, url: "https://github.com/acme/api/issues/2"))
            #expect(links[2]?.number == 3)
            #expect(try await klaxon.store.incident(id)?.ticket?.number == 1, "the incident keeps its own issue")

            await klaxon.run("action \(id) done 2", as: "alice")
            await klaxon.sender.drainOnce()
            #expect(github.issues.map(\.state) == ["open", "open", "closed"])
            #expect(github.requests.last.map { "\($0.method) \($0.path)" } == "PATCH /repos/acme/api/issues/3")
            #expect(try await TicketTests.entries(klaxon, .delivered).map(\.kind) == ["ticket_open", "ticket_open", "ticket_open", "ticket_close"])

            // The post-mortem draft lists each item with its issue.
            let context = CommandContext(
                platform: .console, conversation: Conversation(platform: .console, channelID: "incidents"), user: Fixture.user("alice"))
            let draft = await klaxon.daemon.commands.handle(text: "postmortem \(id)", context: context)
            #expect(
                draft.reply.text.contains("Add connection pool alert · Owner: <@bob> · Due: 2026-12-20 · https://github.com/acme/api/issues/2"),
                "\(draft.reply.text)")
            try await klaxon.close()
        }
    }

    @Test func aRetriedActionItemOpenFindsTheIssueAnEarlierAttemptCreated() async throws {
        try await FakeGitHub.run { github in
            let directory = try TemporaryDirectory("klaxon-tickets")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await TicketTests.daemon(directory, github: github, clock: clock)
            let id = try await klaxon.declare("sev1", "Checkout is down")
            await klaxon.sender.drainOnce()
            await klaxon.run("action \(id) Add connection pool alert", as: "alice")
            // GitHub creates the issue but the answer is a 502: the retry must find it, not file a second.
            github.script(.init(status: .badGateway, message: "Server Error", createFirst: true))
            await klaxon.sender.drainOnce()
            #expect(github.issues.count == 2)
            clock.advance(by: 60)
            await klaxon.sender.drainOnce()
            #expect(github.issues.count == 2, "\(github.issues.map(\.title))")
            #expect(try await Self.issueLinks(klaxon, id)[1]?.number == 2)
            try await klaxon.close()
        }
    }
}
