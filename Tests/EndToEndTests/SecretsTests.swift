import AsyncHTTPClient
import Foundation
import IncidentCore
import KlaxonTestSupport
import Logging
import NIOCore
import NIOHTTP1
import Platforms
import Testing

/// Secrets never leave the process: the daemon runs with known secret values (API token, Slack signing
/// secret and bot token, alert token and signing secret, pager webhook secret, SMTP password, GitHub
/// token), every route is driven,
/// errors included, and none of the values appears in a log line (at trace level, metadata included), a
/// response body or header, `/api/*` or `/metrics`.
@Suite("Secrets are never echoed")
struct SecretsTests {
    static let secrets = [
        "api-token-0c9f1e7a-SECRET", "slack-signing-7d2b44e1-SECRET", "bot-token-51aa9c3e-SECRET",
        "alert-token-e3f04b6d-SECRET", "alert-signing-2b8c7f90-SECRET", "pager-secret-9e61d2a4-SECRET",
        "smtp-password-4f1c8a2e-SECRET", "github-token-8d3e5b71-SECRET",
    ]

    @Test("with known secret values, no route (errors included) and no log line shows any of them")
    func noRouteOrLogShowsASecret() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let log = CapturedLog()
        let logger = log.logger(label: "klaxon.secrets")
        let config = try defaultConfig(storePath: directory.file("k.sqlite")) { config in
            config.server.apiToken = Secret(Self.secrets[0])
            // Slack's Web API points at a closed loopback port: every delivery fails and is logged.
            config.platforms.slack = SlackConfig(
                signingSecret: Secret(Self.secrets[1]), botToken: Secret(Self.secrets[2]), apiBaseURL: "http://127.0.0.1:9/api",
                announceChannel: "C0INCIDENTS")
            config.alerts = AlertsConfig(sources: [
                AlertSourceConfig(
                    id: "prod-am", kind: .alertmanager, token: Secret(Self.secrets[3]), platform: .console,
                    severity: AlertSeverityMapping(defaultSeverity: "sev2")),
                AlertSourceConfig(
                    id: "cron", kind: .webhook, signingSecret: Secret(Self.secrets[4]), platform: .console,
                    severity: AlertSeverityMapping(defaultSeverity: "sev3")),
            ])
            config.paging.webhooks = [PagerWebhook(id: "sms", url: "http://127.0.0.1:9/page", secret: Secret(Self.secrets[5]))]
            // Mail and tickets to closed loopback ports too: the page is mailed, the sev1 filed, both fail.
            config.email = EmailConfig(
                smtp: SMTPConfig(
                    host: "127.0.0.1", port: 9, from: "klaxon@example.com", username: "klaxon", password: Secret(Self.secrets[6])))
            config.oncall.escalation[0].notify.append(.email(.address("incidents@example.com")))
            config.tickets = TicketsConfig(github: GitHubConfig(token: Secret(Self.secrets[7]), apiBaseURL: "http://127.0.0.1:9"))
            if let index = config.severities.firstIndex(where: { $0.id == "sev1" }) {
                config.severities[index].ticket = TicketPolicy(to: TicketTarget(owner: "acme", repo: "api"), labels: ["bug"])
            }
        }
        let daemon = try await RunningDaemon.start(config, logger: logger)
        var answers: [RunningDaemon.HTTPResult] = []
        let bearer = ["Authorization": "Bearer \(Self.secrets[0])"]

        // The console API: without the token, with a wrong one, wrong content types, bad JSON, commands.
        answers.append(try await daemon.request(.POST, "/api/commands", body: #"{"text": "list"}"#, headers: ["Authorization": "Bearer wrong"]))
        answers.append(try await daemon.request(.POST, "/api/commands", body: "declare sev1 x", contentType: "text/plain", headers: bearer))
        answers.append(try await daemon.request(.POST, "/api/commands", body: "{", headers: bearer))
        for text in ["declare sev1 Payments down", "ack INC-1", "update INC-1 \(Self.secrets[0].prefix(8))", "page INC-1 @bob", "frobnicate", "note"] {
            answers.append(try await daemon.request(.POST, "/api/commands", body: #"{"text": "\#(text)", "user": "alice"}"#, headers: bearer))
        }
        // Slack: unsigned, wrongly signed, signed with another secret.
        let form = "command=%2Fincident&text=list&user_id=U0ALICE&channel_id=C0INCIDENTS&trigger_id=t1"
        answers.append(try await daemon.request(.POST, "/slack/commands", body: form, contentType: "application/x-www-form-urlencoded"))
        answers.append(
            try await daemon.request(
                .POST, "/slack/commands", body: form, contentType: "application/x-www-form-urlencoded",
                headers: ["X-Slack-Request-Timestamp": "\(Int(Date().timeIntervalSince1970))", "X-Slack-Signature": "v0=" + String(repeating: "ab", count: 32)])
        )
        answers.append(try await daemon.request(.POST, "/slack/events", body: #"{"type": "url_verification", "challenge": "c"}"#))
        // Alerts: wrong token, good token, bad payload, generic route badly and properly signed.
        let alert = #"{"groupKey": "g1", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "Down"}}]}"#
        answers.append(try await AlertRoutesTests.post(daemon, "/alerts/alertmanager/prod-am", alert, headers: [("Authorization", "Bearer nope")]))
        answers.append(
            try await AlertRoutesTests.post(daemon, "/alerts/alertmanager/prod-am", alert, headers: [("Authorization", "Bearer \(Self.secrets[3])")]))
        answers.append(try await AlertRoutesTests.post(daemon, "/alerts/alertmanager/prod-am", "{", headers: [("Authorization", "Bearer \(Self.secrets[3])")]))
        let generic = #"{"key": "backup", "status": "firing", "title": "Backup failed"}"#
        answers.append(try await AlertRoutesTests.post(daemon, "/alerts/webhook/cron", generic, headers: [("X-Klaxon-Signature", "sha256=00")]))
        answers.append(
            try await AlertRoutesTests.post(
                daemon, "/alerts/webhook/cron", generic,
                headers: [("X-Klaxon-Signature", AlertRequestVerifier.signature(of: Data(generic.utf8), secret: Secret(Self.secrets[4])))]))
        // Reads.
        for path in [
            "/api/incidents", "/api/incidents/INC-1", "/api/audit", "/api/messages", "/api/outbox?state=pending", "/api/outbox?state=dead", "/healthz",
            "/readyz", "/metrics", "/nowhere",
        ] {
            answers.append(try await daemon.request(.GET, path, headers: bearer))
        }
        // Let the sender try (and fail) to deliver to Slack, the pager gateway, the mail server and GitHub,
        // and log it.
        await daemon.drainOutbox()
        await daemon.drainOutbox()
        // (The HTTP client keeps retrying a refused connection until its deadline, so GitHub's and the
        // pager's failures may come after the stop; the services' own description shows their secrets
        // as <secret> either way.)
        #expect(log.text.contains("smtp connection"), "mail was not even tried")
        try await daemon.stop()

        #expect(answers.contains { $0.status == 401 } && answers.contains { $0.status == 200 }, "the routes were not all refused or all accepted")
        #expect(!log.text.isEmpty, "nothing was logged, so the log check proves nothing")
        for secret in Self.secrets {
            #expect(!log.text.contains(secret), "a log line shows \(secret.prefix(12))…")
            for answer in answers {
                #expect(!answer.body.contains(secret), "a response shows \(secret.prefix(12))…: \(answer.body.prefix(200))")
                #expect(!answer.headers.contains { $0.value.contains(secret) }, "a response header shows \(secret.prefix(12))…")
            }
        }
    }
}
