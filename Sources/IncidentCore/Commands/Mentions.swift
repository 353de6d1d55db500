import Foundation

/// A person named in a command, as each platform writes them.
///
/// Slack (with "escape users" on, as Klaxon's manifest asks) sends `<@U0ALICE|alice>` or `<@U0ALICE>`;
/// Rocket.Chat, Mattermost and the console send what was typed, `@alice`.
public enum ChatMention {
    /// Parses one mention token: Slack `<@U123|alice>` or `<@U123>`, Rocket.Chat/Mattermost/console `@alice`.
    /// Returns ChatUser(id: "U123", name: "alice") for Slack; ChatUser(id: "alice", name: "alice") for `@alice`.
    ///
    /// `nil` for anything else, including the broadcast mentions (`@here`, `@channel`, `@all`, `@everyone`):
    /// they name a crowd, not the one person a role or a page is for.
    public static func parse(_ token: String) -> ChatUser? {
        let token = token.trimmingCharacters(in: .whitespacesAndNewlines)
        if token.hasPrefix("<@") {
            return slackMention(token)
        }
        if token.hasPrefix("@") {
            return plainMention(String(token.dropFirst()))
        }
        return nil
    }

    /// Mentions that reach everyone in a room on Slack, Rocket.Chat or Mattermost.
    static let broadcastNames: Set<String> = ["here", "channel", "all", "everyone"]

    /// `<@U123|alice>` or `<@U123>`.
    private static func slackMention(_ token: String) -> ChatUser? {
        guard token.hasSuffix(">") else { return nil }
        let inside = token.dropFirst(2).dropLast()
        let parts = inside.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
        guard let id = parts.first, !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return nil
        }
        let name = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        return ChatUser(id: String(id), name: name.isEmpty ? nil : name)
    }

    /// `@alice`: on these platforms the username is the id. Usernames are letters, digits, `.`, `-`, `_`.
    private static func plainMention(_ username: String) -> ChatUser? {
        guard !username.isEmpty,
            username.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }),
            !broadcastNames.contains(username.lowercased())
        else { return nil }
        return ChatUser(id: username, name: username)
    }
}
