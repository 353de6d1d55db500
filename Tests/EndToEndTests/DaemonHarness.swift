import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Scheduler
import Server
import ServiceLifecycle
import Storage

/// The shipped defaults, with the store moved to `path`.
func defaultConfig(storePath: String, edit: (inout KlaxonConfig) -> Void = { _ in }) throws -> KlaxonConfig {
    var config = try ConfigLoader.load(json: Array(ConfigLoader.embeddedDefaultJSON.utf8), environment: [:]).get()
    config.storage.sqlite = SQLiteStorageConfig(path: storePath)
    edit(&config)
    return config
}

/// A real daemon in this process: real SQLite file, real HTTP on 127.0.0.1 with an ephemeral port.
struct RunningDaemon {
    let daemon: KlaxonDaemon
    let store: SQLiteIncidentStore
    let port: Int
    let group: ServiceGroup
    let run: Task<Void, any Error>

    var baseURL: String { "http://127.0.0.1:\(port)" }

    static func start(_ config: KlaxonConfig, clock: any WallClock = SystemClock(), logger given: Logger? = nil) async throws -> RunningDaemon {
        var logger = given ?? Logger(label: "klaxon.test")
        if given == nil { logger.logLevel = .warning }
        let store = try await SQLiteIncidentStore.open(path: config.storage.sqlite!.path, clock: clock, logger: logger)
        let daemon = try KlaxonDaemon(config: config, store: store, clock: clock, logger: logger)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let group = daemon.serviceGroup(port: 0, signals: [], onServerRunning: { port in portContinuation.yield(port) })
        let run = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HarnessError("server did not start") }
        return RunningDaemon(daemon: daemon, store: store, port: port, group: group, run: run)
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await run.value
        try await store.close()
    }

    struct HTTPResult {
        var status: Int
        var body: String
        var headers: HTTPHeaders
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
    }

    /// Sends the configured `server.apiToken` as a client that knows it would, unless `headers` say
    /// otherwise (an `Authorization` of their own, or an empty one for none).
    func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, contentType: String = "application/json",
        headers: [String: String] = [:]
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        if let token = daemon.config.server.apiToken, headers["Authorization"] == nil {
            request.headers.add(name: "Authorization", value: "Bearer \(token.exposedValue)")
        }
        for (name, value) in headers where !value.isEmpty {
            request.headers.replaceOrAdd(name: name, value: value)
        }
        // A bound on a hung daemon, not a latency check: a loaded 2-core machine answers a burst slowly.
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return HTTPResult(status: Int(response.status.code), body: String(buffer: bytes), headers: response.headers)
    }

    /// Sends one `/incident` command as `user` in `channel`; returns the decoded answer.
    func command(_ text: String, user: String = "alice", channel: String? = nil, requestID: String? = nil) async throws -> [String: String] {
        var payload: [String: String] = ["text": text, "user": user]
        payload["channel"] = channel
        payload["requestID"] = requestID
        let body = String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
        let result = try await request(.POST, "/api/commands", body: body)
        guard result.status == 200, let answer = result.json as? [String: Any] else {
            throw HarnessError("POST /api/commands answered \(result.status): \(result.body)")
        }
        return answer.compactMapValues { $0 as? String }
    }

    /// The console transcript (what the bot posted), oldest first.
    func messages() async throws -> [[String: Any]] {
        let result = try await request(.GET, "/api/messages?limit=5000")
        return result.json as? [[String: Any]] ?? []
    }

    /// Delivers everything due in the outbox now.
    func drainOutbox() async {
        await daemon.sender.drainOnce()
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits (in real time, bounded) until `condition` holds: for things another process or task does.
func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
