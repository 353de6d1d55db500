import Crypto
import Foundation
import IncidentCore

// Mattermost's interactive buttons. A click makes the Mattermost *server* POST the button's
// `integration.context` to `integration.url` (Klaxon's `POST /mattermost/actions`), with the clicking
// user's id and name. Mattermost signs nothing there, so the context carries Klaxon's own proof: an
// HMAC-SHA256, keyed with the slash command's token, over the action and the incident. A forged or altered
// context fails the check, and a valid one only ever does what its button says, for the incident it names.

/// Makes and checks the `token` in a button's context.
public struct MattermostActionSigner: Sendable {
    private let key: SymmetricKey

    /// `secret` is `platforms.mattermost.commandToken`: Mattermost and Klaxon already share it, and it is
    /// never shown in chat. Changing it invalidates the buttons of older alerts, which then answer 401.
    public init(secret: Secret) {
        key = HexHMAC.key(secret)
    }

    /// A versioned, newline-separated message, so that no pair of (action, incident) values can be read
    /// as another pair, and so that a MAC made for some other purpose with the same key never matches.
    private static func message(action: String, incident: IncidentID) -> Data {
        Data("klaxon/mattermost-action/v1\n\(action)\n\(incident)".utf8)
    }

    /// Lowercase hex.
    public func token(action: String, incident: IncidentID) -> String {
        token(for: Self.message(action: action, incident: incident))
    }

    /// Whether `token` is the one `token(action:incident:)` makes.
    public func isValid(_ token: String, action: String, incident: IncidentID) -> Bool {
        isValid(token, for: Self.message(action: action, incident: incident))
    }

    private func token(for message: Data) -> String {
        HexHMAC.sign(message, key: key)
    }

    /// Compared in constant time (`HexHMAC`), so the answer's timing says nothing about how much of a guess was right.
    private func isValid(_ token: String, for message: Data) -> Bool {
        HexHMAC.isValid(token, for: message, key: key)
    }

    // MARK: Dialog state

    /// The message a dialog's token covers. Its own versioned purpose, so no button token is ever a valid
    /// dialog token (or the reverse); bound to the dialog (`callbackID`), the incident, the user it was
    /// opened for and the click that opened it (`nonce`). Mattermost user ids, callback ids, incident ids
    /// and Klaxon's hex nonces hold no newline, and `verifiedDialogState` refuses values that do, so the
    /// fields cannot be shifted into one another.
    private static func dialogMessage(callbackID: String, incident: IncidentID, userID: String, nonce: String) -> Data {
        Data("klaxon/mattermost-dialog/v1\n\(callbackID)\n\(incident)\n\(userID)\n\(nonce)".utf8)
    }

    /// A dialog's `state`: `<incident>:<nonce>:<token>`. Mattermost echoes it back unchanged with the
    /// submission; the user's client sees it too (it renders the dialog), which is why it is signed and
    /// names the user it is for.
    public func dialogState(callbackID: String, incident: IncidentID, userID: String, nonce: String) -> String {
        "\(incident):\(nonce):" + token(for: Self.dialogMessage(callbackID: callbackID, incident: incident, userID: userID, nonce: nonce))
    }

    /// The incident and nonce of a `state` that `dialogState` made for this dialog and this user; nil for
    /// anything else (altered, forged, made for someone else or for another dialog).
    public func verifiedDialogState(_ state: String, callbackID: String, userID: String) -> (incident: IncidentID, nonce: String)? {
        let parts = state.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let incident = IncidentID(parsing: parts[0]), !parts[1].isEmpty,
            ![callbackID, userID, parts[1]].contains(where: { $0.contains(where: \.isNewline) }),
            isValid(parts[2], for: Self.dialogMessage(callbackID: callbackID, incident: incident, userID: userID, nonce: parts[1]))
        else { return nil }
        return (incident, parts[1])
    }

}

/// Turns the alert's buttons into a Mattermost attachment whose buttons call back `url`.
public struct MattermostButtons: Sendable {
    /// The context keys Klaxon writes and reads back.
    public enum ContextKey {
        public static let action = "action"
        public static let incident = "incident"
        public static let token = "token"
    }

    public let url: String
    public let signer: MattermostActionSigner

    public init(url: String, signer: MattermostActionSigner) {
        self.url = url
        self.signer = signer
    }

