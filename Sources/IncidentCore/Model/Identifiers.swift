import Foundation

/// An incident's number, shown to people as `INC-42`, or as its label (`INC-2026-001`) when
/// `incidents.idFormat` gives it one. Two ids are the same incident when their numbers are: the label is
/// how it is shown, the number what the store keys on.
public struct IncidentID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let number: Int
    /// The formatted id (`IncidentLabelFormat`); nil: `INC-<number>`.
    public var label: String?

    public init(_ number: Int, label: String? = nil) {
        self.number = number
        self.label = label
    }

    /// Accepts `INC-42`, `inc-42`, `INC42` and `#INC-42`.
    public init?(parsing text: String) {
        var rest = Substring(text.uppercased())
        if rest.hasPrefix("#") { rest = rest.dropFirst() }
        guard rest.hasPrefix("INC") else { return nil }
        rest = rest.dropFirst(3)
        if rest.hasPrefix("-") { rest = rest.dropFirst() }
        guard !rest.isEmpty, rest.allSatisfy(\.isASCII), let number = Int(rest), number > 0 else { return nil }
        self.number = number
        self.label = nil
    }

    public var description: String { label ?? reference }
    /// `INC-<number>` whatever the label: for text read back by machines (buttons' commands, dialog
    /// states), which parse it with `init(parsing:)` and need no store.
    public var reference: String { "INC-\(number)" }
    public static func < (lhs: IncidentID, rhs: IncidentID) -> Bool { lhs.number < rhs.number }
    public static func == (lhs: IncidentID, rhs: IncidentID) -> Bool { lhs.number == rhs.number }
    public func hash(into hasher: inout Hasher) { hasher.combine(number) }
}

/// The chat platforms Klaxon speaks. `console` is the built-in one that needs no credentials.
public enum PlatformKind: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case console, slack, rocketchat, mattermost
    public var description: String { rawValue }
}

/// A person as a chat platform identifies them: a platform id (`U0ALICE` on Slack, a username elsewhere)
/// and, where known, a display name.
public struct ChatUser: Hashable, Sendable, Codable {
    public var id: String
    public var name: String?

    public init(id: String, name: String? = nil) {
        self.id = id
        self.name = name
    }

    /// What people read: the name where there is one.
    public var displayName: String { name ?? id }
}

/// Where a message lives: a channel, and optionally a thread inside it.
public struct Conversation: Hashable, Sendable, Codable {
    public var platform: PlatformKind
    public var channelID: String
    public var threadID: String?

    public init(platform: PlatformKind, channelID: String, threadID: String? = nil) {
        self.platform = platform
        self.channelID = channelID
        self.threadID = threadID
    }
}
