import Foundation
import IncidentCore
import Logging
import Synchronization

/// Rocket.Chat's outbound side: turns the outbox's platform-neutral actions into REST calls.
///
/// Channel mode: each incident gets a channel named by `incidents.channelName`, public or, with
/// `privateChannels`, a private group that only the invited see; thread mode: the announcement in the
/// announce channel is the thread's root and everything else goes under it (`tmid`).
///
/// Safe to deliver the same outbox message again after a crash: every message is sent with an `_id`
/// derived from the outbox message, creating a channel that exists already reuses it, and topics and
/// invitations are idempotent on the server.
public struct RocketChatPlatform: ChatPlatform {
    public let kind = PlatformKind.rocketchat
    private let client: RocketChatClient
    private let announceChannel: String
    private let mode: IncidentsConfig.Mode
    private let privateChannels: Bool
    /// What buttons send: `!incident`, so a click works even where unknown slash commands are refused.
    private let buttonTrigger: String
    private let logger: Logger
    private let directory = RoomDirectory()

    public init(
        client: RocketChatClient, announceChannel: String, mode: IncidentsConfig.Mode, triggers: [String], privateChannels: Bool = false, logger: Logger
    ) {
        self.client = client
        self.announceChannel = announceChannel.hasPrefix("#") ? String(announceChannel.dropFirst()) : announceChannel
        self.mode = mode
        self.privateChannels = privateChannels
        self.buttonTrigger = Self.buttonTrigger(from: triggers)
        self.logger = logger
    }

    /// The first configured trigger that is not a slash command (Rocket.Chat clients refuse unknown slash
    /// commands unless the admin allows them), else the first trigger.
    public static func buttonTrigger(from triggers: [String]) -> String {
        triggers.first { !$0.hasPrefix("/") } ?? triggers.first ?? "!incident"
    }

    public func deliver(_ message: OutboxMessage, incident: Incident?) async throws(DeliveryFailure) -> Delivery {
        do {
            return try await perform(message, incident: incident)
        } catch {
            logger.debug("Rocket.Chat delivery failed", metadata: ["outbox_id": "\(message.id)", "error": "\(error)"])
            throw error.deliveryFailure
        }
    }

    private func perform(_ message: OutboxMessage, incident: Incident?) async throws(ChatServerFailure) -> Delivery {
        switch message.action {
        case .openRoom(let name, let topic, let announcement, let invite):
            return try await openRoom(message, name: name, topic: topic, announcement: announcement, invite: invite)
        case .post(let target, let text, let buttons):
            let (roomID, threadID) = try await resolve(target, incident: incident)
            let id = try await client.sendMessage(
                RocketChatOutgoingMessage(
                    id: message.deliveryMarker(part: 0), roomID: roomID, text: render(text, incident: incident),
                    threadID: threadID, attachments: attachments(for: buttons)))
            return Delivery(platformMessageID: id)
        case .setChannelTopic(let channel, let topic):
            try await client.setTopic(NeutralMarkup.render(topic, roomLink: nil), of: try await room(named: channel))
            return Delivery()
        case .setTopic(let topic):
            // A thread has no topic of its own; its status lines already say what changed.
            guard let room = try await incidentChannel(incident) else { return Delivery() }
            try await client.setTopic(NeutralMarkup.render(topic, roomLink: nil), of: room)
            return Delivery()
        case .invite(let usernames):
            guard let room = try await incidentChannel(incident) else { return Delivery() }
            try await invite(usernames, to: room)
            return Delivery()
        case .pagerWebhook, .discordWebhook, .email, .ticket, .statusWebhook:
            // Never routed here: `OutboxSender` hands pager notices to `PagerWebhookClient`, Discord posts to
            // `DiscordWebhookClient`, emails to `EmailSender`, ticket actions to `GitHubIssues` and status
            // notices to `StatusWebhookClient`.
            return Delivery()
        }
    }

    private func openRoom(_ message: OutboxMessage, name: String, topic: String, announcement: String, invite: [String]) async throws(ChatServerFailure)
        -> Delivery
    {
        let announce = try await announceRoom()
        switch mode {
        case .channel:
            let (room, roomName) = try await channel(named: name, for: message)
            try await client.setTopic(NeutralMarkup.render(topic, roomLink: nil), of: room)
            try await self.invite(invite, to: room)
            // Empty: announced by a message of its own (`ChatAction.openRoom`).
            if !announcement.isEmpty {
                try await client.sendMessage(
                    RocketChatOutgoingMessage(
                        id: message.deliveryMarker(part: 1), roomID: announce.id,
                        text: NeutralMarkup.render(announcement, roomLink: "#\(roomName)")))
            }
            return Delivery(platformMessageID: room.id, room: Conversation(platform: .rocketchat, channelID: room.id))
        case .thread:
            let rootID = try await client.sendMessage(
                RocketChatOutgoingMessage(
                    id: message.deliveryMarker(part: 0), roomID: announce.id,
                    text: NeutralMarkup.render(announcement, roomLink: "this thread")))
            return Delivery(platformMessageID: rootID, room: Conversation(platform: .rocketchat, channelID: announce.id, threadID: rootID))
        }
    }

