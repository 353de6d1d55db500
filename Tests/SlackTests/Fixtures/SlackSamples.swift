import Foundation

/// Slack payloads as Slack sends them, written for Klaxon's tests: each follows a format documented by Slack
/// (README.md beside this file names the page), with invented ids and texts. The one exception is
/// `signingWorkedExample`, Slack's own documented request-signing example, used as a test vector.
enum SlackSamples {
    // MARK: Slash commands (form bodies)

    /// A `/incident` slash command as a form encoder writes it: `+` for a space, `/` and `:` escaped.
    static let slashCommandForm = """
        token=kLxVerifyTok3nNotUsed&team_id=T0KLAXON&team_domain=klaxon-ops&channel_id=C0INCIDENTS&channel_name=incidents\
        &user_id=U0ALICE&user_name=alice&command=%2Fincident&text=declare+sev2+Checkout+errors\
        &enterprise_id=E0KLAXON&enterprise_name=Klaxon+Test+Org\
        &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0KLAXON%2F1001%2Fklaxon-response&trigger_id=1001.2002.klaxon0trigger
        """

    /// A slash command spelled the way Slack's documentation prints its example: `/` and `:` left as they are,
    /// a space as `%20`.
    static let slashCommandFormAsDocumented = """
        token=kLxVerifyTok3nNotUsed&team_id=T0KLAXON&team_domain=klaxon-ops&enterprise_id=E0KLAXON\
        &enterprise_name=Klaxon%20Test%20Org&channel_id=C0INCIDENTS&channel_name=incidents&user_id=U0BOB&user_name=bob\
        &command=/oncall&text=who%20is%20on&response_url=https://hooks.slack.com/commands/T0KLAXON/2002\
        &trigger_id=2002.3003.b0bc0ffee0ddba11&api_app_id=A0KLAXON
        """

    // MARK: Request signing

    /// Slack's documented worked example of request signing (docs.slack.dev/authentication/verifying-requests-from-slack):
    /// its signing secret, timestamp, raw body and the signature it gives. Facts of the docs, kept as they are.
    static let signingWorkedExample = SigningVector(
        name: "docs worked example (slash command)",
        signingSecret: "8f742231b10e8888abcd99yyyzzz85a5",
        timestamp: "1531420618",
        body: """
            token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar\
            &user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=\
            &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN\
            &trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c
            """,
        expected: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        mustVerify: true)

    struct SigningVector {
        var name, signingSecret, timestamp, body, expected: String
        /// false: the signature is not the body's, and the verifier must refuse it.
        var mustVerify: Bool
    }

    /// `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>`. Besides the docs' example, computed for Klaxon
    /// with the docs' secret and timestamp (Python's hmac), the last one signed over another body.
    static let signingVectors: [SigningVector] = [
        signingWorkedExample,
        SigningVector(
            name: "url_verification JSON body", signingSecret: "8f742231b10e8888abcd99yyyzzz85a5", timestamp: "1531420618",
            body: #"{"token":"kLxVerifyTok3nNotUsed","challenge":"klaxon-challenge-4f1d9a2c7e","type":"url_verification"}"#,
            expected: "v0=046c125e2feeb7f74d676b6585a1de2d8f6f56b9629bf040644518b005ebaa3c", mustVerify: true),
        SigningVector(
            name: "empty body", signingSecret: "8f742231b10e8888abcd99yyyzzz85a5", timestamp: "1531420618", body: "",
            expected: "v0=55f41ec73231010289b54e669149ea021fccab11b5524355523533ce930cb739", mustVerify: true),
        SigningVector(
            name: "Klaxon slash command", signingSecret: "8f742231b10e8888abcd99yyyzzz85a5", timestamp: "1531420618",
            body: signedCommandBody,
            expected: "v0=d656376149c695fb0d4cf9daad311c84a23e977117a8826e1683a158e22b9535", mustVerify: true),
        SigningVector(
            name: "body changed after signing (sev2 → sev1)", signingSecret: "8f742231b10e8888abcd99yyyzzz85a5", timestamp: "1531420618",
            body: signedCommandBody.replacingOccurrences(of: "sev2", with: "sev1"),
            expected: "v0=d656376149c695fb0d4cf9daad311c84a23e977117a8826e1683a158e22b9535", mustVerify: false),
    ]

    private static let signedCommandBody = """
        token=kLxVerifyTok3nNotUsed&team_id=T0KLAXON&team_domain=klaxon-ops&channel_id=C0INCIDENTS&channel_name=incidents\
        &user_id=U0ALICE&user_name=alice&command=%2Fincident&text=declare+sev2+Checkout+errors\
        &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0KLAXON%2F1001%2Fklaxon-response&trigger_id=1001.2002.klaxon0trigger
        """

