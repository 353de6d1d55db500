import Foundation
import IncidentCore
import Testing

@testable import Platforms

/// The shared toolkit of the outbound clients: one hex/HMAC helper, one cooldown gate, one backoff.
@Suite("Toolkit: hex HMAC, cooldown gate, backoff")
struct ToolkitTests {
    @Test func hexRoundTripsAndRefusesWhatIsNotHex() {
        let bytes: [UInt8] = [0x00, 0x0f, 0xa5, 0xff]
        #expect(HexHMAC.hex(bytes) == "000fa5ff")
        #expect(HexHMAC.bytes(fromHex: "000FA5ff") == bytes)
        #expect(HexHMAC.bytes(fromHex: "abc") == nil, "half a byte")
        #expect(HexHMAC.bytes(fromHex: "zz") == nil)
        #expect(HexHMAC.bytes(fromHex: "") == [])
    }

    @Test func aSignatureChecksOnlyWithItsKeyAndMessage() {
        let key = HexHMAC.key(Secret("s3cret"))
        let message = Data("v1:1764547200:{}".utf8)
        let signature = HexHMAC.sign(message, key: key)
        #expect(signature.count == 64)
        #expect(HexHMAC.isValid(signature, for: message, key: key))
        #expect(HexHMAC.isValid(signature.uppercased(), for: message, key: key), "hex is read in either case")
        #expect(!HexHMAC.isValid(signature, for: Data("v1:1764547201:{}".utf8), key: key))
        #expect(!HexHMAC.isValid(signature, for: message, key: HexHMAC.key(Secret("other"))))
        #expect(!HexHMAC.isValid(signature.dropLast(2), for: message, key: key), "a truncated MAC")
        #expect(!HexHMAC.isValid("not hex", for: message, key: key))
    }

    @Test func tokensMatchOnlyWhenEqualAndSet() {
        #expect(HexHMAC.tokenMatches("abc", Secret("abc")))
        #expect(!HexHMAC.tokenMatches("abd", Secret("abc")))
        #expect(!HexHMAC.tokenMatches("abcd", Secret("abc")))
        #expect(!HexHMAC.tokenMatches(nil, Secret("abc")))
        #expect(!HexHMAC.tokenMatches("", Secret("")), "an unset token accepts nothing")
        #expect(!HexHMAC.tokenMatches("abc", nil))
    }

    @Test func aCooldownHoldsEveryCallerUntilItEndsOrOpens() {
        let gate = CooldownGate()
        let now = Date(timeIntervalSince1970: 1_000)
        #expect(gate.remaining("chat.postMessage", now: now) == nil)
        gate.coolDown("chat.postMessage", for: 30, now: now)
        gate.close("chat.postMessage", until: now.addingTimeInterval(10))
        #expect(gate.remaining("chat.postMessage", now: now) == 30, "the later end wins")
        #expect(gate.remaining("users.info", now: now) == nil, "per key")
        #expect(gate.remaining("chat.postMessage", now: now.addingTimeInterval(30)) == nil)
        gate.close("rooms", until: now.addingTimeInterval(60))
        gate.open("rooms")
        #expect(gate.remaining("rooms", now: now) == nil)
    }

    @Test func backoffDoublesUpToItsCapWithInjectedJitter() {
        let none = Backoff(initial: 1, maximum: 300, unitRandom: { 0 })
        let all = Backoff(initial: 1, maximum: 300, unitRandom: { 1 })
        #expect((1...4).map { none.delay(failures: $0) } == [0.5, 1, 2, 4])
        #expect((1...4).map { all.delay(failures: $0) } == [1, 2, 4, 8])
        #expect(all.delay(failures: 0) == 1, "no failure yet counts as the first")
        #expect(all.delay(failures: 1_000) == 300)
        #expect(none.delay(failures: 1_000) == 150)
        #expect(Backoff(initial: 1, maximum: 300, unitRandom: { 7 }).delay(failures: 1) == 1, "randomness out of range is clamped")
        // A seeded source gives the same sequence every run.
        let seeded = Backoff(initial: 2, maximum: 60, unitRandom: { 0.25 })
        #expect(seeded.delay(failures: 3) == 5)
    }
}
