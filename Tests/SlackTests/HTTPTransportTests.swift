import AsyncHTTPClient
import Foundation
import Hummingbird
import IncidentCore
import Logging
import NIOCore
import NIOHTTP1
import Testing

@testable import Platforms

/// The one transport every outbound client sends through: the cap on an answer's size (refused or cut),
/// no answer reported as a failure, and one reading of what a status means.
@Suite("Toolkit: the outbound HTTP transport")
struct HTTPTransportTests {
    @Test func statusesAreReadOnceForEveryClient() {
        #expect(HTTPOutcome(status: 200) == .success)
        #expect(HTTPOutcome(status: 204) == .success)
        #expect(HTTPOutcome(status: 429) == .rateLimited)
        #expect(HTTPOutcome(status: 401) == .unauthorized)
        #expect(HTTPOutcome(status: 403) == .unauthorized)
        #expect(HTTPOutcome(status: 408) == .retryable)
        #expect(HTTPOutcome(status: 503) == .retryable)
        #expect(HTTPOutcome(status: 404) == .permanent)
        #expect(HTTPOutcome(status: 400) == .permanent)
        #expect(HTTPOutcome(status: 200).deliveryFailure(reason: "r", refused: "x", retryAfter: 1) == nil)
        #expect(HTTPOutcome(status: 429).deliveryFailure(reason: "r", refused: "x", retryAfter: 7) == .rateLimited(retryAfter: 7))
        #expect(HTTPOutcome(status: 401).deliveryFailure(reason: "r", refused: "x", retryAfter: 1) == .unauthorized("r"))
        #expect(HTTPOutcome(status: 500).deliveryFailure(reason: "r", refused: "x", retryAfter: 1) == .transient("r"))
        #expect(HTTPOutcome(status: 404).deliveryFailure(reason: "r", refused: "x", retryAfter: 1) == .permanent("x"))
    }

    @Test func retryAfterIsReadInSecondsOrAsAnHTTPDate() {
        let now = Date(timeIntervalSince1970: 1_764_000_000)
        #expect(RateLimitHeader.retryAfter(HTTPHeaders([("Retry-After", "30")]), now: now) == 30)
        #expect(RateLimitHeader.retryAfter(HTTPHeaders([("Retry-After", "-3")]), now: now) == 0)
        let inTwoMinutes = "Mon, 24 Nov 2025 16:02:00 GMT"
        #expect(RateLimitHeader.retryAfter(HTTPHeaders([("Retry-After", inTwoMinutes)]), now: now) == 120)
        #expect(RateLimitHeader.retryAfter(HTTPHeaders(), now: now) == nil)
    }

    @Test func anAnswerOverTheCapIsRefusedOrCut() async throws {
        try await Self.withServer(answerBytes: 10_000) { url, client in
            let refusing = HTTPTransport(httpClient: client, timeout: .seconds(30), maxResponseBytes: 4096)
            await #expect(throws: HTTPTransport.Failure.self) { try await refusing.send(HTTPClientRequest(url: url)) }

            let cutting = HTTPTransport(httpClient: client, timeout: .seconds(30), maxResponseBytes: 4096, oversized: .truncate)
            let cut = try await cutting.send(HTTPClientRequest(url: url))
            #expect(cut.status == 200)
            #expect(cut.body.count == 4096)
            #expect(cut.truncated)

            let roomy = HTTPTransport(httpClient: client, timeout: .seconds(30), maxResponseBytes: 20_000)
            let whole = try await roomy.send(HTTPClientRequest(url: url))
            #expect(whole.body.count == 10_000)
            #expect(!whole.truncated)
        }
    }

    @Test func noAnswerIsAFailureThatNeedNotQuoteTheURL() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let transport = HTTPTransport(httpClient: client, timeout: .seconds(30))
        do throws(HTTPTransport.Failure) {
            _ = try await transport.send(HTTPClientRequest(url: "http://127.0.0.1:1/secret-token"))
            Issue.record("a refused connection must fail")
        } catch {
            #expect(!error.timedOut)
            #expect(!error.reason(urlIsSecret: true).contains("secret-token"))
        }
        try await client.shutdown()
    }

    /// A server on 127.0.0.1 that answers every GET with `answerBytes` bytes.
    static func withServer(answerBytes: Int, _ body: (String, HTTPClient) async throws -> Void) async throws {
        let router = Router()
        router.get("big") { _, _ in ByteBuffer(repeating: UInt8(ascii: "a"), count: answerBytes) }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portSink.yield(channel.localAddress?.port ?? 0) }, logger: Logger(label: "transport-test"))
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            do {
                try await body("http://127.0.0.1:\(port)/big", client)
            } catch {
                try await client.shutdown()
                group.cancelAll()
                throw error
            }
            try await client.shutdown()
            group.cancelAll()
        }
    }
}
