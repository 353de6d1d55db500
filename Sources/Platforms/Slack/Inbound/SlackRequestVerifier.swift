import Crypto
import Foundation
import IncidentCore

/// Checks that an HTTP request really comes from Slack (docs.slack.dev/authentication/verifying-requests-from-slack):
/// `X-Slack-Signature` must be `v0=` + hex HMAC-SHA256, keyed with the app's signing secret, of
/// `v0:{X-Slack-Request-Timestamp}:{raw body}`, and the timestamp must be within five minutes of now so
/// that a captured request cannot be replayed later.
public struct SlackRequestVerifier: Sendable {
    /// How far the request's timestamp may be from our clock, either way.
    public static let maximumClockSkew: TimeInterval = 5 * 60

    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case missingTimestamp
        case missingSignature
        case malformedTimestamp
        /// The timestamp is more than five minutes from now: a replay, or a badly wrong clock.
        case staleTimestamp
        case malformedSignature
        case signatureMismatch

        public var description: String {
            switch self {
            case .missingTimestamp: "missing X-Slack-Request-Timestamp"
            case .missingSignature: "missing X-Slack-Signature"
            case .malformedTimestamp: "malformed X-Slack-Request-Timestamp"
            case .staleTimestamp: "X-Slack-Request-Timestamp is more than 5 minutes from now"
            case .malformedSignature: "malformed X-Slack-Signature"
            case .signatureMismatch: "X-Slack-Signature does not match the body"
            }
        }
    }

    private let key: SymmetricKey
    private let clock: any WallClock

    public init(signingSecret: Secret, clock: any WallClock) {
        self.key = HexHMAC.key(signingSecret)
        self.clock = clock
    }

    /// Throws unless `signature` signs `body` at `timestamp` and `timestamp` is recent.
    public func verify(body: some DataProtocol, timestamp: String?, signature: String?) throws(Failure) {
        guard let timestamp else { throw .missingTimestamp }
        guard let signature else { throw .missingSignature }
        guard let seconds = Int64(timestamp) else { throw .malformedTimestamp }
        let age = clock.now().timeIntervalSince1970 - TimeInterval(seconds)
        guard abs(age) <= Self.maximumClockSkew else { throw .staleTimestamp }
        guard signature.hasPrefix("v0=") else { throw .malformedSignature }
        let claimed = signature.dropFirst(3)
        guard HexHMAC.bytes(fromHex: claimed)?.count == SHA256.byteCount else { throw .malformedSignature }
        guard HexHMAC.isValid(claimed, for: Self.message(timestamp: timestamp, body: body), key: key) else { throw .signatureMismatch }
    }

    /// The `X-Slack-Signature` value Slack would send; the tests and the load client sign with it.
    public static func signature(signingSecret: Secret, timestamp: String, body: some DataProtocol) -> String {
        "v0=" + HexHMAC.sign(message(timestamp: timestamp, body: body), key: HexHMAC.key(signingSecret))
    }

    /// `v0:{timestamp}:{body}`, the basestring Slack signs.
    private static func message(timestamp: String, body: some DataProtocol) -> Data {
        var message = Data("v0:\(timestamp):".utf8)
        message.append(contentsOf: body)
        return message
    }
}
