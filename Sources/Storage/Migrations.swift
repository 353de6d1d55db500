import IncidentCore
import Logging
import SQLiteNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One step of the schema's history. Steps are never edited once released: a change is a new step.
struct Migration: Sendable {
    let version: Int
    let name: String
    /// One statement each: `SQLiteDatabase` refuses a string that holds more than one.
    let statements: [String]
    /// Set for a step that remakes the outbox's generated `lane` column with this definition, before its
    /// `statements`: the indexes and triggers naming `lane` are read from the schema, dropped, and made
    /// again as they were. The step is then right whatever other steps did to them (migration numbers are
    /// assigned per branch, and a branch merged beside this one may have rewritten the triggers).
    var remakeLane: String? = nil
}

/// The SQLite schema as an ordered list of migrations. `schema_migrations` records which versions a
/// database file has; `apply` runs the missing ones in order, each in its own transaction together with
/// its row in `schema_migrations`, so a crash mid-migration leaves the file at the previous version.
///
/// Conventions of the schema:
/// - Dates are INTEGER milliseconds since 1970 (`SQLiteDates`), so comparisons with "now" are exact
///   integer comparisons. The incident's own JSON `body` keeps its dates at full precision.
/// - An incident is stored as JSON (`body`) plus the columns that queries filter or sort on.
/// - Foreign keys to `incidents` are deferred to COMMIT, so the order of writes inside one change set
///   does not matter. The outbox has no foreign key: a reply may name an incident that does not exist.
enum Migrations {
    static let all: [Migration] = [
        Migration(
            version: 1,
            name: "incidents, timeline, outbox, timers, overrides, console, inbound keys",
            statements: [
                // Incident numbers come from counters, not from MAX(id) + 1: a number handed out for a
                // declaration that then failed is never given to another incident.
                """
                CREATE TABLE incident_number_counter (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    last_number INTEGER NOT NULL
                )
                """,
                """
                CREATE TABLE incident_day_counters (
                    day TEXT PRIMARY KEY,
                    last_number INTEGER NOT NULL
                )
                """,
                """
                CREATE TABLE incidents (
                    id INTEGER PRIMARY KEY,
                    revision INTEGER NOT NULL,
                    severity TEXT NOT NULL,
                    status TEXT NOT NULL,
                    declared_at INTEGER NOT NULL,
                    room_platform TEXT,
                    room_channel_id TEXT,
                    room_thread_id TEXT,
                    body TEXT NOT NULL
                )
                """,
                "CREATE INDEX incidents_by_room ON incidents (room_platform, room_channel_id, room_thread_id)",
                "CREATE INDEX incidents_by_status ON incidents (status, declared_at)",
                "CREATE INDEX incidents_by_declared_at ON incidents (declared_at)",
                """
                CREATE TABLE timeline (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    incident_id INTEGER NOT NULL
                        REFERENCES incidents (id) DEFERRABLE INITIALLY DEFERRED,
                    at INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    actor_id TEXT,
                    actor_name TEXT,
                    text TEXT NOT NULL
                )
                """,
                "CREATE INDEX timeline_by_incident ON timeline (incident_id, id)",
                """
                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    platform TEXT NOT NULL,
                    incident_id INTEGER,
                    action TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    not_before INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    state TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'delivered', 'dead')),
                    platform_message_id TEXT,
                    last_error TEXT,
                    lease_owner TEXT,
                    lease_expires_at INTEGER,
                    delivered_at INTEGER
                )
                """,
                "CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending'",
                "CREATE INDEX outbox_by_incident ON outbox (incident_id, id)",
                // A timer that fired stays as `done`; a replaced or cancelled one is deleted. The partial
                // unique index is what "each incident has at most one pending timer of each kind" rests on.
                """
                CREATE TABLE timers (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    incident_id INTEGER NOT NULL
                        REFERENCES incidents (id) DEFERRABLE INITIALLY DEFERRED,
                    kind TEXT NOT NULL,
                    due_at INTEGER NOT NULL,
                    step INTEGER NOT NULL DEFAULT 0,
                    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
                    lease_owner TEXT,
                    lease_expires_at INTEGER
                )
                """,
                "CREATE UNIQUE INDEX timers_one_pending_per_kind ON timers (incident_id, kind) WHERE state = 'pending'",
                "CREATE INDEX timers_pending_by_due ON timers (due_at) WHERE state = 'pending'",
                """
                CREATE TABLE oncall_overrides (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    rotation_id TEXT NOT NULL,
                    person_id TEXT NOT NULL,
                    starts_at INTEGER NOT NULL,
                    ends_at INTEGER NOT NULL,
                    created_by TEXT NOT NULL
                )
                """,
                "CREATE INDEX oncall_overrides_by_rotation ON oncall_overrides (rotation_id, starts_at)",
                // `outbox_id` is UNIQUE so that delivering the same outbox message twice shows it once.
                // SQLite lets any number of rows have a NULL there.
                """
                CREATE TABLE console_messages (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    channel TEXT NOT NULL,
                    thread TEXT,
                    text TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    outbox_id INTEGER UNIQUE
                )
                """,
                """
                CREATE TABLE processed_inbound (
                    key TEXT PRIMARY KEY,
                    processed_at INTEGER NOT NULL
                )
                """,
            ]
        ),
        Migration(
            version: 2,
            name: "inbound cursors",
            statements: [
                // One row per polled stream (a Rocket.Chat room); `value` is opaque to the store.
                """
                CREATE TABLE inbound_cursors (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                )
                """
            ]
        ),
        Migration(
            version: 3,
            name: "rotation hand-offs",
            statements: [
                // The latest hand-off of each rotation that was announced (or, the first time the rotation
                // was seen, recorded without a message). Schedulers compare-and-set it in the transaction
                // that enqueues the announcement, so each hand-off is announced once.
                """
                CREATE TABLE rotation_handoffs (
                    rotation_id TEXT PRIMARY KEY,
                    handoff_at INTEGER NOT NULL
                )
                """
            ]
        ),
        Migration(
            version: 4,
            name: "index of leased timers",
            statements: [
                // The next due time reads the few timers a scheduler holds from here instead of computing
                // MAX(due_at, lease_expires_at) over every pending timer.
                """
                CREATE INDEX timers_pending_leased ON timers (lease_expires_at)
                WHERE state = 'pending' AND lease_expires_at IS NOT NULL
                """
            ]
        ),
        Migration(
            version: 5,
            name: "outbox claim count",
            statements: [
                // How many times a message was handed to a sender. `attempts` counts recorded failures only;
                // a sender that crashed between sending and recording left no failure behind, but it did
                // claim the message, so adapters can tell "maybe sent already" from "never tried".
                "ALTER TABLE outbox ADD COLUMN claims INTEGER NOT NULL DEFAULT 0"
            ]
        ),
        Migration(
            version: 6,
            name: "outbox queues per incident",
            statements: [
                // A pending message waiting behind an earlier pending message of its incident is `blocked`:
                // only the head of each incident's queue can be claimed. The claim and the next due time
                // then read the heads from an index instead of checking every pending message against its
                // predecessors, so a backlog (a rate-limited channel, a platform outage) costs nothing
                // per claim. Triggers keep the flag, so every write path (and an older build that knows
                // nothing of it) leaves it right.
                "ALTER TABLE outbox ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0",
                """
                UPDATE outbox SET blocked = 1
                WHERE state = 'pending' AND incident_id IS NOT NULL AND EXISTS (
                    SELECT 1 FROM outbox AS earlier
                    WHERE earlier.incident_id = outbox.incident_id AND earlier.state = 'pending' AND earlier.id < outbox.id)
                """,
                "CREATE INDEX outbox_pending_by_incident ON outbox (incident_id, id) WHERE state = 'pending'",
                "CREATE INDEX outbox_ready ON outbox (not_before, id) WHERE state = 'pending' AND blocked = 0",
                "CREATE INDEX outbox_leased ON outbox (lease_expires_at) WHERE state = 'pending' AND lease_expires_at IS NOT NULL",
                // Row triggers run after each row, so of several messages inserted together for one
                // incident all but the first see a predecessor.
                """
                CREATE TRIGGER outbox_queue_behind AFTER INSERT ON outbox
                WHEN NEW.incident_id IS NOT NULL AND EXISTS (
                    SELECT 1 FROM outbox WHERE incident_id = NEW.incident_id AND state = 'pending' AND id < NEW.id)
                BEGIN
                    UPDATE outbox SET blocked = 1 WHERE id = NEW.id;
                END
                """,
                // Delivered or given up: the incident's next pending message (its lowest id) is the head.
                """
                CREATE TRIGGER outbox_next_in_line AFTER UPDATE OF state ON outbox
                WHEN OLD.state = 'pending' AND NEW.state <> 'pending' AND NEW.incident_id IS NOT NULL
                BEGIN
                    UPDATE outbox SET blocked = 0
                    WHERE id = (SELECT MIN(id) FROM outbox WHERE incident_id = NEW.incident_id AND state = 'pending');
                END
                """,
            ]
        ),
        Migration(
            version: 7,
            name: "alert groups",
            statements: [
                // The incident each alert group's notifications go to (relinked when a group that fires again
                // after its incident ended gets a new one).
                """
                CREATE TABLE alert_groups (
                    source TEXT NOT NULL,
                    group_key TEXT NOT NULL,
                    incident_id INTEGER NOT NULL,
                    linked_at INTEGER NOT NULL,
                    PRIMARY KEY (source, group_key)
                )
                """
            ]
        ),
        Migration(
            version: 8,
            name: "audit log",
            statements: [
                """
                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    platform TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    user_name TEXT,
                    person_id TEXT,
                    channel TEXT,
                    text TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    reason TEXT,
                    incident_id INTEGER
                )
                """,
                "CREATE INDEX audit_log_by_time ON audit_log (at)",
                "CREATE INDEX audit_log_by_incident ON audit_log (incident_id, at) WHERE incident_id IS NOT NULL",
            ]
        ),
        Migration(
            version: 9,
            name: "outbox lanes and dead letters",
            statements: [
                // The sender's queue a row belongs to: its platform's, or the pager webhooks' own (issue 12,
                // item 6: one slow or parked platform never holds up another). Derived from the row, so every
                // writer (an older build too) gets it right; the test is on the text, not `json_extract`, so
                // a row whose JSON is damaged still has a lane and can be set aside.
                """
                ALTER TABLE outbox ADD COLUMN lane TEXT
                GENERATED ALWAYS AS (CASE WHEN action LIKE '{"pagerWebhook"%' THEN 'pager' ELSE platform END) VIRTUAL
                """,
                // When the message's current run of transient failures began: the sender gives up after
                // `outbox.retryFor` of them, however many attempts that took.
                "ALTER TABLE outbox ADD COLUMN failing_since INTEGER",
                // An incident's messages queue per lane: a parked chat platform must not hold back the
                // incident's pages, nor a slow pager gateway its chat messages.
                "DROP TRIGGER outbox_queue_behind",
                "DROP TRIGGER outbox_next_in_line",
                "DROP INDEX outbox_pending_by_incident",
                LaneQueueSQL.pendingByIncidentLaneIndex,
                LaneQueueSQL.reblockByLane,
                LaneQueueSQL.queueBehindInLane,
                LaneQueueSQL.nextInLineInLane,
                // Each lane's heads, in claim order.
                LaneQueueSQL.readyByLaneIndex,
                // `GET /api/outbox?state=dead`.
                "CREATE INDEX outbox_dead ON outbox (id) WHERE state = 'dead'",
            ]
        ),
        Migration(
            version: 10,
            name: "retention indexes",
            statements: [
                // Pruning finds the oldest rows of each kind by index, a batch at a time (`RetentionService`).
                "CREATE INDEX outbox_delivered_at ON outbox (delivered_at) WHERE state = 'delivered'",
                "CREATE INDEX processed_inbound_by_time ON processed_inbound (processed_at)",
            ]
        ),
        Migration(
            version: 11,
            name: "a timer per policy rule, incident types",
            statements: [
                // Policy rules (notification rules, checkpoints, the response clock) each have their own
                // durable timer: a pending timer is now unique per incident, kind and rule. The built-in
                // kinds keep the empty rule, so they stay one per kind.
                "ALTER TABLE timers ADD COLUMN rule TEXT NOT NULL DEFAULT ''",
                "DROP INDEX timers_one_pending_per_kind",
                "CREATE UNIQUE INDEX timers_one_pending_per_rule ON timers (incident_id, kind, rule) WHERE state = 'pending'",
                // The incident's type (`security`), also in its JSON body; a column for listing by type.
                "ALTER TABLE incidents ADD COLUMN incident_type TEXT",
            ]
        ),
        Migration(
            version: 12,
            name: "incident labels",
            statements: [
                // `incidents.idFormat` labels (`INC-2026-001`) live in the incident's JSON; commands name
                // incidents by them, so they are found by index, and no two incidents share one. The
                // counters of their `{seq}` are rows `label:<period>` of `incident_day_counters`.
                """
                CREATE UNIQUE INDEX incidents_by_label ON incidents (upper(json_extract(body, '$.id.label')))
                WHERE json_extract(body, '$.id.label') IS NOT NULL
                """
            ]
        ),
        Migration(
            version: 13,
            name: "audit remote address",
            statements: [
                // Where an API call came from (issue 12, item 4); chat commands leave it empty.
                "ALTER TABLE audit_log ADD COLUMN remote_address TEXT"
            ]
        ),
        Migration(
            version: 14,
            name: "email and ticket lanes",
            statements: [
                // Mail and tickets get lanes of their own (issue 15): a refusing SMTP server or GitHub must not
                // hold up chat or pages, nor the other way round. A generated column's expression cannot be
                // altered, so the column is made again, and with it the indexes and triggers that name it.
                "DROP TRIGGER outbox_queue_behind",
                "DROP TRIGGER outbox_next_in_line",
                "DROP INDEX outbox_pending_by_incident_lane",
                "DROP INDEX outbox_ready_by_lane",
                "ALTER TABLE outbox DROP COLUMN lane",
                """
                ALTER TABLE outbox ADD COLUMN lane TEXT
                GENERATED ALWAYS AS (CASE
                    WHEN action LIKE '{"pagerWebhook"%' THEN 'pager'
                    WHEN action LIKE '{"email"%' THEN 'email'
                    WHEN action LIKE '{"ticket"%' THEN 'tickets'
                    ELSE platform END) VIRTUAL
                """,
                LaneQueueSQL.pendingByIncidentLaneIndex,
                LaneQueueSQL.readyByLaneIndex,
                LaneQueueSQL.reblockByLane,
                LaneQueueSQL.queueBehindInLane,
                LaneQueueSQL.nextInLineInLane,
            ]
        ),
        Migration(
            version: 16,
            name: "outbox queue keys",
            statements: [
                // A message may queue by a key of its own as well as behind its incident's earlier messages
                // (issue 13): a new incident's announcement waits for the announce channel's earlier
                // announcements and for its incident's room to be opened, but the incident's later messages
                // (its alert, pages) do not wait for it. NULL: the incident's queue alone, as before, so
                // existing rows keep their `blocked` flags.
                "ALTER TABLE outbox ADD COLUMN queue TEXT",
                "CREATE INDEX outbox_pending_by_queue ON outbox (queue, lane, id) WHERE state = 'pending' AND queue IS NOT NULL",
                // Announcements held back by the channel's pace go out together, as one digest post: each
                // names the announcement heading its digest (`holdForDigest`).
                "ALTER TABLE outbox ADD COLUMN digest_of INTEGER",
                "CREATE INDEX outbox_pending_by_digest ON outbox (digest_of, id) WHERE state = 'pending' AND digest_of IS NOT NULL",
                "DROP TRIGGER outbox_queue_behind",
                "DROP TRIGGER outbox_next_in_line",
                """
                CREATE TRIGGER outbox_queue_behind AFTER INSERT ON outbox
                WHEN (NEW.incident_id IS NOT NULL AND EXISTS (
                        SELECT 1 FROM outbox WHERE incident_id = NEW.incident_id AND lane = NEW.lane AND queue IS NULL
                          AND state = 'pending' AND id < NEW.id))
                  OR (NEW.queue IS NOT NULL AND EXISTS (
                        SELECT 1 FROM outbox WHERE queue = NEW.queue AND lane = NEW.lane AND state = 'pending' AND id < NEW.id))
                BEGIN
                    UPDATE outbox SET blocked = 1 WHERE id = NEW.id;
                END
                """,
                // An incident's message settled: the next of its incident's queue, and any keyed message of
                // the incident that waited for it and heads its own queue, may go.
                """
                CREATE TRIGGER outbox_next_in_line AFTER UPDATE OF state ON outbox
                WHEN OLD.state = 'pending' AND NEW.state <> 'pending' AND NEW.queue IS NULL AND NEW.incident_id IS NOT NULL
                BEGIN
                    UPDATE outbox SET blocked = 0
                    WHERE id = (SELECT MIN(id) FROM outbox
                                WHERE incident_id = NEW.incident_id AND lane = NEW.lane AND queue IS NULL AND state = 'pending');
                    UPDATE outbox SET blocked = 0
                    WHERE state = 'pending' AND blocked = 1 AND queue IS NOT NULL AND incident_id = NEW.incident_id AND lane = NEW.lane
                      AND NOT EXISTS (SELECT 1 FROM outbox AS earlier
                                      WHERE earlier.queue = outbox.queue AND earlier.lane = outbox.lane
                                        AND earlier.state = 'pending' AND earlier.id < outbox.id)
                      AND NOT EXISTS (SELECT 1 FROM outbox AS earlier
                                      WHERE earlier.incident_id = outbox.incident_id AND earlier.lane = outbox.lane AND earlier.queue IS NULL
                                        AND earlier.state = 'pending' AND earlier.id < outbox.id);
                END
                """,
                // A keyed message settled: the next of its queue may go, unless its incident's earlier
                // messages (its room) are still pending.
                """
                CREATE TRIGGER outbox_next_in_queue AFTER UPDATE OF state ON outbox
                WHEN OLD.state = 'pending' AND NEW.state <> 'pending' AND NEW.queue IS NOT NULL
                BEGIN
                    UPDATE outbox SET blocked = 0
                    WHERE id = (SELECT MIN(id) FROM outbox WHERE queue = NEW.queue AND lane = NEW.lane AND state = 'pending')
                      AND NOT EXISTS (SELECT 1 FROM outbox AS earlier
                                      WHERE earlier.incident_id = outbox.incident_id AND earlier.lane = outbox.lane AND earlier.queue IS NULL
                                        AND earlier.state = 'pending' AND earlier.id < outbox.id);
                END
                """,
            ]
        ),
        Migration(
            version: 17,
            name: "status webhook lane",
            statements: [
                // Status webhooks queued behind their incident's chat messages under 14 now head their own
                // queue in the status lane.
                """
                UPDATE outbox SET blocked = 0
                WHERE state = 'pending' AND lane = 'status' AND blocked = 1 AND NOT EXISTS (
                    SELECT 1 FROM outbox AS earlier
                    WHERE earlier.incident_id = outbox.incident_id AND earlier.lane = 'status'
                      AND earlier.state = 'pending' AND earlier.id < outbox.id)
                """
            ],
            // Status webhooks queue in the `status` lane the sender serves them from (issue 15): under 14
            // they fell into their incident's chat lane, so a parked chat platform held them back.
            remakeLane: """
                TEXT GENERATED ALWAYS AS (CASE
                    WHEN action LIKE '{"pagerWebhook"%' THEN 'pager'
                    WHEN action LIKE '{"email"%' THEN 'email'
                    WHEN action LIKE '{"ticket"%' THEN 'tickets'
                    WHEN action LIKE '{"statusWebhook"%' THEN 'status'
                    ELSE platform END) VIRTUAL
                """
        ),
        Migration(
            version: 18,
            name: "named leases",
            statements: [
                // One holder at a time for work every replica could do but only one should (issue 16: the
                // Rocket.Chat poller), taken over when the holder stops renewing (`holdLease`).
                """
                CREATE TABLE leases (
                    key TEXT PRIMARY KEY,
                    owner TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                )
                """
            ]
        ),
        Migration(
            version: 19,
            name: "change sets written server-side",
            // PostgreSQL's step 19 adds the function its group commit calls; SQLite groups change sets in
            // process (`SQLiteWriter`). The step is kept so the two schemas say how far they are by the same
            // number (`klaxon export-db` / `import-db` compare it).
            statements: []
        ),
    ]

