import Foundation
import IncidentCore
import KlaxonTestSupport
import Logging
import NIOHTTP1
import Server
import Storage
import Testing

/// Who may use `/api/*`, over real HTTP: the bearer token, and the refusals that keep a web page in the
/// operator's browser from posting commands.
@Suite("Console API access")
struct APIAccessTests {
    static let token = "klaxon-test-api-token-5f1e0c"
    static let forgedDeclare = #"{"text": "declare sev1 Forged outage", "user": "alice"}"#

    @Test("with server.apiToken every /api/* route answers 401 without the bearer token; probes stay open")
    func tokenGuardsEveryAPIRoute() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try defaultConfig(storePath: directory.file("klaxon.sqlite")) { $0.server.apiToken = Secret(Self.token) }
        let daemon = try await RunningDaemon.start(config)

        let none = ["Authorization": ""]
        let wrong = ["Authorization": "Bearer \(Self.token.dropLast())x"]
        let otherScheme = ["Authorization": "Token \(Self.token)"]
        for headers in [none, wrong, otherScheme] {
            // A forged `user` gets nowhere without the token.
            let forged = try await daemon.request(.POST, "/api/commands", body: Self.forgedDeclare, headers: headers)
            #expect(forged.status == 401, "\(headers)")
            #expect(forged.headers.first(name: "WWW-Authenticate") == "Bearer")
            #expect(!forged.body.contains(Self.token))
            for path in ["/api/incidents", "/api/incidents/INC-1", "/api/messages"] {
                #expect(try await daemon.request(.GET, path, headers: headers).status == 401, "\(path) \(headers)")
            }
        }
        #expect(try await daemon.store.incidents(includeClosed: true, limit: 10).isEmpty)

        // With it, the same requests work.
        #expect(try await daemon.command("declare sev1 Real outage")["outcome"] == "applied")
        #expect(try await daemon.request(.GET, "/api/incidents").body.contains("Real outage"))
        #expect(try await daemon.request(.GET, "/api/incidents/INC-1").status == 200)
        #expect(try await daemon.request(.GET, "/api/messages").status == 200)
        for path in ["/healthz", "/readyz", "/metrics"] {
            #expect(try await daemon.request(.GET, path, headers: none).status == 200, "\(path)")
        }
        try await daemon.stop()
    }

    @Test("POST /api/commands: text/plain gets 415, a foreign Origin 403, and neither changes anything")
    func browserShapedRequestsAreRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try defaultConfig(storePath: directory.file("klaxon.sqlite")))

        // What a web page can send with no CORS preflight.
        let plain = try await daemon.request(.POST, "/api/commands", body: Self.forgedDeclare, contentType: "text/plain")
        #expect(plain.status == 415)
        let form = try await daemon.request(.POST, "/api/commands", body: "text=declare", contentType: "application/x-www-form-urlencoded")
        #expect(form.status == 415)
        for origin in ["https://evil.example", "http://127.0.0.1.evil.example", "null", "http://127.0.0.1:\(daemon.port + 1)"] {
            let foreign = try await daemon.request(.POST, "/api/commands", body: Self.forgedDeclare, headers: ["Origin": origin])
            #expect(foreign.status == 403, "\(origin)")
        }
        #expect(try await daemon.store.incidents(includeClosed: true, limit: 10).isEmpty)

        // JSON with a charset parameter, and the daemon's own origin, are fine.
        let own = try await daemon.request(
            .POST, "/api/commands", body: Self.forgedDeclare, contentType: "application/json; charset=utf-8",
            headers: ["Origin": daemon.baseURL])
        #expect(own.status == 200)
        #expect(try await daemon.store.incidents(includeClosed: true, limit: 10).count == 1)
        try await daemon.stop()
    }

    @Test("a non-loopback host without server.apiToken is a config error naming server.apiToken")
    func exposedHostNeedsAToken() throws {
        let exposed = #"{"server": {"host": "0.0.0.0"}, "severities": [{"id": "sev1", "name": "Critical"}]}"#
        let problems = try #require(ConfigLoader.load(json: exposed, environment: [:]).failure).problems
        #expect(problems.map(\.path) == ["server.apiToken"])
        #expect(problems.first?.message.hasPrefix("required when server.host is not a loopback address") == true)

        // `${KLAXON_API_TOKEN}` through the loader: set, the same host is fine and the value stays hidden.
        let withToken = #"{"server": {"host": "0.0.0.0", "apiToken": "${KLAXON_API_TOKEN}"}, "severities": [{"id": "sev1", "name": "Critical"}]}"#
        let config = try ConfigLoader.load(json: withToken, environment: ["KLAXON_API_TOKEN": Self.token]).get()
        #expect(config.server.apiToken?.exposedValue == Self.token)
        #expect(!"\(config.server)".contains(Self.token))
        // The shipped `${KLAXON_API_TOKEN:-}` with the variable unset means no token: fine on loopback only.
        #expect(try ConfigLoader.load(json: ConfigLoader.embeddedDefaultJSON, environment: [:]).get().server.apiToken == nil)

        for host in ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"] {
            #expect(ServerConfig.isLoopback(host), "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.5", "127.0.0.1.nip.io", "klaxon.example.com", "1270.0.0.1"] {
            #expect(!ServerConfig.isLoopback(host), "\(host)")
        }
    }

    @Test("the daemon itself refuses an exposed host without a token (as after klaxon serve --host 0.0.0.0)")
    func daemonRefusesExposedHost() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try defaultConfig(storePath: directory.file("klaxon.sqlite")) { $0.server.host = "0.0.0.0" }
        let store = try await SQLiteIncidentStore.open(path: directory.file("klaxon.sqlite"))
        #expect(throws: ConfigErrors.self) { try KlaxonDaemon(config: config, store: store, logger: .init(label: "test")) }
        try await store.close()
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
