/// How config problems show values and suggest corrections.
enum ConfigText {
    /// How a wrong value is shown: scalars as written, containers by kind, secrets by kind only.
    static func describe(_ value: JSONValue, isSecret: Bool = false) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): isSecret ? "a boolean" : String(flag)
        case .number(let literal): isSecret ? "a number" : literal
        case .string(let text): isSecret ? "a string" : quote(text)
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// `"text"`, with quotes, backslashes and line breaks escaped so a problem stays on one line.
    static func quote(_ text: String) -> String {
        "\"\(escape(text))\""
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            case "\r\n": escaped += "\\r\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// ` (did you mean "port"?)` when a known word is close, else ` (known keys: a, b, c)`.
    static func hint(for word: String, among candidates: [String], known: String) -> String {
        if let suggestion = closest(to: word, among: candidates) { return " (did you mean \(quote(suggestion))?)" }
        guard !candidates.isEmpty else { return "" }
        return " (known \(known): \(candidates.joined(separator: ", ")))"
    }

    /// ` (did you mean "bob"?)` when a candidate is close, else nothing.
    static func suggestion(for word: String, among candidates: [String]) -> String {
        closest(to: word, among: candidates).map { " (did you mean \(quote($0))?)" } ?? ""
    }

    /// The candidate nearest to `word` by edit distance (case-insensitive, a swap of neighbours counting as
    /// one edit), if near enough to be a plausible typo: one edit per three characters, at most three.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let allowed = max(1, min(3, word.count / 3))
        let wanted = Array(word.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(wanted, Array(candidate.lowercased()))
            if distance <= allowed, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.candidate
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var twoRowsBack = [Int](repeating: 0, count: b.count + 1)
        var previousRow = Array(0...b.count)
        var currentRow = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            currentRow[0] = i
            for j in 1...b.count {
                let substitution = previousRow[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                currentRow[j] = min(previousRow[j] + 1, currentRow[j - 1] + 1, substitution)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    currentRow[j] = min(currentRow[j], twoRowsBack[j - 2] + 1)
                }
            }
            (twoRowsBack, previousRow, currentRow) = (previousRow, currentRow, twoRowsBack)
        }
        return previousRow[b.count]
    }

    /// A name other settings refer to (a person, a rotation, a severity): letters, digits, `.`, `_`, `-`,
    /// starting with a letter or digit, so that `person:<id>` and chat commands can carry it.
    static func isValidIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "_" || $0 == "-") }
    }

    static let identifierRule = "letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit"
}
