import Foundation
import Testing

@testable import IncidentCore

/// The engine's side of pager webhooks: which notices a change writes to the outbox, and what they hold.
@Suite("Pager webhook notices")
struct PagerNoticeTests {
    static func config(_ webhooks: [PagerWebhook], escalation: [EscalationStep] = EngineFixture.escalation) -> KlaxonConfig {
        var config = EngineFixture.config(escalation: escalation)
        config.paging = PagingConfig(webhooks: webhooks)
        config.people["bob"]?.phone = "+15550102"
        config.people["bob"]?.email = "bob@example.com"
        return config
    }

    static func webhook(_ id: String = "sms", severities: [String]? = nil, events: Set<PagerEvent> = PagerEvent.defaults) -> PagerWebhook {
        PagerWebhook(id: id, url: "https://\(id).example.com/hook", secret: Secret("webhook-secret-\(id)"), severities: severities, events: events)
    }

    static func notices(_ changes: ChangeSet) -> [PagerNotice] {
        changes.outbox.compactMap {
            if case .pagerWebhook(let notice) = $0.action { return notice }
            return nil
        }
    }

    @Test func declaringAPagingSeverityNotifiesEachWebhookWithThePeopleAndTheirNumbers() throws {
        let engine = try IncidentEngine(config: Self.config([Self.webhook("sms"), Self.webhook("voice")]))
        let scenario = try EngineScenario("sev1", title: "Checkout is down", platform: .slack, engine: engine)
        let notices = Self.notices(scenario.declaration.changes)
        #expect(notices.map(\.webhook) == ["sms", "voice"])
        let notice = try #require(notices.first)
        #expect(notice.event == .page)
        #expect(notice.reason == "declared")
        #expect(notice.at == EngineFixture.monday)
        #expect(notice.incident.id == scenario.incident.id.description)
        #expect(notice.incident.severity == "sev1")
        #expect(notice.incident.title == "Checkout is down")
        #expect(notice.incident.platform == "slack")
        // Bob is primary on the fixture's Monday.
        #expect(notice.people == [PagerNotice.PagedPerson(id: "bob", name: "Bob Brown", phone: "+15550102", email: "bob@example.com")])
        #expect(notice.text.contains("Checkout is down") && notice.text.contains("paged"))
        // Not tied to the incident: a slow gateway must not hold up the incident's chat messages.
        let rows = scenario.declaration.changes.outbox.filter { if case .pagerWebhook = $0.action { true } else { false } }
        #expect(rows.allSatisfy { $0.incidentID == nil })
    }

    @Test func severitiesThatDoNotPageOrAreFilteredOutSendNothing() throws {
        let engine = try IncidentEngine(config: Self.config([Self.webhook(severities: ["sev2"])]))
        #expect(Self.notices(try EngineScenario("sev1", engine: engine).declaration.changes).isEmpty)
        #expect(Self.notices(try EngineScenario("sev3", engine: engine).declaration.changes).isEmpty)
        #expect(Self.notices(try EngineScenario("sev2", engine: engine).declaration.changes).count == 1)
    }

    @Test func acknowledgementAndResolutionAreSentOnlyToWebhooksThatAskForThem() throws {
        let engine = try IncidentEngine(
            config: Self.config([
                Self.webhook("sms"), Self.webhook("voice", events: [.page, .acknowledged, .resolved]),
            ]))
        var scenario = try EngineScenario("sev1", engine: engine)
        let ack = scenario.run(.ack(nil), by: EngineFixture.bob, at: EngineFixture.time("09:03"))
        let acked = Self.notices(ack.changes)
        #expect(acked.map(\.webhook) == ["voice"])
        #expect(acked.first?.event == .acknowledged)
        #expect(acked.first?.reason == "by Bob Brown after 3 min")
        let resolve = scenario.run(.resolve(nil, text: "Rolled back"), at: EngineFixture.time("09:40"))
        #expect(Self.notices(resolve.changes).map(\.event) == [.resolved])
        #expect(Self.notices(resolve.changes).first?.reason == "by Alice Adams")
    }

    @Test func anAcknowledgementTimeoutEscalatesToTheNextStepsPeople() throws {
        let engine = try IncidentEngine(config: Self.config([Self.webhook()]))
        var world = EngineTimerWorld(try EngineScenario("sev1", engine: engine))
        world.runTimers(through: EngineFixture.time("09:05"))
        let escalations = world.fired.flatMap { Self.notices($0.changes) }
        #expect(escalations.map(\.event) == [.escalation])
        #expect(escalations.first?.escalationStep == 2)
        #expect(escalations.first?.people.map(\.id) == ["dave"])
        #expect(escalations.first?.at == EngineFixture.time("09:05"))
    }

    /// A gateway reaches people by phone whatever chat the incident is on: erin has no Slack account, so
    /// Slack can page nobody, but the webhook still calls her.
    @Test func peopleWithoutAnAccountOnThePlatformAreStillPagedByWebhook() throws {
        let chain = [EscalationStep(after: .zero, notify: [.person("erin")])]
        let engine = try IncidentEngine(config: Self.config([Self.webhook()], escalation: chain))
        let scenario = try EngineScenario("sev1", platform: .slack, engine: engine)
        #expect(Self.notices(scenario.declaration.changes).first?.people.map(\.id) == ["erin"])
        #expect(scenario.declaration.changes.postTexts(to: .incidentRoom).contains { $0.contains("Nobody could be paged") })
    }

    @Test func aPageByHandOfAConfiguredUserNamesThePerson() throws {
        let engine = try IncidentEngine(config: Self.config([Self.webhook()]))
        var scenario = try EngineScenario("sev2", engine: engine)
        let page = scenario.run(.page(nil, .user(EngineFixture.carol)), at: EngineFixture.time("09:10"))
        let notice = try #require(Self.notices(page.changes).first)
        #expect(notice.people.map(\.id) == ["carol"])
        #expect(notice.reason.hasPrefix("paged by"))
    }

    @Test func noWebhooksNoNotices() throws {
        let scenario = try EngineScenario("sev1")
        #expect(Self.notices(scenario.declaration.changes).isEmpty)
    }
}
