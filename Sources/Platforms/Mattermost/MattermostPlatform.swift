import Foundation
import IncidentCore
import Logging
import Synchronization

/// Mattermost's outbound side: the outbox's platform-neutral actions as `api/v4` calls.
///
/// Channel mode: a channel per incident in the configured team (open, or private with
/// `privateChannels`), its header kept to the incident's severity, status and commander; thread mode: the
/// announcement in the announce channel roots a thread and everything else is posted with its `root_id`.
///
/// Buttons become interactive buttons when `platforms.mattermost.actionsURL` says where Mattermost can
/// reach Klaxon (see `MattermostButtons`); without it they are written out as the commands they stand
/// for, which work everywhere.
///
/// Mattermost has no client-chosen post id. Every post carries `props.klaxon_message_id`, and a message
/// that may have been posted before first looks for a post with that marker in the channel, so a retry
/// does not post twice (see `mayHaveBeenPosted`).
public struct MattermostPlatform: ChatPlatform {
    public let kind = PlatformKind.mattermost
    private let client: MattermostClient
    private let teamID: String
    private let announceChannel: String
    private let mode: IncidentsConfig.Mode
    private let privateChannels: Bool
    /// Nil: no `actionsURL`, buttons as text.
    private let buttons: MattermostButtons?
    private let clock: any WallClock
    private let logger: Logger
    private let directory = MattermostDirectory()

    /// The post property that names the outbox message a post delivers.
    public static let markerProperty = "klaxon_message_id"

    public init(
        client: MattermostClient, teamID: String, announceChannel: String, mode: IncidentsConfig.Mode, privateChannels: Bool = false,
        buttons: MattermostButtons? = nil, clock: any WallClock, logger: Logger
    ) {
        self.client = client
        self.teamID = teamID
        self.announceChannel = announceChannel.hasPrefix("~") || announceChannel.hasPrefix("#") ? String(announceChannel.dropFirst()) : announceChannel
        self.mode = mode
        self.privateChannels = privateChannels
        self.buttons = buttons
        self.clock = clock
        self.logger = logger
    }

    /// Whether an earlier attempt may have made the post: the outbox counts recorded failures and every
    /// claim, so an attempt cut short by a crash counts too. A first attempt, the usual case, costs no
    /// extra call.
    func mayHaveBeenPosted(_ message: OutboxMessage) -> Bool {
        message.mayHaveBeenSentBefore
    }

    public func deliver(_ message: OutboxMessage, incident: Incident?) async throws(DeliveryFailure) -> Delivery {
        do {
            return try await perform(message, incident: incident)
        } catch {
            logger.debug("Mattermost delivery failed", metadata: ["outbox_id": "\(message.id)", "error": "\(error)"])
            throw error.deliveryFailure
        }
    }

