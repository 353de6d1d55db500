import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Server
import Storage
import Testing

@Suite("Slack request signatures")
struct SignatureTests {
    /// The official worked example (docs.slack.dev), verified at its own time.
    @Test func workedExampleVerifies() throws {
        let example = SlackSamples.signingWorkedExample
        let secret = example.signingSecret
        let timestamp = example.timestamp
        let body = example.body
        let expected = example.expected
        // The signed bytes are the slash command's raw form body, as Slack posts it.
        #expect(FormBody(string: body)["command"] == "/webhook-collect")
        #expect(body.utf8.count == 362)

        #expect(SlackRequestVerifier.signature(signingSecret: Secret(secret), timestamp: timestamp, body: Data(body.utf8)) == expected)
        let clock = ManualClock(now: Date(timeIntervalSince1970: TimeInterval(timestamp)! + 30))
        let verifier = SlackRequestVerifier(signingSecret: Secret(secret), clock: clock)
        #expect(throws: Never.self) { try verifier.verify(body: Data(body.utf8), timestamp: timestamp, signature: expected) }
    }

    @Test func testVectors() throws {
        let vectors = SlackSamples.signingVectors
        #expect(vectors.count == 5)
        for vector in vectors {
            let name = vector.name
            let secret = Secret(vector.signingSecret)
            let timestamp = vector.timestamp
            let body = Data(vector.body.utf8)
            let expected = vector.expected
            let mustVerify = vector.mustVerify
            let clock = ManualClock(now: Date(timeIntervalSince1970: TimeInterval(timestamp)!))
            let verifier = SlackRequestVerifier(signingSecret: secret, clock: clock)
            let verified = (try? verifier.verify(body: body, timestamp: timestamp, signature: expected)) != nil
            #expect(verified == mustVerify, "\(name)")
            if mustVerify {
                #expect(SlackRequestVerifier.signature(signingSecret: secret, timestamp: timestamp, body: body) == expected, "\(name)")
            }
        }
    }

    @Test func refusesStaleAndFutureTimestamps() throws {
        let example = SlackSamples.signingWorkedExample
        let timestamp = example.timestamp
        let body = Data(example.body.utf8)
        let signature = example.expected
        let signedAt = TimeInterval(timestamp)!
        for (offset, accepted) in [(-301.0, false), (-300.0, true), (0.0, true), (300.0, true), (301.0, false), (86_400.0, false)] {
            let clock = ManualClock(now: Date(timeIntervalSince1970: signedAt + offset))
            let verifier = SlackRequestVerifier(signingSecret: Secret(Fixture.signingSecret), clock: clock)
            do {
                try verifier.verify(body: body, timestamp: timestamp, signature: signature)
                #expect(accepted, "clock \(offset)s from the timestamp")
            } catch {
                #expect(!accepted, "clock \(offset)s from the timestamp")
                #expect(error == .staleTimestamp)
            }
        }
    }

    @Test func refusesMalformedHeaders() throws {
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_531_420_618))
        let verifier = SlackRequestVerifier(signingSecret: Secret(Fixture.signingSecret), clock: clock)
        let body = Data("text=hi".utf8)
        let good = SlackRequestVerifier.signature(signingSecret: Secret(Fixture.signingSecret), timestamp: "1531420618", body: body)
        let cases: [(String?, String?, SlackRequestVerifier.Failure)] = [
            (nil, good, .missingTimestamp),
            ("1531420618", nil, .missingSignature),
            ("yesterday", good, .malformedTimestamp),
            ("1531420618", String(good.dropFirst(3)), .malformedSignature),
            ("1531420618", "v1=" + good.dropFirst(3), .malformedSignature),
            ("1531420618", "v0=zz" + good.dropFirst(5), .malformedSignature),
            ("1531420618", good + "00", .malformedSignature),
            ("1531420618", "v0=" + String(repeating: "0", count: 64), .signatureMismatch),
            ("1531420619", good, .signatureMismatch),
        ]
        for (timestamp, signature, failure) in cases {
            #expect(throws: failure) { try verifier.verify(body: body, timestamp: timestamp, signature: signature) }
        }
        // Another secret signs differently.
        let other = SlackRequestVerifier.signature(signingSecret: Secret("another-secret"), timestamp: "1531420618", body: body)
        #expect(throws: SlackRequestVerifier.Failure.signatureMismatch) { try verifier.verify(body: body, timestamp: "1531420618", signature: other) }
    }
}
