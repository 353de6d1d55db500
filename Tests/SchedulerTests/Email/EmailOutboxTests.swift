import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Storage
import Testing

/// Email end to end: an escalation step's `email:` targets become one outbox message in the email lane,
/// delivered to a real SMTP server once; a 5xx answer sends it to the dead letters, a 4xx or a dead
/// server is retried.
@Suite("Email through the outbox", .enabled(if: SMTPPeer.isAvailable || SMTPPeer.isRequired, "aiosmtpd is not installed"))
struct EmailOutboxTests {
    static func daemon(_ directory: TemporaryDirectory, smtpPort: Int, clock: ManualClock) async throws -> TestDaemon {
        try await TestDaemon.open(path: directory.file("email.sqlite"), clock: clock) { config in
            config.email = EmailConfig(smtp: SMTPConfig(host: "127.0.0.1", port: smtpPort, from: "Klaxon <klaxon@example.com>", tls: .none))
            config.people["alice"]?.email = "alice@example.com"
            config.people["carol"]?.email = "carol@example.com"
            config.people["dave"]?.email = "dave@example.com"
            config.groups["leads"] = ["carol", "dave"]
            // The first step (the page at declaration) mails alice and a list; the second (5 min without
            // an acknowledgement) mails the leads group.
            config.oncall.escalation[0].notify += [.email(.person("alice")), .email(.address("incidents@example.com"))]
            config.oncall.escalation[1].notify += [.email(.group("leads"))]
        }
    }

    static func emails(_ klaxon: TestDaemon, state: OutboxState) async throws -> [OutboxEntry] {
        try await klaxon.store.outboxEntries(state: state, limit: 100).filter { $0.kind == "email" }
    }

    @Test func aPageAndAnEscalationAreMailedOnceEach() async throws {
        let directory = try TemporaryDirectory("klaxon-email")
        defer { directory.remove() }
        let peer = try await SMTPPeer.start(in: directory)
        defer { peer.stop() }
        let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
        let klaxon = try await Self.daemon(directory, smtpPort: peer.port, clock: clock)

        let id = try await klaxon.declare("sev1", "Checkout <500s> & retries")
        let queued = try await klaxon.store.outboxEntries(state: .pending, limit: 100)
        #expect(queued.filter { $0.kind == "email" }.map(\.lane) == ["email"], "\(queued)")
        await klaxon.sender.drainOnce()
        // sev1 must be acknowledged within 5 min; the second step mails the leads.
        try await klaxon.runTimers(through: clock.now().addingTimeInterval(5 * 60))
        clock.advance(by: 3600)
        await klaxon.sender.drainOnce()

        let mails = try peer.received()
        try #require(mails.count == 2, "\(peer.output)")
        let page = mails[0]
        #expect(page.rcpt_tos == ["alice@example.com", "incidents@example.com"])
        #expect(page.headers["Subject"] == "[SEV1 INCIDENT] \(id): Checkout <500s> & retries")
        #expect(page.headers["From"] == "Klaxon <klaxon@example.com>")
        #expect(page.headers["X-Klaxon-Incident"] == id.description)
        let text = try #require(page.parts.first { $0.type == "text/plain" }?.body)
        #expect(text.contains("Paged: \(id) (SEV1"))
        #expect(text.contains("Checkout <500s> & retries"), "plain text is not escaped")
        #expect(text.contains("Declared by Alice Adams"), "people by their configured name, not chat mentions")
        let html = try #require(page.parts.first { $0.type == "text/html" }?.body)
        #expect(html.contains("Checkout &lt;500s&gt; &amp; retries"), "the HTML part escapes the title")

        let escalation = mails[1]
        #expect(escalation.rcpt_tos == ["carol@example.com", "dave@example.com"])
        #expect(escalation.parts.first?.body.contains("was not acknowledged within 5 min") == true)
        #expect(try await Self.emails(klaxon, state: .delivered).count == 2)
        // Chat and the timeline name people, never their addresses.
        let timeline = try await klaxon.store.timeline(of: id).map(\.text)
        #expect(timeline.contains { $0.hasPrefix("Emailed Alice Adams, incidents@example.com (declared)") }, "\(timeline)")
        #expect(timeline.contains { $0.hasPrefix("Emailed group leads (") }, "\(timeline)")
        #expect(!timeline.joined().contains("alice@example.com") && !timeline.joined().contains("carol@example.com"))
        #expect(try await !klaxon.consoleLines().contains { $0.text.contains("carol@example.com") })
        try await klaxon.close()
    }

