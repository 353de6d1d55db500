import Foundation
import Testing

@testable import IncidentCore

private typealias F = EngineFixture

/// What the public sees: published updates only, people taken out, the status page's model and the
/// status webhook notices; and the `component` and `action` verbs.
@Suite struct PublishingTests {
    static func config(webhooks: Bool = true) -> KlaxonConfig {
        var config = F.config()
        config.statusPage.components = [StatusPageComponent(id: "api", name: "Public API"), StatusPageComponent(id: "checkout", name: "Checkout")]
        if webhooks { config.statusPage.webhooks = [StatusWebhook(id: "page", url: "https://status.example.com/hook", secret: Secret("s"))] }
        return config
    }

    static func notices(_ decision: Decision) -> [StatusNotice] {
        decision.changes.outbox.compactMap { if case .statusWebhook(let notice) = $0.action { notice } else { nil } }
    }

    @Test func anIncidentIsPrivateUntilAStatusIsPublished() throws {
        var scenario = try EngineScenario("sev1", engine: try F.engine(Self.config()))
        #expect(Self.notices(scenario.declaration).isEmpty)
        #expect(PublicIncident.of(scenario.incident, config: Self.config()) == nil)
        #expect(Self.notices(scenario.run(.update(nil, text: "looking at the database"), at: F.time("09:05"))).isEmpty, "an update is internal")
        #expect(Self.notices(scenario.run(.ack(nil), by: F.bob, at: F.time("09:06"))).isEmpty)

        let published = scenario.run(.status(nil, .identified, text: "A bad deploy; rolling back."), at: F.time("09:10"))
        #expect(published.outcome == .applied)
        #expect(Self.notices(published).map(\.event) == ["incident.published"])
        #expect(scenario.incident.publicUpdates == [PublicUpdate(at: F.time("09:10"), state: .identified, text: "A bad deploy; rolling back.")])

        let role = scenario.run(.role(nil, .commander, F.carol), at: F.time("09:11"))
        #expect(Self.notices(role).isEmpty, "roles are not public")
        let component = scenario.run(.component(nil, "CHECKOUT"), at: F.time("09:12"))
        #expect(scenario.incident.component == "checkout", "the configured id, whatever the case typed")
        #expect(Self.notices(component).map(\.event) == ["incident.updated"], "the public view changed: it now names a component")

        let resolved = scenario.run(.resolve(nil, text: "reverted 2025.11.3"), at: F.time("09:40"))
        let notice = try #require(Self.notices(resolved).first)
        #expect(notice.event == "incident.resolved")
        #expect(notice.incident.state == .resolved)
        #expect(notice.incident.updates.map(\.state) == [.identified, .resolved])
        #expect(notice.incident.updates.last?.text == nil, "the chat resolution text is not published")
    }

    @Test func aComponentMustBeConfiguredAndCanBeCleared() throws {
        var scenario = try EngineScenario("sev2", engine: try F.engine(Self.config()))
        let unknown = scenario.run(.component(nil, "billing"), at: F.time("09:05"))
        #expect(unknown.outcome == .rejected)
        #expect(unknown.reply.text.contains("Components: api, checkout"))
        #expect(unknown.changes.isEmpty)
        #expect(scenario.run(.component(nil, "api"), at: F.time("09:06")).outcome == .applied)
        #expect(scenario.run(.component(nil, "api"), at: F.time("09:07")).outcome == .rejected, "already so")
        #expect(scenario.run(.component(nil, nil), at: F.time("09:08")).outcome == .applied)
        #expect(scenario.incident.component == nil)
    }

    @Test func actionItemsAreNumberedAndDoneOnce() throws {
        var scenario = try EngineScenario("sev2")
        let added = scenario.run(.action(nil, .add(text: "Add connection pool alert", owner: F.bob, due: "2026-12-20")), at: F.time("10:00"))
        #expect(added.outcome == .applied)
        #expect(added.reply.text == "Action item 1 added to INC-1: Add connection pool alert (owner <@bob>, due 2026-12-20).")
        scenario.run(.action(nil, .add(text: "Update the runbook", owner: nil, due: nil)), at: F.time("10:01"))
        #expect(scenario.incident.actionItems?.map(\.number) == [1, 2])
        #expect(scenario.run(.action(nil, .done(2)), at: F.time("10:02")).outcome == .applied)
        #expect(scenario.incident.actionItems?.map(\.isDone) == [false, true])
        let again = scenario.run(.action(nil, .done(2)), at: F.time("10:03"))
        #expect(again.outcome == .rejected && again.changes.isEmpty)
        let missing = scenario.run(.action(nil, .done(9)), at: F.time("10:04"))
        #expect(missing.reply.text == "INC-1 has no action item 9. Its items: 1, 2.")
    }

    @Test func publicTextLosesMentionsAndConfiguredNames() {
        let text = PublicText(people: F.people)
        #expect(text.redacted("Ask @bob or <@U0CAROL>, please.") == "Ask the team or the team, please.")
        #expect(text.redacted("Alice Adams restarted it; alice confirmed") == "the team restarted it; the team confirmed")
        #expect(text.redacted("Malice and Bobsleigh are not names") == "Malice and Bobsleigh are not names", "whole words only")
    }

