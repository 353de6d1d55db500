import Crypto
import Foundation
import HTTPTypes
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// Status webhooks end to end: every published change leaves through the outbox as a signed JSON POST
/// to a real HTTP server on loopback, retried until taken, exactly once; unpublished changes send nothing.
@Suite("Status webhooks over loopback")
struct StatusWebhookTests {
    static let secret = "status-webhook-secret-for-tests"

    static func signatureIsValid(_ request: FakePagerGateway.Received) -> Bool {
        guard let timestamp = request.headers["x-klaxon-timestamp"], let signature = request.headers["x-klaxon-signature"] else { return false }
        var signed = Data("v1:\(timestamp):".utf8)
        signed.append(request.body)
        let expected = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return signature == "v1=" + expected.map { String(format: "%02x", $0) }.joined()
    }

    @Test func publishedChangesArePostedSignedOnceEachAndNothingElseIs() async throws {
        try await FakePagerGateway.run { receiver in
            let directory = try TemporaryDirectory("klaxon-status-hooks")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await TestDaemon.open(path: directory.file("status.sqlite"), clock: clock) { config in
                config.statusPage.components = [StatusPageComponent(id: "checkout", name: "Checkout")]
                config.statusPage.webhooks = [StatusWebhook(id: "statuspage", url: receiver.url, secret: Secret(Self.secret))]
            }
            receiver.script(.init(status: .serviceUnavailable))

            let id = try await klaxon.declare("sev2", "Checkout is slow")
            _ = await klaxon.run("note \(id) internal only", as: "alice")
            _ = await klaxon.run("component \(id) checkout", as: "alice")
            await klaxon.sender.drainOnce()
            #expect(receiver.received.isEmpty, "nothing was published yet")

            _ = await klaxon.run("status \(id) investigating \"Checkout is slower than usual.\"", as: "alice")
            await klaxon.sender.drainOnce()
            #expect(receiver.received.count == 1, "the first attempt meets a 503")
            clock.advance(by: 2)
            await klaxon.sender.drainOnce()
            #expect(receiver.received.count == 2, "and is retried")

            _ = await klaxon.run("ack \(id)", as: "bob")  // internal: the public state stays investigating
            _ = await klaxon.run("resolve \(id) restarted the pool", as: "bob")
            await klaxon.sender.drainOnce()
            clock.advance(by: 3600)
            await klaxon.sender.drainOnce()

            let requests = receiver.received
            #expect(requests.count == 3, "published, published again after the 503, resolved; the ack sent nothing")
            #expect(requests.allSatisfy(Self.signatureIsValid))
            #expect(requests[0].body == requests[1].body && requests[0].headers["x-klaxon-delivery"] == requests[1].headers["x-klaxon-delivery"])
            #expect(requests.map { $0.headers["x-klaxon-event"] } == ["incident.published", "incident.published", "incident.resolved"])
            let last = try #require(try JSONSerialization.jsonObject(with: requests[2].body) as? [String: Any])
            #expect(last["webhook"] as? String == "statuspage")
            let incident = try #require(last["incident"] as? [String: Any])
            #expect(incident["id"] as? String == id.description)
            #expect(incident["state"] as? String == "resolved")
            #expect(incident["component"] as? String == "checkout")
            #expect((incident["updates"] as? [[String: Any]])?.map { $0["state"] as? String } == ["investigating", "resolved"])
            let bodies = requests.map { String(decoding: $0.body, as: UTF8.self) }
            #expect(!bodies.contains { $0.contains("internal only") || $0.contains("restarted the pool") || $0.contains("alice") || $0.contains("bob") })
            #expect(try await klaxon.store.outboxDepth() == 0)
            try await klaxon.close()
        }
    }

    /// A chat platform refusing our token (parked) holds back its own lane only: status webhooks have
    /// the `status` lane (migration 17), so the external page still hears of the published change.
    @Test func aParkedChatPlatformDoesNotHoldStatusWebhooks() async throws {
        try await FakePagerGateway.run { receiver in
            let directory = try TemporaryDirectory("klaxon-status-hooks")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let path = directory.file("status.sqlite")
            let config = try Fixture.config(storePath: path) { config in
                // The console is replaced by a chat platform that refuses every message as unauthorized.
                config.platforms.console = nil
                config.statusPage.webhooks = [StatusWebhook(id: "statuspage", url: receiver.url, secret: Secret(Self.secret))]
            }
            let store = try await SQLiteIncidentStore.open(path: path, logger: quietLogger)
            let daemon = try KlaxonDaemon(config: config, store: store, clock: clock, logger: quietLogger, platforms: [RefusingPlatform()])
            let context = CommandContext(
                platform: .console, conversation: Conversation(platform: .console, channelID: "incidents"), user: Fixture.user("alice"))
            let declared = await daemon.commands.handle(text: "declare sev2 Checkout is slow", context: context)
            let id = try #require(declared.reply.incidentID)
            let published = await daemon.commands.handle(text: "status \(id) investigating \"Checkout is slower than usual.\"", context: context)
            #expect(published.outcome == .applied, "\(published.reply.text)")

            let lanes = try await store.outboxEntries(state: .pending, limit: 100).filter { $0.kind == "status_webhook" }.map(\.lane)
            #expect(lanes == ["status"])
            await daemon.sender.drainOnce()
            #expect(daemon.sender.health.parked(OutboxLane("console")) != nil, "the chat platform is parked")
            #expect(receiver.received.map { $0.headers["x-klaxon-event"] } == ["incident.published"], "the status webhook went out anyway")
            #expect(try await store.outboxEntries(state: .delivered, limit: 100).map(\.kind) == ["status_webhook"])
            try await store.close()
        }
    }
}

/// A chat platform whose every answer is "your token was refused": its lane parks.
private struct RefusingPlatform: ChatPlatform {
    var kind: PlatformKind { .console }
    func deliver(_ message: OutboxMessage, incident: Incident?) async throws(DeliveryFailure) -> Delivery {
        throw .unauthorized("console: token refused (test)")
    }
}
