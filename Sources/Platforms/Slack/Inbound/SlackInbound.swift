import Foundation
import IncidentCore
import Logging

/// Slack's inbound side, shared by the HTTP routes and Socket Mode: a slash command, an event or an
/// interaction in, the answer Slack expects out. Every command goes through the gateway, like the console's.
///
/// Deduplication keys make a delivery Slack sends twice (event retries, a Socket Mode envelope redelivered
/// after a dropped connection, a replayed signed request) change things once: `slack:cmd:<trigger_id>`,
/// `slack:event:<event_id>`, `slack:action:<trigger_id>`, `slack:view:<view id>`.
struct SlackInbound: Sendable {
    let gateway: any InboundCommands
    let api: SlackWebAPI
    let bot: SlackBotIdentity
    /// People's time zones, for the replies that show times.
    let users: SlackUserDirectory
    let logger: Logger
    /// Told of a command that changed who is on call.
    let wakeups: Wakeups

    /// How long a reply through an interaction's `response_url` may take; Slack waits 3 s for our answer.
    static let responseURLTimeout: TimeInterval = 1.5

    // MARK: - Slash commands

    /// The immediate answer to a slash command: in the channel for changes everyone should see, only to
    /// the sender otherwise (docs.slack.dev/interactivity/implementing-slash-commands).
    struct SlashReply: Codable, Sendable, Equatable {
        var responseType: String
        var text: String
        enum CodingKeys: String, CodingKey {
            case text
            case responseType = "response_type"
        }
    }

    func slashCommand(_ command: SlackSlashCommand) async -> SlashReply {
        let context = CommandContext(
            platform: .slack,
            conversation: Conversation(platform: .slack, channelID: command.channelID),
            user: ChatUser(id: command.userID, name: command.userName),
            userTimeZone: await timeZone(of: command.userID, for: command.text),
            inboundKey: command.triggerID.map { "slack:cmd:\($0)" })
        let result = await gateway.handle(text: command.text, context: context)
        noteOnCallChange(result)
        let visibility = result.outcome == .duplicate ? .ephemeral : result.reply.visibility
        return SlashReply(responseType: visibility.rawValue, text: SlackMarkup.render(result.reply.text, roomLink: nil))
    }

    // MARK: - Events API

    enum EventAnswer: Equatable, Sendable {
        /// `url_verification`: echo the challenge.
        case challenge(String)
        case acknowledged
    }

    /// `app_mention` (`@klaxon declare sev1 …`) and direct messages to the bot run as commands; the answer
    /// is posted in the thread of the message, through the outbox. Everything else is acknowledged and dropped.
    func event(_ envelope: SlackEventEnvelope, retryAttempt: Int? = nil) async -> EventAnswer {
        switch envelope.type {
        case "url_verification":
            return .challenge(envelope.challenge ?? "")
        case "event_callback":
            guard let eventID = envelope.eventID, let event = envelope.event else { return .acknowledged }
            if let retryAttempt, retryAttempt > 0 {
                logger.info("slack event retry", metadata: ["event_id": "\(eventID)", "retry": "\(retryAttempt)"])
            }
            await command(in: event, eventID: eventID)
            return .acknowledged
        default:
            return .acknowledged
        }
    }

    private func command(in event: SlackEvent, eventID: String) async {
        let addressed = event.type == "app_mention" || (event.type == "message" && event.channelType == "im")
        // Bots (Klaxon included) post with `bot_id`; edits, joins and the like carry a subtype.
        guard addressed, event.botID == nil, event.subtype == nil,
            let userID = event.user, let channel = event.channel, let text = event.text
        else { return }
        let botUserID = await bot.userID()
        if userID == botUserID { return }

        let commandText = Self.commandText(text, botUserID: botUserID)
        // Events take no answer in the response: the reply is posted in the message's thread, queued in the
        // command's own transaction (one commit, one dedupe key for both).
        let context = CommandContext(
            platform: .slack,
            conversation: Conversation(platform: .slack, channelID: channel, threadID: event.threadTS),
            user: ChatUser(id: userID),
            userTimeZone: await timeZone(of: userID, for: commandText),
            inboundKey: "slack:event:\(eventID)",
            replyThread: Conversation(platform: .slack, channelID: channel, threadID: event.threadTS ?? event.ts))
        let result = await gateway.handle(text: commandText, context: context)
        noteOnCallChange(result)
    }