    @Test func theModelShowsPublishedIncidentsOnlyWithComponentStatesAndHistory() throws {
        let config = Self.config(webhooks: false)
        func incident(_ number: Int, declared: Date, status: IncidentStatus, published: [PublicUpdate]?, component: String? = nil) -> Incident {
            var incident = Incident(
                id: IncidentID(number), title: "Incident \(number)", severity: "sev2", status: status, platform: .console,
                origin: Conversation(platform: .console, channelID: "incidents"), channelName: "c\(number)", declaredBy: F.alice, declaredAt: declared)
            incident.publicUpdates = published
            incident.component = component
            if !status.isOpen { incident.resolvedAt = declared.addingTimeInterval(3600) }
            return incident
        }
        let now = F.date("2025-11-20 12:00")
        let incidents = [
            incident(
                1, declared: F.date("2025-11-20 10:00"), status: .identified,
                published: [PublicUpdate(at: F.date("2025-11-20 10:05"), state: .identified, text: "Found it")], component: "checkout"),
            incident(2, declared: F.date("2025-11-20 11:00"), status: .investigating, published: nil, component: "api"),
            incident(
                3, declared: F.date("2025-11-12 08:00"), status: .closed,
                published: [PublicUpdate(at: F.date("2025-11-12 08:10"), state: .investigating, text: nil)]),
            incident(
                4, declared: F.date("2025-07-01 08:00"), status: .closed,
                published: [PublicUpdate(at: F.date("2025-07-01 08:10"), state: .investigating, text: nil)]),
        ]
        let model = StatusPageModel.build(config: config, incidents: incidents, now: now)
        #expect(model.openIncidents.map(\.id) == ["INC-1"])
        #expect(model.overall == .identified)
        #expect(model.components.map(\.state) == [nil, .identified], "the unpublished incident 2 leaves the API operational")
        #expect(model.history.map(\.date) == ["2025-11-20", "2025-11-12"], "incident 4 is older than 90 days")
        #expect(model.history.last?.incidents.first?.state == .resolved)
        #expect(model.feedEntries.map(\.incident.id) == ["INC-1", "INC-3"])
    }

    @Test func statusHistoryKeepsEveryPublishedStepAndReopeningIsPublic() throws {
        var scenario = try EngineScenario("sev1", engine: try F.engine(Self.config()))
        scenario.run(.status(nil, .investigating, text: "Looking into slow checkouts."), at: F.time("09:05"))
        scenario.run(.status(nil, .monitoring, text: "A fix is out."), at: F.time("09:20"))
        scenario.run(.status(nil, .resolved, text: "Checkout works again."), at: F.time("09:50"))
        #expect(scenario.incident.publicUpdates?.map(\.state) == [.investigating, .monitoring, .resolved])
        #expect(scenario.incident.publicUpdates?.last?.text == "Checkout works again.", "published resolution text, once")
        let reopened = scenario.run(.reopen(nil), at: F.time("10:10"))
        #expect(Self.notices(reopened).map(\.event) == ["incident.updated"])
        #expect(scenario.incident.publicUpdates?.last?.state == .investigating)
    }

    @Test func actionItemsShowInTheClosingSummaryAndTheChatPostmortem() throws {
        var scenario = try EngineScenario("sev2")
        scenario.run(.action(nil, .add(text: "Add connection pool alert", owner: F.bob, due: "2026-12-20")), at: F.time("09:10"))
        scenario.run(.action(nil, .add(text: "Update the runbook", owner: nil, due: nil)), at: F.time("09:11"))
        scenario.run(.action(nil, .done(2)), at: F.time("09:12"))
        let closed = scenario.run(.close(nil, text: "fixed"), at: F.time("09:30"))
        let summary = try #require(closed.changes.postTexts(to: .announce).last { $0.hasPrefix("INCIDENT SUMMARY") })
        #expect(summary.contains("Action 1: Add connection pool alert · <@bob> · due 2026-12-20 · open"), "\(summary)")
        #expect(summary.contains("Action 2: Update the runbook · done"))
        let draft = scenario.engine.postmortemReply(scenario.incident, entries: [], now: F.time("10:00")).text
        #expect(draft.contains("- [ ] Add connection pool alert · Owner: <@bob> · Due: 2026-12-20"), "\(draft)")
        #expect(draft.contains("- [x] Update the runbook"))
        #expect(!draft.contains("<preventive measure>"), "the placeholder goes once there are items")
    }

    @Test func theReviewReminderNamesThePostmortemFile() throws {
        var config = F.config()
        config.postmortems.directory = "/srv/docs/postmortems"
        var scenario = try EngineScenario("sev1", title: "Checkout is down!", engine: try F.engine(config))
        scenario.run(.resolve(nil, text: nil), at: F.time("09:40"))
        let timer = ScheduledTimer(id: 1, incidentID: scenario.incident.id, kind: .reviewReminder, dueAt: F.date("2025-11-12 09:40"), step: 0)
        let changes = scenario.engine.fire(timer, incident: scenario.incident, now: F.date("2025-11-12 09:40"))
        let reminder = try #require(changes.postTexts(to: .incidentRoom).first)
        #expect(reminder.contains("Draft: /srv/docs/postmortems/2025-11-10-checkout-is-down.md"), "\(reminder)")
        #expect(PostmortemDocument.fileName(scenario.incident) == "2025-11-10-checkout-is-down.md")
    }
}