    // MARK: Events API

    static let urlVerification = """
        {
          "token": "kLxVerifyTok3nNotUsed",
          "challenge": "klaxon-challenge-4f1d9a2c7e",
          "type": "url_verification"
        }
        """

    /// Someone mentions the app in a channel.
    static let appMentionCallback = """
        {
          "token": "kLxVerifyTok3nNotUsed",
          "team_id": "T0KLAXON",
          "enterprise_id": "E0KLAXON",
          "api_app_id": "A0KLAXON",
          "event": {
            "client_msg_id": "6f0c1d2e-0000-4a11-8000-00000000a11c",
            "type": "app_mention",
            "text": "<@UKLAXON> status please",
            "user": "U0CAROL",
            "ts": "1764547230.004200",
            "team": "T0KLAXON",
            "channel": "C0INCIDENTS",
            "event_ts": "1764547230.004200"
          },
          "type": "event_callback",
          "event_id": "Ev0MENTION",
          "event_time": 1764547230,
          "authed_users": ["UKLAXON"]
        }
        """

    /// A plain channel message with its rich-text blocks.
    static let messageCallback = """
        {
          "token": "kLxVerifyTok3nNotUsed",
          "team_id": "T0KLAXON",
          "enterprise_id": "E0KLAXON",
          "api_app_id": "A0KLAXON",
          "event": {
            "client_msg_id": "6f0c1d2e-0000-4a11-8000-0000000b0b00",
            "type": "message",
            "text": "Is the checkout page down for anyone else?",
            "user": "U0BOB",
            "ts": "1764547240.000300",
            "team": "T0KLAXON",
            "blocks": [
              {
                "type": "rich_text",
                "block_id": "kx1",
                "elements": [
                  {
                    "type": "rich_text_section",
                    "elements": [{"type": "text", "text": "Is the checkout page down for anyone else?"}]
                  }
                ]
              }
            ],
            "channel": "C0GENERAL",
            "event_ts": "1764547240.000300",
            "channel_type": "channel"
          },
          "type": "event_callback",
          "event_id": "Ev0MESSAGE",
          "event_time": 1764547240,
          "authed_users": ["UKLAXON"]
        }
        """

    /// A reaction on someone's message.
    static let reactionAddedCallback = """
        {
          "token": "kLxVerifyTok3nNotUsed",
          "team_id": "T0KLAXON",
          "api_app_id": "A0KLAXON",
          "event": {
            "type": "reaction_added",
            "user": "U0ALICE",
            "item": {"type": "message", "channel": "C0INCIDENTS", "ts": "1764547250.000400"},
            "reaction": "eyes",
            "item_user": "U0BOB",
            "event_ts": "1764547260.000500"
          },
          "type": "event_callback",
          "authorizations": [{"enterprise_id": "E0KLAXON", "team_id": "T0KLAXON", "user_id": "UKLAXON", "is_bot": true}],
          "event_id": "Ev0REACTION",
          "event_context": "EC0KLAXON",
          "event_time": 1764547260
        }
        """

    // MARK: Interactivity

    /// A click on an incident message's Acknowledge button, form-encoded as a `payload` field.
    static let blockActionsForm = """
        payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U0ALICE%22%2C%22username%22%3A%22alice%22%2C\
        %22name%22%3A%22alice%22%2C%22team_id%22%3A%22T0KLAXON%22%7D%2C%22api_app_id%22%3A%22A0KLAXON%22%2C%22token%22%3A%22kLxV\
        erifyTok3nNotUsed%22%2C%22container%22%3A%7B%22type%22%3A%22message%22%2C%22message_ts%22%3A%221764547300.000100%22%2C\
        %22channel_id%22%3A%22C0INCIDENTS%22%2C%22is_ephemeral%22%3Afalse%7D%2C%22trigger_id%22%3A%221001.2002.klaxon0ack%22%2C\
        %22team%22%3A%7B%22id%22%3A%22T0KLAXON%22%2C%22domain%22%3A%22klaxon-ops%22%2C%22enterprise_id%22%3A%22E0KLAXON%22%2C%22\
        enterprise_name%22%3A%22Klaxon+Test+Org%22%7D%2C%22channel%22%3A%7B%22id%22%3A%22C0INCIDENTS%22%2C%22name%22%3A%22incide\
        nts%22%7D%2C%22response_url%22%3A%22https%3A%2F%2Fhooks.slack.com%2Factions%2FT0KLAXON%2F1001%2Fklaxon-action%22%2C%22ac\
        tions%22%3A%5B%7B%22action_id%22%3A%22ack%22%2C%22block_id%22%3A%22incident-buttons%22%2C%22text%22%3A%7B%22type%22%3A\
        %22plain_text%22%2C%22text%22%3A%22Acknowledge%22%2C%22emoji%22%3Atrue%7D%2C%22value%22%3A%22ack+INC-7%22%2C%22type%22\
        %3A%22button%22%2C%22action_ts%22%3A%221764547310.000200%22%7D%5D%7D
        """

