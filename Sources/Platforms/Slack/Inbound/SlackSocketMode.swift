import Foundation
import IncidentCore
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import WSClient

/// Slack Socket Mode (docs.slack.dev/apis/events-api/using-socket-mode): instead of calling our request
/// URLs, Slack sends the same payloads over a WebSocket that we open, so Klaxon needs no public URL.
///
/// `apps.connections.open` (with the app-level `xapp-` token) gives a single-use `wss://` URL. Every
/// envelope is handed to `handler` and acknowledged with its `envelope_id` (and the handler's answer as
/// `payload`, which is how a slash command's reply or a modal's errors travel). On a `disconnect` notice
/// the next connection is opened at once while the old one is still read until Slack closes it; a dropped
/// socket is replaced at once the first time, then with exponential backoff and jitter while connecting
/// keeps failing or connections keep closing (cleanly or not) before `stableAfter`. An envelope Slack sends again after a drop is harmless: the handler deduplicates by
/// event id or trigger id.
public struct SlackSocketModeClient: Sendable {
    public struct Settings: Sendable {
        /// Between failed connection attempts: from 1 s, doubling up to 30 s, with jitter.
        public var backoff = Backoff(initial: 1, maximum: 30)
        /// Pings find a dead connection that no TCP error reports.
        public var pingInterval: Duration = .seconds(30)
        /// How long to wait for the server's close frame when we close.
        public var closeTimeout: Duration = .seconds(2)
        /// After a `disconnect` notice, how long the old connection is still read (Slack closes it itself,
        /// and may deliver on it until then) before we close it.
        public var disconnectGrace: TimeInterval = 15
        /// Envelopes carry whole modals; Slack's own test envelope is about 60 KB.
        public var maxMessageBytes = 4 << 20
        /// A connection that lived at least this long and then closed cleanly is replaced at once; one that
        /// closed sooner is replaced at once the first time only, then with backoff, so a server (or proxy)
        /// that says hello and hangs up cannot make us reconnect in a tight loop.
        public var stableAfter: TimeInterval = 30
        public init() {}
    }

    /// Handles one envelope (`events_api`, `interactive`, `slash_commands`); `frame` is the whole envelope
    /// as received. Returns the JSON to send back as the acknowledgement's `payload`, if any.
    public typealias EnvelopeHandler = @Sendable (_ envelope: SlackSocketFrame, _ frame: Data) async -> Data?

    private let api: SlackWebAPI
    private let appToken: Secret
    private let clock: any WallClock
    private let settings: Settings
    private let logger: Logger

    public init(api: SlackWebAPI, appToken: Secret, clock: any WallClock, settings: Settings = Settings(), logger: Logger) {
        self.api = api
        self.appToken = appToken
        self.clock = clock
        self.settings = settings
        self.logger = logger
    }

    /// Why a connection asks to be replaced.
    enum ConnectionEnd: Sendable {
        /// Slack sent `disconnect`: the connection still works while we open the next one.
        case disconnectRequested(reason: String)
        /// The socket closed or never opened; `healthy` says whether Slack's `hello` came first.
        case closed(healthy: Bool)
    }

    /// Runs until the task is cancelled.
    public func run(handler: @escaping EnvelopeHandler) async {
        let (ends, endSink) = AsyncStream.makeStream(of: ConnectionEnd.self)
        await withDiscardingTaskGroup { group in
            var endIterator = ends.makeAsyncIterator()
            var failures = 0
            /// Clean closes in a row of connections that did not reach `stableAfter`.
            var quickCloses = 0
            var connectionNumber = 0
            while !Task.isCancelled {
                if failures > 0 {
                    do {
                        try await clock.sleep(until: clock.now().addingTimeInterval(settings.backoff.delay(failures: failures)))
                    } catch {
                        break
                    }
                }
                let url: String
                do throws(SlackAPIError) {
                    url = try await openConnectionURL()
                } catch let error {
                    failures += 1
                    if case .rateLimited(_, let retryAfter) = error {
                        try? await clock.sleep(until: clock.now().addingTimeInterval(retryAfter))
                    }
                    logger.warning("slack socket mode: apps.connections.open failed", metadata: ["error": "\(error)", "failures": "\(failures)"])
                    continue
                }
                connectionNumber += 1
                let number = connectionNumber
                let openedAt = clock.now()
                group.addTask { await self.connection(number, url: url, handler: handler, ends: endSink) }
                guard let end = await endIterator.next() else { break }
                switch end {
                case .disconnectRequested(let reason):
                    logger.info("slack socket mode: reconnecting", metadata: ["reason": "\(reason)", "connection": "\(number)"])
                    failures = 0
                    quickCloses = 0
                case .closed(let healthy):
                    if !healthy {
                        failures += 1
                    } else if clock.now().timeIntervalSince(openedAt) >= settings.stableAfter {
                        quickCloses = 0
                        failures = 0
                    } else {
                        // The first quick close goes again at once (a restart, a dropped network); the
                        // ones after it back off like failures.
                        quickCloses += 1
                        failures = quickCloses - 1
                    }
                    if !Task.isCancelled {
                        logger.warning("slack socket mode: connection closed", metadata: ["connection": "\(number)", "failures": "\(failures)"])
                    }
                }
            }
            endSink.finish()
        }
    }