    /// The command in a mention: the text after the bot's mention (`<@UBOT> declare sev1 …`), or the whole
    /// text of a direct message.
    static func commandText(_ text: String, botUserID: String?) -> String {
        var rest = Substring(text).drop(while: \.isWhitespace)
        if let botUserID, let mention = botMention(in: rest, botUserID: botUserID) {
            rest = rest[mention.upperBound...]
        } else if rest.hasPrefix("<@"), let close = rest.firstIndex(of: ">") {
            rest = rest[rest.index(after: close)...]
        }
        return FreeText.trimmed(rest)
    }

    /// `<@UBOT>` or `<@UBOT|klaxon>`, but not `<@UBOT2>`.
    private static func botMention(in text: Substring, botUserID: String) -> Range<Substring.Index>? {
        var searchFrom = text.startIndex
        while let start = text[searchFrom...].range(of: "<@\(botUserID)") {
            let after = text[start.upperBound...]
            if let next = after.first, next == ">" || next == "|", let close = after.firstIndex(of: ">") {
                return start.lowerBound..<after.index(after: close)
            }
            searchFrom = start.upperBound
        }
        return nil
    }

    // MARK: - Interactivity

    /// What an interaction request is answered with: nothing (200, empty), or validation errors for a modal.
    struct InteractionAnswer: Codable, Sendable, Equatable {
        var responseAction: String
        var errors: [String: String]
        enum CodingKeys: String, CodingKey {
            case errors
            case responseAction = "response_action"
        }

        static func errors(_ errors: [String: String]) -> InteractionAnswer {
            InteractionAnswer(responseAction: "errors", errors: errors)
        }
    }

    func interaction(_ interaction: SlackInteraction) async -> InteractionAnswer? {
        switch interaction.type {
        case "block_actions":
            for action in interaction.actions ?? [] {
                await buttonClicked(action, in: interaction)
            }
            return nil
        case "view_submission":
            return await viewSubmitted(interaction)
        default:
            return nil
        }
    }

    /// A click on one of Klaxon's buttons acts as the matching command by the person who clicked.
    /// The command is rebuilt from the action id and the incident in the button's value, so a button can
    /// only ever do what its label says.
    private func buttonClicked(_ action: SlackInteraction.Action, in interaction: SlackInteraction) async {
        guard let incident = action.value.flatMap(Self.incidentID(in:)) else { return }
        let user = interaction.user
        let text: String
        switch action.actionID {
        case "ack": text = "ack \(incident)"
        case "resolve": text = "resolve \(incident)"
        case "take-ic": text = "role \(incident) ic <@\(user.id)\(user.username.map { "|\($0)" } ?? "")>"
        case "update":
            await openUpdateModal(for: incident, interaction: interaction)
            return
        default:
            return
        }
        let channelID = interaction.container?.channelID ?? interaction.channel?.id ?? ""
        let context = CommandContext(
            platform: .slack,
            conversation: Conversation(platform: .slack, channelID: channelID, threadID: interaction.container?.threadTS),
            user: ChatUser(id: user.id, name: user.username ?? user.name),
            inboundKey: "slack:action:\(interaction.triggerID ?? action.actionTS ?? "\(user.id):\(action.actionID):\(incident)")")
        let result = await gateway.handle(text: text, context: context)
        // An applied change shows in the room for everyone; a refusal ("already acknowledged") only the clicker needs to see.
        if result.outcome != .applied && result.outcome != .duplicate {
            await tellOnly(interaction, SlackMarkup.render(result.reply.text, roomLink: nil))
        }
    }

