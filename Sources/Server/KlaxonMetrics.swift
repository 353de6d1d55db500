import Foundation
import IncidentCore
import Metrics
import Prometheus

/// The daemon's metrics, kept in its own Prometheus registry (not the process-global `MetricsSystem`)
/// so that several daemons in one test process do not share counters.
public struct KlaxonMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init(replica: String = KlaxonMetrics.replicaName()) {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
        // One series per process naming the replica: several replicas scraped into one Prometheus can be
        // told apart and joined on it (`* on(instance) group_left(replica) klaxon_replica_info`).
        registry.makeGauge(descriptor: Self.replicaInfo, labels: [("replica", replica)]).set(1.0)
    }

    /// `KLAXON_REPLICA`, else the host name (a container's is its id, a pod's its name).
    public static func replicaName(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let name = environment["KLAXON_REPLICA"], !name.isEmpty { return name }
        return ProcessInfo.processInfo.hostName
    }

    private static var replicaInfo: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "klaxon", metricName: "replica", unitName: "info", helpText: "Always 1; names this replica (KLAXON_REPLICA or the host name)")
    }

    private static var outboxDepth: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "klaxon", metricName: "outbox", unitName: "depth", helpText: "Messages waiting in the outbox")
    }
    private static var incidentsOpen: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "klaxon", metricName: "incidents", unitName: "open", helpText: "Open incidents by severity")
    }

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

    /// The Prometheus text format, with the gauges and the lifecycle histograms read from the store at
    /// scrape time.
    public func exposition(store: any IncidentStore, severities: [SeverityPolicy], now: Date) async throws -> String {
        let depth = try await store.outboxDepth()
        registry.makeGauge(descriptor: Self.outboxDepth).set(Double(depth))
        let open = try await store.openIncidentCounts()
        for severity in severities {
            registry.makeGauge(descriptor: Self.incidentsOpen, labels: [("severity", severity.id)])
                .set(Double(open[severity.id] ?? 0))
        }
        // Every incident ever, so the histograms only grow (as Prometheus expects of them); incidents
        // number in the hundreds a year, and each row is read once per scrape.
        let incidents = try await store.incidents(declaredFrom: .distantPast, to: now.addingTimeInterval(1))
        let histograms = LifecycleHistograms(incidents, severities: severities.map(\.id))
        return Self.withHelp(registry.emitToString()) + PrometheusText.lifecycle(histograms)
    }

    /// What each metric means, for `# HELP`. Metrics made through swift-metrics (the sender's and the
    /// scheduler's counters) carry no help of their own; a name missing here fails `promtool check
    /// metrics` in `MetricsTests`.
    static let helpTexts: [String: String] = [
        "klaxon_commands_total": "Commands handled, by platform, verb and outcome",
        "klaxon_alert_notifications_total": "Alert notifications received, by source and outcome",
        "klaxon_outbox_delivered_total": "Outbox messages delivered",
        "klaxon_outbox_failures_total": "Failed outbox delivery attempts",
        "klaxon_outbox_dead_total": "Outbox messages given up (dead letters), by lane",
        "klaxon_timers_fired_total": "Timers fired (reminders, escalations, reviews)",
        "klaxon_platform_unavailable": "1 while a platform or webhook lane refuses our credentials and is parked",
        "klaxon_store_up": "1 while the store answers its health check (every 2 s and on each /readyz), 0 while it does not",
    ]

    /// Adds `# HELP` before each `# TYPE` line that has none.
    static func withHelp(_ text: String) -> String {
        var lines: [Substring] = []
        var helped = Set<Substring>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# HELP ") {
                helped.insert(line.dropFirst(7).prefix { $0 != " " })
            } else if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst(7).prefix { $0 != " " }
                if !helped.contains(name), let help = helpTexts[String(name)] {
                    lines.append("# HELP \(name) \(help)")
                    helped.insert(name)
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}

/// The lifecycle histograms in the Prometheus text format (0.0.4).
enum PrometheusText {
    static func lifecycle(_ histograms: LifecycleHistograms) -> String {
        histogram(
            "klaxon_time_to_acknowledge_seconds", help: "Time from the page (or the declaration) to the acknowledgement, per incident, by severity",
            histograms.acknowledge)
            + histogram("klaxon_time_to_mitigate_seconds", help: "Time from the declaration to mitigation, per incident, by severity", histograms.mitigate)
            + histogram("klaxon_time_to_resolve_seconds", help: "Time from the declaration to resolution, per incident, by severity", histograms.resolve)
    }

    static func histogram(_ name: String, help: String, _ bySeverity: [String: LifecycleHistograms.Histogram]) -> String {
        var text = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for severity in bySeverity.keys.sorted() {
            guard let histogram = bySeverity[severity] else { continue }
            let label = "severity=\"\(escape(severity))\""
            for bucket in histogram.buckets {
                text += "\(name)_bucket{\(label),le=\"\(number(bucket.upperBound))\"} \(bucket.count)\n"
            }
            text += "\(name)_bucket{\(label),le=\"+Inf\"} \(histogram.count)\n"
            text += "\(name)_sum{\(label)} \(number(histogram.sum))\n"
            text += "\(name)_count{\(label)} \(histogram.count)\n"
        }
        return text
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