    @Test func aPermanentRefusalGoesToTheDeadLetters() async throws {
        let directory = try TemporaryDirectory("klaxon-email")
        defer { directory.remove() }
        let refusals = ["alice@example.com", "incidents@example.com"].flatMap { ["--refuse-rcpt", "\($0)=550 5.1.1 no such mailbox"] }
        let peer = try await SMTPPeer.start(refusals, in: directory)
        defer { peer.stop() }
        let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
        let klaxon = try await Self.daemon(directory, smtpPort: peer.port, clock: clock)
        _ = try await klaxon.declare("sev1", "Search is down")
        await klaxon.sender.drainOnce()
        clock.advance(by: 3600)
        await klaxon.sender.drainOnce()

        let dead = try await Self.emails(klaxon, state: .dead)
        #expect(dead.count == 1)
        #expect(dead.first?.attempts ?? 0 <= 1, "given up at once, not retried")
        #expect(dead.first?.lastError?.contains("550 5.1.1 no such mailbox") == true, "\(String(describing: dead.first?.lastError))")
        #expect(try await Self.emails(klaxon, state: .pending).isEmpty)
        #expect(try peer.received().isEmpty)
        try await klaxon.close()
    }

    @Test func aTemporaryRefusalIsRetriedAndDeliveredOnce() async throws {
        let directory = try TemporaryDirectory("klaxon-email")
        defer { directory.remove() }
        let peer = try await SMTPPeer.start(["--data-reply", "451 4.3.0 try again later"], in: directory)
        defer { peer.stop() }
        let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
        let klaxon = try await Self.daemon(directory, smtpPort: peer.port, clock: clock)
        _ = try await klaxon.declare("sev1", "Search is down")
        await klaxon.sender.drainOnce()

        let waiting = try #require(try await Self.emails(klaxon, state: .pending).first)
        #expect(waiting.attempts == 1)
        #expect(waiting.lastError?.contains("451 4.3.0 try again later") == true)
        #expect(try peer.received().isEmpty)

        clock.advance(by: 2)  // past the first backoff (at most 1 s)
        await klaxon.sender.drainOnce()
        #expect(try peer.received().count == 1)
        clock.advance(by: 3600)
        await klaxon.sender.drainOnce()
        #expect(try peer.received().count == 1, "delivered once, never again")
        #expect(try await Self.emails(klaxon, state: .delivered).count == 1)
        try await klaxon.close()
    }

    @Test func aServerThatIsNotThereIsRetried() async throws {
        let directory = try TemporaryDirectory("klaxon-email")
        defer { directory.remove() }
        // A port that was free a moment ago and that nothing listens on.
        let peer = try await SMTPPeer.start(in: directory)
        let port = peer.port
        peer.stop()
        let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
        let klaxon = try await Self.daemon(directory, smtpPort: port, clock: clock)
        _ = try await klaxon.declare("sev1", "Search is down")
        await klaxon.sender.drainOnce()
        clock.advance(by: 2)
        await klaxon.sender.drainOnce()

        let waiting = try #require(try await Self.emails(klaxon, state: .pending).first)
        #expect(waiting.attempts == 2, "each attempt counted, none given up")
        #expect(waiting.lastError?.contains("connection") == true, "\(String(describing: waiting.lastError))")
        #expect(try await Self.emails(klaxon, state: .dead).isEmpty)
        #expect(klaxon.sender.health.parked(.email) == nil, "a network failure is not a reason to park")
        try await klaxon.close()
    }
}