    private func perform(_ message: OutboxMessage, incident: Incident?) async throws(ChatServerFailure) -> Delivery {
        switch message.action {
        case .openRoom(let name, let topic, let announcement, let invite):
            let announce = try await channel(named: announceChannel)
            switch mode {
            case .channel:
                let channel = try await incidentChannel(named: name, header: NeutralMarkup.render(topic, roomLink: nil), for: message)
                try await addMembers(invite, to: channel.id)
                // Empty: announced by a message of its own (`ChatAction.openRoom`).
                if !announcement.isEmpty {
                    try await post(
                        message, part: 1, channelID: announce.id, rootID: nil, text: NeutralMarkup.render(announcement, roomLink: "~\(channel.name)"))
                }
                return Delivery(platformMessageID: channel.id, room: Conversation(platform: .mattermost, channelID: channel.id))
            case .thread:
                let root = try await post(
                    message, part: 0, channelID: announce.id, rootID: nil, text: NeutralMarkup.render(announcement, roomLink: "this thread"))
                return Delivery(platformMessageID: root, room: Conversation(platform: .mattermost, channelID: announce.id, threadID: root))
            }
        case .post(let target, let text, let buttons):
            let (channelID, rootID) = try await resolve(target, incident: incident)
            let attachments = self.buttons?.attachments(for: buttons) ?? []
            let id = try await post(
                message, part: 0, channelID: channelID, rootID: rootID,
                text: render(text, buttons: attachments.isEmpty ? buttons : [], incident: incident), attachments: attachments)
            return Delivery(platformMessageID: id)
        case .setChannelTopic(let channel, let topic):
            let id = try await self.channel(named: channel).id
            let header = NeutralMarkup.render(topic, roomLink: nil)
            do throws(ChatServerFailure) {
                try await client.setHeader(header, of: id)
            } catch .unauthorized {
                // A channel named in the config (`oncall.topicChannels`) the bot was never added to: only
                // members may change an open channel's header, and anyone may join one. A private channel
                // refuses the join, and that refusal is what the delivery reports.
                try await client.addMember(userID: try await bot().id, to: id)
                try await client.setHeader(header, of: id)
            }
            return Delivery()
        case .setTopic(let topic):
            // In thread mode the incident has no channel, so no header; its status lines say what changed.
            guard let room = incident?.room, room.threadID == nil else { return Delivery() }
            try await client.setHeader(NeutralMarkup.render(topic, roomLink: nil), of: room.channelID)
            return Delivery()
        case .invite(let usernames):
            guard let room = incident?.room, room.threadID == nil else { return Delivery() }
            try await addMembers(usernames, to: room.channelID)
            return Delivery()
        case .pagerWebhook, .discordWebhook, .email, .ticket, .statusWebhook:
            // Never routed here: `OutboxSender` hands pager notices to `PagerWebhookClient`, Discord posts to
            // `DiscordWebhookClient`, emails to `EmailSender`, ticket actions to `GitHubIssues` and status
            // notices to `StatusWebhookClient`.
            return Delivery()
        }
    }

    /// Posts once per marker: on a repeated attempt, a post with the marker found in the channel is
    /// taken as delivered. Returns the post id.
    @discardableResult
    private func post(_ message: OutboxMessage, part: Int, channelID: String, rootID: String?, text: String, attachments: [MattermostAttachment] = [])
        async throws(ChatServerFailure) -> String
    {
        let marker = message.deliveryMarker(part: part)
        if mayHaveBeenPosted(message) {
            // Posts made before this message was written cannot carry its marker.
            let earlier = try await client.posts(in: channelID, since: message.createdAt.addingTimeInterval(-1))
            if let posted = earlier.first(where: { $0.props?[Self.markerProperty] == marker }) {
                logger.debug("post was already made", metadata: ["marker": "\(marker)"])
                return posted.id
            }
        }
        let created = try await client.createPost(
            channelID: channelID, message: text, rootID: rootID, props: [Self.markerProperty: marker], attachments: attachments)
        return created.id
    }

    /// Creates the channel, or finds it when an earlier attempt of `message` created it already; a name
    /// someone else holds is left to them and the next free one taken (`IncidentChannelOpening`).
    private func incidentChannel(named name: String, header: String, for message: OutboxMessage) async throws(ChatServerFailure) -> MattermostChannel {
        let (channel, _, adopted) = try await IncidentChannelOpening.open(
            base: name, maxLength: 64, for: message, botUserID: try await bot().id, logger: logger,
            create: { (candidate: String) async throws(ChatServerFailure) -> MattermostChannel in
                try await client.createChannel(teamID: teamID, name: candidate, displayName: candidate, header: header, private: privateChannels)
            },
            isTaken: { failure in
                if case .refused(_, let code, _) = failure { return code == MattermostClient.channelExistsError }
                return false
            },
            lookUp: { (candidate: String) async throws(ChatServerFailure) -> MattermostChannel in
                try await client.channel(teamID: teamID, name: candidate)
            },
            creator: { ($0.creatorID, $0.createdAt) })
        // An earlier attempt made it, perhaps before the header it was to get.
        if adopted { try await client.setHeader(header, of: channel.id) }
        directory.remember(channel)
        return channel
    }

