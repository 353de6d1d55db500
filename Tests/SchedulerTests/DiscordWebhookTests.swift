import Foundation
import HTTPTypes
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Storage
import Testing

/// A policy rule's `discord:<id>` target, end to end: the post leaves through the outbox as Discord's
/// webhook JSON to a real HTTP server on 127.0.0.1 (runbook 000-12: public announcements on Slack and
/// Discord).
@Suite("Discord incoming webhooks over loopback")
struct DiscordWebhookTests {
    static func daemon(_ directory: TemporaryDirectory, gateway: FakePagerGateway, clock: ManualClock) async throws -> TestDaemon {
        try await TestDaemon.open(path: directory.file("discord.sqlite"), clock: clock) { config in
            config.discord = DiscordConfig(webhooks: [DiscordWebhook(id: "public", url: Secret(gateway.url))])
            config.editSeverity("sev1") { sev1 in
                sev1.notify = [
                    PolicyRule(
                        id: "public", at: .span(.zero), notify: [.discord("public")],
                        say: "INCIDENT: We're aware {{title}}. Our team is working on it. Updates every 15 min. @everyone")
                ]
            }
        }
    }

    @Test("the rule's text is posted as Discord webhook JSON, mentions disabled, retried after a 429 and delivered once (000-12)")
    func posts() async throws {
        try await FakePagerGateway.run { gateway in
            let directory = try TemporaryDirectory("klaxon-discord")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday)
            let klaxon = try await Self.daemon(directory, gateway: gateway, clock: clock)
            gateway.script(.init(status: .tooManyRequests, headers: ["Retry-After": "2"]))
            let id = try await klaxon.declare("sev1", "uploads are failing")
            await klaxon.step()
            #expect(gateway.received.count == 1)
            clock.advance(by: 3)
            await klaxon.sender.drainOnce()
            #expect(gateway.received.count == 2)
            await klaxon.sender.drainOnce()
            #expect(gateway.received.count == 2, "delivered once")
            let body = try #require(try JSONSerialization.jsonObject(with: gateway.received[1].body) as? [String: Any])
            #expect(body["content"] as? String == "📣 INCIDENT: We're aware uploads are failing. Our team is working on it. Updates every 15 min. @everyone")
            #expect((body["allowed_mentions"] as? [String: Any])?["parse"] as? [String] == [], "nobody is pinged from Discord")
            #expect(gateway.received[1].headers["content-type"] == "application/json")
            let timeline = try await klaxon.store.timeline(of: id)
            #expect(timeline.contains { $0.text == "Rule public (SEV1, at declaration): notified Discord public" })
            try await klaxon.close()
        }
    }

    @Test("a webhook that answers 404 (deleted) gives the post up without holding back the platform's other messages")
    func deletedWebhook() async throws {
        try await FakePagerGateway.run { gateway in
            let directory = try TemporaryDirectory("klaxon-discord-404")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday)
            let klaxon = try await Self.daemon(directory, gateway: gateway, clock: clock)
            gateway.script(.init(status: .notFound))
            let id = try await klaxon.declare("sev1", "Search is slow")
            await klaxon.step()
            await klaxon.run("update \(id) Looking at the index", as: "alice")
            await klaxon.step()
            #expect(gateway.received.count == 1)
            #expect(try await klaxon.store.outboxDepth() == 0, "given up, and the update behind it went out")
            let dead = try await klaxon.store.outboxEntries(state: .dead, limit: 10)
            #expect(dead.map(\.kind) == ["discord_webhook"])
            #expect(dead.first?.lastError?.contains("Discord webhook public refused the post: HTTP 404") == true)
            #expect(dead.first?.lastError?.contains("127.0.0.1") == false, "the webhook URL (its token) is not in the reason")
            try await klaxon.close()
        }
    }
}
