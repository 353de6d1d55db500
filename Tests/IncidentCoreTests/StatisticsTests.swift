import Foundation
import Testing

@testable import IncidentCore

private typealias F = EngineFixture

/// The pure numbers behind `/incident stats`, `GET /api/stats` and the lifecycle histograms.
@Suite struct StatisticsTests {
    static func incident(
        _ number: Int, severity: String = "sev1", declared: Date, ack: Double? = nil, mitigate: Double? = nil, resolve: Double? = nil, component: String? = nil
    ) -> Incident {
        var incident = Incident(
            id: IncidentID(number), title: "I\(number)", severity: severity, platform: .console,
            origin: Conversation(platform: .console, channelID: "incidents"), channelName: "c", declaredBy: F.alice, declaredAt: declared)
        incident.pagedAt = declared
        incident.acknowledgedAt = ack.map { declared.addingTimeInterval($0) }
        incident.acknowledgedBy = ack.map { _ in F.bob }
        incident.mitigatedAt = mitigate.map { declared.addingTimeInterval($0) }
        incident.resolvedAt = resolve.map { declared.addingTimeInterval($0) }
        incident.component = component
        return incident
    }

    @Test func summaryUsesNearestRankPercentilesAndCountsTargets() {
        let summary = DurationSummary([600, 60, 120, 240, 180, 300, 360, 420, 480, 540], target: 300)
        #expect(summary.count == 10)
        #expect(summary.mean == 330)
        #expect(summary.median == 330, "the mean of the middle two")
        #expect(summary.p90 == 540)
        #expect(summary.withinTarget == 5)
        #expect(DurationSummary([]).mean == nil)
        #expect(DurationSummary([42]).p90 == 42)
    }

    @Test func perSeverityPerMonthRepeatsAndPeople() {
        let october = F.date("2025-10-31 23:30")
        let incidents = [
            Self.incident(1, declared: october, ack: 120, mitigate: 900, resolve: 3_600, component: "api"),
            Self.incident(2, declared: F.date("2025-11-03 10:00"), ack: 600, resolve: 7_200, component: "api"),
            Self.incident(3, severity: "sev3", declared: F.date("2025-11-20 10:00")),
            Self.incident(4, declared: F.date("2025-11-25 10:00"), ack: 60, component: "api"),
        ]
        var severities = F.severities
        severities[0].targets = SeverityTargets(acknowledge: .minutes(5))
        let stats = IncidentStatistics.compute(
            incidents, from: F.date("2025-10-01 00:00"), to: F.date("2025-12-01 00:00"), severities: severities,
            timeZone: TimeZone(identifier: "Europe/Berlin")!)
        #expect(stats.count == 4)
        #expect(stats.bySeverity.map(\.severity) == ["sev1", "sev3"], "in the configured order")
        #expect(stats.bySeverity[0].times.acknowledge.withinTarget == 2)
        #expect(stats.bySeverity[0].times.resolve.mean == 5_400)
        #expect(stats.byMonth.map(\.month) == ["2025-11"], "23:30 UTC on 31 October is November in Berlin")
        #expect(stats.repeats == [IncidentStatistics.RepeatGroup(key: "component:api", incidents: ["INC-1", "INC-2"])], "INC-4 came 22 days later")
        #expect(stats.peopleInvolved == 2)

        let sev1Only = IncidentStatistics.compute(
            incidents, from: F.date("2025-11-01 00:00"), to: F.date("2025-12-01 00:00"), severity: "sev1", severities: severities, timeZone: .gmt)
        #expect(sev1Only.count == 2)
        #expect(sev1Only.overall.acknowledge.target == 300)
    }

    @Test func periodsAreHalfOpenCalendarWindows() {
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        let november = StatsPeriod.month(year: 2025, month: 11).window(now: F.monday, timeZone: berlin)
        #expect(november.start == F.date("2025-10-31 23:00"))
        #expect(november.end == F.date("2025-11-30 23:00"))
        let thisMonth = StatsPeriod.thisMonth.window(now: F.monday, timeZone: berlin)
        #expect(thisMonth.start == F.date("2025-10-31 23:00"))
        let last = StatsPeriod.last(.days(7)).window(now: F.monday, timeZone: berlin)
        #expect(last.start == F.monday.addingTimeInterval(-7 * 86_400))
    }

    @Test func histogramsAreCumulativeAndListEverySeverity() {
        let incidents = [
            Self.incident(1, declared: F.monday, ack: 45, resolve: 4_000),
            Self.incident(2, declared: F.monday, ack: 400),
        ]
        let histograms = LifecycleHistograms(incidents, severities: ["sev1", "sev2"])
        let ack = try! #require(histograms.acknowledge["sev1"])
        #expect(ack.buckets.first { $0.upperBound == 30 }?.count == 0)
        #expect(ack.buckets.first { $0.upperBound == 60 }?.count == 1)
        #expect(ack.buckets.first { $0.upperBound == 600 }?.count == 2)
        #expect(ack.sum == 445 && ack.count == 2)
        #expect(histograms.resolve["sev1"]?.count == 1)
        #expect(histograms.acknowledge["sev2"]?.count == 0, "a severity without incidents still has its series")
    }

    @Test func timeToDetectionCountsFromTheAlertsStartWhereKnown() throws {
        let engine = try AlertEngineTests.engine()
        var early = AlertEngineTests.alert("a")
        early.startsAt = F.time("08:52")
        var skewed = AlertEngineTests.alert("b")
        skewed.startsAt = F.time("09:30")  // ahead of Klaxon's clock: not a detection time
        let decision = engine.declare(
            alert: AlertEngineTests.notification([early, skewed]), source: AlertEngineTests.source, allocation: (IncidentID(1), 1),
            now: F.time("09:00"), overrides: [:])
        let incident = try AlertEngineTests.written(decision)
        #expect(incident.detectionStart == F.time("08:52"))
        #expect(IncidentDurations(incident).detect == 480)
        let byHand = Self.incident(2, declared: F.time("09:10"), ack: 60)
        let stats = IncidentStatistics.compute(
            [incident, byHand], from: F.time("00:00"), to: F.time("23:00"), severities: F.severities, timeZone: .gmt)
        #expect(stats.overall.detect.count == 1, "only where the start is known")
        #expect(stats.overall.detect.mean == 480)
        #expect(IncidentRecord(incident: incident, timeline: []).incident.metrics.timeToDetectSeconds == 480)
    }
}
