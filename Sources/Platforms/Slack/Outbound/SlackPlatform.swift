import Foundation
import IncidentCore
import Logging
import Synchronization

/// Slack's outbound side: turns outbox messages into Web API calls.
///
/// Channel mode opens a room with `conversations.create` (a taken name gets `-2`, `-3`, …),
/// `conversations.invite`, `conversations.setTopic`, a pinned status card, and the announcement in the
/// announce channel, which links the new channel. The topic and the card follow every later topic change.
/// Thread mode posts the announcement as the root of the incident's thread, and every later room message
/// replies in it (`thread_ts`); the root is the thread's status card, rewritten on every topic change.
///
/// A delivery posts one message with `chat.postMessage` (opening a room: the card and the announcement).
/// Whether an earlier attempt of the same outbox message may already have done its work is decided from
/// what survives a restart — the outbox's attempt count and age, and Slack itself — never from memory
/// alone: such a retry looks for its post in the channel's history (by message metadata) and for its
/// channel among the bot's own, recently created channels, before making either again. What is remembered
/// in memory (how far opening a room got, which attempts certainly posted nothing) only saves calls.
public struct SlackPlatform: ChatPlatform {
    public let kind = PlatformKind.slack

    public struct Settings: Sendable {
        public var pacing = SlackChannelPacer.Settings()
        /// How many `-n` suffixes to try when a channel name is taken.
        public var maxNameSuffix = 20
        /// A taken channel name is adopted as our own earlier attempt only if Slack says it was created at
        /// most this long before the outbox message: Slack's `created` is in whole seconds, from another clock.
        public var adoptionMargin: TimeInterval = 60
        public init() {}
    }

    private let api: SlackWebAPI
    private let announceChannel: String
    private let mode: IncidentsConfig.Mode
    private let clock: any WallClock
    private let pacer: SlackChannelPacer
    private let settings: Settings
    private let logger: Logger
    private let bot: SlackBotIdentity
    /// How far each channel-mode `openRoom` got, by outbox id: kept between attempts of the same message.
    private let progress: ExpiringCache<Int64, RoomProgress>
    /// The bot's direct-message channel with each user, once `conversations.open` named it (it never changes).
    private let directChannels: ExpiringCache<String, String>
    /// Channel id → the `ts` of its pinned status card.
    private let statusCards: ExpiringCache<String, String>
    /// Thread root `ts` → the announcement it shows, so a status change can rewrite the root without
    /// reading it back first.
    private let threadRoots: ExpiringCache<String, String>
    private let unposted = UnpostedAttempts()
    /// Channel name → id, learnt from what `chat.postMessage` answers.
    private let channelIDs: ExpiringCache<String, String>
    /// Told after a direct message (a page) was delivered, so the on-call user group can follow.
    private let wakeups: Wakeups

    /// `bot` is shared with the inbound side where both exist, so `auth.test` is asked once.
    public init(
        api: SlackWebAPI, announceChannel: String, mode: IncidentsConfig.Mode, clock: any WallClock, settings: Settings = Settings(),
        bot: SlackBotIdentity? = nil, logger: Logger, wakeups: Wakeups = .none
    ) {
        self.api = api
        self.bot = bot ?? SlackBotIdentity(api: api, clock: clock)
        self.announceChannel = announceChannel.hasPrefix("#") ? String(announceChannel.dropFirst()) : announceChannel
        self.mode = mode
        self.clock = clock
        self.progress = ExpiringCache(clock: clock)
        self.directChannels = ExpiringCache(clock: clock)
        self.statusCards = ExpiringCache(clock: clock)
        self.threadRoots = ExpiringCache(clock: clock)
        self.channelIDs = ExpiringCache(clock: clock)
        self.pacer = SlackChannelPacer(settings: settings.pacing)
        self.settings = settings
        self.logger = logger
        self.wakeups = wakeups
    }