    /// "Post update" opens a modal; `views.open` must happen within the trigger's 3 seconds.
    private func openUpdateModal(for incident: IncidentID, interaction: SlackInteraction) async {
        guard let triggerID = interaction.triggerID else { return }
        let channelID = interaction.container?.channelID ?? interaction.channel?.id ?? ""
        var view = SlackBlocks.updateModal(incident: incident.description)
        view.privateMetadata = "\(incident) \(channelID)"
        do throws(SlackAPIError) {
            try await api.call("views.open", [("trigger_id", triggerID), ("view", Self.json(view))])
        } catch {
            logger.warning("slack views.open failed", metadata: ["error": "\(error)"])
            await tellOnly(
                interaction,
                "Klaxon could not open the update form (\(error.slackError ?? "Slack did not answer")). Use /incident update \(incident) <what changed>.")
        }
    }

    private func viewSubmitted(_ interaction: SlackInteraction) async -> InteractionAnswer? {
        guard let view = interaction.view, view.callbackID == SlackBlocks.updateModalCallbackID else { return nil }
        let blockID = SlackBlocks.updateInputBlockID
        let metadata = (view.privateMetadata ?? "").split(separator: " ").map(String.init)
        guard let incident = metadata.first.flatMap(IncidentID.init(parsing:)) else {
            return .errors([blockID: "This form has lost track of its incident. Use /incident update INC-n <what changed>."])
        }
        let text = (view.state?.values[blockID]?[SlackBlocks.updateInputActionID]?.value ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return .errors([blockID: "Write what changed."]) }
        let user = interaction.user
        let context = CommandContext(
            platform: .slack,
            conversation: Conversation(platform: .slack, channelID: metadata.count > 1 ? metadata[1] : ""),
            user: ChatUser(id: user.id, name: user.username ?? user.name),
            inboundKey: "slack:view:\(view.id)")
        let result = await gateway.handle(text: "update \(incident) \(text)", context: context)
        switch result.outcome {
        case .applied, .duplicate:
            return nil
        default:
            return .errors([blockID: SlackMarkup.truncate(result.reply.text, to: 150)])
        }
    }

    /// A message only the person who clicked sees, through the interaction's `response_url`.
    private func tellOnly(_ interaction: SlackInteraction, _ text: String) async {
        guard let url = interaction.responseURL, url.hasPrefix("https://") || url.hasPrefix("http://") else { return }
        struct Ephemeral: Encodable {
            var responseType = "ephemeral"
            /// Keep the message whose button was clicked.
            var replaceOriginal = false
            var text: String
            enum CodingKeys: String, CodingKey {
                case text
                case responseType = "response_type"
                case replaceOriginal = "replace_original"
            }
        }
        do {
            try await api.respond(to: url, json: Data(Self.json(Ephemeral(text: text)).utf8), timeout: Self.responseURLTimeout)
        } catch {
            logger.warning("slack response_url failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Helpers

    /// The sender's zone (Slack's `users.info`), asked only for the commands whose reply shows times, since
    /// the look-up spends part of Slack's 3 seconds. Nil leaves the zone to the engine (`people`, else the rotation).
    private func timeZone(of userID: String, for text: String) async -> String? {
        guard Self.showsTimes(text) else { return nil }
        return await users.timeZone(of: userID)
    }

    /// `oncall` answers with shift times and takes override end times in the sender's zone.
    static func showsTimes(_ text: String) -> Bool {
        // The first word only: splitting the whole text cost a note more than deciding it.
        let first = text.drop(while: \.isWhitespace).prefix(while: { !$0.isWhitespace })
        return !first.isEmpty && CommandVerb.named(String(first)) == .oncall
    }

    /// The `INC-n` in a button's value (`ack INC-7`).
    static func incidentID(in value: String) -> IncidentID? {
        value.split(separator: " ").lazy.compactMap { IncidentID(parsing: String($0)) }.first
    }

    private func noteOnCallChange(_ result: CommandService.Result) {
        if result.verb == .oncall, result.outcome == .applied { wakeups.send(.onCallChanged) }
    }

    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Our own reply types hold only strings, booleans and arrays of them: encoding cannot fail.
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
