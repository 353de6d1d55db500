import Foundation
import IncidentCore
import KlaxonTestSupport
import Storage
import Testing

/// The runbook rules about who reviews and writes up an incident (000-19 the review meeting and its
/// attendees, 001-18 the post-mortem's authors), the words of its status (001-12 "mitigating") and the
/// conditions beside runbook 004's escalation path (004-25), each in its preset's own incident. The chat
/// side is read from the outbox and the timeline, as in `PresetScenarioTests`.
@Suite("Preset scenarios: review meeting, post-mortem author, mitigating, escalation conditions")
struct PresetReviewAndEscalationScenarioTests {
    @Test(
        "000 all-hands: at resolution the review invite names the IC, the engineer who fixed it and the author, with the meeting link; /incident meeting changes the link the review reminder shows; the author is reminded directly (000-19)"
    )
    func allHandsReviewMeeting() async throws {
        let run = try await PresetRun.open("all-hands-p0-to-p3.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let opsLead = "U000000OPS", engineer = "U00000ENG1", fixer = "U00000ENG2"
        let id = try await run.declare("declare p0 Upload service down", as: opsLead)
        await run.run("ack \(id)", as: engineer)
        await run.run("role \(id) ic <@\(engineer)>", as: opsLead)
        await run.run("role \(id) lead <@\(fixer)>", as: engineer)
        await run.run("role \(id) author <@\(engineer)>", as: opsLead)
        try await run.fire(through: 10)
        await run.run("mitigate \(id) Connection leak fixed", as: fixer)
        await run.run("resolve \(id) Fix deployed, uploads working again", as: fixer)
        try await run.fire(through: 45)

        let posts = try await run.posts(id)
        let invite = try #require(posts.first { $0.target == "dm:\(opsLead)" && $0.minute == 10 }, "\(posts)")
        // 000-19: the meeting, and who to invite: the IC, the engineer on the fix, the on-call lead, ops/management.
        #expect(invite.text.contains("within 24 hours at https://meet.example.com/emberly-incident-review."), "\(invite.text)")  // 000-19
        #expect(
            invite.text.contains("Invite: <@\(engineer)> (incident commander), <@\(fixer)> (fix), the engineers involved, the on-call lead"),
            "\(invite.text)")  // 000-19
        #expect(invite.text.contains("Incident report: <@\(engineer)>."), "\(invite.text)")  // 000-19 "Output: Write incident report"
        let summary = try #require(posts.first { $0.target == "room" && $0.text.contains("INCIDENT SUMMARY") }, "\(posts)")
        #expect(summary.minute == 40)  // 000-17: closed after 30 min of monitoring
        #expect(summary.text.contains("Review meeting: https://meet.example.com/emberly-incident-review"), "\(summary.text)")  // 000-19
        #expect(summary.text.contains("Post-mortem author: <@\(engineer)>"), "\(summary.text)")  // 000-19

        // The meeting got its own room: the review reminder 24 h after resolution shows that link.
        let changed = await run.run("meeting \(id) https://meet.example.com/uploads-review", as: opsLead)
        #expect(changed.reply.text.contains("https://meet.example.com/uploads-review"), "\(changed.reply.text)")  // 000-19
        #expect(await run.attempt("meeting \(id)", as: opsLead).outcome != .applied)  // a link is needed; nothing changes
        try await run.fire(through: 10 + 24 * 60 + 1)
        let reminders = try await run.posts(id).filter { $0.text.hasPrefix("📝 The post-incident review") }
        #expect(reminders.map(\.minute).allSatisfy { $0 == 10 + 24 * 60 }, "\(reminders)")  // 000-18
        #expect(Set(reminders.map(\.target)) == ["room", "announce", "dm:\(engineer)"], "\(reminders)")  // 000-19: the author by name
        #expect(reminders.first?.text.contains("Meeting: https://meet.example.com/uploads-review") == true, "\(reminders)")  // 000-19
        #expect(reminders.first?.text.contains("<@\(engineer)>: you write the post-mortem.") == true, "\(reminders)")  // 000-19
    }

