import Foundation
import IncidentCore

/// Klaxon's neutral markup in Slack's `mrkdwn` (docs.slack.dev/messaging/formatting-message-text).
///
/// `<@U123>` is already Slack's mention syntax and stays; `<#room>` becomes `<#C123>` (a channel link) or,
/// in thread mode, words. Everything else is escaped: Slack reads `&`, `<` and `>` as control characters,
/// so a title such as `5xx > 10% on <api>` or a usage hint like `<what changed>` must reach it as
/// `&amp;`, `&lt;` and `&gt;`. Slack's own markup that users typed (`<@U…>`, `<#C…>`, `<!here>`,
/// `<!subteam^S…>`, `<https://…|label>`) is kept.
public enum SlackMarkup {
    public static func render(_ text: String, roomLink: String?) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            out += escape(rest[..<open])
            let afterOpen = rest[rest.index(after: open)...]
            if let close = afterOpen.firstIndex(of: ">"), isSlackToken(afterOpen[..<close]) {
                let token = afterOpen[..<close]
                out += token == "#room" ? (roomLink ?? "the incident channel") : "<" + escapeAmpersands(token) + ">"
                rest = afterOpen[afterOpen.index(after: close)...]
            } else {
                out += "&lt;"
                rest = afterOpen
            }
        }
        out += escape(rest)
        return out
    }

    /// `<#C123>` for a channel; in thread mode the incident lives in a thread, which has no link syntax.
    public static func roomLink(for room: Conversation?) -> String? {
        guard let room else { return nil }
        return room.threadID == nil ? "<#\(room.channelID)>" : "the incident thread"
    }

    /// What may sit between `<` and `>` as Slack markup: a mention, a channel, a special mention, or a link,
    /// with no white space (which no real token has, and which every usage hint such as `<what changed>` has).
    private static func isSlackToken(_ inside: Substring) -> Bool {
        let target = inside.prefix { $0 != "|" }
        guard target.count > 1, !target.contains(where: \.isWhitespace), !inside.contains(where: \.isNewline) else { return false }
        switch target.first {
        case "@", "#", "!": return true
        default: return target.hasPrefix("http://") || target.hasPrefix("https://") || target.hasPrefix("mailto:")
        }
    }

    private static func escape(_ text: Substring) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(character)
            }
        }
        return out
    }

    private static func escapeAmpersands(_ text: Substring) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;")
    }

    /// Cuts `text` to at most `limit` characters, marking the cut.
    public static func truncate(_ text: String, to limit: Int) -> String {
        FreeText.truncated(text, to: limit)
    }
}

/// The Block Kit pieces Klaxon posts (docs.slack.dev/reference/block-kit): a section with the message and
/// an actions block with its buttons, and the "Post update" modal.
public enum SlackBlocks {
    /// Slack refuses a section text longer than this.
    static let sectionTextLimit = 3000

    /// A section with the `mrkdwn` text, then the buttons; each button's `action_id` is the Klaxon action
    /// (`ack`, `update`, `resolve`, `take-ic`) and its `value` the command it stands for (`ack INC-7`).
    public static func message(text: String, buttons: [MessageButton]) -> [Block] {
        var blocks: [Block] = [.section(Section(text: Text(type: "mrkdwn", text: SlackMarkup.truncate(text, to: sectionTextLimit))))]
        if let actions = actions(buttons) { blocks.append(actions) }
        return blocks
    }

    private static func actions(_ buttons: [MessageButton]) -> Block? {
        guard !buttons.isEmpty else { return nil }
        return .actions(
            Actions(
                blockID: "klaxon-actions",
                elements: buttons.map { button in
                    Button(
                        actionID: button.action, text: Text(type: "plain_text", text: button.label),
                        value: button.command, style: button.style == "primary" || button.style == "danger" ? button.style : nil)
                }))
    }

    /// The root of an incident's thread (thread mode), which doubles as its status card: the announcement,
    /// the status line, and while the incident is open the alert's buttons, so that people in the announce
    /// channel can act without opening the thread.
    public static func threadRoot(announcement: String, status: String, buttons: [MessageButton]) -> [Block] {
        var blocks = message(text: announcement, buttons: [])
        blocks.append(.section(Section(text: Text(type: "mrkdwn", text: SlackMarkup.truncate(status, to: sectionTextLimit)), blockID: statusBlockID)))
        if let actions = actions(buttons) { blocks.append(actions) }
        return blocks
    }

