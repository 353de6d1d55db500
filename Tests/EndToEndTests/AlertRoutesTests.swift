import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOCore
import NIOHTTP1
import Platforms
import Testing

/// Alert notifications over real HTTP into a real daemon on a real SQLite file: authentication, bad
/// payloads, grouping, redelivery and a burst for one new group.
@Suite("Alerts in: the HTTP routes")
struct AlertRoutesTests {
    static let token = "am-token-for-tests-1234"
    static let signingSecret = "generic-signing-secret-5678"

    /// The Alertmanager webhook sample of the official docs' shape (version 4; values invented), as
    /// Alertmanager 0.25 sends it: one firing and one resolved alert of one group.
    static let alertmanagerSample = #"""
        {"receiver":"chatops","status":"firing","alerts":[
          {"status":"firing","labels":{"alertname":"HighErrorRate","job":"api","instance":"api-1:8080","severity":"critical","service":"api"},
           "annotations":{"summary":"API 5xx rate above 5%","runbook_url":"https://runbooks.example.com/high-error-rate"},
           "startsAt":"2024-05-01T10:00:05.123Z","endsAt":"0001-01-01T00:00:00Z",
           "generatorURL":"http://prometheus.example.com:9090/graph?g0.expr=job%3Aerrors%3Arate5m","fingerprint":"1a2b3c4d5e6f7a8b"},
          {"status":"resolved","labels":{"alertname":"HighErrorRate","job":"api","instance":"api-2:8080","severity":"critical","service":"api"},
           "annotations":{"summary":"API 5xx rate above 5%"},
           "startsAt":"2024-05-01T09:40:05.123Z","endsAt":"2024-05-01T09:58:05.123Z",
           "generatorURL":"http://prometheus.example.com:9090/graph","fingerprint":"9f8e7d6c5b4a3928"}],
         "groupLabels":{"alertname":"HighErrorRate"},"commonLabels":{"alertname":"HighErrorRate","job":"api","severity":"critical","service":"api"},
         "commonAnnotations":{"summary":"API 5xx rate above 5%"},"externalURL":"http://alertmanager.example.com:9093",
         "version":"4","groupKey":"{}:{alertname=\"HighErrorRate\"}","truncatedAlerts":0,"notification_reason":"new"}
        """#

    /// Grafana's webhook contact point, in the shape of Grafana's documented example (nine-digit fractions
    /// and offsets as Grafana writes them).
    static let grafanaSample = #"""
        {"receiver":"klaxon","status":"firing","orgId":1,"alerts":[
          {"status":"firing","labels":{"alertname":"High memory usage","team":"blue","zone":"us-1"},
           "annotations":{"description":"The system has high memory usage","summary":"This alert was triggered for zone us-1"},
           "startsAt":"2021-10-12T09:51:03.157076589+02:00","endsAt":"0001-01-01T00:00:00Z",
           "generatorURL":"https://grafana.example.com/alerting/1afz29v7z/edit","fingerprint":"c6eadffa33fcdf37",
           "silenceURL":"https://grafana.example.com/alerting/silence/new?matchers=alertname%3DT2","dashboardURL":"","panelURL":"",
           "values":{"B":44.23943737541908,"C":1}}],
         "groupLabels":{},"commonLabels":{"team":"blue"},"commonAnnotations":{},"externalURL":"https://grafana.example.com/",
         "version":"1","groupKey":"{}:{}","truncatedAlerts":0,"title":"[FIRING:1]  (blue)","state":"alerting","message":"**Firing**"}
        """#

    static func config(storePath: String) throws -> KlaxonConfig {
        try defaultConfig(storePath: storePath) { config in
            let mapping = AlertSeverityMapping(label: "severity", map: ["critical": "sev1", "warning": "sev3"], defaultSeverity: "sev3")
            config.alerts = AlertsConfig(sources: [
                AlertSourceConfig(
                    id: "prod-am", kind: .alertmanager, token: Secret(token), platform: .console, severity: mapping,
                    title: "{{commonLabels.alertname}} on {{commonLabels.service}}", autoResolve: true, reopenWithin: .minutes(30)),
                AlertSourceConfig(id: "grafana", kind: .grafana, token: Secret(token), platform: .console, severity: mapping),
                AlertSourceConfig(id: "cron", kind: .webhook, signingSecret: Secret(signingSecret), platform: .console, severity: mapping),
            ])
        }
    }

    static func post(_ daemon: RunningDaemon, _ path: String, _ body: String, headers: [(String, String)] = [("Authorization", "Bearer \(token)")]) async throws
        -> RunningDaemon.HTTPResult
    {
        var request = HTTPClientRequest(url: daemon.baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        // A bound on a hung daemon, not a latency check: beside the whole suite on 2 cores a burst is slow.
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return RunningDaemon.HTTPResult(status: Int(response.status.code), body: String(buffer: bytes), headers: response.headers)
    }

    /// Whether the bot posts a line matching `matches` (the daemon's own sender delivers; bounded wait).
    static func eventuallyPosted(_ daemon: RunningDaemon, _ matches: @escaping (String) -> Bool) async throws -> Bool {
        try await eventually(timeout: .seconds(10)) {
            try await daemon.messages().contains { ($0["text"] as? String).map(matches) ?? false }
        }
    }

    static func incidents(_ daemon: RunningDaemon) async throws -> [[String: Any]] {
        let list = try await daemon.request(.GET, "/api/incidents?all=true")
        return list.json as? [[String: Any]] ?? []
    }

    @Test("Alertmanager: 401 without the token and nothing recorded; with it one incident per group; a redelivery changes nothing")
    func alertmanagerGroupsAndDedupes() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try Self.config(storePath: directory.file("k.sqlite")))

        let anonymous = try await Self.post(daemon, "/alerts/alertmanager/prod-am", Self.alertmanagerSample, headers: [])
        #expect(anonymous.status == 401)
        let forged = try await Self.post(daemon, "/alerts/alertmanager/prod-am", Self.alertmanagerSample, headers: [("Authorization", "Bearer nope")])
        #expect(forged.status == 401)
        #expect(!forged.body.contains(Self.token))
        #expect(try await Self.incidents(daemon).isEmpty)

        let first = try await Self.post(daemon, "/alerts/alertmanager/prod-am", Self.alertmanagerSample)
        #expect(first.status == 200, "\(first.body)")
        #expect(first.body.contains(#""incident":"INC-1""#), "\(first.body)")
        let again = try await Self.post(daemon, "/alerts/alertmanager/prod-am", Self.alertmanagerSample)
        #expect(again.status == 200)
        #expect(!again.body.contains(#""outcome":"applied""#), "a redelivery must change nothing: \(again.body)")

        let incidents = try await Self.incidents(daemon)
        #expect(incidents.count == 1)
        #expect(incidents.first?["title"] as? String == "HighErrorRate on api")
        #expect(incidents.first?["severity"] as? String == "sev1")
        let detail = try await daemon.request(.GET, "/api/incidents/INC-1")
        #expect(detail.body.contains("Firing: HighErrorRate (api-1:8080): API 5xx rate above 5%"))
        #expect(!detail.body.contains("api-2:8080"), "an alert first seen resolved is no news")

        // Everything resolved: the incident resolves (autoResolve).
        let resolved = Self.alertmanagerSample
            .replacingOccurrences(of: #""status":"firing""#, with: #""status":"resolved""#)
            .replacingOccurrences(of: #""endsAt":"0001-01-01T00:00:00Z""#, with: #""endsAt":"2024-05-01T10:30:00Z""#)
        let closing = try await Self.post(daemon, "/alerts/alertmanager/prod-am", resolved)
        #expect(closing.status == 200, "\(closing.body)")
        let after = try await daemon.request(.GET, "/api/incidents/INC-1")
        #expect(after.body.contains("Every alert of the group is resolved"))
        #expect((after.json as? [String: Any])?["status"] as? String == "resolved", "\(after.body.prefix(300))")
        #expect(
            try await Self.eventuallyPosted(daemon) {
                $0.contains("🔔 INC-1 · prod-am: 1 firing, 0 resolved") && $0.contains("http://prometheus.example.com:9090/graph?g0.expr")
            })
        try await daemon.stop()
    }

    @Test("a burst of 20 different notifications for one new group at once opens exactly one incident, and every one is answered")
    func burstForOneGroup() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try Self.config(storePath: directory.file("k.sqlite")))
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<20 {
                let body = Self.alertmanagerSample.replacingOccurrences(of: "api-1:8080", with: "api-\(n + 10):8080")
                    .replacingOccurrences(of: "1a2b3c4d5e6f7a8b", with: "burst-\(n)")
                group.addTask { try await Self.post(daemon, "/alerts/alertmanager/prod-am", body).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
        #expect(try await Self.incidents(daemon).count == 1)
        let detail = try await daemon.request(.GET, "/api/incidents/INC-1")
        // Every alert of the burst is in the one incident's timeline.
        for n in 0..<20 { #expect(detail.body.contains("api-\(n + 10):8080"), "alert \(n) missing") }
        try await daemon.stop()
    }

    @Test("bad input: 400 naming the JSON path, 404 for an unknown source or the wrong kind, 413 past the size limit; nothing recorded")
    func badInput() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var config = try Self.config(storePath: directory.file("k.sqlite"))
        config.server.maxBodyBytes = 64 * 1024
        let daemon = try await RunningDaemon.start(config)
        let badStatus = try await Self.post(
            daemon, "/alerts/alertmanager/prod-am", #"{"groupKey":"g","status":"firing","alerts":[{"status":"burning","labels":{}}]}"#)
        #expect(badStatus.status == 400)
        #expect(badStatus.body.contains("alerts[0].status"), "\(badStatus.body)")
        let missing = try await Self.post(daemon, "/alerts/alertmanager/prod-am", #"{"groupKey":"g","status":"firing"}"#)
        #expect(missing.status == 400)
        #expect(missing.body.contains("alerts: missing required field"), "\(missing.body)")
        let badDate = try await Self.post(
            daemon, "/alerts/alertmanager/prod-am", #"{"groupKey":"g","status":"firing","alerts":[{"status":"firing","labels":{},"startsAt":"yesterday"}]}"#)
        #expect(badDate.status == 400)
        #expect(badDate.body.contains("alerts[0].startsAt"), "\(badDate.body)")
        let notJSON = try await Self.post(daemon, "/alerts/alertmanager/prod-am", "{")
        #expect(notJSON.status == 400)
        #expect(try await Self.post(daemon, "/alerts/alertmanager/nobody", Self.alertmanagerSample).status == 404)
        #expect(try await Self.post(daemon, "/alerts/grafana/prod-am", Self.alertmanagerSample).status == 404)
        let huge = try await Self.post(daemon, "/alerts/alertmanager/prod-am", String(repeating: " ", count: 70 * 1024) + Self.alertmanagerSample)
        #expect(huge.status == 413)
        #expect(try await Self.incidents(daemon).isEmpty)
        try await daemon.stop()
    }

    @Test("calls refused at the door (401, 400, 404, 413) are audited: who, refused, why; never the token")
    func refusedCallsAreAudited() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var config = try Self.config(storePath: directory.file("k.sqlite"))
        config.server.maxBodyBytes = 64 * 1024
        let daemon = try await RunningDaemon.start(config)
        let forgedToken = "forged-token-for-the-audit-9876"
        let forged = [("Authorization", "Bearer \(forgedToken)")]
        #expect(try await Self.post(daemon, "/alerts/alertmanager/prod-am", Self.alertmanagerSample, headers: forged).status == 401)
        #expect(
            try await Self.post(daemon, "/alerts/webhook/cron", #"{"key":"k","status":"firing"}"#, headers: [("X-Klaxon-Signature", "sha256=00")]).status == 401
        )
        #expect(try await Self.post(daemon, "/alerts/alertmanager/prod-am", "{").status == 400)
        #expect(try await Self.post(daemon, "/alerts/alertmanager/nobody", Self.alertmanagerSample, headers: forged).status == 404)
        #expect(try await Self.post(daemon, "/alerts/grafana/prod-am", Self.alertmanagerSample).status == 404)
        #expect(try await Self.post(daemon, "/alerts/alertmanager/prod-am", String(repeating: " ", count: 70 * 1024) + Self.alertmanagerSample).status == 413)
        // Accepted calls are audited as before, not as refused.
        #expect(try await Self.post(daemon, "/alerts/alertmanager/prod-am", Self.alertmanagerSample).status == 200)

        let audit = try await daemon.request(.GET, "/api/audit")
        let entries = try #require(audit.json as? [[String: Any]])
        let refused = entries.filter { $0["outcome"] as? String == "refused" }.reversed().map { entry in
            (user: entry["user"] as? String ?? "", channel: entry["channel"] as? String ?? "", reason: entry["reason"] as? String ?? "")
        }
        try #require(refused.count == 6, "\(entries)")
        #expect(refused.map(\.user) == ["alert:prod-am", "alert:cron", "alert:prod-am", "alert:unknown", "alert:prod-am", "alert:prod-am"])
        #expect(refused.map { String($0.reason.prefix(4)) } == ["401:", "401:", "400:", "404:", "404:", "413:"])
        #expect(refused[3].channel == "/alerts/alertmanager/nobody")
        #expect(refused[3].reason.contains("no alert source \"nobody\""))
        #expect(refused[5].reason.contains("server.maxBodyBytes"))
        #expect(entries.contains { $0["user"] as? String == "alert:prod-am" && $0["outcome"] as? String == "applied" })
        // Neither the forged token nor the signature is written anywhere in the log.
        #expect(!audit.body.contains(forgedToken) && !audit.body.contains(Self.token) && !audit.body.contains("sha256=00"))
        try await daemon.stop()
    }

    @Test("Grafana's payload: title from the notification, silence link in the post")
    func grafana() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try Self.config(storePath: directory.file("k.sqlite")))
        let answer = try await Self.post(daemon, "/alerts/grafana/grafana", Self.grafanaSample)
        #expect(answer.status == 200, "\(answer.body)")
        let incidents = try await Self.incidents(daemon)
        #expect(incidents.first?["title"] as? String == "[FIRING:1]  (blue)")
        #expect(try await Self.eventuallyPosted(daemon) { $0.contains("silence: https://grafana.example.com/alerting/silence/new") })
        try await daemon.stop()
    }

    @Test("the generic route: a signed body opens an incident with the severity it names; a bad signature is 401")
    func genericSigned() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try Self.config(storePath: directory.file("k.sqlite")))
        let body =
            #"{"key":"backup-nightly","status":"firing","title":"Nightly backup failed","severity":"sev2","labels":{"host":"db-1"},"text":"exit code 2","url":"https://ci.example.com/job/42"}"#
        let signature = AlertRequestVerifier.signature(of: Data(body.utf8), secret: Secret(Self.signingSecret))
        let unsigned = try await Self.post(
            daemon, "/alerts/webhook/cron", body, headers: [("X-Klaxon-Signature", "sha256=" + String(repeating: "0", count: 64))])
        #expect(unsigned.status == 401)
        let signed = try await Self.post(daemon, "/alerts/webhook/cron", body, headers: [("X-Klaxon-Signature", signature)])
        #expect(signed.status == 200, "\(signed.body)")
        let incidents = try await Self.incidents(daemon)
        #expect(incidents.first?["title"] as? String == "Nightly backup failed")
        #expect(incidents.first?["severity"] as? String == "sev2")
        try await daemon.stop()
    }
}