    /// Adds people by username; someone the server does not know is logged and skipped.
    private func addMembers(_ usernames: [String], to channelID: String) async throws(ChatServerFailure) {
        for username in usernames {
            do {
                let user = try await self.user(username)
                try await client.addMember(userID: user.id, to: channelID)
            } catch .refused(let status, let code, let text) {
                logger.warning(
                    "could not add to the incident channel", metadata: ["user": "\(username)", "status": "\(status)", "code": "\(code)", "error": "\(text)"])
            }
        }
    }

    /// Where a message goes: (channel id, root post id).
    private func resolve(_ target: MessageTarget, incident: Incident?) async throws(ChatServerFailure) -> (String, String?) {
        switch target {
        case .incidentRoom:
            if let conversation = incident?.room ?? incident?.origin {
                return (conversation.channelID, conversation.threadID)
            }
            return (try await channel(named: announceChannel).id, nil)
        case .announce:
            return (try await channel(named: announceChannel).id, nil)
        case .conversation(let conversation):
            return (conversation.channelID, conversation.threadID)
        case .direct(let username):
            return (try await directChannel(with: username).id, nil)
        case .channel(let name):
            return (try await channel(named: name).id, nil)
        }
    }

    public func roomLink(of incident: Incident) -> String {
        "~\(incident.room.flatMap { directory.channel(id: $0.channelID)?.name } ?? incident.channelName)"
    }

    /// Mentions as `@username`, the incident's channel as `~name` (Mattermost's channel link), and the
    /// buttons not sent as interactive ones as the commands to type.
    private func render(_ text: String, buttons: [MessageButton], incident: Incident?) -> String {
        var link: String?
        if let incident, let room = incident.room {
            // The channel's own name: it may carry a suffix when the planned one was taken.
            link = room.threadID == nil ? "~\(directory.channel(id: room.channelID)?.name ?? incident.channelName)" : "the incident thread"
        }
        var rendered = NeutralMarkup.render(text, roomLink: link)
        if !buttons.isEmpty {
            rendered += "\n" + buttons.map { "\($0.label): `/incident \($0.command)`" }.joined(separator: " · ")
        }
        return rendered
    }

    // MARK: Lookups, cached

    private func channel(named name: String) async throws(ChatServerFailure) -> MattermostChannel {
        if let channel = directory.channel(named: name) { return channel }
        let channel = try await client.channel(teamID: teamID, name: name)
        directory.remember(channel)
        return channel
    }

    private func user(_ username: String) async throws(ChatServerFailure) -> MattermostUser {
        if let user = directory.user(username) { return user }
        let user = try await client.user(username: username)
        directory.remember(user)
        return user
    }

    private func directChannel(with username: String) async throws(ChatServerFailure) -> MattermostChannel {
        let key = "@" + username
        if let channel = directory.channel(named: key) { return channel }
        let bot = try await self.bot()
        let user = try await self.user(username)
        let channel = try await client.directChannel(between: bot.id, and: user.id)
        directory.remember(channel, as: key)
        return channel
    }

    private func bot() async throws(ChatServerFailure) -> MattermostUser {
        if let bot = directory.bot { return bot }
        let bot = try await client.me()
        directory.bot = bot
        return bot
    }
}

/// Names Mattermost resolved before; they do not change while the daemon runs.
final class MattermostDirectory: Sendable {
    private struct Entries {
        var channels: [String: MattermostChannel] = [:]
        var users: [String: MattermostUser] = [:]
        var bot: MattermostUser?
    }

    private let entries = Mutex(Entries())

    func channel(named name: String) -> MattermostChannel? { entries.withLock { $0.channels[name] } }
    func channel(id: String) -> MattermostChannel? { entries.withLock { $0.channels.values.first { $0.id == id } } }
    func remember(_ channel: MattermostChannel, as name: String? = nil) { entries.withLock { $0.channels[name ?? channel.name] = channel } }
    func user(_ username: String) -> MattermostUser? { entries.withLock { $0.users[username] } }
    func remember(_ user: MattermostUser) { entries.withLock { $0.users[user.username] = user } }
    var bot: MattermostUser? {
        get { entries.withLock { $0.bot } }
        set { entries.withLock { $0.bot = newValue } }
    }
}
