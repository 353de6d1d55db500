import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentCore
import KlaxonTestSupport
import Scheduler
import Server
import Storage
import Testing

/// Issue 14, item 4: runbook 002's `incident-{date}-{service}` channels (002-10) over loopback against
/// the fake servers. Two incidents of one service on one day must not share a channel (runbook-rules side
/// finding D): the second gets `-2`, as Slack's `name_taken` handling does.
@Suite("Service channel names")
struct ServiceChannelNameTests {
    static let payments = "incident-2025-11-10-payments"

    static func config(rocketChat: String? = nil, mattermost: String? = nil) -> KlaxonConfig {
        var config = Runbook004.config(rocketChat: rocketChat, mattermost: mattermost)
        config.incidents.channelName = "incident-{date}-{service}"
        return config
    }

    @Test func rocketChatGivesTheSecondPaymentsIncidentItsOwnChannel() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeRocketChat(clock: clock)
        let directory = try TemporaryDirectory("klaxon-rc")
        defer { directory.remove() }
        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Self.config(rocketChat: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let first = await fake.post(as: "alice", in: "incidents", "/incident p1 payments: Payment processing down")
                let declared = try await RocketChatWebhookTests.deliver(first, from: fake, to: client)
                #expect(declared.text?.contains("Declared INC-1 · P1 · Payment processing down") == true, "\(declared.text ?? "")")
                #expect(declared.text?.contains("Channel: #\(Self.payments)") == true)
                await klaxon.drain()
                clock.advance(by: 600)
                let second = await fake.post(as: "alice", in: "incidents", "/incident p1 payments: Refunds failing")
                #expect(try await RocketChatWebhookTests.deliver(second, from: fake, to: client).status == .ok)
                await klaxon.drain()

                let firstRoom = try #require(await fake.room(named: Self.payments))
                let secondRoom = try #require(await fake.room(named: Self.payments + "-2"), "the same service on the same day gets the next free name")
                #expect(firstRoom.id != secondRoom.id)
                #expect(try await klaxon.store.incident(IncidentID(1))?.room?.channelID == firstRoom.id)
                #expect(try await klaxon.store.incident(IncidentID(2))?.room?.channelID == secondRoom.id)
                #expect(await fake.messages(in: Self.payments).contains { $0.text.hasPrefix("🚨 [P1 INCIDENT] Payment processing down") })
                #expect(await fake.messages(in: Self.payments + "-2").contains { $0.text.hasPrefix("🚨 [P1 INCIDENT] Refunds failing") })
                #expect(!(await fake.messages(in: Self.payments).contains { $0.text.contains("Refunds failing") }), "nothing of INC-2 in INC-1's channel")
                #expect(try await klaxon.store.incident(IncidentID(2))?.service == "payments")
            }
            try await klaxon.close()
        }
    }

    @Test func mattermostGivesTheSecondPaymentsIncidentItsOwnChannel() async throws {
        let clock = ManualClock(now: Runbook004.monday)
        let fake = FakeMattermost(clock: clock)
        let directory = try TemporaryDirectory("klaxon-mm")
        defer { directory.remove() }
        try await withLiveServer(fake.router()) { url in
            let klaxon = try await TestDaemon.open(Self.config(mattermost: url), clock: clock, databasePath: directory.file("klaxon.sqlite"))
            try await klaxon.daemon.buildApplication(port: 0).test(.router) { client in
                let first = try await MattermostTests.command("p1 payments: Payment processing down", fake: fake, client: client)
                #expect((first.json?["text"] as? String)?.contains("Channel: #\(Self.payments)") == true)
                await klaxon.drain()
                clock.advance(by: 600)
                let second = try await MattermostTests.command("p1 payments: Refunds failing", fake: fake, client: client)
                #expect(second.status == .ok)
                await klaxon.drain()

                let firstChannel = try #require(await fake.channel(named: Self.payments))
                let secondChannel = try #require(await fake.channel(named: Self.payments + "-2"))
                #expect(firstChannel.id != secondChannel.id)
                #expect(try await klaxon.store.incident(IncidentID(2))?.room?.channelID == secondChannel.id)
                #expect(secondChannel.header.hasSuffix("INC-2 Refunds failing"))
                #expect(await fake.posts(in: Self.payments + "-2").first?.message.hasPrefix("🚨 [P1 INCIDENT] Refunds failing") == true)
                let announcements = await fake.posts(in: "incidents").map(\.message)
                #expect(announcements.contains { $0.contains("~\(Self.payments)-2") }, "the announcement links the channel it got")
            }
            try await klaxon.close()
        }
    }
}