    public func deliver(_ message: OutboxMessage, incident: Incident?) async throws(DeliveryFailure) -> Delivery {
        do throws(SlackAPIError) {
            return try await perform(message, incident: incident)
        } catch {
            var metadata: Logger.Metadata = ["outbox_id": "\(message.id)", "method": "\(error.method)"]
            if let code = error.slackError { metadata["slack_error"] = "\(code)" }
            logger.debug("slack delivery failed", metadata: metadata)
            let failure = error.deliveryFailure
            // The outbox gives up on this message: nothing will resume opening its room or retry its posts.
            if case .permanent = failure {
                progress.removeValue(for: message.id)
                unposted.forget(message.id)
            }
            throw failure
        }
    }

    public func roomLink(of incident: Incident) -> String {
        SlackMarkup.roomLink(for: incident.room) ?? "#\(incident.channelName)"
    }

    private func perform(_ message: OutboxMessage, incident: Incident?) async throws(SlackAPIError) -> Delivery {
        let room = incident?.room
        switch message.action {
        case .openRoom(let name, let topic, let announcement, let invite):
            switch mode {
            case .channel:
                return try await openChannel(for: message, name: name, topic: topic, announcement: announcement, invite: invite)
            case .thread:
                let text = SlackMarkup.render(announcement, roomLink: "the thread below")
                let blocks = SlackBlocks.threadRoot(announcement: text, status: StatusCard.text(topic), buttons: Self.rootButtons(incident))
                let root = try await postMessage(
                    text: text, blocks: blocks, channel: announceChannel, threadTS: nil, for: message, part: .announcement)
                threadRoots.set(text, for: root.ts)
                return Delivery(platformMessageID: root.ts, room: Conversation(platform: .slack, channelID: root.channel, threadID: root.ts))
            }

        case .post(let target, let text, let buttons):
            let (channel, threadTS) = try await resolve(target, incident: incident)
            let rendered = SlackMarkup.render(text, roomLink: SlackMarkup.roomLink(for: room))
            let posted = try await postMessage(
                text: rendered, blocks: buttons.isEmpty ? nil : SlackBlocks.message(text: rendered, buttons: buttons), channel: channel,
                threadTS: threadTS, for: message)
            if case .direct = target { wakeups.send(.pageDelivered) }
            return Delivery(platformMessageID: posted.ts)

        case .setChannelTopic(let channel, let topic):
            // `conversations.setTopic` takes the channel's id (`C0…`), which the config gives.
            try await setTopic(topic, channel: channel)
            return Delivery()

        case .setTopic(let topic):
            guard let room else { return Delivery() }
            if let rootTS = room.threadID {
                // A thread has no topic: its root carries the same facts.
                try await updateThreadRoot(topic, channel: room.channelID, rootTS: rootTS, incident: incident)
            } else {
                try await setTopic(topic, channel: room.channelID)
                try await updateStatusCard(topic, channel: room.channelID)
            }
            return Delivery()

        case .invite(let users):
            guard let channel = room, channel.threadID == nil, !users.isEmpty else { return Delivery() }
            try await inviteUsers(users, to: channel.channelID)
            return Delivery()

        case .pagerWebhook, .discordWebhook, .email, .ticket, .statusWebhook:
            // Never routed here: `OutboxSender` hands pager notices to `PagerWebhookClient`, Discord posts to
            // `DiscordWebhookClient`, emails to `EmailSender`, ticket actions to `GitHubIssues` and status
            // notices to `StatusWebhookClient`.
            return Delivery()
        }
    }

    // MARK: - Channel mode

    private func openChannel(for message: OutboxMessage, name: String, topic: String, announcement: String, invite: [String]) async throws(SlackAPIError)
        -> Delivery
    {
        var step = progress[message.id] ?? RoomProgress()
        if step.channelID == nil {
            step.channelID = try await createChannel(named: name, for: message)
            progress.set(step, for: message.id)
        }
        let channelID = step.channelID!
        if !step.invited {
            try await inviteUsers(invite, to: channelID)
            step.invited = true
            progress.set(step, for: message.id)
        }
        if !step.topicSet {
            try await setTopic(topic, channel: channelID)
            step.topicSet = true
            progress.set(step, for: message.id)
        }
        if !step.cardPosted {
            try await postStatusCard(topic, channel: channelID, for: message)
            step.cardPosted = true
            progress.set(step, for: message.id)
        }
        // Empty: the announcement is a message of its own in the announce channel's queue (`ChatAction.openRoom`).
        var posted: PostedMessage?
        if !announcement.isEmpty {
            let text = SlackMarkup.render(announcement, roomLink: "<#\(channelID)>")
            posted = try await postMessage(text: text, channel: announceChannel, threadTS: nil, for: message, part: .announcement)
        }
        progress.removeValue(for: message.id)
        return Delivery(platformMessageID: posted?.ts, room: Conversation(platform: .slack, channelID: channelID))
    }

