import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// Each preset of `presets/` runs its runbook's own example incident: the real engine, CommandService and
/// TimerScheduler on a SQLite file and a manual clock. Nothing is delivered (the presets name Slack and
/// Rocket.Chat, which a test must not reach): what the bot would say is read from the outbox and the
/// timeline, at the minute it was written. Rule ids are those of the runbook-rules spec.
@Suite("Preset scenarios: each runbook's example incident")
struct PresetScenarioTests {
    static let presets = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("presets")

    /// The `${VAR}` placeholders a user fills in.
    static let environment = [
        "SLACK_SIGNING_SECRET": "preset-signing-secret-0123456789", "SLACK_BOT_TOKEN": "preset-bot-token-0123456789",
        "RC_USER_ID": "klaxon-bot", "RC_TOKEN": "preset-rc-token-0123456789", "RC_WEBHOOK_TOKEN": "preset-rc-webhook-0123456789",
        "PAGER_SECRET": "preset-pager-secret-0123456789", "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/preset-token",
        "GITHUB_TOKEN": "preset-github-token-0123456789",
        "SMTP_HOST": "smtp.example.com", "SMTP_USER": "klaxon@example.com", "SMTP_PASSWORD": "preset-smtp-password-0123456789",
    ]

    /// Monday 2025-12-01 14:00 UTC: inside every preset's working hours (09:00 in New York).
    static let start = Fixture.monday.addingTimeInterval(14 * 3600)

    // MARK: 000: all hands, P0 to P3

    @Test(
        "000 all-hands: P0 'Upload service down': only ops leads declare it, @channel and Discord at once, CTO at 5, IC and update checkpoints at 15, CEO at 30 unless mitigated and at 60 regardless, monitoring 30 min, review in 24 h"
    )
    func allHands() async throws {
        let run = try await PresetRun.open("all-hands-p0-to-p3.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let opsLead = "U000000OPS", cto = "U000000CTO", ceo = "U000000CEO"

        let refused = await run.attempt("declare p0 Upload service down", as: "U00000ENG1")
        #expect(refused.outcome != .applied, "\(refused.reply.text)")  // 000-02: only the ops lead declares a P0
        #expect(refused.reply.incidentID == nil)  // 000-02
        let id = try await run.declare("declare p0 Upload service down", as: opsLead)
        // Uploads are user-facing: the CEO hears within 30 min (000-25 "if user-facing").
        await run.run("set \(id) public yes", as: opsLead)

        try await run.fire(through: 14)
        await run.run("ack \(id)", as: "U00000ENG1")
        try await run.fire(through: 20)
        await run.run("role \(id) ic <@U00000ENG1>", as: opsLead)
        await run.run("update \(id) Confirmed: database connection pool exhausted", as: "U00000ENG1")
        try await run.fire(through: 75)
        await run.run("mitigate \(id) Connection leak fixed, uploads work again", as: "U00000ENG1")
        try await run.fire(through: 80)
        await run.run("resolve \(id) Fix deployed, uploads working again", as: "U00000ENG1")
        let resolvedAt = run.clock.now()
        let reviewTimer = try await run.store.pendingTimers(of: id).first { $0.kind == .reviewReminder }
        #expect(reviewTimer?.dueAt == resolvedAt.addingTimeInterval(24 * 3600))  // 000-18: review within 24 h
        try await run.fire(through: 80 + 31)

        let incident = try #require(try await run.store.incident(id))
        #expect(incident.severity == "p0")  // 000-01
        let posts = try await run.posts(id)
        // 000-06, 000-07: the thread's root in #incidents, "[P0 INCIDENT] …".
        // 000-06, 000-07
        #expect(posts.contains { $0.minute == 0 && $0.target == "open-room" && $0.text.contains("[P0 INCIDENT] Upload service down") }, "\(posts)")
        #expect(
            posts.contains { $0.minute == 0 && $0.target == "channel:incidents" && $0.text.contains("<!channel>") && $0.text.contains("Upload service down") },
            "\(posts)")  // 000-05
        #expect(posts.filter { $0.target == "discord:public" }.map(\.minute) == [0], "\(posts)")  // 000-12
        #expect(posts.first { $0.target == "discord:public" }?.text.contains("We're aware of a problem") == true)  // 000-12
        #expect(posts.contains { $0.minute == 20 && $0.target == "room" && $0.text.contains("Incident Commander") }, "\(posts)")  // 000-09

        let fired = try await run.firings(id)
        #expect(fired.contains { $0 == (5, "cto") }, "\(fired)")  // 000-25: CTO
        #expect(fired.contains { $0 == (15, "ic") }, "\(fired)")  // 000-10: no IC by 15 min
        #expect(fired.contains { $0 == (15, "initial-update") }, "\(fired)")  // 000-10: no update by 15 min
        #expect(fired.contains { $0 == (30, "internal-email") }, "\(fired)")  // 000-14
        #expect(fired.contains { $0 == (30, "ceo") }, "\(fired)")  // 000-25: CEO within 30 min, user-facing and not mitigated yet
        #expect(fired.contains { $0 == (60, "ceo-over-1h") }, "\(fired)")  // 000-27: acknowledged at 14, the CEO hears anyway
        #expect(fired.contains { $0 == (60, "recovery-target") }, "\(fired)")  // 000-22
        #expect(fired.filter { ["cto", "ceo", "ceo-over-1h", "ic", "initial-update"].contains($0.1) }.count == 5, "\(fired)")  // each once

        #expect(fired.contains { $0 == (80, "review-invite") }, "\(fired)")  // 000-18, 000-19: schedule the review at resolution
        let invite = posts.first { $0.target == "dm:\(opsLead)" && $0.minute == 80 }
        #expect(
            invite?.text.contains("Invite: <@U00000ENG1> (incident commander), the engineers involved, the on-call lead and someone from ops/management")
                == true, "\(posts)")  // 000-19
        #expect(posts.filter { $0.target == "dm:\(cto)" }.map(\.minute) == [5], "\(posts)")  // 000-25
        #expect(posts.filter { $0.target == "dm:\(ceo)" }.map(\.minute) == [30, 60], "\(posts)")  // 000-25, 000-27
        #expect(posts.first { $0.target == "dm:\(ceo)" && $0.minute == 60 }?.text.contains("ongoing for over an hour") == true)  // 000-27

