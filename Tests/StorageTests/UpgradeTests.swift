import Foundation
import IncidentCore
import Logging
import NIOPosix
import SQLiteNIO
import Testing

@testable import Storage

/// A database written by any earlier schema version opens with this build, migrates, and keeps every
/// incident, timeline line, timer and queued message: each case builds the file as the build of that
/// version left it (its migrations only, rows written with its columns), then opens it as a store.
@Suite("Upgrading an older database")
struct UpgradeTests {
    static let logger = Logger(label: "klaxon.tests.upgrade", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test(
        "a database of every earlier schema version upgrades and keeps its incident, timeline, timer and message",
        arguments: Migrations.all.map(\.version).dropLast())
    func upgrades(from version: Int) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("klaxon-upgrade-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.sqlite").path

        let declaredAt = Date(timeIntervalSince1970: 1_764_547_200)
        let incident = Incident(
            id: IncidentID(1), title: "Checkout is down", severity: "sev1", platform: .console,
            origin: Conversation(platform: .console, channelID: "incidents"), channelName: "incident-2025-12-01-001",
            room: Conversation(platform: .console, channelID: "incident-2025-12-01-001"), declaredBy: ChatUser(id: "alice", name: "Alice"),
            declaredAt: declaredAt, revision: 1)
        let action = ChatAction.post(to: .incidentRoom, text: "Still down", buttons: [])
        let milliseconds = Int64(declaredAt.timeIntervalSince1970 * 1000)

        let connection = try await SQLiteDatabase.open(path: path)
        try await Migrations.apply(on: connection, logger: Self.logger, through: version)
        // The versions up to this one: numbers are assigned per branch, so the list may have gaps.
        #expect(try await Migrations.appliedVersions(on: connection) == Migrations.all.map(\.version).filter { $0 <= version })
        let body = String(decoding: try JSONEncoder().encode(incident), as: UTF8.self)
        let actionJSON = String(decoding: try JSONEncoder().encode(action), as: UTF8.self)
        _ = try await connection.query(
            """
            INSERT INTO incidents (id, revision, severity, status, declared_at, room_platform, room_channel_id, room_thread_id, body)
            VALUES (1, 1, 'sev1', 'declared', ?, 'console', 'incident-2025-12-01-001', NULL, ?)
            """,
            [.int64(milliseconds), .text(body)])
        _ = try await connection.query(
            "INSERT INTO timeline (incident_id, at, kind, actor_id, actor_name, text) VALUES (1, ?, 'declared', 'alice', 'Alice', 'SEV1 declared')",
            [.int64(milliseconds)])
        _ = try await connection.query(
            "INSERT INTO timers (incident_id, kind, due_at, step) VALUES (1, 'update_reminder', ?, 0)", [.int64(milliseconds + 900_000)])
        _ = try await connection.query(
            "INSERT INTO outbox (platform, incident_id, action, created_at, not_before) VALUES ('console', 1, ?, ?, 0)",
            [.text(actionJSON), .int64(milliseconds)])
        try await connection.close()

        let store = try await SQLiteIncidentStore.open(path: path, logger: Self.logger)
        #expect(try await store.incident(IncidentID(1)) == incident)
        #expect(try await store.timeline(of: IncidentID(1)).map(\.text) == ["SEV1 declared"])
        let timers = try await store.pendingTimers(of: IncidentID(1))
        #expect(timers.map(\.kind) == [.updateReminder])
        #expect(timers.first?.dueAt == declaredAt.addingTimeInterval(900))
        let claimed = try await store.claimOutbox(now: declaredAt, owner: "upgrade", leaseUntil: declaredAt.addingTimeInterval(60), limit: 10)
        #expect(claimed.map(\.action) == [action], "the queued message must still go out")
        // And the upgraded file takes new writes.
        var changes = ChangeSet()
        var acknowledged = incident
        acknowledged.status = .acknowledged
        changes.incidents = [IncidentWrite(incident: acknowledged, expectedRevision: 1)]
        try await store.commit(changes)
        #expect(try await store.incident(IncidentID(1))?.status == .acknowledged)
        // Migration 11: the old timer has the empty rule, and a policy rule's timer goes beside it.
        #expect(timers.first?.rule == "")
        var rule = ChangeSet()
        rule.timers = [NewTimer(incidentID: IncidentID(1), kind: .policyRule, dueAt: declaredAt.addingTimeInterval(300), rule: "severity:notify.cto")]
        try await store.commit(rule)
        #expect(try await store.pendingTimers(of: IncidentID(1)).map(\.kind) == [.policyRule, .updateReminder])
        try await store.close()
    }

    /// Migration 14 moves queued mail into the email lane: an email queued by a build that knew no such
    /// lane is delivered by the email sender after the upgrade, not by the chat platform's.
    @Test func queuedMailMovesToTheEmailLane() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("klaxon-upgrade-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.sqlite").path
        let connection = try await SQLiteDatabase.open(path: path)
        try await Migrations.apply(on: connection, logger: Self.logger, through: 10)
        let mail = ChatAction.email(EmailMessage(to: ["a@example.com"], subject: "s", text: "t", html: "h", reason: "page"))
        _ = try await connection.query(
            "INSERT INTO outbox (platform, incident_id, action, created_at, not_before) VALUES ('console', NULL, ?, 0, 0)",
            [.text(String(decoding: try JSONEncoder().encode(mail), as: UTF8.self))])
        #expect(try await connection.query("SELECT lane FROM outbox", []).first?.column("lane")?.string == "console")
        try await connection.close()

        let store = try await SQLiteIncidentStore.open(path: path, logger: Self.logger)
        #expect(try await store.outboxEntries(state: .pending, limit: 10).map(\.lane) == ["email"])
        let claimed = try await store.claimOutbox(lanes: .only(.email), now: Date(), owner: "upgrade", leaseUntil: Date().addingTimeInterval(60), limit: 10)
        #expect(claimed.messages.map(\.action) == [mail])
        try await store.close()
    }

    /// Migration 17 moves queued status webhooks into the status lane: one queued under 14 sat in its
    /// incident's chat lane; after the upgrade the status sender claims it.
    @Test func queuedStatusWebhooksMoveToTheStatusLane() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("klaxon-upgrade-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.sqlite").path
        let connection = try await SQLiteDatabase.open(path: path)
        try await Migrations.apply(on: connection, logger: Self.logger, through: 14)
        let published = try JSONDecoder().decode(
            PublicIncident.self, from: Data(#"{"id":"INC-1","title":"Checkout is slow","state":"investigating","startedAt":0,"updates":[]}"#.utf8))
        let notice = ChatAction.statusWebhook(
            StatusNotice(webhook: "statuspage", event: "incident.published", incident: published, at: Date(timeIntervalSinceReferenceDate: 0)))
        _ = try await connection.query(
            "INSERT INTO outbox (platform, incident_id, action, created_at, not_before) VALUES ('slack', NULL, ?, 0, 0)",
            [.text(String(decoding: try JSONEncoder().encode(notice), as: UTF8.self))])
        #expect(try await connection.query("SELECT lane FROM outbox", []).first?.column("lane")?.string == "slack")
        try await connection.close()

        let store = try await SQLiteIncidentStore.open(path: path, logger: Self.logger)
        #expect(try await store.outboxEntries(state: .pending, limit: 10).map(\.lane) == ["status"])
        let claimed = try await store.claimOutbox(
            lanes: .only(.statusPage), now: Date(), owner: "upgrade", leaseUntil: Date().addingTimeInterval(60), limit: 10)
        #expect(claimed.messages.map(\.action) == [notice])
        try await store.close()
    }
}
