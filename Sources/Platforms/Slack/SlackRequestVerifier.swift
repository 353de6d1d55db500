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
        self.key = SymmetricKey(data: Data(signingSecret.exposedValue.utf8))
        self.clock = clock
    }

    /// Throws unless `signature` signs `body` at `timestamp` and `timestamp` is recent.
    public func verify(body: some DataProtocol, timestamp: String?, signature: String?) throws(Failure) {
        guard let timestamp else { throw .missingTimestamp }
        guard let signature else { throw .missingSignature }
        guard let seconds = Int64(timestamp) else { throw .malformedTimestamp }
        let age = clock.now().timeIntervalSince1970 - TimeInterval(seconds)
        guard abs(age) <= Self.maximumClockSkew else { throw .staleTimestamp }
        guard signature.hasPrefix("v0="), let claimed = Self.bytes(hex: signature.dropFirst(3)), claimed.count == SHA256.byteCount else {
            throw .malformedSignature
        }
        let expected = Self.mac(key: key, timestamp: timestamp, body: body)
        guard Self.constantTimeEqual(Array(expected), claimed) else { throw .signatureMismatch }
    }

    /// The `X-Slack-Signature` value Slack would send; the tests and the load client sign with it.
    public static func signature(signingSecret: Secret, timestamp: String, body: some DataProtocol) -> String {
        let key = SymmetricKey(data: Data(signingSecret.exposedValue.utf8))
        return "v0=" + mac(key: key, timestamp: timestamp, body: body).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    private static func mac(key: SymmetricKey, timestamp: String, body: some DataProtocol) -> HashedAuthenticationCode<SHA256> {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Data("v0:\(timestamp):".utf8))
        hmac.update(data: body)
        return hmac.finalize()
    }

    /// Compares every byte whatever the first difference, so the time taken says nothing about how much
    /// of a forged signature was right.
    private static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    private static func bytes(hex: Substring) -> [UInt8]? {
        guard hex.count % 2 == 0, hex.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