    /// Creates the incident's channel (a private group with `privateChannels`), or finds it when an
    /// earlier attempt of `message` created it already; a name someone else holds is left to them and the
    /// next free one taken (`IncidentChannelOpening`). Names are unique across channels and groups.
    private func channel(named name: String, for message: OutboxMessage) async throws(ChatServerFailure) -> (RocketChatRoom, String) {
        let (room, roomName, _) = try await IncidentChannelOpening.open(
            base: name, for: message, botUserID: client.userID, logger: logger,
            create: { (candidate: String) async throws(ChatServerFailure) -> RocketChatRoom in
                try await client.createRoom(named: candidate, private: privateChannels)
            },
            isTaken: { failure in
                if case .refused(_, let code, _) = failure { return code == "error-duplicate-channel-name" }
                return false
            },
            lookUp: { (candidate: String) async throws(ChatServerFailure) -> RocketChatRoom in try await client.room(named: candidate) },
            creator: { ($0.creatorID, $0.createdAt) })
        directory.remember(room, as: roomName)
        return (room, roomName)
    }

    /// Invites by username; someone unknown to the server is logged and skipped, so one typo in `people`
    /// does not keep everyone else out.
    private func invite(_ usernames: [String], to room: RocketChatRoom) async throws(ChatServerFailure) {
        for username in usernames {
            do {
                let userID = try await self.userID(username)
                guard userID != client.userID else { continue }
                try await client.invite(userID: userID, to: room)
            } catch .refused(_, let code, let text) {
                logger.warning("could not invite to the incident channel", metadata: ["user": "\(username)", "code": "\(code)", "error": "\(text)"])
            }
        }
    }

    /// Where a message goes: (room id, thread root id).
    private func resolve(_ target: MessageTarget, incident: Incident?) async throws(ChatServerFailure) -> (String, String?) {
        switch target {
        case .incidentRoom:
            if let conversation = incident?.room ?? incident?.origin {
                return (conversation.channelID, conversation.threadID)
            }
            return (try await announceRoom().id, nil)
        case .announce:
            return (try await announceRoom().id, nil)
        case .conversation(let conversation):
            return (conversation.channelID, conversation.threadID)
        case .direct(let username):
            return (try await directRoom(username).id, nil)
        case .channel(let name):
            return (try await room(named: name).id, nil)
        }
    }

    /// The incident's own channel in channel mode; nil in thread mode or before it exists.
    ///
    /// Its kind decides between `channels.*` and `groups.*`. The store keeps only the room's id, and the
    /// setting may have changed since the room was made, so the kind is the server's answer: known from
    /// `openRoom` in this process, else asked once (`rooms.info`) and remembered.
    private func incidentChannel(_ incident: Incident?) async throws(ChatServerFailure) -> RocketChatRoom? {
        guard let room = incident?.room, room.threadID == nil else { return nil }
        if let known = directory.room(id: room.channelID) { return known }
        let found = try await client.room(id: room.channelID)
        directory.remember(found)
        return found
    }

    /// `<@alice>` → `@alice`; `<#room>` → `#incident-…` (a link in Rocket.Chat) or the thread.
    private func render(_ text: String, incident: Incident?) -> String {
        let link: String?
        if let incident, let room = incident.room {
            // The room's own name: it may carry a suffix when the planned one was taken.
            link = room.threadID == nil ? "#\(directory.room(id: room.channelID)?.name ?? incident.channelName)" : "the incident thread"
        } else {
            link = nil
        }
        return NeutralMarkup.render(text, roomLink: link)
    }

    private func attachments(for buttons: [MessageButton]) -> [RocketChatAttachment]? {
        guard !buttons.isEmpty else { return nil }
        let actions = buttons.map { RocketChatAttachment.Action(text: $0.label, msg: "\(buttonTrigger) \($0.command)") }
        return [RocketChatAttachment(actions: actions)]
    }

    // MARK: Lookups, cached

    private func announceRoom() async throws(ChatServerFailure) -> RocketChatRoom {
        try await room(named: announceChannel)
    }

    private func room(named name: String) async throws(ChatServerFailure) -> RocketChatRoom {
        if let room = directory.room(named: name) { return room }
        let room = try await client.room(named: name)
        directory.remember(room, as: name)
        return room
    }

    private func directRoom(_ username: String) async throws(ChatServerFailure) -> RocketChatRoom {
        let key = "@" + username
        if let room = directory.room(named: key) { return room }
        let room = try await client.directRoom(with: username)
        directory.remember(room, as: key)
        return room
    }

    private func userID(_ username: String) async throws(ChatServerFailure) -> String {
        if let id = directory.userID(username) { return id }
        let id = try await client.userID(username: username)
        directory.remember(userID: id, for: username)
        return id
    }
}

/// Names the server resolved before: room names (and `@user` for direct rooms) to rooms, usernames to
/// user ids. They do not change while the daemon runs, so caching saves calls against the rate limit.
final class RoomDirectory: Sendable {
    private struct Entries {
        var rooms: [String: RocketChatRoom] = [:]
        var roomsByID: [String: RocketChatRoom] = [:]
        var users: [String: String] = [:]
    }

    private let entries = Mutex(Entries())

    func room(named name: String) -> RocketChatRoom? { entries.withLock { $0.rooms[name] } }
    func room(id: String) -> RocketChatRoom? { entries.withLock { $0.roomsByID[id] } }
    func remember(_ room: RocketChatRoom, as name: String? = nil) {
        entries.withLock { entries in
            if let name { entries.rooms[name] = room }
            entries.roomsByID[room.id] = room
        }
    }
    func userID(_ username: String) -> String? { entries.withLock { $0.users[username] } }
    func remember(userID: String, for username: String) { entries.withLock { $0.users[username] = userID } }
}