    /// Drops the indexes and triggers of `outbox` that name `lane`, makes the column again as `definition`
    /// (a generated column's expression cannot be altered), and makes them again from their stored SQL.
    private static func remakeLane(_ definition: String, on connection: SQLiteDatabase) async throws {
        let dependents = try await connection.query(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'outbox' AND type IN ('index', 'trigger') AND sql LIKE '%lane%'", [])
        var indexes: [String] = []
        var triggers: [String] = []
        for row in dependents {
            guard let type = row.column("type")?.string, let name = row.column("name")?.string, let sql = row.column("sql")?.string else {
                throw MalformedRow(column: "sqlite_master", problem: "an outbox index or trigger without type, name or SQL")
            }
            let quoted = "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
            _ = try await connection.query(type == "trigger" ? "DROP TRIGGER \(quoted)" : "DROP INDEX \(quoted)", [])
            if type == "trigger" { triggers.append(sql) } else { indexes.append(sql) }
        }
        _ = try await connection.query("ALTER TABLE outbox DROP COLUMN lane", [])
        _ = try await connection.query("ALTER TABLE outbox ADD COLUMN lane \(definition)", [])
        for sql in indexes + triggers {
            _ = try await connection.query(sql, [])
        }
    }

    /// Brings the database up to the newest version this build knows. Safe to run on every start and from
    /// several processes at once: each step re-checks, under the write lock of `BEGIN IMMEDIATE`, that it
    /// is still missing. Must run before the connection is shared (the store's `open` does this).
    /// `version`: stop after that version (tests build the databases older builds wrote).
    static func apply(on connection: SQLiteDatabase, logger: Logger, through version: Int? = nil) async throws {
        _ = try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at INTEGER NOT NULL
            )
            """,
            []
        )

        for migration in all where migration.version <= version ?? Int.max {
            _ = try await connection.query("BEGIN IMMEDIATE", [])
            do {
                let applied = try await connection.query(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", [.integer(migration.version)])
                if applied.isEmpty {
                    if let lane = migration.remakeLane { try await remakeLane(lane, on: connection) }
                    for statement in migration.statements {
                        _ = try await connection.query(statement, [])
                    }
                    _ = try await connection.query(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        [.integer(migration.version), .text(migration.name), SQLiteDates.value(Date())]
                    )
                    logger.info(
                        "Applied SQLite migration",
                        metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                }
                _ = try await connection.query("COMMIT", [])
            } catch {
                _ = try? await connection.query("ROLLBACK", [])
                throw error
            }
        }

        // A newer build may have migrated this file and then been rolled back. Refusing to start would turn
        // a deploy rollback into an outage of the incident bot, and migrations only add, so warn and go on.
        let newest = try await connection.query("SELECT MAX(version) AS version FROM schema_migrations", [])
        if let version = newest.first?.column("version")?.integer, let known = all.last?.version, version > known {
            logger.warning(
                "The SQLite database has a newer schema than this build knows",
                metadata: ["databaseVersion": "\(version)", "knownVersion": "\(known)"])
        }
    }

    /// The versions recorded in `schema_migrations`, oldest first (for tests and diagnostics).
    static func appliedVersions(on connection: SQLiteDatabase) async throws -> [Int] {
        try await connection.query("SELECT version FROM schema_migrations ORDER BY version", [])
            .compactMap { $0.column("version")?.integer.map { Int($0) } }
    }
}

/// Statements migration 9 runs and migration 14 runs again, word for word, after making the `lane` column
/// anew (which drops what names it): written once, so the schema both leave is the same text.
private enum LaneQueueSQL {
    static let pendingByIncidentLaneIndex = "CREATE INDEX outbox_pending_by_incident_lane ON outbox (incident_id, lane, id) WHERE state = 'pending'"
    static let readyByLaneIndex = "CREATE INDEX outbox_ready_by_lane ON outbox (lane, not_before, id) WHERE state = 'pending' AND blocked = 0"
    static let reblockByLane = """
        UPDATE outbox SET blocked = (incident_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM outbox AS earlier
            WHERE earlier.incident_id = outbox.incident_id AND earlier.lane = outbox.lane
              AND earlier.state = 'pending' AND earlier.id < outbox.id))
        WHERE state = 'pending'
        """
    static let queueBehindInLane = """
        CREATE TRIGGER outbox_queue_behind AFTER INSERT ON outbox
        WHEN NEW.incident_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM outbox WHERE incident_id = NEW.incident_id AND lane = NEW.lane AND state = 'pending' AND id < NEW.id)
        BEGIN
            UPDATE outbox SET blocked = 1 WHERE id = NEW.id;
        END
        """
    static let nextInLineInLane = """
        CREATE TRIGGER outbox_next_in_line AFTER UPDATE OF state ON outbox
        WHEN OLD.state = 'pending' AND NEW.state <> 'pending' AND NEW.incident_id IS NOT NULL
        BEGIN
            UPDATE outbox SET blocked = 0
            WHERE id = (SELECT MIN(id) FROM outbox WHERE incident_id = NEW.incident_id AND lane = NEW.lane AND state = 'pending');
        END
        """
}
