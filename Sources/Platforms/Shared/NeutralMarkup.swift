import Foundation

/// Renders the neutral markup for platforms whose mentions are `@username`.
public enum NeutralMarkup {
    /// `<@alice>` → `@alice`; `<#room>` → `roomLink`.
    public static func render(_ text: String, roomLink: String?) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "<@") {
            out += rest[..<open.lowerBound]
            let after = rest[open.upperBound...]
            guard let close = after.firstIndex(of: ">") else {
                out += rest[open.lowerBound...]
                rest = ""
                break
            }
            out += "@" + after[..<close]
            rest = after[after.index(after: close)...]
        }
        out += rest
        return out.replacingOccurrences(of: "<#room>", with: roomLink ?? "the incident channel")
    }
}