    private struct CreatedChannel: Decodable {
        struct Channel: Decodable { var id: String }
        var channel: Channel
    }

    /// `conversations.create`, with the name made valid first and a suffix when it is taken.
    ///
    /// When an earlier attempt of this message may have reached Slack (it failed without an answer, or a
    /// process died during it), Slack may have created the channel anyway; then its name comes back
    /// `name_taken`, and before a suffix is tried the taken channel is looked up: if the bot created it,
    /// no earlier than the message was written, it is that attempt's channel and is adopted. A channel
    /// someone else made, or one the bot made for something older, is left alone.
    private func createChannel(named requested: String, for message: OutboxMessage) async throws(SlackAPIError) -> String {
        let rules = ChannelNameRules.slack
        let base = rules.sanitize(requested)
        let mayExist = mayHaveBeenTriedBefore(message) || progress[message.id]?.uncertainCreate != nil
        var ownChannels: [String: MemberChannels.Channel]?
        for attempt in 1...max(settings.maxNameSuffix, 1) {
            let suffix = attempt == 1 ? "" : "-\(attempt)"
            let name = rules.sanitize(String(base.prefix(rules.maxLength - suffix.count))) + suffix
            do throws(SlackAPIError) {
                let created = try await api.call("conversations.create", [("name", name), ("is_private", "false")], as: CreatedChannel.self)
                logger.info("slack channel created", metadata: ["channel": "\(created.channel.id)", "name": "\(name)"])
                return created.channel.id
            } catch let error where error.slackError == "name_taken" {
                guard mayExist else { continue }
                // One listing serves every taken name of this attempt.
                if ownChannels == nil { ownChannels = try await channelsOfTheBot() }
                if let earlier = ownChannels?[name], try await isFromAnEarlierAttempt(earlier, of: message) {
                    logger.info("slack channel found from an earlier attempt", metadata: ["channel": "\(earlier.id)", "name": "\(name)"])
                    return earlier.id
                }
                continue
            } catch {
                if error.mayHaveBeenDone {
                    var step = progress[message.id] ?? RoomProgress()
                    step.uncertainCreate = name
                    progress.set(step, for: message.id)
                }
                throw error
            }
        }
        throw .refused(method: "conversations.create", error: "name_taken")
    }

    /// Whether `channel` is the one an earlier attempt of `message` created: made by the bot, and not
    /// before the message was written.
    private func isFromAnEarlierAttempt(_ channel: MemberChannels.Channel, of message: OutboxMessage) async throws(SlackAPIError) -> Bool {
        guard let me = await bot.userID() else {
            // Without knowing who we are no channel can be told ours; a suffix could be a second channel.
            throw .unreachable(method: "auth.test", reason: "the bot's user id is unknown")
        }
        guard channel.creator == me, let created = channel.created else { return false }
        return Date(timeIntervalSince1970: created) >= message.createdAt.addingTimeInterval(-settings.adoptionMargin)
    }

    private struct MemberChannels: Decodable {
        struct Channel: Decodable {
            var id: String
            var name: String?
            /// The user who created the channel.
            var creator: String?
            /// When, in Unix seconds.
            var created: TimeInterval?
        }
        struct Metadata: Decodable {
            var nextCursor: String?
            enum CodingKeys: String, CodingKey { case nextCursor = "next_cursor" }
        }
        var channels: [Channel]
        var responseMetadata: Metadata?
        enum CodingKeys: String, CodingKey {
            case channels
            case responseMetadata = "response_metadata"
        }
    }

