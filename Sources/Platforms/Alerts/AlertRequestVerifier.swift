import Crypto
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
        if let token = source.token, let authorization {
            let prefix = "Bearer "
            if authorization.count > prefix.count, authorization.prefix(prefix.count).caseInsensitiveCompare(prefix) == .orderedSame {
                let presented = authorization.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
                if Self.constantTimeEqual(Array(presented.utf8), Array(token.exposedValue.utf8)) { return true }
            }
        }
        if let secret = source.signingSecret, let signature, signature.hasPrefix("sha256="),
           let claimed = Self.bytes(fromHex: signature.dropFirst("sha256=".count)) {
            let key = SymmetricKey(data: Data(secret.exposedValue.utf8))
            return HMAC<SHA256>.isValidAuthenticationCode(claimed, authenticating: body, using: key)
        }
        return false
    }

    /// The signature header a sender puts on `body`.
    public static func signature(of body: Data, secret: Secret) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.exposedValue.utf8)))
        return "sha256=" + mac.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    /// Compares every byte whatever the first difference (and the lengths last), so the time taken says
    /// nothing about how much of a forged token was right.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        for index in 0..<max(lhs.count, rhs.count) {
            difference |= (index < lhs.count ? lhs[index] : 0) ^ (index < rhs.count ? rhs[index] : 0)
        }
        return difference == 0
    }

    static func bytes(fromHex hex: Substring) -> [UInt8]? {
        guard hex.utf8.count == 64 else { return nil }
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in hex.utf8 {
            guard let nibble = character.hexDigitValue else { return nil }
            if let first = high {
                bytes.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }
}
