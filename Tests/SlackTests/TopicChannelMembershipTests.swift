import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Testing

/// The rotation hand-off topic (`oncall.topicChannels`) goes to a channel named in the config, which the
/// bot may never have been invited to. Slack refuses `conversations.setTopic` from a non-member
/// (`not_in_channel`): the adapter joins a public channel first, as it does for posts.
@Suite("Slack: topic of a channel the bot is not in")
struct TopicChannelMembershipTests {
    private static func message(_ action: ChatAction, clock: ManualClock) -> OutboxMessage {
        OutboxMessage(
            id: 1, platform: .slack, incidentID: nil, action: action, createdAt: clock.now(), notBefore: clock.now(), attempts: 0, state: .pending,
            platformMessageID: nil, lastError: nil)
    }

    @Test func aPublicChannelIsJoinedAndItsTopicSet() async throws {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_764_547_200))
        try await FakeSlack.run(clock: clock) { fake in
            fake.addChannel(id: "C0DEVOPS", name: "devops", botIsMember: false)
            fake.addChannel(id: "G0SECRET", name: "secret", isPrivate: true, botIsMember: false)
            let api = SlackWebAPI(
                baseURL: fake.apiBaseURL, botToken: Secret(FakeSlack.botToken), httpClient: fake.client, clock: clock, settings: .init(timeout: 2),
                logger: testLogger)
            let slack = SlackPlatform(api: api, announceChannel: FakeSlack.announceChannelName, mode: .channel, clock: clock, logger: testLogger)

            _ = try await slack.deliver(Self.message(.setChannelTopic(channel: "C0DEVOPS", topic: "On call: @alice"), clock: clock), incident: nil)
            #expect(fake.channel("C0DEVOPS")?.topic == "On call: @alice")
            #expect(fake.channel("C0DEVOPS")?.members.contains(FakeSlack.botUserID) == true)
            #expect(fake.calls("conversations.join").count == 1)

            // Joined now: the next hand-off sets the topic at once.
            _ = try await slack.deliver(Self.message(.setChannelTopic(channel: "C0DEVOPS", topic: "On call: @bob"), clock: clock), incident: nil)
            #expect(fake.channel("C0DEVOPS")?.topic == "On call: @bob")
            #expect(fake.calls("conversations.join").count == 1)

            // A private channel cannot be joined: the delivery fails and the topic stays as it was.
            await #expect(throws: DeliveryFailure.self) {
                try await slack.deliver(Self.message(.setChannelTopic(channel: "G0SECRET", topic: "On call: @bob"), clock: clock), incident: nil)
            }
            #expect(fake.channel("G0SECRET")?.topic == "")
        }
    }
}