    /// The public channels the bot is a member of, by name (`users.conversations`; a channel's creator is
    /// always a member). Only asked after a doubtful attempt, so a few pages are affordable. A refusal
    /// (`missing_scope`) leaves nothing to find: a second channel is then better than none.
    private func channelsOfTheBot() async throws(SlackAPIError) -> [String: MemberChannels.Channel] {
        var found: [String: MemberChannels.Channel] = [:]
        var cursor: String?
        for _ in 0..<20 {
            var arguments: [(String, String)] = [("types", "public_channel"), ("exclude_archived", "true"), ("limit", "200")]
            if let cursor { arguments.append(("cursor", cursor)) }
            let page: MemberChannels
            do throws(SlackAPIError) {
                page = try await api.call("users.conversations", arguments, as: MemberChannels.self)
            } catch {
                guard case .permanent = error.deliveryFailure else { throw error }
                logger.warning("slack: cannot look for a channel from an earlier attempt", metadata: ["slack_error": "\(error.slackError ?? "")"])
                return found
            }
            for channel in page.channels {
                if let name = channel.name { found[name] = channel }
            }
            guard let next = page.responseMetadata?.nextCursor, !next.isEmpty else { break }
            cursor = next
        }
        return found
    }

    /// Whether an earlier attempt of `message` may have reached Slack, judged from what outlives this
    /// process: the outbox counts every claim, so a sender that died mid-delivery still left a trace.
    private func mayHaveBeenTriedBefore(_ message: OutboxMessage) -> Bool {
        message.mayHaveBeenSentBefore
    }

    /// Invites whoever can be invited. Someone already there is fine, and one person Slack will not add
    /// (a deactivated account, a guest) must not keep the room from opening: that is logged, not retried.
    private func inviteUsers(_ users: [String], to channel: String) async throws(SlackAPIError) {
        let users = users.filter { !$0.isEmpty }
        guard !users.isEmpty else { return }
        do throws(SlackAPIError) {
            try await api.call("conversations.invite", [("channel", channel), ("users", users.joined(separator: ",")), ("force", "true")])
        } catch let error where error.slackError != nil && !Self.fatalChannelErrors.contains(error.slackError!) {
            if error.slackError != "already_in_channel" && error.slackError != "cant_invite_self" {
                logger.warning("slack invite incomplete", metadata: ["channel": "\(channel)", "slack_error": "\(error.slackError!)"])
            }
        }
    }

    /// Errors that say the channel itself or our token is unusable; anything else about an invite is per user.
    private static let fatalChannelErrors: Set<String> = [
        "channel_not_found", "is_archived", "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
        "missing_scope", "not_in_channel", "no_permission",
    ]

    /// Slack refuses topics over 250 characters.
    private func setTopic(_ topic: String, channel: String) async throws(SlackAPIError) {
        let text = SlackMarkup.truncate(SlackMarkup.render(topic, roomLink: nil), to: 250)
        do throws(SlackAPIError) {
            try await api.call("conversations.setTopic", [("channel", channel), ("topic", text)])
        } catch let error where error.slackError == "not_in_channel" {
            // A channel named in the config (`oncall.topicChannels`) the bot was never invited to: join it,
            // as a post does (public channels; a private one refuses, and that is what the delivery reports).
            try await api.call("conversations.join", [("channel", channel)])
            try await api.call("conversations.setTopic", [("channel", channel), ("topic", text)])
        }
    }

    // MARK: - The pinned status card

    /// The card pinned in the incident channel: the topic's facts where everyone finds them, also after the
    /// topic scrolled out of view. Its text starts with `prefix`, which is how it is found again.
    enum StatusCard {
        static let prefix = "📌 Incident status: "
        static func text(_ topic: String) -> String { prefix + SlackMarkup.render(topic, roomLink: nil) }
    }

