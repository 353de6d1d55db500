import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Scheduler
import Server
import Storage
import Testing

/// Issue 13: an incident's own channel, alert and pages never wait behind the announce channel, which
/// Slack lets us post to about once a second (the adapter's per-channel pacer holds the rest); what the
/// pace holds back goes out as one digest post.
@Suite("Slack: announcements queue apart from the incidents")
struct AnnounceQueueTests {
    @Test func fifteenSev1DeclaredAtOnceGetTheirAlertsFirstAndOneDigestAnnouncesTheRest() async throws {
        try await SlackHarness.run { slack in
            var incidents: [IncidentID] = []
            for number in 1...15 {
                let reply = try await slack.slash("declare sev1 Checkout outage \(number)")
                incidents.append(try #require(IncidentID(parsing: String(reply.text.split(separator: " ").dropFirst().first ?? "")), "reply: \(reply.text)"))
            }
            let declaredAt = slack.clock.now()

            // Everything that can go at the moment of declaring, with the clock standing still.
            await slack.daemon.sender.drainOnce()
            #expect(slack.clock.now() == declaredAt)
            var rooms: [IncidentID: String] = [:]
            for id in incidents {
                let room = try #require(try await slack.incident(id).room, "\(id) has no room yet")
                rooms[id] = room.channelID
                // The first post in its own channel (after the pinned status card) is the alert, already there.
                let posts = slack.fake.messages(in: room.channelID).map(\.text)
                #expect(posts.contains { $0.hasPrefix("🚨 [SEV1 INCIDENT]") }, "\(id)'s alert waited: \(posts)")
            }
            let announcedEarly = slack.fake.messages(in: FakeSlack.announceChannelID).count
            #expect(announcedEarly < incidents.count, "the announce channel is paced: not all 15 can have gone at once")

            // The announcements follow as the channel allows: those the pace held back go out together as
            // one digest, and every incident is announced, linked, exactly once.
            try await slack.deliverAll()
            let announcements = slack.fake.messages(in: FakeSlack.announceChannelID)
            for id in incidents {
                let link = "<#\(rooms[id]!)>"
                let linking = announcements.filter { $0.text.contains(link) }
                #expect(linking.count == 1, "\(id) (\(link)) announced \(linking.count) times")
            }
            let digests = announcements.filter { $0.text.contains("new incidents:") }
            try #require(digests.count == 1, "\(announcements.map(\.text))")
            #expect(announcements.count < incidents.count)
            #expect(digests[0].text.hasPrefix("🚨 \(incidents.count - announcements.count + 1) new incidents:"))
            for id in incidents {
                let outbox = try await slack.store.outboxMessages(incident: id)
                #expect(outbox.allSatisfy { $0.state == .delivered })
                // The members of the digest record its post as theirs.
                let announcement = try #require(outbox.first { $0.queue != nil })
                if digests[0].text.contains("<#\(rooms[id]!)>") {
                    #expect(announcement.digestOf != nil && announcement.platformMessageID == digests[0].ts)
                }
            }
        }
    }

    /// The same holds after the announcement: an incident's other posts to the announce channel (here the
    /// resolution notices of 15 incidents resolved at once) wait in a queue of their own, so what follows
    /// them in each incident (its topic, the next posts in its room) is not held behind the channel's pace.
    @Test func fifteenResolvedAtOnceDoNotWaitBehindTheirResolutionNotices() async throws {
        try await SlackHarness.run { slack in
            var incidents: [IncidentID] = []
            for number in 1...15 {
                let reply = try await slack.slash("declare sev1 Checkout outage \(number)")
                incidents.append(try #require(IncidentID(parsing: String(reply.text.split(separator: " ").dropFirst().first ?? "")), "reply: \(reply.text)"))
            }
            try await slack.deliverAll()
            let announcedBefore = slack.fake.messages(in: FakeSlack.announceChannelID).count

            // Slack allows 20 `conversations.setTopic` a minute (Tier 2): the 15 topics set at declaring and
            // the 15 set at resolving would not fit in one, so a minute passes between, as it would for people.
            slack.clock.advance(by: 60)
            for id in incidents {
                let reply = try await slack.slash("resolve \(id) Rolled back the release")
                #expect(reply.text.contains("Resolved") || reply.text.contains("resolved"), "\(reply.text)")
            }
            let resolvedAt = slack.clock.now()
            await slack.daemon.sender.drainOnce()
            #expect(slack.clock.now() == resolvedAt)
            for id in incidents {
                let outbox = try await slack.store.outboxMessages(incident: id)
                // Everything in the incident's own queue went out at once, the topic after the notice included.
                let own = outbox.filter { $0.queue == nil }
                #expect(own.allSatisfy { $0.state == .delivered }, "\(id) waited: \(own.filter { $0.state != .delivered }.map(\.action.kind))")
                let room = try #require(try await slack.incident(id).room)
                #expect(slack.fake.messages(in: room.channelID).contains { $0.text.contains("Rolled back the release") })
            }
            let noticesEarly = slack.fake.messages(in: FakeSlack.announceChannelID).count - announcedBefore
            #expect(noticesEarly < incidents.count, "the announce channel is paced: not all 15 notices can have gone at once")

            // And every notice follows as the channel allows, each exactly once.
            try await slack.deliverAll()
            let notices = slack.fake.messages(in: FakeSlack.announceChannelID).dropFirst(announcedBefore)
            for id in incidents {
                #expect(
                    notices.filter { $0.text.contains("\(id) ") || $0.text.contains("\(id)*") || $0.text.contains("\(id):") }.count == 1,
                    "\(id): \(notices.map(\.text))")
            }
            #expect(notices.count == incidents.count, "\(notices.map(\.text))")
        }
    }

    /// Exactly once across a lost answer and a restart: the digest's members are fixed in the store when
    /// the pace holds its head back, so the process that retries it (here a new one, with nothing in
    /// memory) posts the same digest, finds Slack's earlier post of it, and delivers every member with it.
    @Test func aDigestWhoseAnswerWasLostIsFoundAfterARestartNotPostedTwice() async throws {
        let clock = ManualClock(now: Fixture.monday)
        try await FakeSlack.run(clock: clock) { fake in
            let directory = try TemporaryDirectory("klaxon-digest")
            defer { directory.remove() }
            // The store writes messages on the test's clock, as the sender reads them: the retry's history
            // search starts a minute before the message was written, and Slack's `ts` is on the same clock.
            let store = try await SQLiteIncidentStore.open(path: directory.file("klaxon.sqlite"), clock: clock, logger: testLogger)
            let config = try ConfigLoader.load(json: Array(ConfigLoader.embeddedDefaultJSON.utf8), environment: [:]).get()
            // Seven incidents with their rooms open, announced at once.
            let count = 7
            var changes = ChangeSet()
            for number in 1...count {
                var incident = Incident(
                    id: IncidentID(number), title: "Outage \(number)", severity: "sev1", platform: .slack,
                    origin: Conversation(platform: .slack, channelID: "C0GENERAL"), channelName: "incident-\(number)",
                    declaredBy: ChatUser(id: "U0ALICE"), declaredAt: clock.now())
                incident.room = Conversation(platform: .slack, channelID: "C0ROOM\(number)")
                changes.incidents.append(IncidentWrite(incident: incident, expectedRevision: nil))
                changes.outbox.append(
                    NewOutboxMessage(
                        platform: .slack, incidentID: incident.id, action: .post(to: .announce, text: "INC-\(number) declared: <#room>", buttons: []),
                        queue: OutboxQueue.announcements(channel: FakeSlack.announceChannelName)))
            }
            try await store.commit(changes)
            // A process: its own Slack client, pacer and memory.
            func process(_ owner: String) throws -> OutboxSender {
                let api = SlackWebAPI(
                    baseURL: fake.apiBaseURL, botToken: Secret(FakeSlack.botToken), httpClient: fake.client, clock: clock, settings: .init(timeout: 2),
                    logger: testLogger)
                let slack = SlackPlatform(api: api, announceChannel: FakeSlack.announceChannelName, mode: .channel, clock: clock, logger: testLogger)
                return OutboxSender(
                    store: store, platforms: [slack], clock: clock, doorbell: Doorbell(), owner: owner, logger: testLogger,
                    announcementDigest: try AnnouncementDigest(config: config))
            }
            func announcement(_ number: Int) async throws -> OutboxMessage {
                try #require(try await store.outboxMessages(incident: IncidentID(number)).first)
            }

            let first = try process("first")
            await first.drainOnce()
            // The pacer's burst lets the first few go at once; the next is held and heads a digest of the rest.
            let alone = fake.messages(in: FakeSlack.announceChannelID).count
            try #require(alone < count - 1, "the pace held none back")
            let head = try await announcement(alone + 1)
            #expect(head.headsDigest)
            for number in (alone + 2)...count {
                #expect(try await announcement(number).digestOf == head.id)
            }

            // Slack posts the digest, but its answer comes after we stopped waiting.
            fake.inject("chat.postMessage", .slowAfterWork(seconds: 6))
            clock.advance(to: try #require(try await first.nextDue()))
            await first.drainOnce()
            #expect(await eventually { fake.messages(in: FakeSlack.announceChannelID).count == alone + 1 })
            #expect(try await announcement(alone + 1).state == .pending)
            #expect(try await announcement(count).state == .pending)

            // Restarted: the retry finds the digest it posted and delivers every member with it.
            let restarted = try process("restarted")
            clock.advance(to: try #require(try await restarted.nextDue()))
            await restarted.drainOnce()
            let posts = fake.messages(in: FakeSlack.announceChannelID)
            #expect(posts.count == alone + 1, "\(posts.map(\.text))")
            let digest = try #require(posts.last)
            #expect(digest.text.hasPrefix("🚨 \(count - alone) new incidents:"))
            for number in 1...count {
                let message = try await announcement(number)
                #expect(message.state == .delivered)
                #expect(posts.filter { $0.text.contains("<#C0ROOM\(number)>") }.count == 1, "INC-\(number)")
                if number > alone { #expect(message.platformMessageID == digest.ts) }
            }
            try await store.close()
        }
    }
}
