import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentCore
import KlaxonTestSupport
import Logging
import NIOCore
import Server

/// Runs a router on 127.0.0.1, port 0, over real HTTP while `body` runs, and hands it the base URL: the
/// fake chat servers, which Klaxon's HTTP client calls. Klaxon's own routes are driven in process
/// (`.router`): those tests need no socket for them.
func withLiveServer<Value: Sendable>(
    _ router: Router<BasicRequestContext>, _ body: @Sendable (String) async throws -> Value
) async throws -> Value {
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: quietLogger)
    return try await app.test(.live) { client in
        try await body("http://127.0.0.1:\(client.port!)")
    }
}

/// Tests keep their output to test results.
let quietLogger = Logger(label: "klaxon.tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runbook 004 on Rocket.Chat over loopback: a fake Rocket.Chat at the runbook's Monday, a daemon on a
/// temporary SQLite file that talks to it, and a client of the daemon's own HTTP server for `body`.
func withRocketChatDaemon(
    _ body: @Sendable (_ fake: FakeRocketChat, _ klaxon: TestDaemon, _ client: any TestClientProtocol) async throws -> Void
) async throws {
    let fake = FakeRocketChat(clock: ManualClock(now: Runbook004.monday))
    let directory = try TemporaryDirectory("klaxon-rc")
    defer { directory.remove() }
    try await withLiveServer(fake.router()) { url in
        let klaxon = try await TestDaemon.open(Runbook004.config(rocketChat: url), clock: fake.clock, databasePath: directory.file("klaxon.sqlite"))
        try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
            try await body(fake, klaxon, client)
        }
        try await klaxon.close()
    }
}
