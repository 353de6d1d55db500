import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// `/incident oncall` on Mattermost shows times in the zone the user set in Mattermost
/// (`GET /api/v4/users/{user_id}` → `timezone`), looked up with a short deadline and cached, and falls
/// back to the rotation's zone when there is no answer.
@Suite("Mattermost user time zone")
struct MattermostTimeZoneTests {
    @Test func onCallTimesAreInTheSendersZone() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm-tz")
        defer { directory.remove() }
        await fake.setTimeZone(of: "bob", automatic: false, automaticZone: "Europe/Berlin", manualZone: "Asia/Tokyo")
        await fake.setTimeZone(of: "alice", automatic: true, automaticZone: "America/New_York", manualZone: "Asia/Tokyo")

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(mattermost: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                // Bob's shift ends at the weekly hand-off, Monday 2025-11-17 09:00 UTC.
                let bob = try await MattermostTests.command("oncall", user: "bob", fake: fake, client: client)
                let bobText = try #require(bob.json?["text"] as? String)
                #expect(bobText.contains("until 2025-11-17 18:00 "), "manual zone: Tokyo, UTC+9; got \(bobText)")

                let alice = try await MattermostTests.command("who", user: "alice", fake: fake, client: client)
                let aliceText = try #require(alice.json?["text"] as? String)
                #expect(aliceText.contains("until 2025-11-17 04:00 "), "automatic zone: New York, UTC-5; got \(aliceText)")
                #expect(await fake.userLookups == 2)

                // Cached: asking again does not call Mattermost again.
                _ = try await MattermostTests.command("oncall", user: "bob", fake: fake, client: client)
                #expect(await fake.userLookups == 2)
                // Only `oncall` looks anyone up.
                _ = try await MattermostTests.command("list", user: "carol", fake: fake, client: client)
                _ = try await MattermostTests.command("help", user: "carol", fake: fake, client: client)
                #expect(await fake.userLookups == 2)

                // No zone set (the default: automatic, empty): the rotation's zone.
                let carol = try await MattermostTests.command("oncall", user: "carol", fake: fake, client: client)
                #expect((carol.json?["text"] as? String)?.contains("until 2025-11-17 09:00 UTC") == true)
            }
            try await klaxon.close()
        }
    }

    @Test func aSlowOrFailingLookupFallsBackToNil() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        await fake.setTimeZone(of: "bob", automatic: false, manualZone: "Asia/Tokyo")

        try await withLiveServer(fake.router()) { url in
            let client = MattermostClient(serverURL: url, botToken: Secret("mm-bot-access-token"), httpClient: .shared, clock: clock, logger: quietLogger)
            // The deadline must pass while the fake holds the call, yet leave room for a real answer on a
            // machine busy with the rest of the suite: 2 s, not the production 800 ms.
            let lookup = MattermostUserLookup(client: client, clock: clock, timeout: .seconds(2), logger: quietLogger)

            await fake.stallUserLookups()
            #expect(await lookup.timeZone(ofUserID: "uidbob") == nil, "the deadline passed")
            await fake.releaseUserLookups()
            // The failure is remembered for a while, so a slow server does not delay every command.
            #expect(await lookup.timeZone(ofUserID: "uidbob") == nil)
            #expect(await fake.userLookups == 1)
            clock.advance(by: MattermostUserLookup.failedFor + 1)
            #expect(await lookup.timeZone(ofUserID: "uidbob") == "Asia/Tokyo")

            #expect(await lookup.timeZone(ofUserID: "nobody") == nil, "unknown user: 404")

            let revoked = MattermostUserLookup(
                client: MattermostClient(serverURL: url, botToken: Secret("revoked"), httpClient: .shared, clock: clock, logger: quietLogger),
                clock: clock, logger: quietLogger)
            #expect(await revoked.timeZone(ofUserID: "uidbob") == nil)
        }
    }

    @Test func zonesAsMattermostWritesThem() throws {
        func decode(_ json: String) throws -> MattermostUser {
            try JSONDecoder().decode(MattermostUser.self, from: Data(json.utf8))
        }
        let manual = try decode(
            #"{"id":"u1","username":"bob","timezone":{"automaticTimezone":"","manualTimezone":"Asia/Tokyo","useAutomaticTimezone":"false"}}"#)
        #expect(manual.timezone?.identifier == "Asia/Tokyo")
        let automatic = try decode(
            #"{"id":"u1","username":"bob","timezone":{"automaticTimezone":"Europe/Berlin","manualTimezone":"","useAutomaticTimezone":"true"}}"#)
        #expect(automatic.timezone?.identifier == "Europe/Berlin")
        let boolean = try decode(#"{"id":"u1","username":"bob","timezone":{"automaticTimezone":"Europe/Berlin","useAutomaticTimezone":true}}"#)
        #expect(boolean.timezone?.identifier == "Europe/Berlin")
        let unknown = try decode(#"{"id":"u1","username":"bob","timezone":{"manualTimezone":"Mars/Olympus","useAutomaticTimezone":"false"}}"#)
        #expect(unknown.timezone?.identifier == nil)
        let malformed = try decode(#"{"id":"u1","username":"bob","timezone":"UTC"}"#)
        #expect(malformed.username == "bob" && malformed.timezone == nil)
        #expect(try decode(#"{"id":"u1","username":"bob"}"#).timezone == nil)
    }
}