    private func postStatusCard(_ topic: String, channel: String, for message: OutboxMessage) async throws(SlackAPIError) {
        let card = try await postMessage(text: StatusCard.text(topic), channel: channel, threadTS: nil, for: message, part: .card)
        statusCards.set(card.ts, for: channel)
        do throws(SlackAPIError) {
            try await api.call("pins.add", [("channel", channel), ("timestamp", card.ts)])
        } catch let error where error.slackError == "already_pinned" {
            // An earlier attempt pinned it.
        } catch let error where error.slackError != nil {
            // Unpinned, the card is still the channel's first message; the topic carries the same facts.
            logger.warning("slack status card not pinned", metadata: ["channel": "\(channel)", "slack_error": "\(error.slackError!)"])
        }
    }

    private struct PinnedItems: Decodable {
        struct Item: Decodable {
            struct Message: Decodable {
                var ts: String
                var text: String?
            }
            var message: Message?
        }
        var items: [Item]?
    }

    /// Rewrites the card with the new topic. A card that is gone (deleted, or unpinned before a restart) is
    /// not recreated: the topic changed all the same.
    private func updateStatusCard(_ topic: String, channel: String) async throws(SlackAPIError) {
        var known = statusCards[channel]
        if known == nil {
            known = try await pinnedStatusCard(in: channel)
        }
        guard let ts = known else { return }
        do throws(SlackAPIError) {
            try await api.call("chat.update", [("channel", channel), ("ts", ts), ("text", StatusCard.text(topic))])
            statusCards.set(ts, for: channel)
        } catch let error where error.slackError != nil {
            logger.warning("slack status card not updated", metadata: ["channel": "\(channel)", "slack_error": "\(error.slackError!)"])
            statusCards.removeValue(for: channel)
        }
    }

    /// After a restart the card's `ts` is found among the channel's pins.
    private func pinnedStatusCard(in channel: String) async throws(SlackAPIError) -> String? {
        do throws(SlackAPIError) {
            let pins = try await api.call("pins.list", [("channel", channel)], as: PinnedItems.self)
            return pins.items?.compactMap(\.message).first { $0.text?.hasPrefix(StatusCard.prefix) == true }?.ts
        } catch let error where error.slackError != nil {
            return nil
        }
    }

    // MARK: - The thread root as status card

    /// The buttons a thread root shows: the alert's, while the incident is open. The incident is the one
    /// stored now, which may be ahead of the topic being delivered; its own later topic change follows.
    private static func rootButtons(_ incident: Incident?) -> [MessageButton] {
        guard let incident, incident.isOpen else { return [] }
        return SlackBlocks.incidentButtons(incident.id)
    }

    /// Rewrites the thread's root (`chat.update`) with the new status line, keeping its announcement. A
    /// root that is gone is not recreated: the thread carries the change all the same.
    private func updateThreadRoot(_ topic: String, channel: String, rootTS: String, incident: Incident?) async throws(SlackAPIError) {
        guard let announcement = try await threadRootAnnouncement(channel: channel, root: rootTS) else { return }
        let blocks = SlackBlocks.threadRoot(announcement: announcement, status: StatusCard.text(topic), buttons: Self.rootButtons(incident))
        do throws(SlackAPIError) {
            // `text` stays the announcement: it is what notifications show, and what a restart reads back.
            try await api.call("chat.update", [("channel", channel), ("ts", rootTS), ("text", announcement), ("blocks", SlackJSONArgument.encode(blocks))])
        } catch {
            guard case .permanent = error.deliveryFailure else { throw error }
            logger.warning("slack thread root not updated", metadata: ["channel": "\(channel)", "slack_error": "\(error.slackError ?? "")"])
        }
    }

    private struct Replies: Decodable {
        struct Message: Decodable {
            var ts: String
            var text: String?
        }
        var messages: [Message]?
    }

    /// The announcement the root shows: remembered since it was posted, or after a restart read back from
    /// Slack (the root's `text`, which only ever holds the announcement). Nil when the root is gone.
    private func threadRootAnnouncement(channel: String, root: String) async throws(SlackAPIError) -> String? {
        if let known = threadRoots[root] { return known }
        let replies: Replies
        do throws(SlackAPIError) {
            replies = try await api.call("conversations.replies", [("channel", channel), ("ts", root), ("limit", "1")], as: Replies.self)
        } catch {
            guard case .permanent = error.deliveryFailure else { throw error }
            logger.warning("slack thread root not found", metadata: ["channel": "\(channel)", "slack_error": "\(error.slackError ?? "")"])
            return nil
        }
        guard let text = replies.messages?.first(where: { $0.ts == root })?.text else { return nil }
        threadRoots.set(text, for: root)
        return text
    }

