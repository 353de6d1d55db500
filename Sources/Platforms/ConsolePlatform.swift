import Foundation
import IncidentCore
import Logging

/// The built-in platform: no credentials, no network. "Posting" writes a line to the store's console
/// transcript (shown at `GET /api/messages`) and to the log. It is the same outbox path the real
/// platforms take, so everything above the adapter is exercised without a chat server.
public struct ConsolePlatform: ChatPlatform {
    public let kind = PlatformKind.console
    private let store: any IncidentStore
    private let announceChannel: String
    private let mode: IncidentsConfig.Mode
    private let clock: any WallClock
    private let logger: Logger

    public init(store: any IncidentStore, announceChannel: String, mode: IncidentsConfig.Mode, clock: any WallClock, logger: Logger) {
        self.store = store
        self.announceChannel = announceChannel
        self.mode = mode
        self.clock = clock
        self.logger = logger
    }

    public func deliver(_ message: OutboxMessage, incident: Incident?) async throws(DeliveryFailure) -> Delivery {
        let room = incident?.room
        switch message.action {
        case .openRoom(let name, let topic, let announcement, let invite):
            switch mode {
            case .channel:
                let created = Conversation(platform: .console, channelID: name)
                let invited = invite.map { "@\($0)" }.joined(separator: ", ")
                try await write(
                    "Created #\(name) · topic: \(NeutralMarkup.render(topic, roomLink: nil)) · invited \(invited)", channel: name, thread: nil, message)
                // Empty: announced by a message of its own (`ChatAction.openRoom`).
                if !announcement.isEmpty {
                    try await write(NeutralMarkup.render(announcement, roomLink: "#\(name)"), channel: announceChannel, thread: nil, message, part: 1)
                }
                return Delivery(platformMessageID: "console-\(message.id)", room: created)
            case .thread:
                // The announcement is the thread's root; its id names the thread.
                let threadID = "console-\(message.id)"
                try await write(NeutralMarkup.render(announcement, roomLink: "this thread"), channel: announceChannel, thread: nil, message)
                return Delivery(platformMessageID: threadID, room: Conversation(platform: .console, channelID: announceChannel, threadID: threadID))
            }
        case .post(let target, let text, let buttons):
            let (channel, thread) = resolve(target, room: room, incident: incident)
            var line = NeutralMarkup.render(text, roomLink: room.map { "#\($0.channelID)" })
            if !buttons.isEmpty {
                line += "\n" + buttons.map { "[\($0.label): /incident \($0.command)]" }.joined(separator: " ")
            }
            try await write(line, channel: channel, thread: thread, message)
        case .setChannelTopic(let channel, let topic):
            try await write("Topic: \(NeutralMarkup.render(topic, roomLink: nil))", channel: channel, thread: nil, message)
        case .setTopic(let topic):
            let (channel, thread) = resolve(.incidentRoom, room: room, incident: incident)
            try await write("Topic: \(NeutralMarkup.render(topic, roomLink: nil))", channel: channel, thread: thread, message)
        case .invite(let users):
            let (channel, thread) = resolve(.incidentRoom, room: room, incident: incident)
            try await write("Invited \(users.map { "@\($0)" }.joined(separator: ", "))", channel: channel, thread: thread, message)
        case .pagerWebhook, .discordWebhook, .email, .ticket, .statusWebhook:
            // Never routed here: `OutboxSender` hands pager notices to `PagerWebhookClient`, Discord posts to
            // `DiscordWebhookClient`, emails to `EmailSender`, ticket actions to `GitHubIssues` and status
            // notices to `StatusWebhookClient`.
            break
        }
        return Delivery(platformMessageID: "console-\(message.id)")
    }

    private func resolve(_ target: MessageTarget, room: Conversation?, incident: Incident?) -> (String, String?) {
        switch target {
        case .incidentRoom:
            let conversation = room ?? incident?.origin
            return (conversation?.channelID ?? announceChannel, conversation?.threadID)
        case .announce:
            return (announceChannel, nil)
        case .conversation(let conversation):
            return (conversation.channelID, conversation.threadID)
        case .direct(let userID):
            return ("@\(userID)", nil)
        case .channel(let name):
            return (name, nil)
        }
    }

    /// One transcript line per outbox message (and part), so a redelivery after a crash adds nothing.
    private func write(_ text: String, channel: String, thread: String?, _ message: OutboxMessage, part: Int64 = 0) async throws(DeliveryFailure) {
        let line = ConsoleMessage(at: clock.now(), channel: channel, thread: thread, text: text, kind: "post", outboxID: message.id * 2 + part)
        do {
            try await store.appendConsoleMessage(line)
        } catch {
            throw .transient("console transcript: \(error)")
        }
        logger.info("console message", metadata: ["channel": "\(channel)", "thread": "\(thread ?? "")", "text": "\(text)"])
    }
}