        let timeline = try await run.store.timeline(of: id)
        // 000-25 step 1: besides @channel, the on-call senior engineer is paged at once.
        #expect(timeline.contains { $0.kind == .page && $0.text.hasPrefix("Paged") && run.minute($0.at) == 0 })  // 000-25
        let reminders = timeline.filter { $0.kind == .reminder && $0.text.hasPrefix("Update reminder") }
        #expect(reminders.first.map { run.minute($0.at) } == 15, "\(reminders)")  // 000-03: P0 updates every 15 min
        #expect(reminders.map { run.minute($0.at) }.contains(35), "\(reminders)")  // 000-03: 15 min after the update at 20
        // 000-16, 000-31
        #expect(posts.contains { $0.minute == 80 && $0.text.hasPrefix("[RESOLVED] Fix deployed") && $0.text.contains("Monitoring for 30 min") }, "\(posts)")
        #expect(incident.status == .closed)  // 000-17: closed when the 30-minute window ends
        let summary = posts.first { $0.text.contains("INCIDENT SUMMARY") }
        #expect(summary?.minute == 110, "\(posts)")  // 000-17, 000-32
        #expect(summary?.text.contains("Upload service down") == true)  // 000-32: what
        #expect(summary?.text.contains("Fix deployed, uploads working again") == true)  // 000-32: fix
        #expect(summary?.text.contains("1 h 20 min") == true, "\(String(describing: summary))")  // 000-32: duration

