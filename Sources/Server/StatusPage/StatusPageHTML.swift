import Foundation
import IncidentCore

/// `GET /status` as one server-rendered HTML document: no script, one inline style sheet, semantic
/// landmarks (banner, navigation, main, contentinfo), one `h1` and ordered headings, light and dark
/// colours through `prefers-color-scheme` (each pair above WCAG AA contrast), and a layout that reads
/// at 320 px wide.
enum StatusPageHTML {
    static func render(_ page: StatusPageModel) -> String {
        var html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark">
            <title>\(escape(page.title))</title>
            <link rel="alternate" type="application/atom+xml" title="\(escape(page.title)): incidents" href="/status/feed.atom">
            <style>\(style)</style>
            </head>
            <body>
            <header class="banner">

            """
        if let logo = page.logoURL {
            html += "<img class=\"logo\" src=\"\(escape(logo))\" alt=\"\" width=\"40\" height=\"40\">\n"
        }
        html += "<p class=\"site\">\(escape(page.title))</p>\n"
        if !page.links.isEmpty {
            html += "<nav aria-label=\"Links\"><ul>"
            for link in page.links {
                html += "<li><a href=\"\(escape(link.url))\">\(escape(link.title))</a></li>"
            }
            html += "</ul></nav>\n"
        }
        html += "</header>\n<main>\n<h1>\(escape(page.title))</h1>\n"
        if let overall = page.overall {
            html +=
                "<p class=\"overall state-\(overall.rawValue)\" role=\"status\">Some systems are affected: \(page.openIncidents.count == 1 ? "1 incident is" : "\(page.openIncidents.count) incidents are") open.</p>\n"
        } else {
            html += "<p class=\"overall operational\" role=\"status\">All systems operational</p>\n"
        }
        if !page.components.isEmpty {
            html += "<section aria-labelledby=\"components\">\n<h2 id=\"components\">Components</h2>\n<ul class=\"components\">\n"
            for component in page.components {
                let state = component.state.map { "state-\($0.rawValue)" } ?? "operational"
                html += "<li><span class=\"name\">\(escape(component.name))</span>"
                if let description = component.description { html += " <span class=\"muted\">\(escape(description))</span>" }
                html += " <span class=\"badge \(state)\">\(escape(component.label))</span></li>\n"
            }
            html += "</ul>\n</section>\n"
        }
        html += "<section aria-labelledby=\"active\">\n<h2 id=\"active\">Active incidents</h2>\n"
        if page.openIncidents.isEmpty {
            html += "<p class=\"muted\">No active incidents.</p>\n"
        }
        for incident in page.openIncidents {
            html += incidentArticle(incident, headingLevel: 3)
        }
        html += "</section>\n<section aria-labelledby=\"history\">\n<h2 id=\"history\">Past \(page.historyDays) days</h2>\n"
        let past = page.history.map { day in (day.date, day.incidents.filter { !$0.isOpen }) }.filter { !$0.1.isEmpty }
        if past.isEmpty {
            html += "<p class=\"muted\">No incidents in the past \(page.historyDays) days.</p>\n"
        }
        for (date, incidents) in past {
            html += "<h3><time datetime=\"\(date)\">\(date)</time></h3>\n"
            for incident in incidents {
                html += incidentArticle(incident, headingLevel: 4)
            }
        }
        html += """
            </section>
            </main>
            <footer>
            <p>Updated <time datetime="\(iso(page.generatedAt))">\(utc(page.generatedAt))</time> · <a href="/status/feed.atom">Atom feed</a> · <a href="/status.json">JSON</a></p>
            </footer>
            </body>
            </html>

            """
        return html
    }

    private static func incidentArticle(_ incident: PublicIncident, headingLevel level: Int) -> String {
        var html = "<article class=\"incident\" aria-labelledby=\"\(escape(incident.id))\">\n"
        html += "<h\(level) id=\"\(escape(incident.id))\">\(escape(incident.title))</h\(level)>\n"
        html += "<p><span class=\"badge state-\(incident.state.rawValue)\">\(incident.state.label)</span>"
        if let name = incident.componentName { html += " <span class=\"muted\">Affects \(escape(name))</span>" }
        html += "</p>\n<ol class=\"updates\" reversed>\n"
        for update in incident.updates.reversed() {
            html += "<li><strong>\(update.state.label)</strong>"
            if let text = update.text { html += " — \(escape(text))" }
            html += " <time datetime=\"\(iso(update.at))\">\(utc(update.at))</time></li>\n"
        }
        html += "</ol>\n</article>\n"
        return html
    }

    /// Light: text #1a1a1a on #ffffff (17:1); badges' text on their tints stays above 7:1. Dark: #e8e8e8
    /// on #121212 (15:1). Links keep their underline, so colour is never the only cue.
    private static let style = """
        :root{--bg:#fff;--fg:#1a1a1a;--muted:#4a4a4a;--line:#d0d0d0;--ok-bg:#e3f4e8;--ok-fg:#0b5323;--warn-bg:#fff1d6;--warn-fg:#6b4200;--bad-bg:#fde2e1;--bad-fg:#8a1410;--link:#0645ad}
        @media (prefers-color-scheme:dark){:root{--bg:#121212;--fg:#e8e8e8;--muted:#b8b8b8;--line:#3a3a3a;--ok-bg:#113a1f;--ok-fg:#b9f0c9;--warn-bg:#3d2c00;--warn-fg:#ffe2a3;--bad-bg:#4a1110;--bad-fg:#ffd0cc;--link:#9cc3ff}}
        *{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
        .banner,main,footer{max-width:48rem;margin:0 auto;padding:1rem}
        .banner{display:flex;flex-wrap:wrap;align-items:center;gap:.75rem;border-bottom:1px solid var(--line)}
        .banner .site{font-weight:600;margin:0;flex:1}.banner ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}
        a{color:var(--link)}h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}
        h3{font-size:1.1rem;margin:1.25rem 0 .25rem}h4{font-size:1rem;margin:.75rem 0 .25rem}
        .overall{padding:.75rem 1rem;border-radius:.5rem;font-weight:600}
        .operational{background:var(--ok-bg);color:var(--ok-fg)}.state-monitoring{background:var(--warn-bg);color:var(--warn-fg)}
        .state-investigating,.state-identified{background:var(--bad-bg);color:var(--bad-fg)}.state-resolved{background:var(--ok-bg);color:var(--ok-fg)}
        .components{list-style:none;padding:0;margin:0}.components li{display:flex;flex-wrap:wrap;gap:.5rem;align-items:baseline;padding:.6rem 0;border-bottom:1px solid var(--line)}
        .components .name{font-weight:600;flex:1}
        .badge{display:inline-block;padding:.1rem .5rem;border-radius:999px;font-size:.875rem;font-weight:600}
        .muted{color:var(--muted)}.incident{border-left:4px solid var(--line);padding-left:.75rem;margin:1rem 0}
        .updates{padding-left:1.25rem}.updates li{margin:.35rem 0;overflow-wrap:anywhere}.updates time,footer{color:var(--muted);font-size:.875rem}
        """

    static func escape(_ text: String) -> String { HTMLText.escape(text) }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    /// `2026-11-10 14:15 UTC`: the public reads one zone, named.
    static func utc(_ date: Date) -> String {
        let parts = Calendar.utc.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d UTC", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0, parts.minute ?? 0)
    }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

/// `GET /status/feed.atom`: one entry per published update, newest first (RFC 4287).
enum StatusFeedAtom {
    static func render(_ page: StatusPageModel) -> String {
        let entries = page.feedEntries
        let updated = entries.first?.update.at ?? page.generatedAt
        var xml = """
            <?xml version="1.0" encoding="utf-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom">
            <title>\(StatusPageHTML.escape(page.title))</title>
            <id>tag:klaxon.invalid,2024:status</id>
            <link rel="alternate" type="text/html" href="/status"/>
            <link rel="self" type="application/atom+xml" href="/status/feed.atom"/>
            <updated>\(StatusPageHTML.iso(updated))</updated>
            <author><name>\(StatusPageHTML.escape(page.title))</name></author>

            """
        for (incident, update) in entries {
            let id = "tag:klaxon.invalid,2024:\(incident.id)/\(Int64((update.at.timeIntervalSince1970 * 1000).rounded()))"
            let summary = update.text.map { "\(update.state.label): \($0)" } ?? update.state.label
            xml += """
                <entry>
                <title>\(StatusPageHTML.escape("\(incident.title) — \(update.state.label)"))</title>
                <id>\(id)</id>
                <link rel="alternate" type="text/html" href="/status#\(StatusPageHTML.escape(incident.id))"/>
                <updated>\(StatusPageHTML.iso(update.at))</updated>
                <summary>\(StatusPageHTML.escape(summary))</summary>
                </entry>

                """
        }
        return xml + "</feed>\n"
    }
}
