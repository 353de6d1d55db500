import Foundation
import Testing

@testable import IncidentCore

/// `email:` targets (issue #15's mail) in the policy rules of issue #14: a due rule mails them through the
/// email lane, and the loader checks them as it does on escalation steps.
@Suite("Policy rules with email targets")
struct PolicyEmailTargetTests {
    typealias F = EngineFixture

    @Test("a due rule emails its email: targets once, beside the people it pages, and the timeline names the mailbox")
    func ruleSendsMail() throws {
        let engine = try PolicyRuleTests.engine { config in
            config.severities[0].notify = [
                PolicyRule(id: "ceo", at: .span(.hours(1)), notify: [.person("dave"), .email(.address("leadership@example.com"))])
            ]
        }
        let scenario = try EngineScenario("sev1", engine: engine)
        let changes = PolicyRuleTests.fire(scenario, rule: "severity:notify.ceo", at: F.time("10:00"))
        let mails = changes.outbox.compactMap { message -> EmailMessage? in
            if case .email(let mail) = message.action { return mail }
            return nil
        }
        #expect(mails.map(\.to) == [["leadership@example.com"]])
        #expect(changes.directMessageRecipients == ["dave"], "the person is still paged in chat")
        #expect(changes.timeline.contains { $0.text.contains("leadership@example.com (email)") })
    }

    @Test("an email: target in a rule needs email.smtp, as on an escalation step")
    func needsSMTP() {
        let json = PolicyConfigTests.json(sev1: #", "notify": [{ "notify": ["email:ops@example.com"] }]"#)
        #expect(PolicyConfigTests.problems(json) == ["severities[0].notify[0].notify[0]: email targets need email.smtp (docs/email.md)"])
    }
}
