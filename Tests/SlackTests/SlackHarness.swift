import AsyncHTTPClient
import Foundation
import Hummingbird
import IncidentCore
import KlaxonTestSupport
import Logging
import NIOCore
import NIOHTTP1
import Platforms
import Scheduler
import Server
import ServiceLifecycle
import Storage
import Testing

/// Logs nothing; set `KLAXON_TEST_LOGS` to a level (`debug`, `info`, …) to see the daemon's lines while
/// debugging a test.
let testLogger: Logger = {
    guard let level = ProcessInfo.processInfo.environment["KLAXON_TEST_LOGS"].flatMap(Logger.Level.init(rawValue:)) else {
        return Logger(label: "klaxon.tests.slack", factory: { _ in SwiftLogNoOpLogHandler() })
    }
    var logger = Logger(label: "klaxon.tests.slack")
    logger.logLevel = level
    return logger
}()

enum Fixture {
    /// Monday 2025-12-01 00:00:00 UTC.
    static let monday = Date(timeIntervalSince1970: 1_764_547_200)
    /// The worked example's signing secret (docs.slack.dev).
    static let signingSecret = SlackSamples.signingWorkedExample.signingSecret

    /// A JSON object from `SlackSamples` (Fixtures/), to change before sending.
    static func object(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }
}

/// The real daemon (router, gateway, SQLite file, outbox sender) wired to a `FakeSlack`, on a manual
/// clock. HTTP is real loopback; the outbox is stepped by hand with `deliverAll()`.
struct SlackHarness {
    let fake: FakeSlack
    let daemon: KlaxonDaemon
    let store: SQLiteIncidentStore
    let clock: ManualClock
    let port: Int

    struct Options {
        var mode: IncidentsConfig.Mode = .channel
        var socketMode = false
        var userGroup: String?
        /// A pager webhook (`sms`) whose notices land in `fake.responses`.
        var pagerToFake = false
        var edit: @Sendable (inout KlaxonConfig) -> Void = { _ in }
        /// Slack's rate limits in the fake (counted on the harness's clock); a test that posts a burst on
        /// purpose turns them off and says why.
        var strictSlack = true
        /// How long a command waits for `users.info` (the asker's zone). The daemon's own 0.7 s is for the
        /// real Slack; the fake runs in this process, which the whole suite can load for longer than that
        /// (a reply in the rotation's zone instead of the asker's, once in five full runs). A test of the
        /// deadline itself sets nil, the daemon's default.
        var userLookupTimeout: TimeInterval? = 10
    }

