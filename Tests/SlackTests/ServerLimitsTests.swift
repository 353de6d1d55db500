import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import Server
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 12, item 7: idle and slow clients cannot exhaust the daemon, and Socket Mode does not reconnect
/// in a tight loop. (2,000 idle sockets run in `ProcessTests`, in child processes: that many descriptors
/// in the test process would be shared with every other test running beside it.)
@Suite("HTTP limits and Socket Mode reconnects")
struct ServerLimitsTests {
    /// Plain TCP connections to 127.0.0.1:`port` that send nothing (or `prefix`).
    static func connect(_ count: Int, port: Int, sending prefix: String? = nil) -> [Int32] {
        var sockets: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { continue }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(fd)
                continue
            }
            if let prefix {
                _ = prefix.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            }
            sockets.append(fd)
        }
        return sockets
    }

    /// Whether the server closed `fd` (a read sees end of file or a reset), without blocking.
    static func closedByServer(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let read = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        return read == 0 || (read < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    @Test func idleAndSlowClientsAreDisconnectedAndConnectionsCapped() async throws {
        var options = SlackHarness.Options()
        options.edit = { config in
            config.server.headerTimeout = TimeSpan(seconds: 1)
            config.server.bodyTimeout = TimeSpan(seconds: 1)
            config.server.idleTimeout = TimeSpan(seconds: 2)
            config.server.maxConnections = 32
        }
        try await SlackHarness.run(options) { slack in
            // More idle connections than the cap: the rest wait in the backlog.
            let idle = Self.connect(100, port: slack.port)
            // A head that never ends, and a body that never ends.
            let slowHead = Self.connect(1, port: slack.port, sending: "POST /slack/commands HTTP/1.1\r\nHost: klaxon\r\n")
            let slowBody = Self.connect(
                1, port: slack.port, sending: "POST /slack/commands HTTP/1.1\r\nHost: klaxon\r\nContent-Length: 100\r\n\r\ntoken=")
            let all = idle + slowHead + slowBody
            defer { all.forEach { close($0) } }
            #expect(all.count == 102)

            // Slots free up as the idle ones time out, and a signed command gets its answer.
            let reply = try await slack.slash("help")
            #expect(reply.text.contains("declare"), "\(reply.text)")
            #expect(await eventually(timeout: .seconds(30)) { all.allSatisfy(Self.closedByServer) })
        }
    }

    @Test func socketModeBacksOffWhenConnectionsKeepClosingCleanly() async throws {
        try await SlackHarness.run(SocketModeTests.socketMode) { slack in
            let fake = slack.fake
            #expect(await eventually { fake.openSockets == 1 })
            let sleepers = slack.clock.sleeperCount
            // A clean close of a fresh connection: replaced at once (a restart, a dropped network).
            fake.socketClose()
            #expect(await eventually { fake.socketsConnected == 2 && fake.openSockets == 1 })
            // Again at once: now the client waits on the clock instead of reconnecting in a loop.
            fake.socketClose()
            #expect(await eventually { slack.clock.sleeperCount > sleepers })
            #expect(fake.socketsConnected == 2)
            slack.clock.advance(by: 30)
            #expect(await eventually { fake.socketsConnected == 3 && fake.openSockets == 1 })
            // A connection that lived a while is replaced at once again.
            slack.clock.advance(by: 31)
            fake.socketClose()
            #expect(await eventually { fake.socketsConnected == 4 && fake.openSockets == 1 })
        }
    }
}