    @Test(
        "001 business-days: updates numbered with the status word investigating → mitigating → monitoring; mitigating is not yet mitigated (MTTM); the post-mortem's author is asked for at resolution and reminded by name (001-12, 001-18)"
    )
    func businessDaysStatusAndAuthor() async throws {
        let run = try await PresetRun.open("business-days-sev1-to-sev4.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let onCall = "U00000ON1", backup = "U00000ON2"
        let id = try await run.declare("declare sev1 Unable to process payments", as: onCall)
        await run.run("ack \(id)", as: onCall)
        try await run.fire(through: 3)
        await run.run("update \(id) Checkout returns 502 since the 14:00 deploy", as: onCall)
        try await run.fire(through: 6)
        await run.run("status \(id) mitigating Rolling back to the previous image tag", as: onCall)
        let mitigating = try #require(try await run.store.incident(id))
        #expect(mitigating.status == .mitigating)  // 001-12
        #expect(mitigating.mitigatedAt == nil)  // 001-12: mitigating is under way; MTTM stops at /incident mitigate
        try await run.fire(through: 9)
        await run.run("mitigate \(id) Rolled back", as: onCall)
        await run.run("status \(id) monitoring Payments flow again; watching the error rate", as: onCall)
        try await run.fire(through: 20)
        await run.run("resolve \(id) Payments flow again", as: onCall)
        let resolvedAt = run.clock.now()
        try await run.fire(through: 21)
        await run.run("role \(id) author <@\(backup)>", as: onCall)
        try await run.fire(through: 8 * 24 * 60)

        let updates = try await run.posts(id).filter { $0.target == "room" && $0.text.hasPrefix("[SEV-1] Update ") }
        // 001-12 "[SEV-X] Update <n> / Time: <UTC> / Status: <investigating / mitigating / monitoring>"
        let headings = updates.map { $0.text.split(separator: "\n").first.map(String.init) ?? "" }
        #expect(headings == ["[SEV-1] Update 1", "[SEV-1] Update 2", "[SEV-1] Update 3"])  // 001-12
        #expect(
            updates.map { $0.text.split(separator: "\n").dropFirst(2).first.map(String.init) ?? "" } == [
                "Status: investigating", "Status: mitigating", "Status: monitoring",
            ], "\(updates)")  // 001-12
        #expect(updates[1].text.contains("Time: 14:06") && updates[1].text.contains("Rolling back to the previous image tag"), "\(updates)")  // 001-12
        #expect(try await run.store.incident(id)?.mitigatedAt == Self.minute(9, from: run))  // 001-12: MTTM counts to /incident mitigate

        let fired = try await run.firings(id)
        #expect(fired.contains { $0 == (20, "author") }, "\(fired)")  // 001-18: who writes it, asked at resolution
        let timeline = try await run.store.timeline(of: id)
        let due = try #require(timeline.first { $0.kind == .reminder && $0.text.hasPrefix("Checkpoint postmortem ") }, "\(timeline)")
        #expect(due.at == resolvedAt.addingTimeInterval(7 * 86_400))  // 001-17: five business days later
        #expect(due.text.contains("<@\(backup)>: it is yours to write."), "\(due.text)")  // 001-18: the author, by name
        let postmortem = await run.attempt("postmortem \(id)", as: onCall)
        #expect(postmortem.reply.text.contains("**Author**: <@\(backup)>"), "\(postmortem.reply.text)")  // 001-18 "authors: [<names>]"
    }

    @Test(
        "004 rocketchat: the escalation path's conditions: DevOps lead when stuck 30 min; CTO + security lead at 1 h only for a major outage, a customer-facing one or security; CEO at 90 min only if critical or customer-facing (004-25, 004-26)"
    )
    func rocketChatEscalationConditions() async throws {
        let run = try await PresetRun.open("rocketchat-weekly-oncall.json", platform: .rocketchat, channel: "incidents")
        defer { run.remove() }
        let plain = try await run.declare("declare p1 Reports page slow", as: "alice")
        let security = try await run.declare("declare p1 --type security Suspicious admin logins", as: "alice")
        let public_ = try await run.declare("declare p1 Checkout fails for all users", as: "alice")
        let outage = try await run.declare("declare p0 Site down", as: "alice")
        await run.run("set \(public_) public yes", as: "alice")
        for id in [plain, security, public_, outage] { await run.run("ack \(id)", as: "alice") }
        try await run.fire(through: 120)

        func escalations(_ id: IncidentID) async throws -> [(Int, String)] {
            try await run.firings(id).filter { ["stuck-30m", "major-or-security", "ceo"].contains($0.1) }
        }
        // 004-25: "On-call ↓ (if stuck or needs help) DevOps Lead"; 004-26 "stuck and can't resolve within 30 min"
        for id in [plain, security, public_, outage] {
            #expect(try await run.firings(id).contains { $0 == (30, "stuck-30m") }, "\(id)")  // 004-25, 004-26
        }
        #expect(try await escalations(plain).map(\.1) == ["stuck-30m"])  // 004-25: a P1 that is neither major, public nor security stops there
        #expect(try await escalations(security).map(\.1) == ["stuck-30m", "major-or-security"])  // 004-25 "(if … security) CTO + Security Lead"
        #expect(try await escalations(security).last?.0 == 60)  // 004-25
        // 004-25, 004-26 "Customer-facing outage > 1 hour"
        #expect(try await escalations(public_).map { "\($0.0) \($0.1)" } == ["30 stuck-30m", "60 major-or-security", "90 ceo"])
        // 004-25 "(if major outage or security)", "(if critical or PR needed)"
        #expect(try await escalations(outage).map { "\($0.0) \($0.1)" } == ["30 stuck-30m", "60 major-or-security", "90 ceo"])

        let publicPosts = try await run.posts(public_)
        #expect(publicPosts.filter { $0.target == "dm:cto" || $0.target == "dm:security-lead" }.map(\.minute) == [60, 60], "\(publicPosts)")  // 004-25
        #expect(publicPosts.filter { $0.target == "dm:ceo" }.map(\.minute) == [90], "\(publicPosts)")  // 004-25 "(if critical or PR needed) CEO"
        #expect(publicPosts.filter { $0.target == "channel:customer-success" }.map(\.minute) == [60], "\(publicPosts)")  // 004-21, 004-26
        #expect(try await run.posts(plain).filter { $0.target == "channel:customer-success" || $0.target == "dm:cto" }.isEmpty)  // 004-26: not customer-facing
    }

    static func minute(_ minute: Int, from run: PresetRun) -> Date { run.t0.addingTimeInterval(Double(minute) * 60) }
}
