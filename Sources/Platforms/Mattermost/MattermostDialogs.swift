import Crypto
import Foundation
import IncidentCore

// Mattermost's interactive dialogs. A button click's request carries a `trigger_id`; with it the
// integration asks the server (`POST /api/v4/actions/dialogs/open`) to show the clicker a form. When they
// submit it, the Mattermost *server* POSTs the fields to the dialog's `url` (Klaxon's
// `POST /mattermost/dialogs`) with the submitting user's id and the dialog's `state`, and shows the field
// errors the answer names, keeping the form open. As with buttons, Mattermost signs nothing there: the
// `state` carries Klaxon's HMAC (see `MattermostActionSigner.dialogState`).

/// The body of `POST /api/v4/actions/dialogs/open` (the server's `OpenDialogRequest`).
public struct MattermostOpenDialogRequest: Sendable, Hashable, Encodable {
    public var triggerID: String
    /// Where the server POSTs the submission.
    public var url: String
    public var dialog: MattermostDialog

    public init(triggerID: String, url: String, dialog: MattermostDialog) {
        self.triggerID = triggerID
        self.url = url
        self.dialog = dialog
    }

    enum CodingKeys: String, CodingKey {
        case triggerID = "trigger_id"
        case url, dialog
    }
}

/// A dialog (the server's `model.Dialog`). The server limits `title` and each element's `display_name`
/// to 24 characters, `help_text` to 150, a textarea's `placeholder` and `default` to 3,000.
public struct MattermostDialog: Sendable, Hashable, Encodable {
    /// An input (`model.DialogElement`); Klaxon uses a `textarea` only.
    public struct Element: Sendable, Hashable, Encodable {
        public var displayName: String
        /// The key of the value in the submission, and of its message in an `errors` answer.
        public var name: String
        public var type: String
        public var placeholder: String?
        public var helpText: String?
        public var optional: Bool
        public var minLength: Int?
        public var maxLength: Int?

        public init(
            displayName: String, name: String, type: String, placeholder: String? = nil, helpText: String? = nil, optional: Bool = false,
            minLength: Int? = nil, maxLength: Int? = nil
        ) {
            self.displayName = displayName
            self.name = name
            self.type = type
            self.placeholder = placeholder
            self.helpText = helpText
            self.optional = optional
            self.minLength = minLength
            self.maxLength = maxLength
        }

        enum CodingKeys: String, CodingKey {
            case displayName = "display_name"
            case name, type, placeholder, optional
            case helpText = "help_text"
            case minLength = "min_length"
            case maxLength = "max_length"
        }
    }

    /// Comes back with the submission, so one URL can serve several dialogs.
    public var callbackID: String
    public var title: String
    public var introductionText: String?
    public var elements: [Element]
    public var submitLabel: String
    /// False: a cancelled dialog sends nothing (there is nothing to undo).
    public var notifyOnCancel: Bool
    /// Echoed back unchanged with the submission.
    public var state: String

    public init(
        callbackID: String, title: String, introductionText: String? = nil, elements: [Element], submitLabel: String, notifyOnCancel: Bool = false,
        state: String
    ) {
        self.callbackID = callbackID
        self.title = title
        self.introductionText = introductionText
        self.elements = elements
        self.submitLabel = submitLabel
        self.notifyOnCancel = notifyOnCancel
        self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case callbackID = "callback_id"
        case title, elements, state
        case introductionText = "introduction_text"
        case submitLabel = "submit_label"
        case notifyOnCancel = "notify_on_cancel"
    }
}

/// What the Mattermost server POSTs to a dialog's `url` (`SubmitDialogRequest`): `type`
/// (`dialog_submission`), `callback_id`, `state`, `user_id`, `channel_id`, `team_id`, `submission` (field
/// name → value) and `cancelled`. It names the user by id only.
public struct MattermostDialogSubmission: Sendable, Hashable, Decodable {
    public var type: String?
    public var callbackID: String
    public var state: String
    public var userID: String
    /// The channel the user was in when submitting; may be empty.
    public var channelID: String
    public var teamID: String?
    /// String values of `submission`; a textarea's value is a string, other kinds are left out.
    public var submission: [String: String]
    public var cancelled: Bool

