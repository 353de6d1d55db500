import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import IncidentCore
import KlaxonTestSupport
import Logging
import Platforms
import Scheduler
import Storage
import Synchronization
import Testing

/// An SMS gateway on 127.0.0.1 that records every request and answers from a script (then 200).
final class FakePagerGateway: Sendable {
    struct Received: Sendable {
        /// By lowercased name.
        var headers: [String: String]
        var body: Data
    }

    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var headers: [String: String] = [:]
    }

    private let state = Mutex<(received: [Received], script: [Answer], port: Int)>(([], [], 0))

    var received: [Received] { state.withLock { $0.received } }
    var url: String { "http://127.0.0.1:\(state.withLock { $0.port })/hook" }

    func script(_ answers: Answer...) { state.withLock { $0.script = answers } }

    private func answer(_ request: Received) -> Answer {
        state.withLock {
            $0.received.append(request)
            return $0.script.isEmpty ? Answer(status: .ok) : $0.script.removeFirst()
        }
    }

    static func run<T>(_ body: (FakePagerGateway) async throws -> T) async throws -> T {
        let gateway = FakePagerGateway()
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let answer = gateway.answer(Received(headers: headers, body: Data(buffer.readableBytesView)))
            var fields = HTTPFields()
            for (name, value) in answer.headers { fields[HTTPField.Name(name)!] = value }
            return Response(status: answer.status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "fake-pager"),
            onServerRunning: { portSink.yield($0.localAddress?.port ?? 0) }, logger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            gateway.state.withLock { $0.port = port }
            defer { group.cancelAll() }
            return try await body(gateway)
        }
    }
}

/// Pager webhooks end to end: a declaration's page leaves through the outbox as a signed JSON POST to a
/// real HTTP server, and failures are retried with the same delivery id and body, never doubled.
@Suite("Pager webhooks over loopback")
struct PagerWebhookTests {
    static let secret = "pager-webhook-secret-for-tests"

    static func daemon(_ directory: TemporaryDirectory, gateway: FakePagerGateway, clock: ManualClock, events: Set<PagerEvent> = PagerEvent.defaults)
        async throws -> TestDaemon
    {
        try await TestDaemon.open(path: directory.file("pager.sqlite"), clock: clock) { config in
            config.paging = PagingConfig(webhooks: [PagerWebhook(id: "sms", url: gateway.url, secret: Secret(Self.secret), events: events)])
            config.people["alice"]?.phone = "+15550101"
            config.people["bob"]?.phone = "+15550102"
        }
    }

    /// What a gateway must check: `v1=` HMAC-SHA256 of `v1:<timestamp>:<body>` with the shared secret.
    static func signatureIsValid(_ request: FakePagerGateway.Received) -> Bool {
        guard let timestamp = request.headers["x-klaxon-timestamp"], let signature = request.headers["x-klaxon-signature"] else { return false }
        var signed = Data("v1:\(timestamp):".utf8)
        signed.append(request.body)
        let expected = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return signature == "v1=" + expected.map { String(format: "%02x", $0) }.joined()
    }