    // MARK: - Posting

    struct PostedMessage: Decodable {
        var channel: String
        var ts: String
    }

    private struct OpenedConversation: Decodable {
        struct Channel: Decodable { var id: String }
        var channel: Channel
    }

    /// Where a target is on Slack: a channel id (or name) and the thread to reply in.
    private func resolve(_ target: MessageTarget, incident: Incident?) async throws(SlackAPIError) -> (String, String?) {
        switch target {
        case .incidentRoom:
            let conversation = incident?.room ?? incident?.origin
            return (conversation?.channelID ?? announceChannel, conversation?.threadID)
        case .announce:
            return (announceChannel, nil)
        case .conversation(let conversation):
            return (conversation.channelID, conversation.threadID)
        case .direct(let userID):
            return (try await directChannel(with: userID), nil)
        case .channel(let name):
            // chat.postMessage takes a channel name as well as an id.
            return (name, nil)
        }
    }

    /// The bot's direct-message channel with a user (`conversations.open`), remembered once known.
    private func directChannel(with userID: String) async throws(SlackAPIError) -> String {
        if let known = directChannels[userID] { return known }
        let opened = try await api.call("conversations.open", [("users", userID)], as: OpenedConversation.self)
        directChannels.set(opened.channel.id, for: userID)
        return opened.channel.id
    }

    /// Which post of a delivery this is: a delivery posts one message, opening a channel two.
    enum PostPart: String, Sendable, CaseIterable {
        case message, card, announcement
    }

    /// One `chat.postMessage`, paced per channel. When the bot is not in a public channel it joins and
    /// posts again; that first post was refused, so nothing is doubled.
    ///
    /// Every post carries its outbox id as message metadata. An earlier attempt of the same message may
    /// have posted although it failed (a time-out, a server error, or a process that died before recording
    /// the delivery), so on a retry the channel's recent messages are searched first, and a post found
    /// there counts as delivered. Only when this process saw the previous attempt end without posting
    /// (refused, rate limited, held by the pacer) is the search skipped.
    private func postMessage(
        text: String, blocks: [SlackBlocks.Block]? = nil, channel: String, threadTS: String?, for message: OutboxMessage,
        part: PostPart = .message
    ) async throws(SlackAPIError) -> PostedMessage {
        // The announce channel may be configured by name; history and joins need its id, which a post returns.
        let channel = channelIDs[channel] ?? channel
        let key = UnpostedAttempts.Key(outboxID: message.id, part: part)
        // Taken, not read: the knowledge is about the attempt just before this one only.
        if !unposted.take(key), mayHaveBeenTriedBefore(message) {
            if let earlier = await earlierPost(of: message, part: part, channel: channel, threadTS: threadTS) {
                logger.info("slack post found from an earlier attempt", metadata: ["outbox_id": "\(message.id)", "ts": "\(earlier.ts)"])
                return earlier
            }
        }
        // A method cooling down after a 429 is not called at all; asking the pacer first would waste a slot.
        if let wait = api.cooldowns.remaining("chat.postMessage", now: clock.now()) {
            unposted.insert(key)
            throw .rateLimited(method: "chat.postMessage", retryAfter: wait)
        }
        if let wait = pacer.admit(channel: channel, ticket: message.id, now: clock.now()) {
            unposted.insert(key)
            throw .rateLimited(method: "chat.postMessage", retryAfter: wait)
        }
        var arguments: [(String, String)] = [
            ("channel", channel), ("text", text), ("unfurl_links", "false"), ("unfurl_media", "false"),
            ("metadata", SlackJSONArgument.encode(PostMetadata(outboxID: message.id, part: part))),
        ]
        if let blocks { arguments.append(("blocks", SlackJSONArgument.encode(blocks))) }
        if let threadTS { arguments.append(("thread_ts", threadTS)) }
        do throws(SlackAPIError) {
            let posted = try await postJoiningIfNeeded(arguments, channel: channel)
            if posted.channel != channel { channelIDs.set(posted.channel, for: channel) }
            return posted
        } catch {
            if !error.mayHaveBeenDone { unposted.insert(key) }
            throw error
        }
    }