        let onCall = await run.attempt("oncall", as: "U00000ENG1")
        // 000-33: who is on call now and next, on demand.
        #expect(onCall.reply.text.contains("senior: <@U00000ENG1>") && onCall.reply.text.contains("next: <@U00000ENG2>"), "\(onCall.reply.text)")  // 000-33
    }

    @Test(
        "000 all-hands: P1 pages senior engineers then the engineering lead at 15; --type security tells security and legal at once, the CTO at 5; data corruption tells the executives; P2 the relevant team (000-15, 000-23, 000-26, 000-28, 000-29)"
    )
    func allHandsP1AndTypes() async throws {
        let run = try await PresetRun.open("all-hands-p0-to-p3.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let id = try await run.declare("declare p1 --type security Login broken after suspicious admin activity", as: "U00000ENG1")
        let corrupted = try await run.declare("declare p2 --type data-corruption Orders table has duplicate rows", as: "U00000ENG1")
        try await run.fire(through: 20)
        let timeline = try await run.store.timeline(of: id)
        let paged = timeline.filter { $0.kind == .page && $0.text.hasPrefix("Paged") }
        #expect(paged.map { run.minute($0.at) } == [0])  // 000-26: the relevant team (senior engineers) first
        #expect(paged.first.map { $0.text.contains("U00000ENG1") && $0.text.contains("U00000ENG2") } == true, "\(paged)")  // 000-26
        let escalations = timeline.filter { $0.kind == .escalation && $0.text.contains("not acknowledged") }
        #expect(escalations.map { run.minute($0.at) } == [15], "\(timeline)")  // 000-26: then the engineering lead
        #expect(escalations.first?.text.contains("U000ENGLED") == true)  // 000-26
        let posts = try await run.posts(id)
        #expect(posts.filter { $0.target == "dm:U0000SECUR" || $0.target == "dm:U0000LEGAL" }.map(\.minute) == [0, 0], "\(posts)")  // 000-15, 000-28
        #expect(posts.first { $0.target == "dm:U0000LEGAL" }?.text.contains("Do NOT publicly admit a breach") == true)  // 000-28
        #expect(posts.filter { $0.target == "dm:U000000CTO" }.map(\.minute) == [5])  // 000-28: then the CTO
        let fired = try await run.firings(id)
        #expect(fired.contains { $0 == (15, "owner") }, "\(fired)")  // 000-23: assign an owner, a senior engineer

        let corruption = try await run.posts(corrupted)
        #expect(corruption.filter { $0.target == "dm:U000000CTO" || $0.target == "dm:U000000CEO" }.map(\.minute) == [0, 0], "\(corruption)")  // 000-29
        #expect(corruption.first { $0.target == "dm:U000000CEO" }?.text.contains("executive team, immediately") == true)  // 000-29
        // 000-23: a P2 goes to the relevant team, told (not paged) at once.
        #expect(corruption.filter { $0.target == "dm:U00000ENG1" || $0.target == "dm:U00000ENG2" }.map(\.minute) == [0, 0], "\(corruption)")  // 000-23
        #expect(!(try await run.store.timeline(of: corrupted)).contains { $0.kind == .page && $0.text.hasPrefix("Paged") })  // 000-23
    }

    @Test(
        "000 all-hands: help explains P0-P3 (000-01); recovery targets at 1 h, 4 h, 24 h (000-22); a P2 is reminded every 2 h only once public-facing (000-04); the CEO is spared the 30-minute notice when not user-facing (000-25); --type data-breach tells security, legal and the executives at once (000-28)"
    )
    func allHandsTargetsAndConditions() async throws {
        let run = try await PresetRun.open("all-hands-p0-to-p3.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let help = await run.attempt("help", as: "U00000ENG1")
        #expect(help.reply.text.contains("• P0 (sev0, critical, all-hands) · Critical (All Hands): The service is down"), "\(help.reply.text)")  // 000-01
        #expect(
            help.reply.text.contains(
                // 000-01
                "• P2 (sev2, moderate) · Moderate (Prompt Response): An important feature is broken but the service works · the default when none is given"))
        #expect(help.reply.text.contains("• P3 (sev3, low) · Low (Normal Troubleshooting): A small feature"))  // 000-01
        let wrong = await run.attempt("declare p7 Something", as: "U00000ENG1")
        #expect(wrong.reply.text.contains("• P1 (sev1, major) · Major (Urgent Response): Core functionality is broken"), "\(wrong.reply.text)")  // 000-01

        let p0 = try await run.declare("declare p0 Login page blank", as: "U000000OPS")
        let p1 = try await run.declare("declare p1 Downloads slow", as: "U00000ENG1")
        let p2 = try await run.declare("declare Avatars fail to upload", as: "U00000ENG1")
        let breach = try await run.declare("declare p1 --type data-breach Customer emails exposed", as: "U00000ENG1")
        try await run.fire(through: 150)
        await run.run("set \(p2) public yes", as: "U00000ENG1")
        try await run.fire(through: 25 * 60)

        let p0Fired = try await run.firings(p0)
        #expect(p0Fired.contains { $0 == (60, "recovery-target") }, "\(p0Fired)")  // 000-22: P0 < 1 h
        #expect(!p0Fired.contains { $0.1 == "ceo" }, "\(p0Fired)")  // 000-25: not user-facing, so no CEO at 30
        #expect(p0Fired.contains { $0 == (60, "ceo-over-1h") }, "\(p0Fired)")  // 000-27: over 1 h, whatever else
        #expect(try await run.firings(p1).filter { $0.1 == "recovery-target" }.map(\.0) == [240])  // 000-22: P1 < 4 h
        let p2Fired = try await run.firings(p2)
        #expect(p2Fired.filter { $0.1 == "recovery-target" }.map(\.0) == [1440], "\(p2Fired)")  // 000-22: P2 < 24 h
        // Declared at 0, made public-facing at 150: quiet at 120, then every 2 h from the declaration.
        let publicUpdates = p2Fired.filter { $0.1 == "public-update" }.map(\.0)
        #expect(publicUpdates == Array(stride(from: 240, through: 25 * 60, by: 120)), "\(publicUpdates)")  // 000-04
        // 000-04: no 2-hourly reminder for a P2 that is not public
        #expect(!(try await run.store.timeline(of: p2)).contains { $0.text.hasPrefix("Update reminder") })

        let told = try await run.posts(breach).filter { $0.target.hasPrefix("dm:") && $0.minute == 0 }.map(\.target)
        for person in ["dm:U0000SECUR", "dm:U0000LEGAL", "dm:U000000CTO", "dm:U000000CEO"] {
            #expect(told.contains(person), "\(person) not told at once: \(told)")  // 000-28: security, legal, CTO and CEO if data breach
        }
    }

    // MARK: 001: business days, Sev 1 to Sev 4

    @Test(
        "001 business-days: Sev 1 payments: on-call paged, payments lead and #customer-comms told at once, roll back at 5 unless mitigated, backup at 15, updates every 15, post-mortem 5 business days after resolving; Sev 2 within 1 h; Sev 3 by the close of the next business day; a data leak prompts sev 1"
    )
    func businessDays() async throws {
        let run = try await PresetRun.open("business-days-sev1-to-sev4.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let id = try await run.declare("declare sev1 --type payments Unable to process payments", as: "U00000ON1")
        let minor = try await run.declare("declare sev3 One user sees a stale avatar", as: "U00000ON1")
        let major = try await run.declare("declare sev2 Email sending broken", as: "U00000ON1")
        let leak = try await run.declare("declare sev3 --type data-leak Profile page shows another user's email", as: "U00000ON1")
        try await run.fire(through: 20)
        await run.run("ack \(id)", as: "U00000ON1")
        await run.run("mitigate \(id) Rolled back to the previous image tag", as: "U00000ON1")
        await run.run("severity \(leak) sev-1", as: "U00000ON1")
        try await run.fire(through: 40)
        await run.run("resolve \(id) Payments flow again", as: "U00000ON1")
        let resolvedAt = run.clock.now()
        await run.run("action \(id) done 5", as: "U00000ON1")
        try await run.fire(through: 61)
        await run.run("close \(major) Mail relay credentials renewed", as: "U00000ON1")
        await run.run("close \(leak) Cache key fixed", as: "U00000ON1")
        try await run.fire(through: 12 * 24 * 60)

        #expect(try await run.store.incident(id)?.severity == "sev-1")  // 001-01: "sev1" is Sev 1
        let posts = try await run.posts(id)
        #expect(posts.contains { $0.minute == 0 && $0.target == "open-room" && $0.text.contains("Unable to process payments") }, "\(posts)")  // 001-09
        let alert = posts.first { $0.target == "room" && $0.minute == 0 && $0.text.hasPrefix("🚨") }
        #expect(alert?.text.contains("Status: investigating") == true, "\(posts)")  // 001-10
        #expect(alert?.text.contains("Started: 2025-12-01 14:00 UTC") == true, "\(String(describing: alert))")  // 001-22
        #expect(alert?.text.contains("every 15") == true)  // 001-10, 001-11
        // 001-20: #customer-comms
        #expect(posts.contains { $0.minute == 0 && $0.target == "channel:customer-comms" && $0.text.contains("Unable to process payments") }, "\(posts)")
        #expect(posts.filter { $0.target == "dm:U000PAYLD" }.map(\.minute) == [0], "\(posts)")  // 001-15, 001-20: payments lead by DM
        #expect(posts.contains { $0.minute == 20 && $0.text.contains("acknowledged") }, "\(posts)")  // 001-07
        // 001-21: "After every incident" checklist, posted at resolution and tracked as action items.
        let checklist = posts.first { $0.target == "room" && $0.text.hasPrefix("📋 After-incident checklist") }
        #expect(checklist?.minute == 40 && checklist?.text.contains("5. Customer comms sent (if user-impacting)") == true, "\(posts)")  // 001-21
        let items = try #require(try await run.store.incident(id)?.actionItems)
        #expect(items.count == 6 && items.filter(\.isDone).map(\.number) == [5], "\(items)")  // 001-21: ticked off one by one

        let timeline = try await run.store.timeline(of: id)
        #expect(timeline.contains { $0.kind == .page && $0.text.hasPrefix("Paged") && run.minute($0.at) == 0 })  // 001-02
        let unacknowledged = timeline.filter { $0.kind == .escalation && $0.text.contains("not acknowledged") }
        #expect(unacknowledged.map { run.minute($0.at) } == [15], "\(timeline)")  // 001-02: no response in 15 min, the backup
        #expect(unacknowledged.first?.text.contains("U00000ON2") == true)  // 001-02
        let fired = try await run.firings(id)
        #expect(fired.contains { $0 == (5, "hypothesis") }, "\(fired)")  // 001-08: roll back at 5 min
        let reminders = timeline.filter { $0.kind == .reminder && $0.text.hasPrefix("Update reminder") }
        #expect(reminders.map { run.minute($0.at) } == [15, 30], "\(reminders)")  // 001-11: every 15 min in the thread
        #expect(timeline.filter { $0.kind == .escalation && $0.text.contains("no update") }.map { run.minute($0.at) } == [30])  // 001-11: two missed
        // Resolved Monday 14:40; five business days (09:00-17:00, Mon-Fri) later: Monday 8 December 14:40.
        let postmortem = timeline.first { $0.kind == .reminder && $0.text.hasPrefix("Checkpoint postmortem") }
        #expect(postmortem?.at == resolvedAt.addingTimeInterval(7 * 86_400), "\(String(describing: postmortem))")  // 001-17

        // Sev 2: nobody acknowledged within the hour.
        let majorSteps = try await run.store.timeline(of: major).filter { $0.kind == .escalation && $0.text.contains("not acknowledged") }
        #expect(majorSteps.first.map { run.minute($0.at) } == 60, "\(majorSteps)")  // 001-03
        // Sev 3: Monday 14:00 → overdue at the close of Tuesday (17:00), and never paged.
        let minorTimeline = try await run.store.timeline(of: minor)
        // 001-04
        #expect(minorTimeline.filter { $0.text.hasPrefix("No response") }.map(\.at) == [Self.start.addingTimeInterval(27 * 3600)], "\(minorTimeline)")
        #expect(!minorTimeline.contains { $0.kind == .page && $0.text.hasPrefix("Paged") })  // 001-04
        // A possible data leak: told to treat it as sev 1 at once; raised, it pages.
        let leakTimeline = try await run.store.timeline(of: leak)
        #expect(try await run.firings(leak).contains { $0 == (0, "treat-as-sev1") })  // 001-16
        #expect(leakTimeline.contains { $0.kind == .page && $0.text.hasPrefix("Paged") && run.minute($0.at) == 20 }, "\(leakTimeline)")  // 001-16
    }

    // MARK: 002: the incident-commander ladder

    @Test(
        "002 ladder: '/incident SEV1 Payment processing down': on-call paged and team lead told at once, the ladder at 5 and 15 until acked, roles at 10, updates every 15, export 2 h after resolving, review in 48 h; SEV3 overdue after 1 h unpaged, SEV4 by the next business day"
    )
    func commanderLadder() async throws {
        let run = try await PresetRun.open("incident-commander-ladder.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let id = try await run.declare("SEV1 Payment processing down", as: "U00000EN1")
        let minor = try await run.declare("declare sev3 Export to CSV slow", as: "U00000EN1")
        let low = try await run.declare("declare sev4 Typo in the API docs", as: "U00000EN1")
        try await run.fire(through: 20)
        await run.run("ack \(id)", as: "U00000EN1")
        await run.run("update \(id) Investigating: the payment provider times out", as: "U00000EN1")
        try await run.fire(through: 40)
        await run.run("resolve \(id) Payment provider failover", as: "U00000EN1")
        let resolvedAt = run.clock.now()
        #expect(try await run.store.pendingTimers(of: id).first { $0.kind == .reviewReminder }?.dueAt == resolvedAt.addingTimeInterval(48 * 3600))  // 002-21
        try await run.fire(through: 2 * 24 * 60)

        let incident = try #require(try await run.store.incident(id))
        #expect(incident.severity == "sev1")  // 002-01, 002-09: the runbook's own command declares SEV1
        let timeline = try await run.store.timeline(of: id)
        #expect(timeline.contains { $0.kind == .page && $0.text.hasPrefix("Paged") && run.minute($0.at) == 0 })  // 002-06
        let steps = timeline.filter { $0.kind == .escalation && $0.text.contains("not acknowledged") }
        // Team lead at 5 (SEV1's "< 5 minutes"), engineering manager 10 min later; acked at 20: no VP at 30.
        #expect(steps.map { run.minute($0.at) } == [5, 15], "\(timeline)")  // 002-02, 002-25
        #expect(steps.first?.text.contains("U000TMLED") == true)  // 002-25
        #expect(steps.last?.text.contains("U000ENGMG") == true)  // 002-25
        let posts = try await run.posts(id)
        #expect(posts.first { $0.target == "dm:U000TMLED" }?.minute == 0, "\(posts)")  // 002-05: SEV1 escalation is immediate
        let fired = try await run.firings(id)
        #expect(fired.contains { $0 == (0, "escalation-immediate") }, "\(fired)")  // 002-05
        #expect(fired.contains { $0 == (10, "roles") }, "\(fired)")  // 002-08
        #expect(fired.contains { $0 == (160, "export") }, "\(fired)")  // 002-20: within 2 h of resolving
        let reminders = timeline.filter { $0.kind == .reminder && $0.text.hasPrefix("Update reminder") }
        #expect(reminders.map { run.minute($0.at) } == [15, 35], "\(reminders)")  // 002-11: every 15 min, counted from the last update
        let update = posts.first { $0.minute == 20 && $0.target == "room" && $0.text.hasPrefix("UPDATE [") }
        #expect(update?.text.contains("Next update:") == true, "\(posts)")  // 002-12
        #expect(update?.text.contains("09:20") == true, "\(String(describing: update))")  // 002-12: Eastern time (14:20 UTC)
        #expect(incident.status == .closed)  // 002-17: after the 30-minute monitoring window
        #expect(posts.contains { $0.minute == 40 && $0.target == "announce" && $0.text.contains("RESOLVED") }, "\(posts)")  // 002-18, 002-24
        // 002-17, 002-18
        #expect(posts.contains { $0.minute == 70 && $0.text.contains("INCIDENT SUMMARY") && $0.text.contains("Payment processing down") }, "\(posts)")

        let minorTimeline = try await run.store.timeline(of: minor)
        #expect(minorTimeline.filter { $0.text.hasPrefix("No response") }.map { run.minute($0.at) } == [60])  // 002-03: < 1 hour
        #expect(!minorTimeline.contains { $0.kind == .page && $0.text.hasPrefix("Paged") })  // 002-06: SEV3 is not paged
        #expect(minorTimeline.filter { $0.text.hasPrefix("Rule escalation-2h") }.map { run.minute($0.at) } == [120])  // 002-05: within 2 h
        // SEV4, Monday 09:00 in New York: overdue at the close of Tuesday, 17:00 New York (22:00 UTC).
        let lowTimeline = try await run.store.timeline(of: low)
        #expect(lowTimeline.filter { $0.text.hasPrefix("No response") }.map(\.at) == [Self.start.addingTimeInterval(32 * 3600)], "\(lowTimeline)")  // 002-04
    }

    @Test(
        "002 ladder: ids INC-2025-001 (002-20); SEV2 reaches the team lead at 30 min unless mitigated (002-05); the IC sets a 10-minute cadence (002-15); a fix-forward is watched 1 h, a restart 30 min (002-17, 002-19); revenue lost in the summary and the record (002-22)"
    )
    func commanderLadderClocks() async throws {
        let run = try await PresetRun.open("incident-commander-ladder.json", platform: .slack, channel: "C0INCIDENTS")
        defer { run.remove() }
        let id = try await run.declare("declare sev2 Checkout slow", as: "U00000EN1")
        let restarted = try await run.declare("SEV2 Search down", as: "U00000EN1")
        #expect(id.description == "INC-2025-001")  // 002-20: INC-YYYY-NNN
        #expect(restarted.description == "INC-2025-002")  // 002-20
        try await run.fire(through: 5)
        let cadence = await run.run("cadence \(id) 10m", as: "U00000EN1")
        #expect(cadence.reply.text.contains("every 10m"))  // 002-15
        try await run.fire(through: 20)
        await run.run("mitigate \(restarted) Restarted the search cluster", as: "U00000EN1")
        try await run.fire(through: 31)
        await run.run("set \(id) revenue \"$4,000 in abandoned carts\"", as: "U00000EN1")
        await run.run("resolve \(id) Rolled the fix forward --monitor 1h", as: "U00000EN1")
        await run.run("resolve \(restarted) Search cluster restarted", as: "U00000EN1")
        try await run.fire(through: 31 + 61)

        let timeline = try await run.store.timeline(of: id)
        let reminders = timeline.filter { $0.kind == .reminder && $0.text.hasPrefix("Update reminder") }
        #expect(reminders.map { run.minute($0.at) } == [10, 20, 30], "\(reminders)")  // 002-15: every 10 min, not SEV2's 30
        #expect(try await run.firings(id).contains { $0 == (30, "escalation-30m") })  // 002-05: SEV2 within 30 minutes
        #expect(!(try await run.firings(restarted)).contains { $0.1 == "escalation-30m" })  // 002-05: mitigated at 20
        let posts = try await run.posts(id)
        let summary = posts.first { $0.text.contains("INCIDENT SUMMARY") }
        #expect(summary?.minute == 91, "\(posts)")  // 002-19: watched 1 h after the fix-forward
        #expect(summary?.text.contains("Revenue lost: $4,000 in abandoned carts") == true, "\(String(describing: summary))")  // 002-22
        #expect(try await run.posts(restarted).first { $0.text.contains("INCIDENT SUMMARY") }?.minute == 61)  // 002-17: 30 min after a restart
        let record = IncidentRecord(incident: try #require(try await run.store.incident(id)), timeline: timeline)
        #expect(record.incident.impact.revenueLost == "$4,000 in abandoned carts")  // 002-22, 002-23: revenue_lost
        #expect(record.incident.id == "INC-2025-001")  // 002-20, 002-23
    }

    // MARK: 003: assess, communicate, mitigate

    @Test(
        "003 assess-communicate-mitigate: SEV-1 'Database crash': assess at 2, communicate at 5 unless updated, then every 30, mitigate-first at 15 unless mitigated, GitHub issue prompt once mitigated, review in 5 days; SEV-2 within 1 h; SEV-3 within 24 h; SEV-4 by the next sprint"
    )
    func assessCommunicateMitigate() async throws {
        let run = try await PresetRun.open("assess-communicate-mitigate.json", platform: .console, channel: "incidents")
        defer { run.remove() }
        let id = try await run.declare("declare sev-1 Database crash", as: "engineer-1")
        let login = try await run.declare("declare p1-high Login broken", as: "engineer-1")
        let minor = try await run.declare("declare sev-3 Export button not working", as: "engineer-1")
        let cosmetic = try await run.declare("declare sev-4 Typo on the pricing page", as: "engineer-1")
        try await run.fire(through: 3)
        await run.run("ack \(id)", as: "engineer-1")
        await run.run("update \(login) Investigating, will update in 30 minutes", as: "engineer-1")
        try await run.fire(through: 10)
        await run.run("update \(id) Investigating, will update in 30 minutes", as: "engineer-1")
        try await run.fire(through: 20)
        await run.run("mitigate \(id) Restarted the database on the replica", as: "engineer-1")
        try await run.fire(through: 45)
        await run.run("resolve \(id) Database back", as: "engineer-1")
        let resolvedAt = run.clock.now()
        try await run.fire(through: 61)
        await run.run("close \(login) Session cookie fixed", as: "engineer-1")
        #expect(try await run.store.pendingTimers(of: id).first { $0.kind == .reviewReminder }?.dueAt == resolvedAt.addingTimeInterval(5 * 86_400))  // 003-10
        try await run.fire(through: 14 * 24 * 60)

        #expect(try await run.store.incident(id)?.severity == "sev-1")  // 003-01
        let timeline = try await run.store.timeline(of: id)
        #expect(timeline.contains { $0.kind == .page && $0.text.hasPrefix("Paged") && run.minute($0.at) == 0 })  // 003-02: immediately
        let postmortem = await run.attempt("postmortem \(id)", as: "engineer-1")
        #expect(postmortem.reply.text.contains("## Incident: Database crash"), "\(postmortem.reply.text)")  // 003-11
        #expect(postmortem.reply.text.contains("Action Items"), "\(postmortem.reply.text)")  // 003-11
        let fired = try await run.firings(id)
        #expect(fired.contains { $0 == (2, "assess") }, "\(fired)")  // 003-06
        #expect(fired.contains { $0 == (5, "communicate") }, "\(fired)")  // 003-07
        #expect(fired.contains { $0 == (15, "mitigate") }, "\(fired)")  // 003-08
        #expect(fired.contains { $0 == (20, "github-issue") }, "\(fired)")  // 003-09
        let reminders = timeline.filter { $0.kind == .reminder && $0.text.hasPrefix("Update reminder") }
        #expect(reminders.map { run.minute($0.at) } == [40], "\(reminders)")  // 003-07: every 30 min after the update at 10
        let posts = try await run.posts(id)
        #expect(posts.contains { $0.minute == 15 && $0.target == "room" && $0.text.contains("mitigate first") }, "\(posts)")  // 003-08
        #expect(posts.contains { $0.minute == 20 && $0.target == "room" && $0.text.contains("P0-critical") }, "\(posts)")  // 003-09, 003-12

        // The GitHub issue itself, with the runbook's labels (the ticket target of the preset's SEV-1 and SEV-2).
        let tickets = try await run.store.outboxMessages(incident: id).compactMap { message -> [String]? in
            if case .ticket(let action) = message.action, case .open(_, _, let labels) = action.operation { return labels }
            return nil
        }
        #expect(tickets == [["bug", "P0-critical"]], "\(tickets)")  // 003-09, 003-12
        let loginTickets = try await run.store.outboxMessages(incident: login).compactMap { message -> [String]? in
            if case .ticket(let action) = message.action, case .open(_, _, let labels) = action.operation { return labels }
            return nil
        }
        #expect(loginTickets == [["bug", "P1-high"]], "\(loginTickets)")  // 003-09, 003-12
        #expect(try await run.store.incident(login)?.severity == "sev-2")  // 003-12: the P1-high label
        #expect(!(try await run.firings(login)).contains { $0.1 == "communicate" })  // 003-07: updated at 3
        // Nobody acknowledged the SEV-2 within the hour; the one-step chain has nobody further to page.
        let loginSteps = try await run.store.timeline(of: login).filter { $0.kind == .escalation && $0.text.hasPrefix("Still unacknowledged") }
        #expect(loginSteps.map { run.minute($0.at) } == [60], "\(loginSteps)")  // 003-03
        let minorTimeline = try await run.store.timeline(of: minor)
        #expect(minorTimeline.filter { $0.text.hasPrefix("No response") }.map { run.minute($0.at) } == [24 * 60])  // 003-04
        // Sprints of two weeks from Monday 5 January 2026: the next one after 1 December 2025 starts on Monday 8 December.
        let sprint = try await run.store.timeline(of: cosmetic).filter { $0.text.hasPrefix("No response") }
        #expect(sprint.count == 1, "\(sprint)")  // 003-05
        #expect(
            // 003-05
            sprint.first.map { Calendar.utc.dateComponents([.year, .month, .day], from: $0.at) } == DateComponents(year: 2025, month: 12, day: 8), "\(sprint)")
    }

    // MARK: 004: Rocket.Chat, weekly on-call

    @Test(
        "004 rocketchat: '/incident create \"API response time degraded\"' declares P1 and pages; investigate at 15, mitigate and stuck-30 escalation at 30 unless mitigated, customer-facing: customer-success, CTO and security lead at 1 h unless resolved, updates every 10, close with the runbook's words, review in 48 h"
    )
    func rocketChat() async throws {
        let run = try await PresetRun.open("rocketchat-weekly-oncall.json", platform: .rocketchat, channel: "incidents")
        defer { run.remove() }
        let id = try await run.declare("create \"API response time degraded\"", as: "alice")
        let minor = try await run.declare("declare p2 Search filter ignores dates", as: "alice")
        let cosmetic = try await run.declare("declare p3 Typo on the login page", as: "alice")
        // Customers see the slow API: a customer-facing outage (004-26 "Customer-facing outage > 1 hour").
        await run.run("set \(id) public yes", as: "alice")
        try await run.fire(through: 4)
        await run.run("ack \(id)", as: "alice")
        try await run.fire(through: 65)
        await run.run("mitigate \(id) Scaled DB connections", as: "alice")
        try await run.fire(through: 70)
        await run.run("close \(id) Resolved by scaling DB connections", as: "alice")
        let closedAt = run.clock.now()
        #expect(try await run.store.pendingTimers(of: id).first { $0.kind == .reviewReminder }?.dueAt == closedAt.addingTimeInterval(48 * 3600))  // 004-11
        try await run.fire(through: 14 * 24 * 60)

        let incident = try #require(try await run.store.incident(id))
        #expect(incident.severity == "p1")  // 004-18: create without a severity is P1
        #expect(incident.title == "API response time degraded")  // 004-18
        let posts = try await run.posts(id)
        #expect(posts.first { $0.target == "open-room" }?.room == "incident-2025-12-01-001", "\(posts)")  // 004-19
        let timeline = try await run.store.timeline(of: id)
        #expect(timeline.contains { $0.kind == .page && $0.text.hasPrefix("Paged") && run.minute($0.at) == 0 })  // 004-01, 004-02
        #expect(posts.filter { $0.target == "dm:alice" }.first?.minute == 0, "\(posts)")  // 004-13: this week's on-call
        #expect(!timeline.contains { $0.kind == .escalation && $0.text.contains("not acknowledged") })  // 004-07: acked at 4
        // 004-10: two missed updates
        #expect(timeline.filter { $0.kind == .escalation && $0.text.contains("no update") }.map { run.minute($0.at) } == [20], "\(timeline)")
        let fired = try await run.firings(id)
        #expect(fired.contains { $0 == (15, "investigate") }, "\(fired)")  // 004-08
        #expect(fired.contains { $0 == (30, "mitigate") }, "\(fired)")  // 004-09
        #expect(fired.contains { $0 == (30, "stuck-30m") }, "\(fired)")  // 004-26: stuck 30 min
        #expect(fired.contains { $0 == (60, "customer-facing-1h") }, "\(fired)")  // 004-21, 004-26: over 1 h
        #expect(fired.contains { $0 == (60, "major-or-security") }, "\(fired)")  // 004-25: customer-facing, CTO + security lead
        #expect(posts.filter { $0.target == "dm:security-lead" }.map(\.minute) == [60], "\(posts)")  // 004-25
        #expect(posts.filter { $0.target == "dm:devops-lead" }.map(\.minute) == [20, 30], "\(posts)")  // 004-10, 004-26
        // 004-16, 004-26: don't hero
        #expect(posts.first { $0.target == "dm:devops-lead" && $0.minute == 30 }?.text.contains("not mitigated after 30 minutes") == true)
        #expect(posts.filter { $0.target == "dm:cto" }.map(\.minute) == [60], "\(posts)")  // 004-26
        #expect(posts.filter { $0.target == "channel:customer-success" }.map(\.minute) == [60], "\(posts)")  // 004-21
        // The phone gateway (pager notices queue apart from the incident's posts): the on-call at once, the
        // DevOps lead when stuck 30 min, the CTO past 1 h.
        #expect(timeline.filter { $0.text == "Pager webhook phone notified: page" }.map { run.minute($0.at) } == [0, 30, 60], "\(timeline)")  // 004-15, 004-26
        let reminders = timeline.filter { $0.kind == .reminder && $0.text.hasPrefix("Update reminder") }
        #expect(reminders.map { run.minute($0.at) }.prefix(2) == [10, 20], "\(reminders)")  // 004-10: every 10 min
        #expect(incident.status == .closed)  // 004-23
        #expect(
            // 004-23
            posts.contains { $0.minute == 70 && $0.text.contains("INCIDENT SUMMARY") && $0.text.contains("Resolved by scaling DB connections") }, "\(posts)")

        let minorTimeline = try await run.store.timeline(of: minor)
        #expect(minorTimeline.filter { $0.text.hasPrefix("No response") }.map { run.minute($0.at) } == [120])  // 004-03: < 2 hours
        let sprint = try await run.store.timeline(of: cosmetic).filter { $0.text.hasPrefix("No response") }
        #expect(
            // 004-04
            sprint.first.map { Calendar.utc.dateComponents([.year, .month, .day], from: $0.at) } == DateComponents(year: 2025, month: 12, day: 8), "\(sprint)")
    }

    @Test(
        "004 rocketchat: the on-call in #devops's topic (004-12); '@oncall' answered with whoever is on call (004-14); '/incident ack' in #incidents takes the unacknowledged incident (004-17); the review at 14:00 the next day (004-22); P1's MTTA/MTTM/MTTR targets (004-27)"
    )
    func rocketChatPresence() async throws {
        let run = try await PresetRun.open("rocketchat-weekly-oncall.json", platform: .rocketchat, channel: "incidents")
        defer { run.remove() }
        // 004-12: the scheduler's first look at the rotation sets #devops's topic, and names this week's on-call.
        #expect(await run.daemon.scheduler.announceHandoffs() == 0)
        let topics = try await run.store.outboxEntries(state: .pending, limit: 50).filter { $0.kind == "set_channel_topic" }
        #expect(topics.map(\.platform) == ["rocketchat"], "\(topics)")  // 004-12
        let engine = run.daemon.commands.engine
        let topicTexts = engine.latestHandoffs(at: run.clock.now()).flatMap { handoff in
            engine.handoffChanges(handoff, overrides: [], now: run.clock.now(), announce: false).outbox.compactMap { message -> String? in
                if case .setChannelTopic(let channel, let topic) = message.action, channel == "devops" { return topic }
                return nil
            }
        }
        #expect(
            // 004-12
            topicTexts.count == 1 && topicTexts[0].hasPrefix("On call · oncall: <@alice> until ") && topicTexts[0].hasSuffix("next: <@bob>"), "\(topicTexts)")

        // 004-14: "@oncall acknowledging - investigating now" is an @oncall mention, answered with who is on call.
        let filter = RocketChatCommandFilter(
            triggers: ["/incident", "!incident"], ownUserID: "klaxon-bot", oncallMention: run.daemon.config.platforms.rocketchat?.oncallMention)
        let message = RocketChatInboundMessage(
            messageID: "m1", roomID: "incidents", threadID: nil, userID: "u-bob", username: "bob", text: "@oncall acknowledging - investigating now",
            isBot: false, isEdited: false)
        #expect(filter.verdict(on: message) == .command("oncall ping"))  // 004-14
        let ping = await run.attempt("oncall ping", as: "bob")
        #expect(ping.reply.text == "📣 @oncall: <@alice> (oncall)", "\(ping.reply.text)")  // 004-14

        // 004-17: an alert became an incident; whoever types /incident ack in #incidents takes the newest unacknowledged one.
        let minor = try await run.declare("declare p2 Search filter ignores dates", as: "alice")
        let id = try await run.declare("create \"API response time degraded\"", as: "alice")
        try await run.fire(through: 2)
        let ack = await run.run("ack", as: "alice")
        #expect(ack.reply.incidentID == id, "\(ack.reply.text)")  // 004-17
        #expect(try await run.store.incident(id)?.acknowledgedBy?.id == "alice")  // 004-17
        let second = await run.run("ack", as: "bob")
        #expect(second.reply.incidentID == minor)  // 004-17: then the other one still waiting
        #expect(await run.attempt("ack", as: "bob").outcome != .applied)  // 004-17: nothing left to acknowledge

        try await run.fire(through: 20)
        await run.run("mitigate \(id) Scaled DB connections", as: "alice")
        try await run.fire(through: 70)
        await run.run("resolve \(id) Scaled DB connections", as: "alice")
        try await run.fire(through: 2 * 24 * 60)
        // Resolved Monday 15:10 UTC: the review meeting is Tuesday 14:00, 22 h 50 min later.
        #expect(try await run.firings(id).contains { $0 == (24 * 60, "review-meeting") })  // 004-22
        let stats = await run.attempt("stats 30d p1", as: "alice")
        // Acknowledged at 2 min, mitigated at 20, resolved at 70: within 5 min, 30 min and 2 h.
        #expect(
            stats.reply.text.contains("1/1 within 5 min") && stats.reply.text.contains("1/1 within 30 min") && stats.reply.text.contains("1/1 within 2 h"),
            "\(stats.reply.text)")  // 004-27
    }

    @Test(
        "004 rocketchat: P0 tells leadership at once; --type security posts to #security and the security lead; unacknowledged, the path walks DevOps lead, CTO + security lead, CEO (004-05, 004-24, 004-25)"
    )
    func rocketChatP0Security() async throws {
        let run = try await PresetRun.open("rocketchat-weekly-oncall.json", platform: .rocketchat, channel: "incidents")
        defer { run.remove() }
        let id = try await run.declare("declare p0 --type security Admin panel exposed", as: "alice")
        try await run.fire(through: 70)
        let posts = try await run.posts(id)
        #expect(posts.filter { ($0.target == "dm:devops-lead" || $0.target == "dm:cto") && $0.minute == 0 }.count == 2, "\(posts)")  // 004-05
        #expect(posts.contains { $0.minute == 0 && $0.target == "channel:security" && $0.text.contains("Don't delete evidence") }, "\(posts)")  // 004-24
        #expect(posts.filter { $0.target == "dm:security-lead" }.first?.minute == 0, "\(posts)")  // 004-24
        let steps = try await run.store.timeline(of: id).filter { $0.kind == .escalation && $0.text.contains("not acknowledged") }
        #expect(steps.map { run.minute($0.at) } == [5, 35, 65], "\(steps)")  // 004-25
        #expect(steps.map { $0.text.contains("devops-lead") } == [true, false, false], "\(steps)")  // 004-25
        // 004-25
        #expect(steps.count == 3 && steps[1].text.contains("cto") && steps[1].text.contains("security-lead") && steps[2].text.contains("ceo"), "\(steps)")
    }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

