import Foundation
import IncidentCore
import KlaxonTestSupport
import NIOHTTP1
import Testing

/// Debian's `chromium`: a real browser renders the status page. `.ci/run` installs it; without CI a
/// machine lacking it skips the browser test.
enum ChromiumBinary {
    static let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static let required = ProcessInfo.processInfo.environment["CI"] != nil
}

/// `GET /status`, `/status.json`, `/status/feed.atom` against the real daemon on loopback: what was
/// published shows, and nothing else does.
@Suite("Status page", .serialized)
struct StatusPageTests {
    static let title = "Checkout payments are failing"
    static let publicText = "We found a fault in the payment gateway and are rolling back."
    static let internalNote = "db password rotated by hand on replica 3"
    static let privateTitle = "Quiet internal disk alarm"

    static func config(storePath: String, edit: (inout KlaxonConfig) -> Void = { _ in }) throws -> KlaxonConfig {
        try defaultConfig(storePath: storePath) { config in
            config.statusPage = StatusPageConfig(
                title: "Emberly status",
                links: [StatusPageLink(title: "Support", url: "https://example.com/support")],
                components: [
                    StatusPageComponent(id: "api", name: "Public API"),
                    StatusPageComponent(id: "checkout", name: "Checkout", description: "Payments and orders"),
                ])
            edit(&config)
        }
    }

    /// One published incident (component checkout, a note, roles, a public status) and one never published.
    static func publishScenario(_ daemon: RunningDaemon) async throws {
        #expect(try await daemon.command("declare sev1 \"\(title)\"", user: "alice")["outcome"] == "applied")
        #expect(try await daemon.command("component INC-1 checkout", user: "alice")["outcome"] == "applied")
        #expect(try await daemon.command("note INC-1 \(internalNote)", user: "alice")["outcome"] == "applied")
        #expect(try await daemon.command("role INC-1 ic @carol", user: "alice")["outcome"] == "applied")
        #expect(try await daemon.command("ack INC-1", user: "bob")["outcome"] == "applied")
        #expect(try await daemon.command("status INC-1 identified \"\(publicText) Ask @bob for details.\"", user: "carol")["outcome"] == "applied")
        #expect(try await daemon.command("declare sev3 \"\(privateTitle)\"", user: "dave")["outcome"] == "applied")
    }

    /// Strings that must never reach the public: the note, the unpublished incident, and every name.
    static let forbidden = [internalNote, privateTitle, "alice", "Alice", "bob", "Bob", "carol", "Carol", "dave", "Dave"]

