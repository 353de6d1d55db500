import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOHTTP1
import Storage
import Testing

/// Input that once killed the daemon, sent the way a chat user would: through the console API,
/// `CommandService` and a real SQLite file.
@Suite("Crash-proof input, end to end")
struct CrashProofInputTests {
    @Test("oncall override for 10000000000000000s is refused with the maximum, and the daemon keeps answering")
    func absurdOverrideIsRefused() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try defaultConfig(storePath: directory.file("klaxon.sqlite")))

        let forever = try await daemon.command("oncall override @bob for 10000000000000000s")
        #expect(forever["outcome"] == "invalid")
        #expect(forever["reply"]?.contains("an override lasts at most 365d (one year)") == true)
        // `until` can name a year the parser cannot rule out; the engine bounds it by the same maximum.
        let farFuture = try await daemon.command("oncall override @bob until 9999-12-31 23:59")
        #expect(farFuture["outcome"] == "rejected")
        #expect(farFuture["reply"]?.hasPrefix("An override lasts at most 365d (one year)") == true)

        // Still alive, and the longest allowed override is stored and read back.
        let year = try await daemon.command("oncall override @bob for 365d")
        #expect(year["outcome"] == "applied")
        #expect(year["reply"]?.contains("@bob is on call for") == true)
        #expect(try await daemon.request(.GET, "/healthz").status == 200)
        try await daemon.stop()
    }
}