/// A preset's daemon on a SQLite file in a temporary directory. Timers fire on the manual clock; the
/// outbox is read, never sent.
struct PresetRun {
    let directory: TemporaryDirectory
    let daemon: KlaxonDaemon
    let store: SQLiteIncidentStore
    let clock: ManualClock
    let platform: PlatformKind
    let channel: String
    let t0: Date
    /// The minute each outbox message was written at (the store stamps rows with the wall clock, for
    /// bookkeeping only): every command and every firing is followed by a look at the outbox.
    let ledger = OutboxLedger()

    static func open(_ file: String, platform: PlatformKind, channel: String) async throws -> PresetRun {
        let directory = try TemporaryDirectory("klaxon-preset")
        let path = directory.file("klaxon.sqlite")
        let json = try String(contentsOf: PresetScenarioTests.presets.appendingPathComponent(file), encoding: .utf8)
        var config = try ConfigLoader.load(json: json, environment: PresetScenarioTests.environment).get()
        config.storage.sqlite = SQLiteStorageConfig(path: path)
        let clock = ManualClock(now: PresetScenarioTests.start)
        let store = try await SQLiteIncidentStore.open(path: path, logger: quietLogger)
        let daemon = try KlaxonDaemon(config: config, store: store, clock: clock, logger: quietLogger)
        return PresetRun(directory: directory, daemon: daemon, store: store, clock: clock, platform: platform, channel: channel, t0: clock.now())
    }

