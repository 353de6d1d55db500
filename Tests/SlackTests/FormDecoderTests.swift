import Foundation
import Testing

@testable import Platforms

/// `FormDecoder`, the command path's form reader: the same payload types as Socket Mode's JSON, flat
/// fields only, and a damaged field refused rather than read as empty.
@Suite("Form decoding")
struct FormDecoderTests {
    private struct Fields: Decodable, Equatable {
        var name: String
        var count: Int?
        var ratio: Double?
        var flag: Bool?
        var missing: String?
    }

    @Test func flatFieldsDecodeWithTheirTypes() throws {
        let fields = try FormDecoder.decode(Fields.self, from: "name=a+b%2Bc&count=42&ratio=0.5&flag=1&extra=ignored")
        #expect(fields == Fields(name: "a b+c", count: 42, ratio: 0.5, flag: true, missing: nil))
        // A field present but empty is a value, not a missing one.
        #expect(try FormDecoder.decode(Fields.self, from: "name=").name == "")
    }

    @Test func whatDoesNotFitIsRefusedNamingTheField() throws {
        #expect(throws: DecodingError.self) { try FormDecoder.decode(Fields.self, from: "count=1") }
        do {
            _ = try FormDecoder.decode(Fields.self, from: "name=x&count=many")
            Issue.record("a count that is not a number decoded")
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["count"])
        }
        #expect(throws: DecodingError.self) { try FormDecoder.decode(Fields.self, from: "name=x&flag=maybe") }
        // A broken escape or bytes that are not UTF-8: the form is refused, not read with the field empty.
        #expect(throws: DecodingError.self) { try FormDecoder.decode(Fields.self, from: "name=%zz") }
        #expect(throws: DecodingError.self) { try FormDecoder.decode(Fields.self, from: "name=x&flag=%C3%28") }
        #expect(throws: DecodingError.self) { try FormDecoder.decode([String].self, from: "name=x") }
    }

    @Test func slashCommandsReadTheSameFromFormAndJSON() throws {
        let form = "command=%2Fincident&text=note+INC-1+r%C3%A9sum%C3%A9+%26+more&user_id=U1&user_name=alice&channel_id=C1&trigger_id=t.1"
        let fromForm = try SlackSlashCommand(form: form)
        let json = #"{"command":"/incident","text":"note INC-1 résumé & more","user_id":"U1","user_name":"alice","channel_id":"C1","trigger_id":"t.1"}"#
        let fromJSON = try JSONDecoder().decode(SlackSlashCommand.self, from: Data(json.utf8))
        #expect(fromForm == fromJSON)
        #expect(fromForm.text == "note INC-1 résumé & more")
        let mattermost = try MattermostSlashCommand.Form(body: "channel_id=c&user_id=u&user_name=bob&text=ack+INC-2&root_id=")
        #expect(mattermost.text == "ack INC-2")
        #expect(mattermost.rootID == "")
    }
}
