import Foundation
import IncidentCore

/// A chat message that may be a command, from the outgoing webhook or from polling: the same rules
/// decide both, so the two modes behave alike.
public struct RocketChatInboundMessage: Sendable, Hashable {
    public var messageID: String
    public var roomID: String
    public var threadID: String?
    public var userID: String
    public var username: String
    public var text: String
    public var isBot: Bool
    public var isEdited: Bool
    /// Set for system messages (user joined, topic changed), which are never commands.
    public var systemType: String?

    public init(
        messageID: String, roomID: String, threadID: String?, userID: String, username: String, text: String, isBot: Bool, isEdited: Bool,
        systemType: String? = nil
    ) {
        self.messageID = messageID
        self.roomID = roomID
        self.threadID = threadID
        self.userID = userID
        self.username = username
        self.text = text
        self.isBot = isBot
        self.isEdited = isEdited
        self.systemType = systemType
    }

    /// From the outgoing webhook's body; nil when a field a command needs is missing.
    public init?(webhook payload: RocketChatWebhookPayload) {
        guard let messageID = payload.messageID, !messageID.isEmpty, let roomID = payload.channelID, !roomID.isEmpty,
            let userID = payload.userID, let username = payload.userName
        else { return nil }
        self.init(
            messageID: messageID, roomID: roomID, threadID: payload.threadID.flatMap { $0.isEmpty ? nil : $0 }, userID: userID,
            username: username, text: payload.text ?? "", isBot: payload.bot ?? false, isEdited: payload.isEdited ?? false)
    }

    /// From a history page.
    public init(history message: RocketChatMessage) {
        self.init(
            messageID: message.id, roomID: message.roomID, threadID: message.threadID, userID: message.author.id,
            username: message.author.username ?? message.author.id, text: message.text ?? "", isBot: message.botMarker != nil,
            isEdited: false, systemType: message.systemType)
    }

    /// Who typed it: on Rocket.Chat the username is the id Klaxon mentions (`<@alice>` → `@alice`) and
    /// the identity `people` lists.
    public var user: ChatUser { ChatUser(id: username, name: username) }

    /// The channel, and the thread when the message was a reply in one.
    public var conversation: Conversation { Conversation(platform: .rocketchat, channelID: roomID, threadID: threadID) }

    /// The store remembers this key with the change a command makes, so a message delivered twice (webhook
    /// retries, or the webhook and the poller both seeing it) changes things once.
    public var inboundKey: String { "rocketchat:msg:\(messageID)" }
}

/// Decides whether a message is a command for Klaxon.
public struct RocketChatCommandFilter: Sendable {
    /// `/incident`, `!incident`: a command starts with one of them.
    public let triggers: [String]
    /// The bot's own user id: its messages are never commands.
    public let ownUserID: String
    /// `oncall`: a message mentioning `@oncall` is answered by mentioning whoever is on call
    /// (`platforms.rocketchat.oncallMention`); nil: such messages are ordinary text.
    public let oncallMention: String?

    public init(triggers: [String], ownUserID: String, oncallMention: String? = nil) {
        // Longest first, so `!incident` is preferred to a configured `!inc`.
        self.triggers = triggers.filter { !$0.isEmpty }.sorted { $0.count > $1.count }
        self.ownUserID = ownUserID
        self.oncallMention = oncallMention.map { $0.hasPrefix("@") ? String($0.dropFirst()) : $0 }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether `text` mentions `@<oncallMention>` as a word of its own (not `@oncall-team`, not an e-mail).
    public func mentionsOnCall(_ text: String) -> Bool {
        guard let oncallMention else { return false }
        let handle = "@" + oncallMention.lowercased()
        let lowered = text.lowercased()
        var searchFrom = lowered.startIndex
        while let found = lowered.range(of: handle, range: searchFrom..<lowered.endIndex) {
            let before = found.lowerBound == lowered.startIndex ? nil : lowered[lowered.index(before: found.lowerBound)]
            let after = found.upperBound == lowered.endIndex ? nil : lowered[found.upperBound]
            let startsWord = before.map { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") } ?? true
            let endsWord = after.map { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") } ?? true
            if startsWord && endsWord { return true }
            searchFrom = found.upperBound
        }
        return false
    }

    public enum Verdict: Sendable, Hashable {
        /// The text after the trigger, for `CommandService`.
        case command(String)
        case ignored(reason: String)
    }

    public func verdict(on message: RocketChatInboundMessage) -> Verdict {
        if message.userID == ownUserID { return .ignored(reason: "own message") }
        if message.isBot { return .ignored(reason: "bot message") }
        if message.isEdited { return .ignored(reason: "edited message") }
        if message.systemType != nil { return .ignored(reason: "system message") }
        guard let command = commandText(message.text) else {
            // 004-14: "@oncall" resolves to whoever is on call now, as Slack's user group does.
            if mentionsOnCall(message.text) { return .command("oncall ping") }
            return .ignored(reason: "no trigger word")
        }
        return .command(command)
    }

    /// Whether a command's text (after the trigger) is `oncall …` or an alias (`on-call`, `who`): the one
    /// command whose reply shows clock times, and whose `until` is read, in the sender's zone, so the only
    /// one worth a user lookup before answering. A trigger word left in front (`!incident /incident who`)
    /// is skipped as the parser skips it.
    public static func isOnCall(_ command: String) -> Bool {
        var words = command.split(whereSeparator: \.isWhitespace).map { $0.lowercased() }
        if let first = words.first, first == "/incident" || first == "!incident" { words.removeFirst() }
        return words.first.map(CommandVerb.oncall.aliases.contains) ?? false
    }

    /// `"!incident ack INC-7"` → `"ack INC-7"`; nil unless the text starts with a trigger followed by a
    /// space or nothing (`/incidents` is not `/incident`).
    public func commandText(_ text: String) -> String? {
        let trimmed = text.drop { $0.isWhitespace }
        for trigger in triggers {
            guard trimmed.count >= trigger.count,
                trimmed.prefix(trigger.count).lowercased() == trigger.lowercased()
            else { continue }
            let rest = trimmed.dropFirst(trigger.count)
            if let next = rest.first, !next.isWhitespace { continue }
            return rest.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return nil
    }
}
