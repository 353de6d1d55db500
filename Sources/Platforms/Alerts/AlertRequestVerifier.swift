import Foundation
import IncidentCore

/// Who may post an alert source's notifications: the holder of its bearer token (what Alertmanager's
/// `http_config.authorization` sends), or of its signing secret (`X-Klaxon-Signature: sha256=<hex HMAC-SHA256
/// of the body>`). Either configured credential suffices; a source must have at least one (the config
/// loader insists).
public struct AlertRequestVerifier: Sendable {
    public static let signatureHeader = "X-Klaxon-Signature"

    public init() {}

    public func isAuthorized(_ source: AlertSourceConfig, authorization: String?, signature: String?, body: Data) -> Bool {
        if let token = source.token, HexHMAC.tokenMatches(SharedToken.credentials(inAuthorization: authorization, scheme: "Bearer"), token) {
            return true
        }
        if let secret = source.signingSecret, let signature, signature.hasPrefix("sha256=") {
            return HexHMAC.isValid(signature.dropFirst("sha256=".count), for: body, key: HexHMAC.key(secret))
        }
        return false
    }

    /// The signature header a sender puts on `body`.
    public static func signature(of body: Data, secret: Secret) -> String {
        "sha256=" + HexHMAC.sign(body, key: HexHMAC.key(secret))
    }
}
