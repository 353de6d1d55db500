import Foundation

/// `${NAME}` and `${NAME:-fallback}` inside configuration strings, read from an environment the caller
/// passes in (so loading stays pure). The rules follow the shell's: `${NAME}` of a variable that is set but
/// empty is the empty string; `${NAME:-fallback}` uses the fallback when the variable is unset or empty.
/// `$${` writes a literal `${`. There is no nesting: the first `}` ends a reference.
enum EnvironmentInterpolation {
    enum Failure: Error, Sendable, Equatable {
        /// `${NAME}` where `NAME` is not in the environment and no fallback is given.
        case unset(name: String)
        /// `${` with no `}` after it.
        case unterminated
        /// `${…}` whose name is not letters, digits and `_` (not starting with a digit).
        case invalidName(String)
    }

    /// Whether `text` holds a reference at all (an escaped `$${` does not count); integer and boolean
    /// settings accept a string only when it does, since the environment only supplies strings.
    static func containsReference(_ text: String) -> Bool {
        var rest = Substring(text)
        while let range = rest.range(of: "${") {
            if range.lowerBound == rest.startIndex || rest[rest.index(before: range.lowerBound)] != "$" { return true }
            rest = rest[range.upperBound...]
        }
        return false
    }

    enum Expansion: Sendable, Equatable {
        case expanded(String)
        /// Every failure in the text, in order.
        case failed([Failure])
    }

    /// The text with every reference replaced, or every failure found in it.
    static func expand(_ text: String, environment: [String: String]) -> Expansion {
        guard text.contains("$") else { return .expanded(text) }
        var output = ""
        var failures: [Failure] = []
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let afterDollar = rest[rest.index(after: dollar)...]
            if afterDollar.hasPrefix("${") {
                output += "${"
                rest = afterDollar.dropFirst(2)
                continue
            }
            guard afterDollar.hasPrefix("{") else {
                output += "$"
                rest = afterDollar
                continue
            }
            let body = afterDollar.dropFirst()
            guard let close = body.firstIndex(of: "}") else {
                failures.append(.unterminated)
                rest = ""
                break
            }
            switch resolve(body[..<close], environment: environment) {
            case .success(let value): output += value
            case .failure(let failure): failures.append(failure)
            }
            rest = body[body.index(after: close)...]
        }
        output += rest
        return failures.isEmpty ? .expanded(output) : .failed(failures)
    }

    /// One reference's body, between `${` and `}`.
    private static func resolve(_ body: Substring, environment: [String: String]) -> Result<String, Failure> {
        let name: Substring
        let fallback: Substring?
        if let separator = body.range(of: ":-") {
            name = body[..<separator.lowerBound]
            fallback = body[separator.upperBound...]
        } else {
            name = body
            fallback = nil
        }
        guard isValidName(name) else { return .failure(.invalidName(String(name))) }
        let value = environment[String(name)]
        if let fallback, value == nil || value == "" { return .success(String(fallback)) }
        guard let value else { return .failure(.unset(name: String(name))) }
        return .success(value)
    }

    private static func isValidName(_ name: Substring) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCII, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }
}