    /// The update modal submitted.
    static let viewSubmission = """
        {
          "type": "view_submission",
          "team": {"id": "T0KLAXON", "domain": "klaxon-ops", "enterprise_id": "E0KLAXON", "enterprise_name": "Klaxon Test Org"},
          "user": {"id": "U0ALICE", "username": "alice", "name": "alice", "team_id": "T0KLAXON"},
          "api_app_id": "A0KLAXON",
          "token": "kLxVerifyTok3nNotUsed",
          "trigger_id": "1001.2002.klaxon0modal",
          "view": {
            "id": "V0UPDATE",
            "team_id": "T0KLAXON",
            "type": "modal",
            "blocks": [
              {
                "type": "input",
                "block_id": "update-block",
                "label": {"type": "plain_text", "text": "What changed?"},
                "optional": false,
                "element": {"type": "plain_text_input", "action_id": "update-text"}
              }
            ],
            "private_metadata": "INC-7 C0INCIDENTS",
            "callback_id": "incident-update",
            "state": {
              "values": {
                "update-block": {
                  "update-text": {"type": "plain_text_input", "value": "Rolled back the 14:02 deploy"}
                }
              }
            },
            "hash": "1764547320.kLx0h4sh",
            "title": {"type": "plain_text", "text": "Update INC-7"},
            "clear_on_close": false,
            "notify_on_close": false,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Post update"},
            "previous_view_id": null,
            "root_view_id": "V0UPDATE",
            "app_id": "A0KLAXON",
            "external_id": "",
            "app_installed_team_id": "T0KLAXON",
            "bot_id": "B0KLAXON"
          },
          "response_urls": []
        }
        """

    // MARK: Socket Mode

    static let socketHello = """
        {
          "type": "hello",
          "num_connections": 1,
          "debug_info": {"host": "applink-klaxon-1", "build_number": 7, "approximate_connection_time": 3600},
          "connection_info": {"app_id": "A0KLAXON"}
        }
        """

    /// Slack will close this connection soon; open the next one now.
    static let socketDisconnectWarning = #"{"type": "disconnect", "reason": "warning", "debug_info": {"host": "wss-klaxon-1.slack.com"}}"#

