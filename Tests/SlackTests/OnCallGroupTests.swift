import Foundation
import IncidentCore
import KlaxonTestSupport
import Platforms
import Server
import Storage
import Testing

@Suite("Slack on-call user group")
struct OnCallGroupTests {
    @Test func userGroupFollowsTheRotationAndOverrides() async throws {
        var options = SlackHarness.Options()
        options.userGroup = "S0ONCALL"
        try await SlackHarness.run(options) { slack in
            let config = slack.daemon.config
            func onCall(_ rotation: String) throws -> String {
                let person = RotationSchedule(rotation: try #require(config.oncall.rotation(id: rotation))).onCall(at: slack.clock.now(), overrides: [])
                    .personID
                return try #require(config.people[person]?.slack)
            }
            let expected = try [onCall("primary"), onCall("secondary")].sorted().joined(separator: ",")
            // At start: the group is set to whoever is on call.
            #expect(await eventually { slack.fake.calls("usergroups.users.update").count == 1 })
            let first = try #require(slack.fake.calls("usergroups.users.update").first)
            #expect(first["usergroup"] == "S0ONCALL")
            #expect(first["users"] == expected)

            // A page with nothing changed does not write again. The sync handles its wake-ups one after
            // another, so once the override's write below is seen, the page's wake-up has been handled too:
            // the list of writes at the end shows whether it wrote again (no wall-clock wait for "nothing").
            _ = try await slack.declare()
            try await slack.deliverAll()

            // An override changes who is on call: the group follows.
            let primary = try onCall("primary")
            let standIn = primary == "U0ALICE" ? ("U0BOB", "bob") : ("U0ALICE", "alice")
            let reply = try await slack.slash("oncall override <@\(standIn.0)|\(standIn.1)> primary for 4h")
            #expect(reply.type == "in_channel", "\(reply.text)")
            #expect(await eventually { slack.fake.calls("usergroups.users.update").contains { $0["users"]?.contains(standIn.0) == true } })
            let writes = slack.fake.calls("usergroups.users.update").compactMap { $0["users"] }
            #expect(writes.count == 2, "one write at start, one for the override, none for the page: \(writes)")
            let users = writes.last?.split(separator: ",").map(String.init) ?? []
            #expect(users.contains(standIn.0))
            #expect(!users.contains(primary))
        }
    }
}