    enum CodingKeys: String, CodingKey {
        case type, state, submission, cancelled
        case callbackID = "callback_id"
        case userID = "user_id"
        case channelID = "channel_id"
        case teamID = "team_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        userID = try container.decode(String.self, forKey: .userID)
        guard !userID.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .userID, in: container, debugDescription: "user_id must not be empty")
        }
        type = try container.decodeIfPresent(String.self, forKey: .type)
        callbackID = try container.decodeIfPresent(String.self, forKey: .callbackID) ?? ""
        state = try container.decodeIfPresent(String.self, forKey: .state) ?? ""
        channelID = try container.decodeIfPresent(String.self, forKey: .channelID) ?? ""
        teamID = try container.decodeIfPresent(String.self, forKey: .teamID)
        // Read leniently: a submission without values (a cancel) or with odd ones still names its dialog.
        let values = (try? container.decodeIfPresent([String: LenientString].self, forKey: .submission)) ?? nil
        submission = values?.compactMapValues(\.value) ?? [:]
        cancelled = (try? container.decodeIfPresent(Bool.self, forKey: .cancelled)) ?? false
    }
}

/// The answer to a submission: `{}` closes the dialog; `errors` (field name → message) keeps it open with
/// the messages under the fields; `error` is a message for the whole form (newer servers show it).
public struct MattermostDialogResponse: Sendable, Hashable, Encodable {
    public var errors: [String: String]?
    public var error: String?

    public init(errors: [String: String]? = nil, error: String? = nil) {
        self.errors = errors
        self.error = error
    }

    public static let close = MattermostDialogResponse()
}

/// The "Post update" form: one text area, whose submission Klaxon runs as `/incident update <INC> <text>`
/// for the person who submits it.
public struct MattermostUpdateDialog: Sendable {
    public static let callbackID = "klaxon-update"
    /// The text area's name: the submission's key, and where an error message is shown.
    public static let field = "update"
    /// A textarea holds at most this much (the server's `DialogElementTextareaMaxLength`).
    public static let maxLength = 3000

    /// Where Mattermost POSTs the submission.
    public let url: String
    public let signer: MattermostActionSigner

    public init(url: String, signer: MattermostActionSigner) {
        self.url = url
        self.signer = signer
    }

    /// `POST /mattermost/dialogs` at the same externally reachable place as `actionsURL`: its last path
    /// segment replaced (`…/mattermost/actions` → `…/mattermost/dialogs`), so whatever proxy forwards
    /// the one can forward the other.
    public static func url(besideActionsURL actionsURL: String) -> String? {
        guard let actions = URL(string: actionsURL), actions.scheme != nil, let dialogs = URL(string: "dialogs", relativeTo: actions) else { return nil }
        return dialogs.absoluteString
    }

    /// Ties a dialog to the click that opened it: the same for a click delivered twice, so a submission
    /// of either dialog counts once (see `MattermostDialogSubmission`'s dedupe key), and different for
    /// every other click. Hashed because the trigger id is long and of no use beyond this.
    public static func nonce(forTriggerID triggerID: String) -> String {
        HexHMAC.hex(SHA256.hash(data: Data(triggerID.utf8)).prefix(16))
    }

    /// The request that shows `userID` the form for `incident`.
    public func openRequest(triggerID: String, incident: IncidentID, userID: String) -> MattermostOpenDialogRequest {
        let state = signer.dialogState(callbackID: Self.callbackID, incident: incident, userID: userID, nonce: Self.nonce(forTriggerID: triggerID))
        let dialog = MattermostDialog(
            callbackID: Self.callbackID, title: "Update \(incident)",
            introductionText: "Posted in the incident's channel for everyone, and added to the timeline.",
            elements: [
                .init(
                    displayName: "What changed", name: Self.field, type: "textarea",
                    placeholder: "e.g. Failover to the replica done; error rate back to normal", optional: false, minLength: 1,
                    maxLength: Self.maxLength)
            ],
            submitLabel: "Post update", state: state)
        return MattermostOpenDialogRequest(triggerID: triggerID, url: url, dialog: dialog)
    }
}

extension MattermostDialogSubmission {
    /// The incident and click a submission of the update form is for, when its `state` is Klaxon's, for
    /// this form and this user; nil otherwise.
    public func verifiedUpdate(_ signer: MattermostActionSigner) -> (incident: IncidentID, nonce: String)? {
        signer.verifiedDialogState(state, callbackID: callbackID, userID: userID).flatMap { verified in
            callbackID == MattermostUpdateDialog.callbackID ? verified : nil
        }
    }

    /// One dialog is submitted once: a proxy repeating the POST, or a second submission of the same
    /// form, changes nothing twice.
    public static func inboundKey(nonce: String) -> String { "mattermost:dialog:\(nonce)" }
}
