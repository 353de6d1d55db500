import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import IncidentCore
import KlaxonTestSupport
import NIOCore
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// `!incident oncall` on Rocket.Chat shows times at the sender's UTC offset (`users.info` → `utcOffset`),
/// from the webhook and from polling, looked up with a short deadline and cached, and falls back to the
/// configured zones when there is no usable answer.
@Suite("Rocket.Chat user time zone")
struct RocketChatTimeZoneTests {
    @Test func onCallTimesAreAtTheSendersOffset() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc-tz")
        defer { directory.remove() }
        await fake.setUTCOffset(of: "alice", -5)
        await fake.setUTCOffset(of: "bob", 5.5)

        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Runbook004.config(rocketChat: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                // Bob's shift ends at the weekly hand-off, Monday 2025-11-17 09:00 UTC.
                let asked = await fake.post(as: "alice", in: "incidents", "!incident oncall")
                let alice = try await RocketChatWebhookTests.deliver(asked, from: fake, to: client)
                #expect(alice.text?.contains("primary: @bob until 2025-11-17 04:00 GMT-5") == true, "UTC-5; got \(alice.text ?? "nil")")
                #expect(await fake.userLookups == 1)

                let fromBob = try await RocketChatWebhookTests.deliver(await fake.post(as: "bob", in: "incidents", "/incident who"), from: fake, to: client)
                #expect(fromBob.text?.contains("until 2025-11-17 14:30 GMT+5:30") == true, "a half-hour offset; got \(fromBob.text ?? "nil")")
                #expect(await fake.userLookups == 2)

                // Cached: asking again does not call Rocket.Chat again.
                let again = try await RocketChatWebhookTests.deliver(await fake.post(as: "alice", in: "incidents", "!incident on-call"), from: fake, to: client)
                #expect(again.text?.contains("until 2025-11-17 04:00 GMT-5") == true)
                #expect(await fake.userLookups == 2)
                // Only `oncall` looks anyone up.
                _ = try await RocketChatWebhookTests.deliver(await fake.post(as: "carol", in: "incidents", "!incident list"), from: fake, to: client)
                _ = try await RocketChatWebhookTests.deliver(await fake.post(as: "carol", in: "incidents", "!incident help"), from: fake, to: client)
                #expect(await fake.userLookups == 2)

                // An override's `until` is read at the sender's offset: 18:00 at UTC-5 is 23:00 UTC.
                let override = try await RocketChatWebhookTests.deliver(
                    await fake.post(as: "alice", in: "incidents", "!incident oncall override @alice until 2025-11-11 18:00"), from: fake, to: client)
                #expect(override.text?.contains("until 2025-11-11 18:00 GMT-5") == true, "got \(override.text ?? "nil")")
                let active = try await klaxon.store.overrides(rotation: "primary", activeAt: Runbook004.monday.addingTimeInterval(3600))
                #expect(active.map(\.end) == [Date(timeIntervalSince1970: 1_762_902_000)], "2025-11-11 23:00 UTC")

                // Carol never logged in from a client that reports an offset: the rotation's zone.
                let carol = try await RocketChatWebhookTests.deliver(await fake.post(as: "carol", in: "incidents", "!incident oncall"), from: fake, to: client)
                #expect(carol.text?.contains("primary: @alice (override) until 2025-11-11 23:00 UTC") == true, "got \(carol.text ?? "nil")")
                #expect(await fake.userLookups == 3)
            }
            try await klaxon.close()
        }
    }

    @Test func pollingUsesTheSendersOffsetToo() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc-tz-poll")
        defer { directory.remove() }
        await fake.setUTCOffset(of: "alice", -5)

        try await withLiveServer(fake.router()) { url in
            let config = Runbook004.config(rocketChat: url, poll: RocketChatConfig.Poll(rooms: ["#incidents"], every: TimeSpan(seconds: 5)))
            let klaxon = try await TestDaemon.open(config, clock: clock, databasePath: directory.file("klaxon.sqlite"))
            let poller = try #require(klaxon.rocketChat?.poller)
            await poller.pollOnce()

            clock.advance(by: 5)
            await fake.post(as: "alice", in: "incidents", "!incident oncall")
            #expect(await poller.pollOnce().commands == 1)
            await klaxon.drain()
            let reply = await fake.messages(in: "incidents").last { $0.author.username == "klaxon.bot" }
            #expect(reply?.text.contains("primary: @bob until 2025-11-17 04:00 GMT-5") == true, "got \(reply?.text ?? "nil")")
            #expect(await fake.userLookups == 1)
            try await klaxon.close()
        }
    }

    @Test func aSlowOrFailingLookupFallsBackToNil() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        await fake.setUTCOffset(of: "bob", -3)

        try await withLiveServer(fake.router()) { url in
            func client(token: String) -> RocketChatClient {
                RocketChatClient(
                    serverURL: url, userID: "KlaxonBotUserId1", authToken: Secret(token), httpClient: .shared, clock: clock, logger: quietLogger)
            }
            // The deadline must pass while the fake holds the call, yet leave room for a real answer on a
            // machine busy with the rest of the suite: 2 s, not the production 800 ms.
            let lookup = RocketChatUserLookup(client: client(token: "rc-personal-access-token"), clock: clock, timeout: .seconds(2), logger: quietLogger)

            await fake.stallUserLookups()
            #expect(await lookup.timeZone(ofUserID: "uid-bob") == nil, "the deadline passed")
            await fake.releaseUserLookups()
            // The failure is remembered for a while, so a slow server does not delay every command.
            #expect(await lookup.timeZone(ofUserID: "uid-bob") == nil)
            #expect(await fake.userLookups == 1)
            clock.advance(by: RocketChatUserLookup.failedFor + 1)
            #expect(await lookup.timeZone(ofUserID: "uid-bob") == "GMT-0300")

            #expect(await lookup.timeZone(ofUserID: "nobody") == nil, "unknown user: 400 User not found.")
            #expect(await lookup.user(id: "uid-carol")?.username == "carol", "found, without an offset")
            #expect(await lookup.timeZone(ofUserID: "uid-carol") == nil)

            let revoked = RocketChatUserLookup(client: client(token: "revoked"), clock: clock, logger: quietLogger)
            #expect(await revoked.timeZone(ofUserID: "uid-bob") == nil)
        }
    }

    @Test(arguments: [
        (5.5, "GMT+0530", 19_800), (-5.0, "GMT-0500", -18_000), (5.75, "GMT+0545", 20_700), (-3.5, "GMT-0330", -12_600),
        (12.75, "GMT+1245", 45_900), (14.0, "GMT+1400", 50_400), (-12.0, "GMT-1200", -43_200), (1.0, "GMT+0100", 3_600), (0.0, "GMT", 0),
    ])
    func offsetsBecomeZonesFoundationAccepts(hours: Double, identifier: String, seconds: Int) throws {
        let produced = try #require(RocketChatUser.zoneIdentifier(utcOffset: hours))
        #expect(produced == identifier)
        let zone = try #require(TimeZone(identifier: produced), "TimeZone(identifier:) must accept what Klaxon hands the engine")
        #expect(zone.secondsFromGMT(for: Runbook004.monday) == seconds)
        #expect(zone.secondsFromGMT(for: Runbook004.monday.addingTimeInterval(180 * 86_400)) == seconds, "a fixed offset, summer and winter")
    }

    @Test func oddOffsetsAreNil() {
        for hours: Double in [5.3, 0.1, 15, -13, 14.25, -12.5, 24, .nan, .infinity, -.infinity, 1e12] {
            #expect(RocketChatUser.zoneIdentifier(utcOffset: hours) == nil, "\(hours)")
        }
    }

    @Test func usersAsTheServerWritesThem() throws {
        func decode(_ json: String) throws -> RocketChatUser {
            try JSONDecoder().decode(RocketChatUser.self, from: Data(json.utf8))
        }
        #expect(try decode(#"{"_id":"u1","username":"alice","utcOffset":5.5}"#).timeZoneIdentifier == "GMT+0530")
        #expect(try decode(#"{"_id":"u1","username":"alice","utcOffset":-3}"#).timeZoneIdentifier == "GMT-0300")
        let text = try decode(#"{"_id":"u1","username":"alice","utcOffset":"5.5"}"#)
        #expect(text.username == "alice" && text.utcOffset == nil, "an offset of another type is ignored, the user still read")
        #expect(try decode(#"{"_id":"u1","username":"alice"}"#).timeZoneIdentifier == nil)
        #expect(throws: (any Error).self) { try decode(#"{"username":"alice","utcOffset":1}"#) }
    }

    @Test func whichCommandsAreOnCall() {
        for text in ["oncall", "On-Call", "who", "oncall primary", "oncall override @bob for 4h", "!incident who", "/incident  oncall"] {
            #expect(RocketChatCommandFilter.isOnCall(text), "\(text)")
        }
        for text in ["", "list", "ack INC-1", "whois", "update INC-1 who is on call?", "!incident"] {
            #expect(!RocketChatCommandFilter.isOnCall(text), "\(text)")
        }
    }
}
