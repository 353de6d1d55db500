import Foundation
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import Storage
import Testing

/// The presets' status page and email, in their runbooks' example incidents (the chat side is
/// PresetScenarioTests'). Mail is read as the outbox holds it, queued in the email lane: the SMTP client
/// itself is tested against a real server (aiosmtpd) in `Tests/SchedulerTests/Email/`, and what a scenario
/// checks is who is mailed what at which minute, which the queued message says in full. The status page is
/// the model `GET /status` renders, built from the store after each step.
@Suite("Preset scenarios: status page and email")
struct PresetOutsideCommsScenarioTests {
    // MARK: 000

    @Test(
        "000 all-hands: P0 'Upload service down' on the status page Investigating → Identified → Monitoring → Resolved; internal email at 30 min, customer email at 60 unless mitigated"
    )
    func allHands() async throws {
        let run = try await PresetRun.open("all-hands-p0-to-p3.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let opsLead = "U000000OPS", engineer = "U00000ENG1"
        let id = try await run.declare("declare p0 Upload service down", as: opsLead)
        #expect(try await run.statusPage().openIncidents.isEmpty)  // 000-11: nothing public until published

        await run.run("component \(id) uploads", as: opsLead)
        await run.run("status \(id) investigating \"We're aware of a problem with file uploads. Updates every 15 min.\"", as: opsLead)
        var page = try await run.statusPage()
        #expect(page.openIncidents.map(\.state) == [.investigating])  // 000-11
        #expect(page.components.first { $0.id == "uploads" }?.state == .investigating, "\(page.components)")  // 000-11
        #expect(page.components.filter { $0.id != "uploads" }.allSatisfy { $0.state == nil })  // 000-11
        #expect(page.title == "Emberly status")

        try await run.fire(through: 20)
        await run.run("status \(id) identified \"We found the cause: the database connection pool is exhausted.\"", as: engineer)
        #expect(try await run.statusPage().openIncidents.first?.state == .identified)  // 000-11
        try await run.fire(through: 75)
        await run.run("mitigate \(id) Connection leak fixed, uploads work again", as: engineer)
        #expect(try await run.statusPage().components.first { $0.id == "uploads" }?.label == "Recovering")  // 000-11: Monitoring
        try await run.fire(through: 80)
        await run.run("resolve \(id) Fix deployed, uploads working again", as: engineer)
        page = try await run.statusPage()
        #expect(page.openIncidents.isEmpty)  // 000-11: Resolved
        #expect(page.history.flatMap(\.incidents).first { $0.id == id.description }?.state == .resolved)  // 000-11
        #expect(page.history.flatMap(\.incidents).first?.updates.map(\.state) == [.investigating, .identified, .resolved])  // 000-11

        let mailed = try await run.mailTimeline(id)
        #expect(mailed.map(\.minute) == [30, 60], "\(mailed)")  // 000-14 at 30, 000-13 at 60
        #expect(mailed.first?.text.contains("internal-email") == true, "\(mailed)")  // 000-14
        #expect(mailed.last?.text.contains("customer-email") == true, "\(mailed)")  // 000-13, 000-27
        let mail = try await run.queuedMail()
        #expect(mail.count == 2, "\(mail)")
        let teamMail = try #require(mail.first { $0.to.contains("ops-lead@example.com") })
        #expect(
            Set(teamMail.to) == [
                "ops-lead@example.com", "engineer-1@example.com", "engineer-2@example.com", "eng-lead@example.com", "cto@example.com", "ceo@example.com",
            ])  // 000-14: the whole team
        #expect(teamMail.subject.hasPrefix("[P0 INCIDENT]") && teamMail.subject.contains("Upload service down"), "\(teamMail.subject)")  // 000-14: its subject
        #expect(teamMail.incidentID == id.description)
        #expect(mail.contains { $0.to == ["affected-users@example.com"] }, "\(mail)")  // 000-13: affected users
    }