    private struct ConnectionsOpen: Decodable {
        var url: String
    }

    private func openConnectionURL() async throws(SlackAPIError) -> String {
        try await api.call("apps.connections.open", token: appToken, as: ConnectionsOpen.self).url
    }

    /// One WebSocket connection. Signals `ends` exactly once: when Slack asks for a new connection, or when
    /// this one is gone. Envelopes are handled concurrently and acknowledged through one writer.
    private func connection(_ number: Int, url: String, handler: @escaping EnvelopeHandler, ends: AsyncStream<ConnectionEnd>.Continuation) async {
        let state = ConnectionState(ends: ends)
        var configuration = WebSocketClientConfiguration(
            maxFrameSize: settings.maxMessageBytes, closeTimeout: settings.closeTimeout, autoPing: .enabled(timePeriod: settings.pingInterval))
        configuration.validateUTF8 = true
        var connectionLogger = logger
        connectionLogger[metadataKey: "connection"] = "\(number)"
        let log = connectionLogger
        do {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: log) { inbound, outbound, _ in
                let (acks, ackSink) = AsyncStream.makeStream(of: String.self)
                try await withThrowingTaskGroup(of: Void.self) { writer in
                    writer.addTask {
                        for await ack in acks { try await outbound.write(.text(ack)) }
                    }
                    let (readingDone, readingDoneSink) = AsyncStream.makeStream(of: Void.self)
                    await withDiscardingTaskGroup { envelopes in
                        var closing = false
                        do {
                            for try await message in inbound.messages(maxSize: settings.maxMessageBytes) {
                                guard case .text(let text) = message else { continue }
                                let data = Data(text.utf8)
                                guard let frame = try? JSONDecoder().decode(SlackSocketFrame.self, from: data) else {
                                    log.warning("slack socket mode: unreadable frame")
                                    continue
                                }
                                switch frame.type {
                                case "hello":
                                    state.sawHello()
                                    log.info("slack socket mode: connected")
                                case "disconnect":
                                    state.end(.disconnectRequested(reason: frame.reason ?? "unknown"))
                                    // Slack may still send envelopes here until it closes this connection, so keep
                                    // reading while the next connection opens; close it ourselves after a grace period.
                                    if !closing {
                                        closing = true
                                        envelopes.addTask {
                                            if await Self.outlasts(readingDone, grace: settings.disconnectGrace, clock: clock) {
                                                try? await outbound.close(.normalClosure, reason: "reconnecting")
                                            }
                                        }
                                    }
                                default:
                                    guard let envelopeID = frame.envelopeID else { continue }
                                    envelopes.addTask {
                                        let payload = await handler(frame, data)
                                        ackSink.yield(Self.acknowledgement(envelopeID: envelopeID, payload: payload))
                                    }
                                }
                            }
                        } catch {
                            log.warning("slack socket mode: read failed", metadata: ["error": "\(type(of: error))"])
                        }
                        readingDoneSink.finish()
                    }
                    ackSink.finish()
                    try await writer.waitForAll()
                }
            }
        } catch {
            log.warning("slack socket mode: connection failed", metadata: ["error": "\(type(of: error))"])
        }
        state.end(.closed(healthy: state.healthy))
    }

    /// Whether `grace` passes before `done` finishes (false as soon as it finishes).
    private static func outlasts(_ done: AsyncStream<Void>, grace: TimeInterval, clock: any WallClock) async -> Bool {
        await withTaskGroup(of: Bool.self) { race in
            race.addTask {
                for await _ in done {}
                return false
            }
            race.addTask {
                (try? await clock.sleep(until: clock.now().addingTimeInterval(grace))) != nil
            }
            let outlasted = await race.next() ?? false
            race.cancelAll()
            return outlasted
        }
    }

    /// `{"envelope_id": "…", "payload": {…}}`; the payload is the handler's JSON, inserted as is.
    public static func acknowledgement(envelopeID: String, payload: Data?) -> String {
        // Encoding one string cannot fail.
        let id = String(decoding: (try? JSONEncoder().encode(envelopeID)) ?? Data("\"\"".utf8), as: UTF8.self)
        guard let payload, !payload.isEmpty else { return "{\"envelope_id\":\(id)}" }
        return "{\"envelope_id\":\(id),\"payload\":\(String(decoding: payload, as: UTF8.self))}"
    }
}

/// What one connection has seen, shared by its reader and the task that reports its end.
private final class ConnectionState: Sendable {
    private struct Flags {
        var healthy = false
        var ended = false
    }

    private let flags = Mutex(Flags())
    private let ends: AsyncStream<SlackSocketModeClient.ConnectionEnd>.Continuation

    init(ends: AsyncStream<SlackSocketModeClient.ConnectionEnd>.Continuation) {
        self.ends = ends
    }

    var healthy: Bool { flags.withLock { $0.healthy } }

    func sawHello() { flags.withLock { $0.healthy = true } }

    /// Only the first end counts: a connection asked to go away is replaced once, not again when it closes.
    func end(_ end: SlackSocketModeClient.ConnectionEnd) {
        let first = flags.withLock { flags in
            defer { flags.ended = true }
            return !flags.ended
        }
        if first { ends.yield(end) }
    }
}
