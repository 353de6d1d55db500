import Foundation
import Testing

@testable import IncidentCore

/// `presets/`: each runbook's ready config passes the loader (what `klaxon check-config` runs) and is
/// listed in presets/README.md.
@Suite("Presets")
struct PresetTests {
    static let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let presets = root.appendingPathComponent("presets")

    /// What a user fills in, as placeholders.
    static let environment = [
        "SLACK_SIGNING_SECRET": "preset-signing-secret-0123456789", "SLACK_BOT_TOKEN": "preset-bot-token-0123456789",
        "RC_USER_ID": "klaxon-bot", "RC_TOKEN": "preset-rc-token-0123456789", "RC_WEBHOOK_TOKEN": "preset-rc-webhook-0123456789",
        "PAGER_SECRET": "preset-pager-secret-0123456789", "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/preset-token",
        "GITHUB_TOKEN": "preset-github-token-0123456789",
        "SMTP_HOST": "smtp.example.com", "SMTP_USER": "klaxon@example.com", "SMTP_PASSWORD": "preset-smtp-password-0123456789",
    ]

    static let files = [
        "all-hands-p0-to-p3.json", "business-days-sev1-to-sev4.json", "incident-commander-ladder.json",
        "assess-communicate-mitigate.json", "rocketchat-weekly-oncall.json",
    ]

    @Test("every preset passes the config loader", arguments: files)
    func loads(_ file: String) throws {
        let json = try String(contentsOf: Self.presets.appendingPathComponent(file), encoding: .utf8)
        switch ConfigLoader.load(json: json, environment: Self.environment) {
        case .success(let config):
            #expect(!config.severities.isEmpty)
            // Every preset uses the policy model: rules, checkpoints or response clocks.
            #expect(config.severities.contains { !$0.notify.isEmpty || !$0.checkpoints.isEmpty || $0.respondWithin != nil })
        case .failure(let errors):
            Issue.record("\(file):\n\(errors)")
        }
    }

    @Test("the directory holds exactly the presets the README lists, one per seed runbook")
    func listed() throws {
        let present = try FileManager.default.contentsOfDirectory(atPath: Self.presets.path).filter { $0.hasSuffix(".json") }
        #expect(Set(present) == Set(Self.files))
        let readme = try String(contentsOf: Self.presets.appendingPathComponent("README.md"), encoding: .utf8)
        for file in Self.files { #expect(readme.contains("(\(file))"), "README lacks \(file)") }
        for seed in ["000_", "001_", "002_", "003_", "004_"] { #expect(readme.contains("`\(seed)"), "README lacks seed \(seed)") }
    }

    @Test("runbook 004's create declares P1 and pages; its P3 goes to the next sprint (004-18, 004-04)")
    func rocketChat() throws {
        let json = try String(contentsOf: Self.presets.appendingPathComponent("rocketchat-weekly-oncall.json"), encoding: .utf8)
        let config = try ConfigLoader.load(json: json, environment: Self.environment).get()
        #expect(config.incidents.defaultSeverity == "p1")
        #expect(config.severity(id: "p1")?.page == true)
        #expect(config.severity(id: "p3")?.respondWithin == .nextSprint)
        #expect(config.calendar?.sprint != nil)
    }
}
