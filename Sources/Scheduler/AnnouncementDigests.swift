import Foundation
import IncidentCore
import Logging

/// Composes the post of an announcement that heads a digest (issue 13): when the announce channel's pace
/// held an announcement back, the store made it the head of a digest and every announcement waiting behind
/// it a member (`IncidentStore.holdForDigest`). The head is then posted as one message listing them all,
/// under the head's own outbox id, so a retry after a crash finds the earlier post of it like any other;
/// recording it delivers the members with it (`markDigestDelivered`). Each announcement is thus posted
/// alone or inside exactly one digest.
struct AnnouncementDigests: Sendable {
    let store: any OutboxStore & IncidentRecords
    let digest: AnnouncementDigest
    let logger: Logger

    /// What to post for `head`: itself when nothing joined it, else the digest.
    func post(for head: OutboxMessage, platform: any ChatPlatform) async throws -> OutboxMessage {
        guard head.headsDigest else { return head }
        let members = try await store.outboxDigestMembers(of: head.id)
        guard !members.isEmpty else { return head }
        let all = [head] + members
        var entries: [AnnouncementDigest.Entry] = []
        for id in all.lazy.compactMap(\.incidentID).prefix(AnnouncementDigest.listed) {
            guard let incident = try await store.incident(id) else { continue }
            entries.append(AnnouncementDigest.Entry(incident: incident, roomLink: platform.roomLink(of: incident)))
        }
        logger.notice(
            "announcements held back by the channel's pace go out as one digest",
            metadata: ["outbox_id": "\(head.id)", "announcements": "\(all.count)", "platform": "\(head.platform)"])
        var post = head
        post.action = .post(to: .announce, text: digest.text(entries, total: all.count), buttons: [])
        return post
    }
}