    func remove() { directory.remove() }

    func minute(_ date: Date) -> Int { Int(date.timeIntervalSince(t0) / 60) }

    /// `/incident <text>` typed by `user` in the announce channel; not checked.
    func attempt(_ text: String, as user: String) async -> CommandService.Result {
        let context = CommandContext(
            platform: platform, conversation: Conversation(platform: platform, channelID: channel), user: ChatUser(id: user, name: user))
        let result = await daemon.commands.handle(text: text, context: context)
        do {
            try await ledger.stamp(store: store, minute: minute(clock.now()))
        } catch {
            Issue.record("reading the outbox after /incident \(text): \(error)")
        }
        return result
    }

    @discardableResult
    func run(_ text: String, as user: String, sourceLocation: SourceLocation = #_sourceLocation) async -> CommandService.Result {
        let result = await attempt(text, as: user)
        #expect(result.outcome == .applied, "/incident \(text): \(result.reply.text)", sourceLocation: sourceLocation)
        return result
    }

    func declare(_ text: String, as user: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> IncidentID {
        let result = await run(text, as: user, sourceLocation: sourceLocation)
        let id = try #require(result.reply.incidentID, sourceLocation: sourceLocation)
        try await ledger.follow(id, store: store, minute: minute(clock.now()))
        return id
    }

    /// Fires every timer due up to `minutes` after the start, each at its own due time; leaves the clock there.
    func fire(through minutes: Double) async throws {
        let end = t0.addingTimeInterval(minutes * 60)
        while let due = try await store.nextTimerDue(), due <= end {
            clock.advance(to: max(due, clock.now()))
            await daemon.scheduler.fireDue()
            try await ledger.stamp(store: store, minute: minute(clock.now()))
        }
        clock.advance(to: end)
    }

    /// Policy firings in the timeline: (minute, rule or checkpoint id).
    func firings(_ id: IncidentID) async throws -> [(Int, String)] {
        try await store.timeline(of: id).compactMap { entry in
            if entry.kind == .page, entry.text.hasPrefix("Rule ") {
                return (minute(entry.at), String(entry.text.dropFirst(5).prefix { $0 != " " }))
            }
            if entry.kind == .reminder, entry.text.hasPrefix("Checkpoint ") {
                return (minute(entry.at), String(entry.text.dropFirst(11).prefix { $0 != " " }))
            }
            return nil
        }
    }

    struct Post: CustomStringConvertible {
        var minute: Int
        /// `open-room`, `room`, `announce`, `channel:<name>`, `dm:<user id>`, `discord:<webhook>`.
        var target: String
        var text: String
        /// The channel name, for `open-room`.
        var room: String? = nil
        var description: String { "\(minute) \(target): \(text.prefix(80))" }
    }

    /// What the bot wrote to the outbox for an incident, oldest first.
    func posts(_ id: IncidentID) async throws -> [Post] {
        let minutes = await ledger.minutes
        return try await store.outboxMessages(incident: id).compactMap { message in
            let at = minutes[message.id] ?? -1
            switch message.action {
            case .openRoom(let name, _, let announcement, _): return Post(minute: at, target: "open-room", text: announcement, room: name)
            case .post(let to, let text, _):
                switch to {
                case .incidentRoom: return Post(minute: at, target: "room", text: text)
                case .announce: return Post(minute: at, target: "announce", text: text)
                case .conversation(let conversation): return Post(minute: at, target: "channel:\(conversation.channelID)", text: text)
                case .direct(let user): return Post(minute: at, target: "dm:\(user)", text: text)
                case .channel(let name): return Post(minute: at, target: "channel:\(name)", text: text)
                }
            case .discordWebhook(let post): return Post(minute: at, target: "discord:\(post.webhook)", text: post.content)
            // Pager notices carry no incident id (they queue in their own lane); the timeline records them.
            case .setTopic, .invite, .pagerWebhook, .email, .ticket, .statusWebhook, .setChannelTopic: return nil
            }
        }
    }
}

/// When each outbox message of the followed incidents first appeared, in minutes of the scenario.
actor OutboxLedger {
    private(set) var minutes: [Int64: Int] = [:]
    private var incidents: [IncidentID] = []

    func follow(_ id: IncidentID, store: SQLiteIncidentStore, minute: Int) async throws {
        incidents.append(id)
        try await stamp(store: store, minute: minute)
    }

    func stamp(store: SQLiteIncidentStore, minute: Int) async throws {
        for id in incidents {
            for message in try await store.outboxMessages(incident: id) where minutes[message.id] == nil {
                minutes[message.id] = minute
            }
        }
    }
}
