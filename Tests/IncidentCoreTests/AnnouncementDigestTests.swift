import Foundation
import Testing

@testable import IncidentCore

/// Issue 13: the post that stands for announcements the announce channel's pace held back.
@Suite("Announcement digest")
struct AnnouncementDigestTests {
    typealias F = EngineFixture

    func entries(_ count: Int) -> [AnnouncementDigest.Entry] {
        (1...count).map { number in
            let incident = Incident(
                id: IncidentID(number), title: "Checkout outage \(number)", severity: number == 1 ? "sev1" : "sev2", platform: .slack,
                origin: Conversation(platform: .slack, channelID: "C0GENERAL"), channelName: "incident-\(number)", declaredBy: F.alice,
                declaredAt: F.monday)
            return AnnouncementDigest.Entry(incident: incident, roomLink: "<#C\(number)>")
        }
    }

    @Test func listsEachIncidentWithItsSeverityTitleAndLink() throws {
        let text = try AnnouncementDigest(config: F.config()).text(entries(3), total: 3)
        #expect(text.hasPrefix("🚨 3 new incidents:"))
        #expect(text.contains("• INC-1 SEV1 Checkout outage 1 · <#C1>"))
        #expect(text.contains("• INC-3 SEV2 Checkout outage 3 · <#C3>"))
        #expect(!text.contains("more"))
    }

    @Test func aStormIsListedUpToTheBoundThenCounted() throws {
        let digest = try AnnouncementDigest(config: F.config())
        let text = digest.text(entries(AnnouncementDigest.listed + 5), total: 2_000)
        #expect(text.hasPrefix("🚨 2000 new incidents:"))
        #expect(text.contains("<#C\(AnnouncementDigest.listed)>"))
        #expect(!text.contains("<#C\(AnnouncementDigest.listed + 1)>"))
        #expect(text.contains("…and \(2_000 - AnnouncementDigest.listed) more"))
        #expect(text.split(separator: "\n").count == AnnouncementDigest.listed + 2)
    }

    @Test func theAdminsTemplateWins() throws {
        var config = F.config()
        config.templates["announceDigest"] = "{{count}} new: {{#incidents}}{{id}} {{/incidents}}"
        #expect(try AnnouncementDigest(config: config).text(entries(2), total: 2) == "2 new: INC-1 INC-2 ")
    }
}
