import Foundation
import Testing

@testable import IncidentCore

/// `JSONText` writes what the stores keep (incident bodies, outbox actions) in one pass: its text must
/// read back, through `JSONDecoder`, into the very value written, and hold the same JSON as
/// `JSONEncoder`'s; what it cannot write in one pass goes to the fallback and still comes out right.
@Suite("JSON text in one pass")
struct JSONTextTests {
    typealias F = EngineFixture

    /// Reads back into `value`, and parses to the same JSON as `JSONEncoder` writes.
    private func expectSameJSON<Value: Codable & Equatable>(_ value: Value, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let text = try JSONText.encode(value, fallback: JSONEncoder())
        #expect(try JSONDecoder().decode(Value.self, from: Data(text.utf8)) == value, "read back: \(text)", sourceLocation: sourceLocation)
        let ours = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as? NSObject
        let theirs = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(value), options: [.fragmentsAllowed]) as? NSObject
        #expect(ours != nil && ours == theirs, "\(text)", sourceLocation: sourceLocation)
    }

    /// Every incident and every outbox action a lifetime of commands writes, from declaration to review.
    @Test func whatTheEngineWritesReadsBackTheSame() throws {
        var scenario = try EngineScenario("sev1", title: "Checkout \"down\" \\ for EU/US\tusers: 50% errors 🔥")
        var decisions = [scenario.declaration]
        decisions.append(scenario.run(.ack(nil), by: F.bob, at: F.time("09:03")))
        decisions.append(scenario.run(.role(nil, .techLead, F.carol), at: F.time("09:04")))
        decisions.append(scenario.run(.update(nil, text: "Rolled back\nwatching <graphs> & \u{1}logs"), at: F.time("09:10")))
        decisions.append(scenario.run(.severity(nil, "sev2"), at: F.time("09:20")))
        decisions.append(scenario.run(.note(nil, text: "é ü 漢字 \u{7f}"), at: F.time("09:21")))
        decisions.append(scenario.run(.page(nil, .rotation("secondary")), at: F.time("09:22")))
        decisions.append(scenario.run(.mitigate(nil, text: "Failover done"), at: F.time("09:30")))
        decisions.append(scenario.run(.resolve(nil, text: "Pool resized", monitor: nil), at: F.time("10:00").addingTimeInterval(0.125)))
        decisions.append(scenario.run(.close(nil, text: nil), at: F.time("10:30")))
        decisions.append(scenario.run(.postmortem(nil), at: F.time("11:00")))

        var incidents = 0
        var actions = 0
        for decision in decisions {
            for write in decision.changes.incidents {
                try expectSameJSON(write.incident)
                incidents += 1
            }
            for message in decision.changes.outbox {
                try expectSameJSON(message.action)
                actions += 1
            }
        }
        #expect(incidents >= 8)
        #expect(actions >= 5)
    }

    @Test func stringsAreEscapedWhereJSONRequires() throws {
        let awkward = "quote \" backslash \\ slash / newline \n return \r tab \t bell \u{7} nul \u{0} unit \u{1f} del \u{7f} é 🔥"
        try expectSameJSON(awkward)
        try expectSameJSON([awkward: [awkward]])
        #expect(try JSONText.encode("a\"b\\c\u{1}\n\t\r", fallback: JSONEncoder()) == #""a\"b\\c\u0001\n\t\r""#)
    }

    /// Containers left empty, optionals, numbers at their limits, nested collections and dictionaries
    /// keyed by numbers.
    @Test func shapesReadBackTheSame() throws {
        struct Shapes: Codable, Equatable {
            var empty: [String] = []
            var emptyMap: [String: Int] = [:]
            var missing: String?
            var present: Int? = 0
            var numbers: [Double] = [0, -0.0, 0.1, 1e-300, 1.7976931348623157e308, 784_465_200.123_456, -2.5]
            var floats: [Float] = [0.1, 3.4028235e38]
            var integers: [Int64] = [.min, .max]
            var small: [Int8] = [-128, 127]
            var unsigned: UInt64 = .max
            var flags = [true, false]
            var nested: [[String: [Int]]] = [["a": [1, 2]], [:]]
            var byNumber: [Int: String] = [1: "one", -2: "minus two"]
            var date = Date(timeIntervalSince1970: 1_762_772_400.123)
            var span = TimeSpan.minutes(15)
        }
        try expectSameJSON(Shapes())
        try expectSameJSON(Shapes(missing: "here", present: nil))
    }

    /// A value that goes back to a container it has left cannot be written in one pass: the fallback
    /// writes it, and the text still reads back right.
    @Test func aValueThatWritesOutOfOrderGoesToTheFallback() throws {
        struct OutOfOrder: Codable, Equatable {
            var first = "a"
            var inner = ["x": 1]
            var second = ["x": 2]
            var last = "b"
            enum CodingKeys: String, CodingKey { case first, inner, second, last }
            enum InnerKeys: String, CodingKey { case x }

            init() {}
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                first = try container.decode(String.self, forKey: .first)
                inner = try container.decode([String: Int].self, forKey: .inner)
                second = try container.decode([String: Int].self, forKey: .second)
                last = try container.decode(String.self, forKey: .last)
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                var inner = container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
                try container.encode(first, forKey: .first)
                // Another container now stands where `inner` stood; then back to `inner`.
                var second = container.nestedContainer(keyedBy: InnerKeys.self, forKey: .second)
                try inner.encode(self.inner["x"], forKey: .x)
                try second.encode(self.second["x"], forKey: .x)
                try container.encode(last, forKey: .last)
            }
        }
        try expectSameJSON(OutOfOrder())
    }

    @Test func numbersJSONCannotHoldAreRefusedAsJSONEncoderRefusesThem() {
        #expect(throws: EncodingError.self) { try JSONText.encode([Double.nan], fallback: JSONEncoder()) }
        #expect(throws: EncodingError.self) { try JSONText.encode(["x": Double.infinity], fallback: JSONEncoder()) }
    }
}
