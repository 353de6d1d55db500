import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Testing

@testable import Storage

/// Issue 12, items 6 and 7: nothing the outbox was asked to send disappears without a trace, whatever
/// Slack answers, and the workers stay calm when the store refuses writes.
@Suite("Outbox: parking, retry horizon, dead letters, store faults")
struct OutboxTrustTests {
    static let slackLane = OutboxLane("slack")

    /// Steps the sender until `until` (injected time), jumping to each due time or parked probe.
    static func step(_ slack: SlackHarness, until end: Date) async throws {
        while slack.clock.now() < end {
            await slack.daemon.sender.drainOnce()
            let due = try await slack.daemon.sender.nextDue() ?? end
            slack.clock.advance(to: min(max(due, slack.clock.now().addingTimeInterval(0.001)), end))
        }
    }

    /// Texts posted in `channel` that contain `marker`, in order.
    static func posts(_ slack: SlackHarness, in channel: String, containing marker: String) -> [String] {
        slack.fake.messages(in: channel).map(\.text).filter { $0.contains(marker) }
    }

    @Test func aRevokedTokenParksSlackForAnHourThenEveryMessageGoesOutOnceInOrder() async throws {
        try await SlackHarness.run { slack in
            let (id, channel) = try await slack.declare()
            slack.fake.setOutage(.slackError("invalid_auth"))
            for step in 1...5 {
                _ = try await slack.slash("update Step-\(step) of the failover", channel: channel)
            }
            let start = slack.clock.now()
            try await Self.step(slack, until: start.addingTimeInterval(3600))

            // Parked, not dropped: every message still pending, the platform reported unavailable.
            let parked = try #require(slack.daemon.health.parked(Self.slackLane))
            #expect(parked.reason.contains("invalid_auth"))
            let outbox = try await slack.store.outboxMessages(incident: id)
            #expect(outbox.filter { $0.state == .dead }.isEmpty)
            #expect(outbox.filter { $0.state == .pending }.count >= 5)
            // Probed at a capped backoff, not hammered: an hour at most every 5 minutes, plus the climb.
            let refused = slack.fake.calls.filter { $0.index > 0 }.count
            #expect(refused < 60, "\(refused) calls during the outage")
            let ready = try await slack.get("/readyz")
            #expect(ready.status == 503)
            #expect(ready.body.contains("slack") && ready.body.contains("invalid_auth"), "\(ready.body)")
            let metrics = try await slack.get("/metrics")
            #expect(metrics.body.contains(#"klaxon_platform_unavailable{platform="slack"} 1"#), "\(metrics.body)")
            #expect(Self.posts(slack, in: channel, containing: "Step-").isEmpty)

            // The token works again: the lane resumes by itself, in order, each message once.
            slack.fake.setOutage(nil)
            try await slack.deliverAll()
            #expect(slack.daemon.health.parked(Self.slackLane) == nil)
            #expect(Self.posts(slack, in: channel, containing: "Step-").map { $0.contains("Step-") } == Array(repeating: true, count: 5))
            let order = Self.posts(slack, in: channel, containing: "Step-").compactMap { text in
                (1...5).first { text.contains("Step-\($0) ") }
            }
            #expect(order == [1, 2, 3, 4, 5])
            #expect(try await slack.store.outboxMessages(incident: id).allSatisfy { $0.state == .delivered })
            #expect(try await slack.get("/readyz").status == 200)
            #expect(try await slack.get("/metrics").body.contains(#"klaxon_platform_unavailable{platform="slack"} 0"#))
        }
    }

    @Test func tenMinutesOf503LoseAndDoubleNothing() async throws {
        try await SlackHarness.run { slack in
            let (id, channel) = try await slack.declare()
            slack.fake.setOutage(.serverError)
            for step in 1...4 {
                _ = try await slack.slash("update Step-\(step) still down", channel: channel)
            }
            try await Self.step(slack, until: slack.clock.now().addingTimeInterval(600))
            #expect(slack.daemon.health.parked(Self.slackLane) == nil, "a 503 is not a credential problem")
            #expect(try await slack.store.outboxMessages(incident: id).allSatisfy { $0.state != .dead })
            slack.fake.setOutage(nil)
            try await slack.deliverAll()
            let order = Self.posts(slack, in: channel, containing: "Step-").compactMap { text in (1...4).first { text.contains("Step-\($0) ") } }
            #expect(order == [1, 2, 3, 4])
            #expect(try await slack.store.outboxMessages(incident: id).allSatisfy { $0.state == .delivered })
        }
    }

