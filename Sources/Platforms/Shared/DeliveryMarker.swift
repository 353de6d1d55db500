import IncidentCore

extension OutboxMessage {
    /// The id Klaxon gives the `part`-th post of this message on a chat server (Rocket.Chat's `_id`,
    /// Mattermost's `klaxon_message_id` prop), so a retry finds or is refused as the earlier post. The
    /// outbox id alone would repeat if the database were ever recreated (and the server would then swallow
    /// new messages as duplicates), so the message's creation time, which never changes between attempts,
    /// is part of it.
    func deliveryMarker(part: Int) -> String {
        let created = String(createdAt.millisecondsSince1970(), radix: 36)
        return "klaxon-\(id)-\(created)-\(part)"
    }
}