    @Test("000 all-hands: mitigated within the hour, the customer email is not sent (000-13 'if major + prolonged')")
    func allHandsMitigatedEarly() async throws {
        let run = try await PresetRun.open("all-hands-p0-to-p3.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let id = try await run.declare("declare p0 Upload service down", as: "U000000OPS")
        try await run.fire(through: 40)
        await run.run("mitigate \(id) Restarted the upload workers", as: "U00000ENG1")
        try await run.fire(through: 90)
        let mailed = try await run.mailTimeline(id)
        #expect(mailed.map(\.minute) == [30], "\(mailed)")  // 000-14 yes; 000-13 no: mitigated at 40
        #expect(try await run.queuedMail().map(\.to).contains(["affected-users@example.com"]) == false)  // 000-13
    }

    // MARK: 001

    @Test("001 business-days: a payments outage published on the Payments component (001-14, 001-15)")
    func businessDays() async throws {
        let run = try await PresetRun.open("business-days-sev1-to-sev4.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let id = try await run.declare("declare sev1 --type payments Unable to process payments", as: "U00000ON1")
        await run.run("component \(id) payments", as: "U00000ON1")
        await run.run("status \(id) investigating \"Payments are failing. We'll post an update by 14:20 UTC.\"", as: "U00000ON1")
        let page = try await run.statusPage()
        #expect(page.title == "amn.gg status")
        #expect(page.components.first { $0.id == "payments" }?.label == "Degraded · Investigating", "\(page.components)")  // 001-15
        #expect(page.openIncidents.first?.updates.first?.text?.contains("We'll post an update by") == true)  // 001-14
        try await run.fire(through: 10)
        await run.run("status \(id) monitoring \"A fix is applied; we are monitoring.\"", as: "U00000ON1")
        #expect(try await run.statusPage().components.first { $0.id == "payments" }?.label == "Recovering")  // 001-14: "monitoring"
        #expect(try await run.queuedMail().isEmpty)  // 001 asks for no email
    }

    // MARK: 002

    @Test("002 ladder: SEV1 stakeholder email at 15 min naming the IC, the tech lead and the cadence; the status page follows (002-13, 002-18)")
    func commanderLadder() async throws {
        let run = try await PresetRun.open("incident-commander-ladder.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let id = try await run.declare("SEV1 Payment processing down", as: "U00000EN1")
        await run.run("ack \(id)", as: "U00000EN1")
        await run.run("role \(id) ic <@U000TMLED>", as: "U00000EN1")
        await run.run("role \(id) lead <@U00000EN1>", as: "U00000EN1")
        await run.run("component \(id) payments", as: "U00000EN1")
        await run.run("status \(id) investigating \"All payment attempts are failing; we are investigating.\"", as: "U00000EN1")
        #expect(try await run.statusPage().components.first { $0.id == "payments" }?.state == .investigating)  // 002-07
        try await run.fire(through: 40)
        await run.run("resolve \(id) Payment provider failover", as: "U00000EN1")
        #expect(try await run.statusPage().openIncidents.isEmpty)  // 002-18: update status page

        let mailed = try await run.mailTimeline(id)
        #expect(mailed.map(\.minute) == [15], "\(mailed)")  // 002-13
        #expect(mailed.first?.text.contains("stakeholder-email") == true)  // 002-13
        let mail = try #require(try await run.queuedMail().first)
        #expect(Set(mail.to) == ["team-lead@example.com", "eng-manager@example.com", "vp-eng@example.com", "cto@example.com"])  // 002-13: stakeholders
        #expect(mail.subject == "[SEV1] Production Incident - Payment processing down", "\(mail.subject)")  // 002-13
        #expect(mail.text.contains("IC: Team lead"), "\(mail.text)")  // 002-13: a name, not a chat mention
        #expect(mail.text.contains("Tech Lead: On-call engineer 1"), "\(mail.text)")  // 002-13
        #expect(mail.text.contains("Updates every 15m"), "\(mail.text)")  // 002-13: the cadence
        #expect(!mail.text.contains("<@"), "\(mail.text)")
    }

    // MARK: 004

    @Test("004 rocketchat: P1 'API response time degraded' on the status page; affected customers emailed at 1 h unless resolved (004-21)")
    func rocketChat() async throws {
        let run = try await PresetRun.open("rocketchat-weekly-oncall.json", platform: .rocketchat, channel: "incidents")
        defer { run.remove() }
        let id = try await run.declare("create \"API response time degraded\"", as: "alice")
        let quick = try await run.declare("declare p1 Login slow", as: "alice")
        await run.run("component \(id) api", as: "alice")
        await run.run("status \(id) identified \"API responses are slow; we found the cause and are scaling the database.\"", as: "alice")
        #expect(try await run.statusPage().components.first { $0.id == "api" }?.state == .identified)  // 004-21: update status page
        try await run.fire(through: 30)
        await run.run("resolve \(quick) Cache warmed", as: "alice")
        try await run.fire(through: 65)
        await run.run("close \(id) Resolved by scaling DB connections", as: "alice")
        #expect(try await run.statusPage().openIncidents.isEmpty)  // 004-21

        let mailed = try await run.mailTimeline(id)
        #expect(mailed.map(\.minute) == [60], "\(mailed)")  // 004-21: email affected customers
        #expect(mailed.first?.text.contains("customer-email") == true)  // 004-21
        #expect(try await run.mailTimeline(quick).isEmpty)  // 004-21: resolved at 30, nobody mailed
        let mail = try await run.queuedMail()
        #expect(mail.map(\.to) == [["affected-customers@example.com"]], "\(mail)")  // 004-21
        #expect(mail.first?.incidentID == id.description)
        // 004-21: the rule's own words, not the page email's.
        #expect(mail.first?.subject == "Service disruption: API response time degraded", "\(mail)")  // 004-21
        #expect(mail.first?.text.contains("We are aware of a problem: API response time degraded.") == true, "\(mail)")  // 004-21
        #expect(mail.first?.text.contains("Latest: API responses are slow") == true, "\(mail)")  // 004-21
    }
}

extension PresetRun {
    /// The model `GET /status` renders, from everything the store holds.
    func statusPage() async throws -> StatusPageModel {
        let incidents = try await store.incidents(includeClosed: true, limit: 1_000)
        return StatusPageModel.build(config: daemon.config, incidents: incidents, now: clock.now())
    }

    /// "Emailed …" timeline entries of an incident: (minute, text).
    func mailTimeline(_ id: IncidentID) async throws -> [Post] {
        try await store.timeline(of: id).filter { $0.text.hasPrefix("Emailed ") }.map { Post(minute: minute($0.at), target: "email", text: $0.text) }
    }

    /// Every email waiting in the email lane (mail carries no incident id, so it is read from its lane).
    /// Nothing delivers in a scenario, so claiming is only reading.
    func queuedMail() async throws -> [EmailMessage] {
        let claim = try await store.claimOutbox(
            lanes: .only(.email), now: .distantFuture, owner: "preset-scenario", leaseUntil: .distantFuture, limit: 100)
        return claim.messages.compactMap { message in
            if case .email(let mail) = message.action { return mail }
            return nil
        }
    }
}
