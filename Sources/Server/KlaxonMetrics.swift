import Foundation
import IncidentCore
import Metrics
import Prometheus

/// The daemon's metrics, kept in its own Prometheus registry (not the process-global `MetricsSystem`)
/// so that several daemons in one test process do not share counters.
public struct KlaxonMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
    }

    private static var outboxDepth: MetricNameDescriptor { MetricNameDescriptor(namespace: "klaxon", metricName: "outbox", unitName: "depth", helpText: "Messages waiting in the outbox") }
    private static var incidentsOpen: MetricNameDescriptor { MetricNameDescriptor(namespace: "klaxon", metricName: "incidents", unitName: "open", helpText: "Open incidents by severity") }

    /// `klaxon_commands_total{platform, verb, outcome}`.
    public func recordCommand(platform: PlatformKind, verb: CommandVerb?, outcome: CommandOutcome) {
        Counter(
            label: "klaxon_commands_total",
            dimensions: [("platform", platform.rawValue), ("verb", verb?.rawValue ?? "unparsed"), ("outcome", outcome.rawValue)],
            factory: factory
        ).increment()
    }

    /// `klaxon_alerts_total{source, outcome}`: notifications taken (applied, answered: nothing new,
    /// duplicate, failed) or refused at the door (unauthorized, malformed).
    public func recordAlert(source: String, outcome: String) {
        Counter(label: "klaxon_alert_notifications_total", dimensions: [("source", source), ("outcome", outcome)], factory: factory).increment()
    }

    private static var requestDuration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "klaxon", subsystem: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "Time from a request's head to its response, by route")
    }

    /// Fine at the low end: Slack allows 3 s, but the interesting figures are milliseconds.
    private static let requestDurationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(3), .milliseconds(5), .milliseconds(7),
        .milliseconds(10), .milliseconds(15), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(3),
    ]

    /// `klaxon_http_request_duration_seconds{route}`: `route` is the matched route pattern, never the
    /// raw path, so unknown paths cannot grow the label set.
    public func requestDuration(route: String) -> DurationHistogram {
        registry.makeDurationHistogram(descriptor: Self.requestDuration, labels: [("route", route)], buckets: Self.requestDurationBuckets)
    }

    /// The Prometheus text format, with the gauges read from the store at scrape time.
    public func exposition(store: any IncidentStore, severities: [SeverityPolicy]) async throws -> String {
        let depth = try await store.outboxDepth()
        registry.makeGauge(descriptor: Self.outboxDepth).set(Double(depth))
        let open = try await store.openIncidentCounts()
        for severity in severities {
            registry.makeGauge(descriptor: Self.incidentsOpen, labels: [("severity", severity.id)])
                .set(Double(open[severity.id] ?? 0))
        }
        return registry.emitToString()
    }
}
