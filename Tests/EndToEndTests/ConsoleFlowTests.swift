import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOHTTP1
import Storage
import Testing

/// The whole incident flow through the console platform, over real HTTP and a real SQLite file.
@Suite("Console platform, end to end")
struct ConsoleFlowTests {
    @Test("declare → ack → update → status → role → resolve → close, with channel, posts and timeline")
    func fullIncidentLifecycle() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try defaultConfig(storePath: directory.file("klaxon.sqlite")))

        let declared = try await daemon.command("declare sev1 \"Payment processing down\"", user: "alice")
        #expect(declared["outcome"] == "applied")
        #expect(declared["incident"] == "INC-1")
        let reply = try #require(declared["reply"])
        #expect(reply.contains("Declared INC-1 · SEV1 · Payment processing down"))
        let channelLine = try #require(reply.split(separator: "\n").first { $0.hasPrefix("Channel: #incident-") })
        let channel = String(channelLine.dropFirst("Channel: #".count))
        #expect(channel.hasSuffix("-001"))

        // The sender runs in the service group: the room, the announcement, the alert and the page arrive.
        #expect(
            try await eventually {
                let texts = try await daemon.messages().compactMap { $0["text"] as? String }
                return texts.contains { $0.hasPrefix("Created #\(channel)") }
                    && texts.contains { $0.contains("INC-1 declared by @alice") && $0.contains("#\(channel)") }
                    && texts.contains { $0.contains("[SEV1 INCIDENT] Payment processing down") && $0.contains("[Acknowledge: /incident ack INC-1]") }
                    && texts.contains { $0.contains("you are paged for INC-1") }
            })

        // Commands typed in the incident channel apply to that incident without naming it.
        let ack = try await daemon.command("ack", user: "bob", channel: channel)
        #expect(ack["outcome"] == "applied")
        #expect(ack["reply"]?.hasPrefix("Acknowledged INC-1") == true)
        let ackAgain = try await daemon.command("ack", user: "alice", channel: channel)
        #expect(ackAgain["outcome"] == "rejected")
        #expect(ackAgain["reply"]?.contains("already acknowledged by @bob") == true)

        #expect(try await daemon.command("update DB failover in progress", user: "bob", channel: channel)["outcome"] == "applied")
        #expect(try await daemon.command("status identified \"Root cause: connection pool exhausted\"", user: "bob", channel: channel)["outcome"] == "applied")
        #expect(try await daemon.command("role ic @alice", user: "bob", channel: channel)["reply"] == "@alice is now Incident Commander of INC-1.")
        #expect(try await daemon.command("note restarted pgbouncer", user: "carol", channel: channel)["outcome"] == "applied")
        #expect(try await daemon.command("resolve Pool size raised from 20 to 50", user: "alice", channel: channel)["outcome"] == "applied")
        let closed = try await daemon.command("close", user: "alice", channel: channel)
        #expect(closed["outcome"] == "applied")
        let closedAgain = try await daemon.command("close", user: "alice", channel: channel)
        #expect(closedAgain["outcome"] == "rejected")

        #expect(
            try await eventually {
                let texts = try await daemon.messages().filter { ($0["channel"] as? String) == channel }.compactMap { $0["text"] as? String }
                return texts.contains { $0.hasPrefix("UPDATE [") && $0.contains("DB failover in progress") }
                    && texts.contains { $0.contains("✅ RESOLVED") && $0.contains("Pool size raised from 20 to 50") }
                    && texts.contains { $0.hasPrefix("INCIDENT SUMMARY · INC-1") }
                    && texts.contains { $0.hasPrefix("Topic: SEV1 · Closed · IC: @alice") }
            })

        let detail = try await daemon.request(.GET, "/api/incidents/INC-1")
        #expect(detail.status == 200)
        let incident = try #require(detail.json as? [String: Any])
        #expect(incident["status"] as? String == "closed")
        #expect(incident["acknowledgedBy"] as? String == "bob")
        #expect((incident["roles"] as? [String: String])?["ic"] == "alice")
        let kinds = (incident["timeline"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        #expect(kinds == ["declared", "page", "acknowledged", "update", "status", "role", "note", "resolved", "closed"])

        let timeline = try await daemon.command("timeline INC-1", user: "dave")
        #expect(timeline["outcome"] == "answered")
        #expect(timeline["reply"]?.contains("Note") == false)
        #expect(timeline["reply"]?.contains("@carol: restarted pgbouncer") == true)
        let postmortem = try await daemon.command("postmortem INC-1", user: "alice")
        #expect(postmortem["reply"]?.contains("## Incident: Payment processing down") == true)
        #expect(postmortem["reply"]?.contains("Time to acknowledge:") == true)

        try await daemon.stop()
    }

    @Test("the runbook's bare form and aliases: /incident SEV2 …, create, p0")
    func bareFormAndAliases() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try defaultConfig(storePath: directory.file("klaxon.sqlite")))
        #expect(try await daemon.command("SEV2 Login broken for SSO users")["reply"]?.contains("SEV2 · Login broken for SSO users") == true)
        #expect(try await daemon.command("create \"API response time degraded\"")["outcome"] == "applied")
        #expect(try await daemon.command("new p0 Database is down")["reply"]?.contains("SEV1 · Database is down") == true)
        let list = try await daemon.command("list")
        #expect(list["reply"]?.contains("INC-1") == true && list["reply"]?.contains("INC-2") == true && list["reply"]?.contains("INC-3") == true)
        try await daemon.stop()
    }

    @Test("malformed commands get usage help and change nothing")
    func malformedCommandsChangeNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try defaultConfig(storePath: directory.file("klaxon.sqlite")))
        for text in ["decalre sev1 x", "declare sev9 Something", "declare sev1", "ack now please", "role ic alice", "status sleeping", "update", "page"] {
            let answer = try await daemon.command(text)
            #expect(answer["outcome"] == "invalid", "\(text)")
            #expect(answer["reply"]?.contains("Usage: /incident") == true, "\(text)")
        }
        // Understood but refused: nothing to act on.
        #expect(try await daemon.command("ack INC-99")["reply"] == "There is no incident INC-99. /incident list shows the open ones.")
        #expect(try await daemon.command("resolve")["outcome"] == "rejected")
        let incidents = try await daemon.request(.GET, "/api/incidents")
        #expect(incidents.body == "[]")
        #expect(try await daemon.store.outboxDepth() == 0)
        try await daemon.stop()
    }

    @Test("a request sent twice with the same requestID is processed once")
    func duplicateRequestProcessedOnce() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try defaultConfig(storePath: directory.file("klaxon.sqlite")))
        let first = try await daemon.command("declare sev2 Checkout slow", requestID: "r-1")
        let second = try await daemon.command("declare sev2 Checkout slow", requestID: "r-1")
        #expect(first["outcome"] == "applied")
        #expect(second["outcome"] == "duplicate")
        let incidents = try #require(try await daemon.request(.GET, "/api/incidents").json as? [[String: Any]])
        #expect(incidents.count == 1)
        try await daemon.stop()
    }
}