    /// Slack wants the app to reconnect (connections are refreshed every few hours).
    static let socketDisconnectRefreshRequested = #"""
        {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "wss-klaxon-2.slack.com"}}
        """#

    /// Socket Mode was turned off for the app.
    static let socketDisconnectLinkDisabled = #"{"type": "disconnect", "reason": "link_disabled", "debug_info": {"host": "wss-klaxon-3.slack.com"}}"#

    /// The `too_many_websockets` disconnect, which also says how many connections the app has.
    static let socketDisconnectTooMany = """
        {
          "type": "disconnect",
          "reason": "too_many_websockets",
          "num_connections": 11,
          "debug_info": {"host": "applink-klaxon-2"},
          "connection_info": {"app_id": "A0KLAXON"}
        }
        """

    /// A slash command over Socket Mode: the form's fields as a JSON object.
    static let socketSlashCommandEnvelope = """
        {
          "envelope_id": "57e0c0de-0000-4b1d-9000-00000000c0de",
          "payload": {
            "token": "kLxVerifyTok3nNotUsed",
            "team_id": "T0KLAXON",
            "team_domain": "klaxon-ops",
            "channel_id": "C0INCIDENTS",
            "channel_name": "incidents",
            "user_id": "U0BOB",
            "user_name": "bob",
            "command": "/klaxon-socket",
            "text": "",
            "api_app_id": "A0KLAXON",
            "response_url": "https://hooks.slack.com/commands/T0KLAXON/3003/klaxon-socket",
            "trigger_id": "3003.4004.klaxon0socket"
          },
          "type": "slash_commands",
          "accepts_response_payload": true
        }
        """

    /// An `app_mention` event callback over Socket Mode, delivered for the first time.
    static let socketEventsEnvelope = """
        {
          "envelope_id": "57e0c0de-0000-4b1d-9000-0000000e0e0e",
          "payload": {
            "token": "kLxVerifyTok3nNotUsed",
            "team_id": "T0KLAXON",
            "api_app_id": "A0KLAXON",
            "event": {
              "client_msg_id": "6f0c1d2e-0000-4a11-8000-00000000ca11",
              "type": "app_mention",
              "text": "<@UKLAXON>",
              "user": "U0CAROL",
              "ts": "1764547270.000600",
              "team": "T0KLAXON",
              "blocks": [
                {
                  "type": "rich_text",
                  "block_id": "kx2",
                  "elements": [{"type": "rich_text_section", "elements": [{"type": "user", "user_id": "UKLAXON"}]}]
                }
              ],
              "channel": "C0INCIDENTS",
              "event_ts": "1764547270.000600"
            },
            "type": "event_callback",
            "event_id": "Ev0SOCKET",
            "event_time": 1764547270,
            "authorizations": [
              {"enterprise_id": null, "team_id": "T0KLAXON", "user_id": "UKLAXON", "is_bot": true, "is_enterprise_install": false}
            ],
            "is_ext_shared_channel": false,
            "event_context": "1-app_mention-T0KLAXON-C0INCIDENTS"
          },
          "type": "events_api",
          "accepts_response_payload": false,
          "retry_attempt": 0,
          "retry_reason": ""
        }
        """

    /// An `interactive` envelope of well over 100 KB: a `block_actions` from a modal whose select menu lists
    /// `groups` × `optionsPerGroup` long options, with the view's state repeating the choice. Built here rather
    /// than stored; Klaxon must read such a frame whole.
    static func largeModalBlockActions(groups: Int = 12, optionsPerGroup: Int = 40) throws -> Data {
        func text(_ string: String) -> [String: Any] { ["type": "plain_text", "text": string, "emoji": true] }
        func option(_ group: Int, _ index: Int) -> [String: Any] {
            let name = "Service \(group)-\(index): " + String(repeating: "checkout-api-eu-west ", count: 3)
            return ["text": text(name), "value": "svc-\(group)-\(index)-" + String(repeating: "x", count: 60)]
        }
        let optionGroups: [[String: Any]] = (0..<groups).map { group in
            ["label": text("Team \(group) services"), "options": (0..<optionsPerGroup).map { option(group, $0) }]
        }
        let chosen = option(3, 7)
        let view: [String: Any] = [
            "id": "V0LARGE", "team_id": "T0KLAXON", "type": "modal",
            "blocks": [
                [
                    "type": "actions", "block_id": "service-block",
                    "elements": [["type": "static_select", "action_id": "service", "option_groups": optionGroups]],
                ]
            ],
            "private_metadata": "", "callback_id": "",
            "state": ["values": ["service-block": ["service": ["type": "static_select", "selected_option": chosen]]]],
            "hash": "1764547330.kLx0l4rg", "title": text("Affected service"),
            "clear_on_close": false, "notify_on_close": false, "close": text("Cancel"), "submit": text("Submit"),
            "previous_view_id": NSNull(), "root_view_id": "V0LARGE", "app_id": "A0KLAXON", "external_id": "",
            "app_installed_team_id": "T0KLAXON", "bot_id": "B0KLAXON",
        ]
        let payload: [String: Any] = [
            "type": "block_actions",
            "user": ["id": "U0ALICE", "username": "alice", "name": "alice", "team_id": "T0KLAXON"],
            "api_app_id": "A0KLAXON", "token": "kLxVerifyTok3nNotUsed",
            "container": ["type": "view", "view_id": "V0LARGE"],
            "trigger_id": "1001.2002.klaxon0large",
            "team": ["id": "T0KLAXON", "domain": "klaxon-ops"], "enterprise": NSNull(), "is_enterprise_install": false,
            "view": view,
            "actions": [
                [
                    "type": "static_select", "action_id": "service", "block_id": "service-block",
                    "selected_option": chosen, "action_ts": "1764547340.000700",
                ]
            ],
        ]
        let envelope: [String: Any] = [
            "envelope_id": "57e0c0de-0000-4b1d-9000-0000001a49e0", "payload": payload,
            "type": "interactive", "accepts_response_payload": false,
        ]
        return try JSONSerialization.data(withJSONObject: envelope, options: [.prettyPrinted, .sortedKeys])
    }
}