    @Test("the page, its JSON and its feed show the published incident and hide notes, private incidents and names")
    func publishedOnly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try Self.config(storePath: directory.file("klaxon.sqlite")))
        try await Self.publishScenario(daemon)

        // Open to anyone: no Authorization header at all.
        let page = try await daemon.request(.GET, "/status", headers: ["Authorization": ""])
        #expect(page.status == 200)
        #expect(page.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.body.contains(Self.title))
        #expect(page.body.contains("Identified"))
        #expect(page.body.contains(Self.publicText))
        #expect(page.body.contains("Degraded · Identified"), "the checkout component shows the incident's state")
        #expect(page.body.contains("<main>") && page.body.contains("<h1>") && page.body.contains("prefers-color-scheme:dark"))
        #expect(!page.body.contains("<script"), "no JavaScript")
        for word in Self.forbidden {
            #expect(!page.body.contains(word), "the page leaks \(word)")
        }

        let json = try await daemon.request(.GET, "/status.json", headers: ["Authorization": ""])
        #expect(json.status == 200)
        let object = try #require(json.json as? [String: Any])
        let open = try #require(object["openIncidents"] as? [[String: Any]])
        #expect(open.count == 1)
        #expect(open.first?["title"] as? String == Self.title)
        #expect(open.first?["state"] as? String == "identified")
        #expect(open.first?["component"] as? String == "checkout")
        let updates = try #require(open.first?["updates"] as? [[String: Any]])
        #expect(updates.map { $0["text"] as? String } == ["\(Self.publicText) Ask the team for details."])
        for word in Self.forbidden {
            #expect(!json.body.contains(word), "the JSON leaks \(word)")
        }

        let feed = try await daemon.request(.GET, "/status/feed.atom", headers: ["Authorization": ""])
        #expect(feed.status == 200)
        #expect(feed.body.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"))
        #expect(feed.body.contains("<title>\(Self.title) — Identified</title>"))
        for word in Self.forbidden {
            #expect(!feed.body.contains(word), "the feed leaks \(word)")
        }

        // Resolving tells the public too; the history keeps the incident.
        #expect(try await daemon.command("resolve INC-1 rolled back release 2026.11.3", user: "carol")["outcome"] == "applied")
        let after = try await daemon.request(.GET, "/status.json")
        let resolved = try #require(after.json as? [String: Any])
        #expect((resolved["openIncidents"] as? [Any])?.isEmpty == true)
        let history = try #require(resolved["history"] as? [[String: Any]])
        let day = try #require(history.first?["incidents"] as? [[String: Any]])
        #expect(day.first?["state"] as? String == "resolved")
        #expect(!after.body.contains("rolled back release"), "the resolution text was told to chat, not published")
        try await daemon.stop()
    }

    @Test("published text is escaped: markup in a title or a status cannot reach the page as markup")
    func escapesText() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try Self.config(storePath: directory.file("klaxon.sqlite")))
        _ = try await daemon.command("declare sev2 <script>alert(1)</script> & \"friends\"", user: "alice")
        _ = try await daemon.command("status INC-1 investigating <img src=x onerror=alert(2)>", user: "alice")
        let page = try await daemon.request(.GET, "/status")
        #expect(!page.body.contains("<script") && !page.body.contains("<img"))
        #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;"))
        #expect(page.body.contains("&lt;img src=x onerror=alert(2)&gt;"))
        let feed = try await daemon.request(.GET, "/status/feed.atom")
        #expect(!feed.body.contains("<script") && feed.body.contains("&lt;script&gt;"))
        try await daemon.stop()
    }

    @Test(
        "headless Chromium renders the incident's title and state at desktop and phone widths, light and dark",
        .enabled(if: ChromiumBinary.path != nil || ChromiumBinary.required, "chromium is not installed (apt-get install chromium)"))
    func rendersInARealBrowser() async throws {
        let chromium = try #require(ChromiumBinary.path, "chromium is not installed; .ci/run installs it")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let daemon = try await RunningDaemon.start(try Self.config(storePath: directory.file("klaxon.sqlite")))
        try await Self.publishScenario(daemon)
        let url = daemon.baseURL + "/status"

        let dom = try await Self.runChromium(chromium, ["--dump-dom", url], in: directory)
        #expect(dom.contains("<h1>Emberly status</h1>"))
        #expect(dom.contains(Self.title), "the browser's DOM has the incident's title")
        #expect(dom.contains(">Identified<"), "and its state")

        // Screenshots go to KLAXON_SCREENSHOTS when set (docs/ is refreshed that way), else a temp folder.
        let target = ProcessInfo.processInfo.environment["KLAXON_SCREENSHOTS"] ?? directory.path
        // `--force-dark-mode` makes the page's `prefers-color-scheme: dark` apply.
        let shots = [
            ("status-page-desktop.png", "1280,900", false), ("status-page-phone.png", "390,844", false), ("status-page-phone-dark.png", "390,844", true),
        ]
        for (name, size, dark) in shots {
            let file = (target as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file) { try FileManager.default.removeItem(atPath: file) }
            let scheme = dark ? ["--force-dark-mode"] : []
            _ = try await Self.runChromium(chromium, scheme + ["--screenshot=\(file)", "--window-size=\(size)", "--hide-scrollbars", url], in: directory)
            let png = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(name) is a PNG")
            #expect(png.count > 5_000, "\(name) shows a page, not a blank")
        }
        try await daemon.stop()
    }

    /// Chromium headless with a profile of its own; `--no-sandbox` because CI runs as root.
    static func runChromium(_ binary: String, _ arguments: [String], in directory: TemporaryDirectory) async throws -> String {
        let process = try KlaxonChildProcess(
            executable: binary,
            ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(directory.file("chromium-profile"))"] + arguments,
            directory: directory.path)
        defer { if process.isRunning { process.kill() } }
        let exited = await process.waitForExit(timeout: .seconds(60))
        #expect(exited, "chromium finished within 60 s")
        #expect(process.terminationStatus == 0, "chromium failed: \(process.output.suffix(2_000))")
        return process.output
    }
}