    static func run(_ options: Options = Options(), clock: ManualClock = ManualClock(now: Fixture.monday), _ body: (SlackHarness) async throws -> Void)
        async throws
    {
        try await FakeSlack.run(strict: options.strictSlack, clock: clock) { fake in
            let directory = try TemporaryDirectory("klaxon-slack")
            defer { directory.remove() }
            var config = try ConfigLoader.load(json: Array(ConfigLoader.embeddedDefaultJSON.utf8), environment: [:]).get()
            config.storage.sqlite = SQLiteStorageConfig(path: directory.file("klaxon.sqlite"))
            config.platforms.console = nil
            config.platforms.slack = SlackConfig(
                signingSecret: Secret(Fixture.signingSecret), botToken: Secret(FakeSlack.botToken),
                appToken: options.socketMode ? Secret(FakeSlack.appToken) : nil, apiBaseURL: fake.apiBaseURL,
                announceChannel: FakeSlack.announceChannelName, oncallUserGroup: options.userGroup)
            config.incidents.mode = options.mode
            if options.pagerToFake {
                config.paging.webhooks = [PagerWebhook(id: "sms", url: fake.responseURL, secret: Secret("pager-secret"))]
            }
            options.edit(&config)
            let store = try await SQLiteIncidentStore.open(path: directory.file("klaxon.sqlite"), clock: clock, logger: testLogger)
            let daemon = try KlaxonDaemon(
                config: config, store: store, clock: clock, logger: testLogger, httpClient: fake.client, userLookupTimeout: options.userLookupTimeout)
            let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
            let app = daemon.buildApplication(port: 0, onServerRunning: { portSink.yield($0) })
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await app.runService(gracefulShutdownSignals: []) }
                    for service in daemon.integrations.flatMap(\.services) {
                        group.addTask { try await service.run() }
                    }
                    var portIterator = ports.makeAsyncIterator()
                    let port = await portIterator.next() ?? 0
                    let harness = SlackHarness(fake: fake, daemon: daemon, store: store, clock: clock, port: port)
                    do {
                        try await body(harness)
                    } catch {
                        group.cancelAll()
                        throw error
                    }
                    group.cancelAll()
                }
            } catch is CancellationError {}
            try await store.close()
        }
    }

    // MARK: - Requests from "Slack"

    /// A plain GET (health, metrics, the API with `token`).
    func get(_ path: String, token: String? = nil) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await fake.client.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return HTTPResult(status: Int(response.status.code), body: String(buffer: bytes))
    }

    struct HTTPResult {
        var status: Int
        var body: String
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
    }

    /// POSTs `body` signed as Slack signs it, at the clock's time unless `timestamp` says otherwise.
    func post(
        _ path: String, body: String, contentType: String = "application/x-www-form-urlencoded",
        timestamp: Date? = nil, signature: String? = nil, signed: Bool = true, headers: [(String, String)] = []
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        if signed {
            let stamp = String(Int((timestamp ?? clock.now()).timeIntervalSince1970))
            request.headers.add(name: "X-Slack-Request-Timestamp", value: stamp)
            request.headers.add(
                name: "X-Slack-Signature",
                value: signature ?? SlackRequestVerifier.signature(signingSecret: Secret(Fixture.signingSecret), timestamp: stamp, body: Data(body.utf8)))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await fake.client.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return HTTPResult(status: Int(response.status.code), body: String(buffer: bytes))
    }

    /// `/incident <text>` typed by `user` in `channel`, as Slack's form.
    @discardableResult
    func slash(
        _ text: String, user: String = "U0ALICE", userName: String = "alice", channel: String = "C0GENERAL",
        triggerID: String = UUID().uuidString, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (type: String, text: String) {
        let body = FormBody.encode([
            ("token", "ignored"), ("team_id", "T0FAKE"), ("team_domain", "fake"), ("channel_id", channel), ("channel_name", "general"),
            ("user_id", user), ("user_name", userName), ("command", "/incident"), ("text", text),
            ("response_url", fake.responseURL), ("trigger_id", triggerID), ("api_app_id", "A0FAKE"),
        ])
        let result = try await post("/slack/commands", body: body)
        #expect(result.status == 200, "POST /slack/commands answered \(result.status): \(result.body)", sourceLocation: sourceLocation)
        let json = try #require(result.json, "not JSON: \(result.body)", sourceLocation: sourceLocation)
        return (json["response_type"] as? String ?? "", json["text"] as? String ?? "")
    }

    /// An interaction, as Slack posts it: a form with one `payload` field of JSON.
    func interact(_ payload: [String: Any]) async throws -> HTTPResult {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
        return try await post("/slack/interactions", body: FormBody.encode([("payload", json)]))
    }

    /// A click on one of Klaxon's buttons in `channel`.
    func click(_ actionID: String, value: String, user: String = "U0BOB", userName: String = "bob", channel: String, triggerID: String = UUID().uuidString)
        async throws -> HTTPResult
    {
        try await interact([
            "type": "block_actions",
            "user": ["id": user, "username": userName, "name": userName, "team_id": "T0FAKE"],
            "api_app_id": "A0FAKE", "token": "ignored", "trigger_id": triggerID,
            "container": ["type": "message", "message_ts": "1764000000.000001", "channel_id": channel, "is_ephemeral": false],
            "channel": ["id": channel, "name": "incident"],
            "response_url": fake.responseURL,
            "actions": [
                [
                    "action_id": actionID, "block_id": "klaxon-actions", "value": value, "type": "button", "action_ts": "1764000001.000001",
                    "text": ["type": "plain_text", "text": actionID],
                ]
            ],
        ])
    }

    /// An Events API delivery.
    func event(_ envelope: [String: Any], retry: Int? = nil) async throws -> HTTPResult {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: envelope), as: UTF8.self)
        var headers: [(String, String)] = []
        if let retry { headers = [("X-Slack-Retry-Num", "\(retry)"), ("X-Slack-Retry-Reason", "http_timeout")] }
        return try await post("/slack/events", body: body, contentType: "application/json", headers: headers)
    }

    // MARK: - The outbox

    /// Delivers everything in the outbox, moving the manual clock to each retry's time (or a parked
    /// platform's next probe).
    func deliverAll(maxRounds: Int = 100, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<maxRounds {
            await daemon.sender.drainOnce()
            guard let due = try await daemon.sender.nextDue() else { return }
            if due > clock.now() { clock.advance(to: due) }
        }
        Issue.record("the outbox did not drain in \(maxRounds) rounds", sourceLocation: sourceLocation)
    }

    func incident(_ id: IncidentID) async throws -> Incident {
        try #require(try await store.incident(id))
    }

    /// Declares `severity title` from #general and delivers everything; returns the incident and its channel.
    func declare(_ severity: String = "sev1", _ title: String = "Payment processing down", user: String = "U0ALICE") async throws -> (IncidentID, String) {
        let reply = try await slash("declare \(severity) \(title)", user: user)
        let id = try #require(IncidentID(parsing: String(reply.text.split(separator: " ").dropFirst().first ?? "")), "reply: \(reply.text)")
        try await deliverAll()
        let room = try #require(try await incident(id).room)
        return (id, room.channelID)
    }
}

/// Polls `condition` every 10 ms of real time for up to `timeout`: for what other tasks do (sockets).
func eventually(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
