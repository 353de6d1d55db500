import Foundation
import HTTPTypes
import IncidentCore
import KlaxonTestSupport
import Testing

/// `@here` and `@all` in what a Rocket.Chat user writes: the bot posts them so they notify nobody.
@Suite("Rocket.Chat: no broadcast for users")
struct RocketChatBroadcastMentionTests {
    @Test func hereAndAllInATitleAndAnUpdateReachRocketChatNeutralized() async throws {
        try await withRocketChatDaemon { fake, klaxon, client in
            let create = await fake.post(as: "alice", in: "incidents", "/incident create @here API down")
            let declared = try await RocketChatWebhookTests.deliver(create, from: fake, to: client)
            #expect(declared.text?.contains("@\u{200B}here API down") == true)
            await klaxon.drain()
            let update = await fake.post(as: "alice", in: RocketChatWebhookTests.channel, "!incident update @all rollback started")
            #expect(try await RocketChatWebhookTests.deliver(update, from: fake, to: client).status == .ok)
            await klaxon.drain()

            // What the bot posted, not what alice typed.
            let announced = await fake.messages(in: "incidents").filter { $0.author.id == fake.bot.id }.map(\.text)
            #expect(announced.contains { $0.contains("@\u{200B}here API down") })
            let inRoom = await fake.messages(in: RocketChatWebhookTests.channel).filter { $0.author.id == fake.bot.id }.map(\.text)
            #expect(inRoom.contains { $0.contains("@\u{200B}all rollback started") })
            for text in announced + inRoom {
                #expect(!text.contains("@here") && !text.contains("@all"), "\(text)")
            }
        }
    }
}
