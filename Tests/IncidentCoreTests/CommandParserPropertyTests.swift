import Foundation
import KlaxonTestSupport
import Testing

@testable import IncidentCore

/// Generated input for the command parser: every command of `CommandParserTests`, mutated many times
/// with a seeded generator (the same inputs on every run, so a failure reproduces), plus pure noise.
/// A crash fails the whole test run; the expectations check that what comes back stays within bounds.
@Suite("CommandParser under generated input")
struct CommandParserPropertyTests {
    static let parser = CommandParser(
        severities: [
            SeverityPolicy(id: "sev1", aliases: ["p0", "critical"], name: "Critical"),
            SeverityPolicy(id: "sev2", aliases: ["p1"], name: "Major"),
            SeverityPolicy(id: "sev3", name: "Minor"),
        ],
        rotationIDs: ["primary", "secondary"])

    /// Fragments that have tripped parsers before: numbers past every integer type, float spellings,
    /// other scripts' digits, zero-width and combining characters, Slack markup and escapes, quotes,
    /// the parser's own keywords and date shapes.
    static let fragments: [String] = [
        "99999999999999999999", "9223372036854775807", "9223372036854775808", "-1", "0", "1e308", "nan", "inf",
        "٣", "𝟘", "１２", "\u{0}", "\u{200B}", "\u{FEFF}", "e\u{301}", "👩‍👩‍👧", "🇩🇪", "\r\n", "\n", "\t", " ", "  ",
        "<", ">", "<@", "<@U1|bob>", "<!channel>", "<!subteam^S1|@ops>", "&amp;", "&lt;", "&gt;", "&", "|",
        "\"", "“", "”", "„", "«", "»", "'", "‘", "’",
        "s", "m", "h", "d", "w", "1h30m", "10000000000000000s", "366d", "365d", "52w",
        "INC-", "INC-0", "INC-1", "INC-99999999999999999999", "inc-7",
        "sev", "sev1", "SEV-1", "Sev", "p0", "p", "@", "@bob", "@here", "@all", "#",
        "until", "for", "override", "oncall", "rotation:", "rotation:primary", "primary", "all",
        "2026-02-29", "9999-12-31", "0000-01-01", "2026-11-25T09:00", "T", "24:60", "23:59", "9:5", ":", "-",
        "/incident", "!incident", "declare", "update", "status", "resolved", "role", "ic", "page", "help",
    ]

    static var corpus: [String] {
        allValidCases.map(\.input) + allInvalidCases.map(\.input)
            + ["oncall override @bob for 10000000000000000s", "oncall override @bob until 9999-12-31 23:59"]
    }

    @Test("10,000 mutated and random commands: none crashes, every answer stays within bounds")
    func generatedInputsNeverCrash() {
        var random = SeededGenerator(seed: 0x4B4C_4158_4F4E)
        let seeds = Self.corpus
        for round in 0..<10_000 {
            let input: String
            switch round % 10 {
            case 0: input = Self.noise(&random)
            case 1 where round % 500 == 1: input = Self.longInput(&random)
            default: input = Self.mutate(seeds.randomElement(using: &random) ?? "", &random)
            }
            let result = Self.parser.parse(input)
            Self.checkBounds(result, input: input)
            // Pure: the same input reads the same way twice.
            #expect(Self.parser.parse(input) == result, "\(input.debugDescription)")
        }
    }

    @Test("oversized numbers in every numeric position are refused with a usage message")
    func oversizedNumbersAreRefused() {
        let huge = "99999999999999999999999999"
        for input in [
            "oncall override @bob for \(huge)s", "oncall override @bob for \(huge)", "oncall override @bob for 1w\(huge)d",
            "oncall override @bob until \(huge)-01-01 09:00", "oncall override @bob until 2026-01-01 \(huge):00",
            "ack INC-\(huge)", "update INC-\(huge) text", "declare sev\(huge) title", "declare p\(huge) title",
        ] {
            let result = Self.parser.parse(input)
            Self.checkBounds(result, input: input)
            if case .success(let command) = result {
                // Only as text: `INC-<huge>` is not an incident reference, so it is read as the update.
                #expect(command.freeText?.contains(huge) == true, "\(input) → \(command)")
            }
        }
    }

    // MARK: - Bounds

    static func checkBounds(_ result: Result<IncidentCommand, CommandUsageError>, input: String) {
        switch result {
        case .success(let command):
            if let text = command.freeText {
                #expect(!text.isEmpty && text.count <= FreeText.maximumLength, "\(input.debugDescription)")
            }
            if case .oncall(.override(_, _, let end)) = command {
                switch end {
                case .duration(let span):
                    #expect(span > .zero && span <= TimeSpan.maximum, "\(input.debugDescription)")
                case .localTime(let year, let month, let day, let hour, let minute):
                    #expect((0...9999).contains(year) && (1...12).contains(month) && (1...31).contains(day), "\(input.debugDescription)")
                    #expect((0...23).contains(hour) && (0...59).contains(minute), "\(input.debugDescription)")
                }
            }
        case .failure(let error):
            // Refusals quote at most a short piece of the input, never a pasted wall of text.
            #expect(!error.message.isEmpty && !error.usage.isEmpty, "\(input.debugDescription)")
            #expect(error.replyText.count < 600, "\(input.debugDescription)")
        }
    }

    // MARK: - Generators

    static func mutate(_ seed: String, _ random: inout SeededGenerator) -> String {
        var characters = Array(seed)
        for _ in 0...Int.random(in: 0...3, using: &random) {
            let position = Int.random(in: 0...characters.count, using: &random)
            switch Int.random(in: 0...4, using: &random) {
            case 0:
                let fragment = fragments.randomElement(using: &random) ?? ""
                characters.insert(contentsOf: fragment, at: position)
            case 1 where !characters.isEmpty:
                let end = min(characters.count, position + Int.random(in: 1...8, using: &random))
                characters.removeSubrange(min(position, end)..<end)
            case 2 where !characters.isEmpty:
                let start = min(position, characters.count - 1)
                let end = min(characters.count, start + Int.random(in: 1...12, using: &random))
                characters.insert(contentsOf: characters[start..<end], at: start)
            case 3:
                // Replace a word-separating space with another kind of white space, or none.
                if let space = characters.indices.filter({ characters[$0] == " " }).randomElement(using: &random) {
                    characters[space] = ["\t", "\n", "\u{00A0}", "\u{3000}", "_"].randomElement(using: &random) ?? " "
                }
            default:
                let scalar = Unicode.Scalar(UInt32.random(in: 0...0x2FFFF, using: &random)) ?? "?"
                characters.insert(Character(scalar), at: position)
            }
        }
        return String(characters)
    }

    /// Fragments strung together, with no seed command underneath.
    static func noise(_ random: inout SeededGenerator) -> String {
        (0..<Int.random(in: 0...12, using: &random))
            .map { _ in fragments.randomElement(using: &random) ?? "" }
            .joined(separator: Bool.random(using: &random) ? " " : "")
    }

    /// A pasted log: a verb, then tens of thousands of characters.
    static func longInput(_ random: inout SeededGenerator) -> String {
        let verb = ["declare sev1", "update", "note INC-1", "resolve", "oncall override @bob for", "ack"].randomElement(using: &random) ?? ""
        let body = (0..<5_000).map { _ in fragments.randomElement(using: &random) ?? "" }.joined(separator: " ")
        return "\(verb) \(body)"
    }
}