    static func json(_ request: FakePagerGateway.Received) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
    }

    @Test func aPageIsPostedSignedAndRetriedUntilTheGatewayTakesItOnce() async throws {
        try await FakePagerGateway.run { gateway in
            let directory = try TemporaryDirectory("klaxon-pager")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await Self.daemon(directory, gateway: gateway, clock: clock)
            gateway.script(.init(status: .internalServerError), .init(status: .tooManyRequests, headers: ["Retry-After": "30"]))

            let id = try await klaxon.declare("sev1", "Payments are failing")
            await klaxon.sender.drainOnce()
            #expect(gateway.received.count == 1)
            // The failed page holds up nothing: the incident's chat messages are all out.
            #expect(try await klaxon.store.outboxMessages(incident: id).allSatisfy { $0.state == .delivered })

            clock.advance(by: 2)  // past the first backoff (at most 1 s)
            await klaxon.sender.drainOnce()
            #expect(gateway.received.count == 2)
            clock.advance(by: 20)  // Retry-After is 30 s: too early
            await klaxon.sender.drainOnce()
            #expect(gateway.received.count == 2)
            clock.advance(by: 11)
            await klaxon.sender.drainOnce()
            #expect(gateway.received.count == 3)
            clock.advance(by: 3600)
            await klaxon.sender.drainOnce()
            #expect(gateway.received.count == 3, "delivered once, never again")
            #expect(try await klaxon.store.outboxDepth() == 0)

            let requests = gateway.received
            #expect(Set(requests.map(\.body)).count == 1, "every attempt sends the same bytes")
            #expect(Set(requests.compactMap { $0.headers["x-klaxon-delivery"] }).count == 1, "and the same delivery id")
            #expect(requests.allSatisfy(Self.signatureIsValid))
            #expect(requests.last?.headers["x-klaxon-timestamp"] == String(Int(clock.now().addingTimeInterval(-3600).timeIntervalSince1970)))
            #expect(requests.allSatisfy { $0.headers["content-type"] == "application/json" && $0.headers["x-klaxon-event"] == "page" })

            let body = try Self.json(try #require(requests.first))
            #expect(body["event"] as? String == "page")
            #expect(body["webhook"] as? String == "sms")
            #expect(body["reason"] as? String == "declared")
            let incident = try #require(body["incident"] as? [String: Any])
            #expect(incident["id"] as? String == id.description)
            #expect(incident["title"] as? String == "Payments are failing")
            #expect(incident["severity"] as? String == "sev1")
            // Monday 10:00 UTC is 11:00 in Berlin, after the 09:00 hand-off of week 100 (even): alice is primary.
            let people = try #require(body["people"] as? [[String: Any]])
            #expect(people.map { $0["id"] as? String } == ["alice"])
            #expect(people.first?["phone"] as? String == "+15550101")
            #expect((body["text"] as? String)?.contains("Payments are failing") == true)
            try await klaxon.close()
        }
    }

    @Test func aForgedOrTamperedSignatureDoesNotVerify() throws {
        let body = Data(#"{"event":"page"}"#.utf8)
        let signature = PagerWebhookClient.signature(body: body, timestamp: 1_764_547_200, secret: Secret(Self.secret))
        #expect(Self.signatureIsValid(.init(headers: ["x-klaxon-timestamp": "1764547200", "x-klaxon-signature": signature], body: body)))
        #expect(!Self.signatureIsValid(.init(headers: ["x-klaxon-timestamp": "1764547201", "x-klaxon-signature": signature], body: body)))
        #expect(
            !Self.signatureIsValid(
                .init(headers: ["x-klaxon-timestamp": "1764547200", "x-klaxon-signature": signature], body: Data(#"{"event":"pagE"}"#.utf8))))
        let other = PagerWebhookClient.signature(body: body, timestamp: 1_764_547_200, secret: Secret("another-secret"))
        #expect(other != signature)
    }

    @Test func aGatewayThatRefusesTheNoticeMakesItDeadAfterOneAttempt() async throws {
        try await FakePagerGateway.run { gateway in
            let directory = try TemporaryDirectory("klaxon-pager")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await Self.daemon(directory, gateway: gateway, clock: clock)
            gateway.script(.init(status: .badRequest))
            _ = try await klaxon.declare("sev2", "Search is slow")
            await klaxon.sender.drainOnce()
            clock.advance(by: 3600)
            await klaxon.sender.drainOnce()
            #expect(gateway.received.count == 1)
            #expect(try await klaxon.store.outboxDepth() == 0, "given up, not pending forever")
            try await klaxon.close()
        }
    }

    @Test func anUnacknowledgedIncidentEscalatesToTheGatewayAndTheAcknowledgementFollows() async throws {
        try await FakePagerGateway.run { gateway in
            let directory = try TemporaryDirectory("klaxon-pager")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await Self.daemon(directory, gateway: gateway, clock: clock, events: [.page, .escalation, .acknowledged])
            let id = try await klaxon.declare("sev1", "Login fails")
            await klaxon.sender.drainOnce()
            // sev1 must be acknowledged within 5 min; then the secondary rotation is called.
            try await klaxon.runTimers(through: clock.now().addingTimeInterval(5 * 60))
            await klaxon.run("ack \(id)", as: "bob")
            await klaxon.sender.drainOnce()

            let events = try gateway.received.map { try Self.json($0) }
            #expect(events.map { $0["event"] as? String } == ["page", "escalation", "acknowledged"])
            #expect(events[1]["escalationStep"] as? Int == 2)
            // Week 100 of the secondary rotation (carol, dave) is carol's.
            #expect((events[1]["people"] as? [[String: Any]])?.map { $0["id"] as? String } == ["carol"])
            #expect(events[2]["reason"] as? String == "by bob after 5 min")
            try await klaxon.close()
        }
    }
}

/// A policy rule's `webhook:<url>` target (issue #14 "notify targets … `webhook:`"): a receiver that is not
/// a `paging.webhooks` entry gets the rule's notice, signed with `paging.signingSecret`, over real HTTP.
@Suite("Rule webhook URL targets over loopback")
struct RuleWebhookURLTests {
    @Test func aRuleNamingAURLPostsItASignedNoticeWithTheRulesPeopleAndNothingElse() async throws {
        try await FakePagerGateway.run { gateway in
            let directory = try TemporaryDirectory("klaxon-rule-webhook")
            defer { directory.remove() }
            let clock = ManualClock(now: Fixture.monday.addingTimeInterval(10 * 3600))
            let klaxon = try await TestDaemon.open(path: directory.file("hook.sqlite"), clock: clock) { config in
                // No paging.webhooks at all: the rule's URL is the only receiver.
                config.paging = PagingConfig(signingSecret: Secret(PagerWebhookTests.secret))
                config.people["carol"]?.phone = "+15550103"
                config.severities[0].notify = [
                    PolicyRule(id: "ops-hook", at: .span(.minutes(10)), notify: [.webhook(gateway.url), .person("carol")], unless: [.mitigated])
                ]
            }
            let id = try await klaxon.declare("sev1", "Checkout is down")
            await klaxon.sender.drainOnce()
            #expect(gateway.received.isEmpty, "the declaration's page does not go to a rule's receiver")
            try await klaxon.runTimers(through: clock.now().addingTimeInterval(10 * 60))
            await klaxon.sender.drainOnce()

            let request = try #require(gateway.received.first)
            #expect(gateway.received.count == 1)
            #expect(PagerWebhookTests.signatureIsValid(request))
            #expect(request.headers["x-klaxon-event"] == "page")
            let body = try PagerWebhookTests.json(request)
            #expect(body["webhook"] as? String == gateway.url)
            #expect(body["reason"] as? String == "SEV1 rule ops-hook, 10 min after declaration", "\(body)")
            #expect((body["incident"] as? [String: Any])?["id"] as? String == id.description)
            #expect((body["people"] as? [[String: Any]])?.map { $0["id"] as? String } == ["carol"])
            #expect(try await klaxon.store.outboxDepth() == 0)
            try await klaxon.close()
        }
    }

    @Test func aURLTargetNeedsTheSigningSecretAndAnHTTPURL() {
        func problems(_ target: String, secret: String) -> [String] {
            let json = """
                {
                  "platforms": { "console": {} },
                  "people": { "alice": {} },
                  "oncall": { "rotations": [{ "id": "primary", "members": ["alice"], "period": "1w", "handoff": "monday 09:00", "timezone": "UTC" }],
                              "escalation": [{ "after": "0s", "notify": ["rotation:primary"] }] },
                  "paging": { \(secret) },
                  "severities": [{ "id": "sev1", "name": "Critical", "notify": [{ "at": "5m", "notify": ["\(target)"] }] }]
                }
                """
            switch ConfigLoader.load(json: json, environment: [:]) {
            case .success: return []
            case .failure(let errors): return errors.problems.map(\.description)
            }
        }
        #expect(problems("webhook:https://hooks.example.com/klaxon", secret: #""signingSecret": "rule-hook-secret-0123""#) == [])
        #expect(
            problems("webhook:https://hooks.example.com/klaxon", secret: "") == [
                "severities[0].notify[0].notify[0]: a webhook URL target needs paging.signingSecret, the secret its notices are signed with"
            ])
        #expect(
            problems("webhook:https://", secret: #""signingSecret": "rule-hook-secret-0123""#) == [
                #"severities[0].notify[0].notify[0]: "https://" is not an http or https URL"#
            ])
    }
}