    /// The block of a thread root that holds the status line.
    public static let statusBlockID = "klaxon-status"

    /// The buttons of the initial alert (`IncidentEngine.buttons(for:)`), which a thread root shows while
    /// its incident is open. The engine does not send them with a topic change, so they are spelled out
    /// here too; a test compares the two, and the inbound side maps the same action ids to commands.
    public static func incidentButtons(_ id: IncidentID) -> [MessageButton] {
        [
            MessageButton(action: "ack", label: "Acknowledge", command: "ack \(id)", style: "primary"),
            MessageButton(action: "update", label: "Post update", command: "update \(id)"),
            MessageButton(action: "resolve", label: "Resolve", command: "resolve \(id)", style: "danger"),
            MessageButton(action: "take-ic", label: "I'm the IC", command: "role \(id) ic"),
        ]
    }

    /// The block and action ids of the update modal's text input, read back from `view_submission`.
    public static let updateInputBlockID = "update_text"
    public static let updateInputActionID = "text"
    /// The modal's `callback_id`; `private_metadata` holds the incident id.
    public static let updateModalCallbackID = "klaxon-update"

    public static func updateModal(incident: String) -> View {
        View(
            type: "modal", callbackID: updateModalCallbackID, privateMetadata: incident,
            title: Text(type: "plain_text", text: "Update \(incident)"),
            submit: Text(type: "plain_text", text: "Post update"),
            close: Text(type: "plain_text", text: "Cancel"),
            blocks: [
                .input(
                    Input(
                        blockID: updateInputBlockID,
                        label: Text(type: "plain_text", text: "What changed?"),
                        element: PlainTextInput(actionID: updateInputActionID, multiline: true, maxLength: 2900)))
            ])
    }

    public enum Block: Encodable, Sendable, Hashable {
        case section(Section)
        case actions(Actions)
        case input(Input)

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .section(let section): try section.encode(to: encoder)
            case .actions(let actions): try actions.encode(to: encoder)
            case .input(let input): try input.encode(to: encoder)
            }
        }
    }

    public struct Text: Encodable, Sendable, Hashable {
        public var type: String
        public var text: String
    }

    public struct Section: Encodable, Sendable, Hashable {
        public var type = "section"
        public var text: Text
        public var blockID: String?
        enum CodingKeys: String, CodingKey {
            case type, text
            case blockID = "block_id"
        }
    }

    public struct Actions: Encodable, Sendable, Hashable {
        public var type = "actions"
        public var blockID: String
        public var elements: [Button]
        enum CodingKeys: String, CodingKey {
            case type, elements
            case blockID = "block_id"
        }
    }

    public struct Button: Encodable, Sendable, Hashable {
        public var type = "button"
        public var actionID: String
        public var text: Text
        public var value: String
        public var style: String?
        enum CodingKeys: String, CodingKey {
            case type, text, value, style
            case actionID = "action_id"
        }
    }

    public struct Input: Encodable, Sendable, Hashable {
        public var type = "input"
        public var blockID: String
        public var label: Text
        public var element: PlainTextInput
        enum CodingKeys: String, CodingKey {
            case type, label, element
            case blockID = "block_id"
        }
    }

    public struct PlainTextInput: Encodable, Sendable, Hashable {
        public var type = "plain_text_input"
        public var actionID: String
        public var multiline: Bool
        public var maxLength: Int
        enum CodingKeys: String, CodingKey {
            case type, multiline
            case actionID = "action_id"
            case maxLength = "max_length"
        }
    }

    public struct View: Encodable, Sendable, Hashable {
        public var type: String
        public var callbackID: String
        public var privateMetadata: String
        public var title: Text
        public var submit: Text
        public var close: Text
        public var blocks: [Block]
        enum CodingKeys: String, CodingKey {
            case type, title, submit, close, blocks
            case callbackID = "callback_id"
            case privateMetadata = "private_metadata"
        }
    }
}
