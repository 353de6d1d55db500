import Foundation
import IncidentCore
import Platforms

/// Everything outside input reaches first, one entry per fuzz target: the bytes go through the same calls
/// the daemon makes on a request body (form or JSON decoding, then the command parser on any text found),
/// so a crash here is a crash a stranger could cause with one HTTP request. Results are thrown away: a
/// target passes an input when it returns, whatever it decided.
enum FuzzTargets {
    typealias Target = @Sendable (Data) -> Void

    static let all: [(name: String, run: Target)] = [
        ("command", { data in parseCommand(String(decoding: data, as: UTF8.self)) }),
        (
            "slack-command",
            { data in
                // A body that does not decode is answered 400; only what decodes goes further.
                if let command = try? SlackSlashCommand(form: String(decoding: data, as: UTF8.self)) { parseCommand(command.text) }
            }
        ),
        (
            "slack-event",
            { data in
                if let envelope = decode(SlackEventEnvelope.self, data), let text = envelope.event?.text { parseCommand(text) }
            }
        ),
        (
            "slack-interaction",
            { data in
                // Slack sends interactions as a form whose `payload` field is the JSON.
                _ = try? SlackInteraction(form: String(decoding: data, as: UTF8.self))
                _ = decode(SlackInteraction.self, data)
            }
        ),
        (
            "slack-socket",
            { data in
                guard let frame = decode(SlackSocketFrame.self, data) else { return }
                switch frame.type {
                case "slash_commands":
                    if let command = decode(SlackSocketEnvelope<SlackSlashCommand>.self, data)?.payload { parseCommand(command.text) }
                case "interactive": _ = decode(SlackSocketEnvelope<SlackInteraction>.self, data)
                default: _ = decode(SlackSocketEnvelope<SlackEventEnvelope>.self, data)
                }
            }
        ),
        (
            "rocketchat-webhook",
            { data in
                guard let payload = decode(RocketChatWebhookPayload.self, data),
                    let message = RocketChatInboundMessage(webhook: payload)
                else { return }
                filterAndParse(message)
            }
        ),
        (
            "rocketchat-history",
            { data in
                struct Page: Decodable { var messages: [RocketChatMessage] }
                for message in decode(Page.self, data)?.messages ?? [] {
                    filterAndParse(RocketChatInboundMessage(history: message))
                }
            }
        ),
        (
            "mattermost-command",
            { data in
                // The daemon reads a body that does not decode as an empty form, which has no command.
                if let form = try? MattermostSlashCommand.Form(body: String(decoding: data, as: UTF8.self)),
                    let command = MattermostSlashCommand(form: form)
                {
                    parseCommand(command.text)
                }
            }
        ),
        (
            "mattermost-action",
            { data in
                _ = decode(MattermostActionRequest.self, data)?.verifiedAction(signer)
            }
        ),
        (
            "mattermost-dialog",
            { data in
                guard let submission = decode(MattermostDialogSubmission.self, data) else { return }
                _ = signer.verifiedDialogState(submission.state, callbackID: submission.callbackID, userID: submission.userID)
            }
        ),
        ("alerts-alertmanager", { data in _ = try? AlertPayloads.decode(data, kind: .alertmanager, source: "fuzz") }),
        ("alerts-grafana", { data in _ = try? AlertPayloads.decode(data, kind: .grafana, source: "fuzz") }),
        ("alerts-webhook", { data in _ = try? AlertPayloads.decode(data, kind: .webhook, source: "fuzz") }),
        (
            "config",
            { data in
                _ = ConfigLoader.load(json: Array(data), environment: ["SLACK_BOT_TOKEN": "xoxb-fuzz", "KLAXON_FUZZ": "1"])
            }
        ),
    ]

    static func target(named name: String) -> Target? {
        all.first { $0.name == name }?.run
    }

    // MARK: - What the targets share

    /// The embedded default config: the parser then knows the shipped severities and rotations.
    private static let parser: CommandParser = {
        guard case .success(let config) = ConfigLoader.load(json: ConfigLoader.embeddedDefaultJSON, environment: [:]) else {
            fatalError("the embedded default config does not load")
        }
        return CommandParser(
            severities: config.severities, rotationIDs: config.oncall.rotations.map(\.id),
            defaultSeverity: config.incidents.defaultSeverity)
    }()

    private static let signer = MattermostActionSigner(secret: Secret("fuzz-action-secret"))
    private static let filter = RocketChatCommandFilter(triggers: ["/incident", "!incident"], ownUserID: "klaxon-bot")

    private static func parseCommand(_ text: String) {
        _ = parser.parse(text)
        for word in text.split(separator: " ").prefix(64) { _ = ChatMention.parse(String(word)) }
    }

    private static func filterAndParse(_ message: RocketChatInboundMessage) {
        if case .command(let text) = filter.verdict(on: message) { parseCommand(text) }
    }

    /// A refusal is an answer, not a failure: the daemon answers 400 to what does not decode.
    private static func decode<T: Decodable>(_ type: T.Type, _ data: Data) -> T? {
        try? JSONDecoder().decode(type, from: data)
    }
}
