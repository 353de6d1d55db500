import Foundation

/// Mentions that notify a whole room, made harmless in text that users write.
///
/// Anyone may `declare` or `update`, and the bot posts their words into the announce channel under its
/// own name; a title with `@here` or `<!channel>` would have the bot wake everyone in it. So user text
/// (not templates: the admin may well want `@channel` in a SEV1 announcement) goes through `neutralized`
/// before the engine uses it, which rewrites each of these to `@` + a zero-width space + the word:
///
/// - Slack markup: `<!channel>`, `<!here>`, `<!everyone>`, `<!group>`, `<!subteam^S123>` and their
///   labelled forms (`<!subteam^S123|@oncall>`, `<!here|here>`), which Slack keeps when users type them;
/// - typed words on every platform: `@channel`, `@here`, `@everyone`, `@all` (any case);
/// - Klaxon's own mention markup of those names, `<@here>`, which Rocket.Chat and Mattermost render as `@here`.
///
/// The result reads as `@here` but no platform's mention parser sees a name after the `@`, so it notifies
/// nobody. Config `incidents.allowBroadcastMentions: true` skips all this.
public enum BroadcastMentions {
    /// U+200B ZERO WIDTH SPACE: invisible, and not a name character on Slack, Rocket.Chat or Mattermost.
    static let breaker = "\u{200B}"

    /// Names that reach everyone on Slack (`channel`, `here`, `everyone`), Rocket.Chat (`all`, `here`)
    /// or Mattermost (`all`, `channel`, `here`).
    static let roomWideNames: Set<String> = ChatMention.broadcastNames

    public static func neutralized(_ text: String) -> String {
        // Cheap exit: every form starts with `@` or `<!`.
        guard text.contains("@") || text.contains("<!") else { return text }
        return neutralizingWords(in: neutralizingMarkup(in: text))
    }

    /// `<!…>` and `<@name>` forms.
    private static func neutralizingMarkup(in text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "<") {
            out += rest[..<open]
            let inside = rest[rest.index(after: open)...]
            guard let close = inside.firstIndex(where: { $0 == ">" || $0 == "<" || $0.isNewline }), inside[close] == ">",
                let harmless = harmlessForm(of: inside[..<close])
            else {
                out.append("<")
                rest = inside
                continue
            }
            out += harmless
            rest = inside[inside.index(after: close)...]
        }
        return out + rest
    }

    /// What `<token>` becomes when it is a broadcast; nil to keep it (a person, a channel, a link).
    private static func harmlessForm(of token: Substring) -> String? {
        let parts = token.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
        let target = parts.first.map { $0.lowercased() } ?? ""
        let label = parts.count == 2 ? parts[1].drop { $0 == "@" } : nil
        if target.hasPrefix("!subteam^") {
            return "@" + breaker + (label.map(String.init) ?? "group")
        }
        let name = target.hasPrefix("!") || target.hasPrefix("@") ? String(target.dropFirst()) : ""
        guard roomWideNames.contains(name) || name == "group" else { return nil }
        return "@" + breaker + name
    }

    /// `@here` and friends as typed words: an `@` not preceded by a name character (so `ops@all.example`
    /// stays), then the name, then no letter or digit (so `@allison` stays, while `@here.` and
    /// `@all-hands`, which some parsers read as `@here` and `@all`, are neutralised).
    private static func neutralizingWords(in text: String) -> String {
        let characters = Array(text)
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            out.append(character)
            index += 1
            guard character == "@", index < 2 || !isNameCharacter(characters[index - 2]) else { continue }
            var end = index
            while end < characters.count, characters[end].isLetter || characters[end].isNumber { end += 1 }
            if roomWideNames.contains(String(characters[index..<end]).lowercased()) {
                out += breaker
            }
        }
        return out
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_" || character == "-" || character == "."
    }
}