    private func postJoiningIfNeeded(_ arguments: [(String, String)], channel: String) async throws(SlackAPIError) -> PostedMessage {
        do throws(SlackAPIError) {
            return try await api.call("chat.postMessage", arguments, as: PostedMessage.self)
        } catch let error where error.slackError == "not_in_channel" {
            try await api.call("conversations.join", [("channel", channel)])
            return try await api.call("chat.postMessage", arguments, as: PostedMessage.self)
        }
    }

    /// Message metadata (docs.slack.dev/messaging/message-metadata) naming the outbox message a post delivers.
    struct PostMetadata: Codable, Sendable {
        static let eventType = "klaxon_outbox"
        var eventType = PostMetadata.eventType
        var eventPayload: Payload

        struct Payload: Codable, Sendable {
            var outboxID: String
            var part: String
            enum CodingKeys: String, CodingKey {
                case part
                case outboxID = "outbox_id"
            }
        }

        init(outboxID: Int64, part: PostPart) {
            eventPayload = Payload(outboxID: String(outboxID), part: part.rawValue)
        }

        enum CodingKeys: String, CodingKey {
            case eventType = "event_type"
            case eventPayload = "event_payload"
        }
    }

    private struct History: Decodable {
        struct Message: Decodable {
            var ts: String
            var metadata: PostMetadata?
        }
        var messages: [Message]?
    }

    /// The post an earlier attempt made, if the channel (or thread) has it. Looks back from a minute before
    /// the outbox message was written. A failed search is no proof either way: then the post is made.
    private func earlierPost(of message: OutboxMessage, part: PostPart, channel: String, threadTS: String?) async -> PostedMessage? {
        let wanted = PostMetadata(outboxID: message.id, part: part).eventPayload
        var arguments: [(String, String)] = [
            ("channel", channel), ("oldest", String(format: "%.6f", message.createdAt.timeIntervalSince1970 - 60)),
            ("limit", "200"), ("include_all_metadata", "true"),
        ]
        if let threadTS { arguments.append(("ts", threadTS)) }
        do throws(SlackAPIError) {
            let history = try await api.call(threadTS == nil ? "conversations.history" : "conversations.replies", arguments, as: History.self)
            let found = history.messages?.first { earlier in
                earlier.metadata?.eventType == PostMetadata.eventType && earlier.metadata?.eventPayload.outboxID == wanted.outboxID
                    && earlier.metadata?.eventPayload.part == wanted.part
            }
            return found.map { PostedMessage(channel: channel, ts: $0.ts) }
        } catch {
            logger.warning("slack: could not check for an earlier post", metadata: ["outbox_id": "\(message.id)", "error": "\(error)"])
            return nil
        }
    }
}

/// Posts whose last attempt, in this process, ended certain that nothing was posted: refused by Slack,
/// rate limited, or held back before calling. Their retry need not search the channel's history.
private final class UnpostedAttempts: Sendable {
    struct Key: Hashable, Sendable {
        var outboxID: Int64
        var part: SlackPlatform.PostPart
    }

    private let keys = Mutex<Set<Key>>([])

    func insert(_ key: Key) { _ = keys.withLock { $0.insert(key) } }
    /// Whether `key` was there; it is gone afterwards.
    func take(_ key: Key) -> Bool { keys.withLock { $0.remove(key) != nil } }
    /// By key rather than by a pass over the set, which holds every message the pacer is holding back.
    func forget(_ outboxID: Int64) {
        keys.withLock { keys in
            for part in SlackPlatform.PostPart.allCases { keys.remove(Key(outboxID: outboxID, part: part)) }
        }
    }
}

/// How far a channel-mode `openRoom` got.
private struct RoomProgress: Sendable {
    var channelID: String?
    var invited = false
    var topicSet = false
    var cardPosted = false
    /// The name of a `conversations.create` that got no answer: it may exist.
    var uncertainCreate: String?
}
