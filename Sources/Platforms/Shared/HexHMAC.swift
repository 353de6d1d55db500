import Crypto
import Foundation
import IncidentCore

/// Klaxon's one way to write and check hex HMAC-SHA256s and shared tokens: Slack's request signatures,
/// the pager and status webhooks' signatures, alert sources' signatures and tokens, Mattermost's button and
/// dialog tokens, and the API and webhook tokens.
///
/// Every check compares in constant time through swift-crypto (`isValidAuthenticationCode`, and digest
/// equality), so how long an answer takes says nothing about how much of a forgery was right.
public enum HexHMAC {
    /// The key of a configured secret.
    public static func key(_ secret: Secret) -> SymmetricKey {
        SymmetricKey(data: Data(secret.exposedValue.utf8))
    }

    /// Lowercase hex of the HMAC-SHA256 of `message`.
    public static func sign(_ message: some DataProtocol, key: SymmetricKey) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// Whether `claimed` (hex, either case) is the HMAC-SHA256 of `message`.
    public static func isValid(_ claimed: some StringProtocol, for message: some DataProtocol, key: SymmetricKey) -> Bool {
        guard let bytes = bytes(fromHex: claimed), bytes.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(bytes, authenticating: message, using: key)
    }

    /// Whether a presented token is the configured one. Both are hashed and the digests compared in
    /// constant time, so neither the time taken nor the lengths leak; an unset (empty) token matches nothing.
    public static func tokenMatches(_ presented: String?, _ expected: Secret?) -> Bool {
        guard let presented, let expected, !expected.isEmpty else { return false }
        return SHA256.hash(data: Data(presented.utf8)) == SHA256.hash(data: Data(expected.exposedValue.utf8))
    }

    /// Lowercase hex, two digits a byte.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var digits: [UInt8] = []
        digits.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            digits.append(hexDigits[Int(byte >> 4)])
            digits.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// The bytes `hex` spells (either case); nil unless it is whole bytes of hex digits.
    public static func bytes(fromHex hex: some StringProtocol) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = digits[index].hexDigitValue, let low = digits[index + 1].hexDigitValue else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

extension UInt8 {
    /// The value of this byte as an ASCII hex digit (either case), or nil: for percent escapes in forms and
    /// the hex HMACs above.
    var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
