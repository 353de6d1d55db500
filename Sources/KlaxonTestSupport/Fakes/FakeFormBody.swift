import Foundation

/// The fields of an `application/x-www-form-urlencoded` body, read by the fakes themselves rather than
/// with Klaxon's decoder, so a mistake in one is not hidden by the same mistake in the other.
enum FakeFormBody {
    static func fields(_ body: some Collection<UInt8>) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