    @Test func rateLimitWaitsAreNotAttempts() async throws {
        var options = SlackHarness.Options()
        // An old config's cap: 2 failed attempts. Five 429s in a row must not use it up.
        options.edit = { $0.outbox.maxAttempts = 2 }
        try await SlackHarness.run(options) { slack in
            let (id, channel) = try await slack.declare()
            slack.fake.inject(
                "chat.postMessage", .rateLimited(retryAfter: 1), .rateLimited(retryAfter: 1), .rateLimited(retryAfter: 1), .rateLimited(retryAfter: 1),
                .rateLimited(retryAfter: 1))
            _ = try await slack.slash("update Step-1 throttled", channel: channel)
            try await slack.deliverAll()
            #expect(Self.posts(slack, in: channel, containing: "Step-1").count == 1)
            #expect(try await slack.store.outboxMessages(incident: id).allSatisfy { $0.state == .delivered && $0.attempts == 0 })
        }
    }

    @Test func anUndeliverableMessageIsADeadLetterThatCanBeRetriedOrDropped() async throws {
        try await SlackHarness.run { slack in
            let (id, channel) = try await slack.declare()
            slack.fake.inject("chat.postMessage", .slackError("is_archived"), .slackError("channel_not_found"))
            _ = try await slack.slash("update Step-1 lost", channel: channel)
            _ = try await slack.slash("update Step-2 lost too", channel: channel)
            _ = try await slack.slash("update Step-3 goes out", channel: channel)
            try await slack.deliverAll()
            // The dead ones hold nothing up.
            #expect(Self.posts(slack, in: channel, containing: "Step-").count == 1)

            let dead = try #require(try await slack.get("/api/outbox?state=dead").json(array: true))
            #expect(dead.count == 2)
            #expect(dead.compactMap { $0["lastError"] as? String }.sorted() == ["chat.postMessage: channel_not_found", "chat.postMessage: is_archived"])
            #expect(dead.allSatisfy { $0["incident"] as? String == "\(id)" && $0["lane"] as? String == "slack" })
            #expect(try await slack.get("/metrics").body.contains(#"klaxon_outbox_dead_total{platform="slack"} 2"#))

            let archived = try #require(dead.first { ($0["lastError"] as? String)?.contains("is_archived") == true }?["id"] as? Int)
            let missing = try #require(dead.first { ($0["lastError"] as? String)?.contains("channel_not_found") == true }?["id"] as? Int)
            let asAlice = #"{"user": "alice"}"#
            #expect(try await slack.post("/api/outbox/\(archived)/retry", body: asAlice, contentType: "application/json", signed: false).status == 200)
            #expect(try await slack.post("/api/outbox/\(missing)/drop", body: "{}", contentType: "application/json", signed: false).status == 200)
            #expect(try await slack.post("/api/outbox/\(missing)/drop", body: "{}", contentType: "application/json", signed: false).status == 404)
            // A page cannot resend it behind the operator's back.
            #expect(try await slack.post("/api/outbox/\(archived)/retry", body: "{}", contentType: "text/plain", signed: false).status == 415)
            #expect(try await slack.post("/api/outbox/\(archived)/retry", body: "not json", contentType: "application/json", signed: false).status == 400)

            // Each call that could change the outbox is audited, done or refused, with who and from where.
            let audit = try #require(
                try await slack.get("/api/audit?limit=20").body.data(using: .utf8).flatMap {
                    try JSONSerialization.jsonObject(with: $0) as? [[String: Any]]
                })
            let outboxLines = audit.filter { ($0["text"] as? String)?.hasPrefix("POST /api/outbox/") == true }.reversed().map { line in
                let (outcome, user, text) = (line["outcome"] as? String ?? "?", line["user"] as? String ?? "?", line["text"] as? String ?? "?")
                return "\(outcome) \(user) \(text) from \(line["remoteAddress"] as? String ?? "nowhere")"
            }
            #expect(
                outboxLines == [
                    "applied alice POST /api/outbox/\(archived)/retry from 127.0.0.1",
                    "applied api POST /api/outbox/\(missing)/drop from 127.0.0.1",
                    "rejected api POST /api/outbox/\(missing)/drop from 127.0.0.1",
                    "denied api POST /api/outbox/\(archived)/retry from 127.0.0.1",
                    "invalid api POST /api/outbox/\(archived)/retry from 127.0.0.1",
                ], "\(outboxLines)")
            let refusal = try #require(audit.first { $0["outcome"] as? String == "rejected" })
            #expect(refusal["reason"] as? String == "no dead outbox message \(missing)")
            // Slack's own commands come through Slack, not the API: no remote address is recorded for them.
            #expect(audit.contains { ($0["text"] as? String)?.hasPrefix("update Step-1") == true && $0["remoteAddress"] == nil })
            try await slack.deliverAll()
            #expect(Self.posts(slack, in: channel, containing: "Step-1").count == 1)
            #expect(Self.posts(slack, in: channel, containing: "Step-2").isEmpty)
            #expect(try #require(try await slack.get("/api/outbox?state=dead").json(array: true)).isEmpty)
        }
    }

    @Test func aRowThatCannotBeDecodedIsSetAsideAlone() async throws {
        try await SlackHarness.run { slack in
            let (id, channel) = try await slack.declare()
            _ = try await slack.slash("update Step-1 before", channel: channel)
            _ = try await slack.slash("update Step-2 damaged", channel: channel)
            _ = try await slack.slash("update Step-3 after", channel: channel)
            let pending = try await slack.store.outboxMessages(incident: id).filter { $0.state == .pending }.map(\.id)
            #expect(pending.count >= 3)
            let damaged = pending[1]
            try await slack.store.write(singleStatement: true) { session in
                try session.run("UPDATE outbox SET action = '{\"post\":{\"to\":' WHERE id = ?", [.int64(damaged)])
            }
            try await slack.deliverAll()
            #expect(Self.posts(slack, in: channel, containing: "Step-1").count == 1)
            #expect(Self.posts(slack, in: channel, containing: "Step-3").count == 1)
            let dead = try await slack.store.outboxEntries(state: .dead, limit: 10)
            #expect(dead.map(\.id) == [damaged])
            #expect(dead.first?.kind == "undecodable")
            #expect(dead.first?.lastError?.contains("cannot decode") == true)
        }
    }

    @Test func aParkedPlatformDoesNotHoldUpPages() async throws {
        var options = SlackHarness.Options()
        options.pagerToFake = true
        try await SlackHarness.run(options) { slack in
            slack.fake.setOutage(.slackError("token_revoked"))
            let reply = try await slack.slash("declare sev1 Pager still works")
            let id = try #require(IncidentID(parsing: String(reply.text.split(separator: " ").dropFirst().first ?? "")), "\(reply.text)")
            try await Self.step(slack, until: slack.clock.now().addingTimeInterval(120))
            #expect(slack.daemon.health.parked(Self.slackLane) != nil)
            // The page went out through its own lane while Slack's queue waits, nothing dead.
            #expect(slack.fake.responses.contains { $0.contains("Pager still works") })
            #expect(try await slack.store.outboxMessages(incident: id).allSatisfy { $0.state != .dead })
        }
    }

    @Test func aReadOnlyStoreMakesTheWorkersBackOffAndReadinessFail() async throws {
        try await SlackHarness.run { slack in
            _ = try await slack.declare()
            let health = slack.daemon.health
            try await withThrowingTaskGroup(of: Void.self) { group in
                let sleepersBefore = slack.clock.sleeperCount
                group.addTask { try await slack.daemon.sender.run() }
                group.addTask { try await slack.daemon.scheduler.run() }
                // Everyone idle: three sender lanes and the scheduler asleep on the clock.
                #expect(await eventually { slack.clock.sleeperCount == sleepersBefore + 4 })

                // What a read-only file or a full disk does: every write refused with SQLite's error.
                try await slack.store.write(singleStatement: true) { try $0.run("PRAGMA query_only = ON") }
                slack.daemon.outboxBell.ring()
                slack.daemon.timerBell.ring()
                #expect(await eventually { health.storeFailure != nil && slack.clock.sleeperCount == sleepersBefore + 4 })
                let ready = try await slack.get("/readyz")
                #expect(ready.status == 503)
                #expect(ready.body.contains("store: writes failing"), "\(ready.body)")

                // Ten minutes of injected time, in 5-second steps, each time waiting until all are asleep
                // again: a busy loop would show as thousands of attempts, backoff as a few dozen.
                let attemptsBefore = health.storeWriteFailures
                for _ in 0..<120 {
                    slack.clock.advance(by: 5)
                    #expect(await eventually { slack.clock.sleeperCount == sleepersBefore + 4 })
                }
                let attempts = health.storeWriteFailures - attemptsBefore
                #expect(attempts > 4 && attempts < 120, "\(attempts) failed writes in 10 minutes")

                try await slack.store.write(singleStatement: true) { try $0.run("PRAGMA query_only = OFF") }
                slack.clock.advance(by: 61)
                #expect(await eventually { health.storeFailure == nil })
                #expect(try await slack.get("/readyz").status == 200)
                group.cancelAll()
            }
        }
    }
}

extension SlackHarness.HTTPResult {
    /// The body as a JSON array of objects.
    func json(array: Bool) -> [[String: Any]]? {
        try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]]
    }
}