    /// One attachment with a button per `MessageButton`; buttons whose command names no incident are left
    /// out (Klaxon's alerts always name it), since the context must say which incident a click is for.
    public func attachments(for buttons: [MessageButton]) -> [MattermostAttachment] {
        let actions = buttons.compactMap { button -> MattermostAttachment.Action? in
            guard let incident = Self.incidentID(in: button.command) else { return nil }
            let context = [
                ContextKey.action: button.action, ContextKey.incident: incident.description,
                ContextKey.token: signer.token(action: button.action, incident: incident),
            ]
            return MattermostAttachment.Action(
                id: Self.actionID(button.action), name: button.label, style: button.style,
                integration: .init(url: url, context: context))
        }
        return actions.isEmpty ? [] : [MattermostAttachment(actions: actions)]
    }

    /// `take-ic` → `takeic`: the server routes clicks by an id of letters and digits only.
    static func actionID(_ action: String) -> String {
        String(action.unicodeScalars.filter { $0.isASCII && CharacterSet.alphanumerics.contains($0) }.map(Character.init))
    }

    static func incidentID(in command: String) -> IncidentID? {
        command.split(separator: " ").lazy.compactMap { IncidentID(parsing: String($0)) }.first
    }
}

/// What the Mattermost server POSTs (JSON) when someone clicks a button: `user_id`, `user_name`,
/// `channel_id`, `channel_name`, `team_id`, `team_domain`, `post_id`, `trigger_id`, `type`,
/// `data_source`, `context`.
public struct MattermostActionRequest: Sendable, Hashable, Decodable {
    public var userID: String
    public var username: String?
    public var channelID: String
    public var teamID: String?
    public var postID: String?
    /// Made afresh by the server for each click, so a delivery seen twice has the same one.
    public var triggerID: String?
    /// String values of `context`; Klaxon writes only strings there.
    public var context: [String: String]

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case username = "user_name"
        case channelID = "channel_id"
        case teamID = "team_id"
        case postID = "post_id"
        case triggerID = "trigger_id"
        case context
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        userID = try container.decode(String.self, forKey: .userID)
        channelID = try container.decode(String.self, forKey: .channelID)
        guard !userID.isEmpty, !channelID.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .userID, in: container, debugDescription: "user_id and channel_id must not be empty")
        }
        username = (try container.decodeIfPresent(String.self, forKey: .username)).flatMap { $0.isEmpty ? nil : $0 }
        teamID = try container.decodeIfPresent(String.self, forKey: .teamID)
        postID = (try container.decodeIfPresent(String.self, forKey: .postID)).flatMap { $0.isEmpty ? nil : $0 }
        triggerID = (try container.decodeIfPresent(String.self, forKey: .triggerID)).flatMap { $0.isEmpty ? nil : $0 }
        // Read leniently: a context without Klaxon's values is refused by the token check, not the decoder.
        let values = (try? container.decodeIfPresent([String: LenientString].self, forKey: .context)) ?? nil
        context = values?.compactMapValues(\.value) ?? [:]
    }

    /// The action and incident of a context whose token checks out; nil for anything else.
    public func verifiedAction(_ signer: MattermostActionSigner) -> (action: String, incident: IncidentID)? {
        guard let action = context[MattermostButtons.ContextKey.action], let token = context[MattermostButtons.ContextKey.token],
            let incident = context[MattermostButtons.ContextKey.incident].flatMap(IncidentID.init(parsing:)),
            signer.isValid(token, action: action, incident: incident)
        else { return nil }
        return (action, incident)
    }

    /// Dedupe key of the delivery. Without a trigger id there is none, and repeating a click is still
    /// harmless: a second ack, resolve or take-the-IC-role is refused as already done.
    public var inboundKey: String? { triggerID.map { "mattermost:action:\($0)" } }
}

/// The answer to a click: `ephemeral_text` is shown to the clicker only; the post is left as it is
/// (no `update`), since what changed is posted in the channel for everyone.
public struct MattermostActionResponse: Sendable, Hashable, Codable {
    public var ephemeralText: String

    public init(ephemeralText: String) { self.ephemeralText = ephemeralText }

    enum CodingKeys: String, CodingKey { case ephemeralText = "ephemeral_text" }
}
