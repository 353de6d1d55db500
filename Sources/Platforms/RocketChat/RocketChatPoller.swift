import Foundation
import IncidentCore
import Logging
import ServiceLifecycle
import Synchronization

/// Polling mode, for Rocket.Chat servers where no outgoing webhook can be set up: every `every`, reads
/// the new messages of the configured rooms (and of the open incidents' own channels, where people type
/// `update` and `close`) and handles the commands among them.
///
/// Exactly once, across restarts: each room has a cursor in the store (the timestamp of the last message
/// handled and the ids handled at that very millisecond). Messages are handled oldest first and the
/// cursor moves after each one, so a restart resumes after the last handled message and nothing posted
/// while the daemon was down is missed. Should the daemon stop between handling a message and moving
/// the cursor, the message comes again and its `inboundKey` makes the store refuse the second change.
///
/// Replies go through the outbox like every other post (with the message's id in their `_id`), so a
/// rate limit delays them instead of losing them.
public struct RocketChatPoller: Service {
    private let client: RocketChatClient
    private let commands: RocketChatCommands
    private let store: any IncidentRecords & InboundCursors
    private let clock: any WallClock
    private let roomNames: [String]
    private let every: TimeInterval
    /// Who polls: one replica at a time holds the `rocketchat:poll` lease (several replicas reading one
    /// room would contend for its cursor); it renews it every round, and another takes over once a
    /// holder that stopped (crashed) has let it run out.
    private let owner: String
    private let lease: TimeInterval
    private let logger: Logger
    private let resolvedRooms = ResolvedRooms()

    /// Messages per history call; Rocket.Chat's default `API_Upper_Count_Limit` is 100.
    static let pageSize = 100
    /// A room with more new messages than this in one interval is read in parts (oldest part last).
    static let maxPages = 50

    init(
        client: RocketChatClient, commands: RocketChatCommands, store: any IncidentRecords & InboundCursors, clock: any WallClock, rooms: [String],
        every: TimeInterval,
        owner: String = "poller-\(UUID().uuidString.prefix(8))", lease: TimeInterval = 10, logger: Logger
    ) {
        self.client = client
        self.commands = commands
        self.store = store
        self.clock = clock
        self.roomNames = rooms.map { $0.hasPrefix("#") ? String($0.dropFirst()) : $0 }
        self.every = max(every, 1)
        self.owner = owner
        // Renewed every round: it must outlast the wait between two rounds.
        self.lease = max(lease, self.every * 2)
        self.logger = logger
    }

    public func run() async throws {
        logger.info("Rocket.Chat polling started", metadata: ["rooms": "\(roomNames.joined(separator: ","))", "every": "\(every)s"])
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let report = await pollOnce()
            let wait = max(every, report.rateLimitedFor ?? 0)
            let wakeAt = clock.now().addingTimeInterval(wait)
            do {
                try await cancelWhenGracefulShutdown {
                    try await clock.sleep(until: wakeAt)
                }
            } catch {
                break
            }
        }
        logger.info("Rocket.Chat polling stopped")
    }

    /// What one round did.
    public struct Report: Sendable, Hashable {
        /// Commands run (answered, applied, refused or duplicate).
        public var commands = 0
        /// Messages read that were not commands (chat, the bot's own posts, system messages).
        public var ignored = 0
        /// Set when the server said to slow down; the next round waits at least this long.
        public var rateLimitedFor: TimeInterval?
        /// Rooms that could not be read this round (logged; tried again next round).
        public var failedRooms: [String] = []
        /// Another replica holds the poll this round (see `owner`): nothing was read.
        public var polledElsewhere = false
    }

    /// The lease every replica's poller competes for.
    static let leaseKey = "rocketchat:poll"

    /// One round over every room. Tests call it directly to step the poller.
    @discardableResult
    public func pollOnce() async -> Report {
        var report = Report()
        let now = clock.now()
        do {
            guard try await store.holdLease(Self.leaseKey, owner: owner, now: now, until: now.addingTimeInterval(lease)) else {
                report.polledElsewhere = true
                return report
            }
        } catch {
            logger.error("cannot take the polling lease; not polling this round", metadata: ["error": "\(error)"])
            return report
        }
        for (room, start) in await roomsToPoll(&report) {
            do {
                try await poll(room, startingAt: start, into: &report)
            } catch .rateLimited(let retryAfter) {
                logger.notice("Rocket.Chat rate limit while polling; waiting", metadata: ["retry_after": "\(retryAfter)"])
                report.rateLimitedFor = max(report.rateLimitedFor ?? 0, retryAfter)
                // Every route of this client shares the server's patience: stop the round here.
                break
            } catch {
                logger.error("could not poll a Rocket.Chat room", metadata: ["room": "\(room.name ?? room.id)", "error": "\(error)"])
                report.failedRooms.append(room.name ?? room.id)
            }
        }
        return report
    }

    /// Where a room's first poll starts.
    enum Start {
        /// After the newest message already there: history from before Klaxon watched is not replayed.
        case latest
        /// From the room's first message: a channel Klaxon created holds only the incident's messages.
        case beginning
    }

    private func roomsToPoll(_ report: inout Report) async -> [(RocketChatRoom, Start)] {
        var rooms: [(RocketChatRoom, Start)] = []
        for name in roomNames {
            if let room = resolvedRooms[name] {
                rooms.append((room, .latest))
                continue
            }
            do {
                let room = try await client.room(named: name)
                resolvedRooms[name] = room
                rooms.append((room, .latest))
            } catch {
                logger.error("cannot find the Rocket.Chat room to poll", metadata: ["room": "\(name)", "error": "\(error)"])
                report.failedRooms.append(name)
            }
        }
        let polled = Set(rooms.map(\.0.id))
        let incidents: [Incident]
        do {
            incidents = try await store.incidents(includeClosed: false, limit: 200)
        } catch {
            logger.error("cannot list the open incidents to poll their channels", metadata: ["error": "\(error)"])
            return rooms
        }
        for incident in incidents {
            guard incident.platform == .rocketchat, let conversation = incident.room, conversation.threadID == nil,
                !polled.contains(conversation.channelID)
            else { continue }
            do {
                rooms.append((try await incidentRoom(id: conversation.channelID), .beginning))
            } catch .rateLimited(let retryAfter) {
                report.rateLimitedFor = max(report.rateLimitedFor ?? 0, retryAfter)
                break
            } catch {
                logger.error("cannot find an incident's Rocket.Chat room to poll", metadata: ["room": "\(incident.channelName)", "error": "\(error)"])
                report.failedRooms.append(incident.channelName)
            }
        }
        return rooms
    }

    /// An incident's room with its kind: a public channel is read with `channels.history`, a private
    /// group (`privateChannels`) with `groups.history`, and only the server knows which one an older
    /// incident got, so it is asked once per room.
    private func incidentRoom(id: String) async throws(ChatServerFailure) -> RocketChatRoom {
        if let room = resolvedRooms[id: id] { return room }
        let room = try await client.room(id: id)
        resolvedRooms[id: id] = room
        return room
    }

    private func poll(_ room: RocketChatRoom, startingAt start: Start, into report: inout Report) async throws(ChatServerFailure) {
        let key = "rocketchat:poll:\(room.id)"
        var cursor: PollCursor
        if let stored = await storedCursor(key) {
            cursor = stored
        } else {
            switch start {
            case .beginning:
                cursor = .beginning
            case .latest:
                let newest = try await client.history(of: room, oldest: nil, count: 1).first
                cursor = newest.map { PollCursor(timestamp: $0.timestamp, handledIDs: [$0.id]) } ?? .beginning
                await save(cursor, key)
                return
            }
        }

        for message in try await newMessages(in: room, after: cursor) {
            // The answer is queued with the command itself (one transaction, one dedupe key).
            switch await commands.handle(RocketChatInboundMessage(history: message), answerInThread: true) {
            case .ignored:
                report.ignored += 1
            case .handled:
                report.commands += 1
            }
            cursor.advance(past: message)
            await save(cursor, key)
        }
    }

    /// The messages after the cursor, oldest first. History pages come newest first; paging with an
    /// offset while people write can show a message twice, never skip one, so pages are merged by id.
    private func newMessages(in room: RocketChatRoom, after cursor: PollCursor) async throws(ChatServerFailure) -> [RocketChatMessage] {
        var byID: [String: RocketChatMessage] = [:]
        for page in 0..<Self.maxPages {
            let messages = try await client.history(of: room, oldest: cursor.timestamp, count: Self.pageSize, offset: page * Self.pageSize)
            for message in messages { byID[message.id] = message }
            if messages.count < Self.pageSize { break }
            if page == Self.maxPages - 1 {
                logger.warning("more new messages than one polling round reads; the oldest are skipped", metadata: ["room": "\(room.name ?? room.id)"])
            }
        }
        return byID.values
            .filter { !cursor.covers($0) }
            .sorted { (PollCursor.date($0.timestamp), $0.id) < (PollCursor.date($1.timestamp), $1.id) }
    }

    private func storedCursor(_ key: String) async -> PollCursor? {
        do {
            guard let stored = try await store.cursor(key) else { return nil }
            guard let cursor = PollCursor(encoded: stored) else {
                // Written by this code, so only a hand-edited or damaged row gets here: start over (the
                // dedupe keys refuse what was handled before).
                logger.error("the polling cursor cannot be read; starting from the room's latest messages", metadata: ["key": "\(key)"])
                return nil
            }
            return cursor
        } catch {
            logger.error("cannot read the polling cursor", metadata: ["key": "\(key)", "error": "\(error)"])
            return nil
        }
    }

    private func save(_ cursor: PollCursor, _ key: String) async {
        do {
            try await store.setCursor(key, value: cursor.encoded)
        } catch {
            // The message was handled; at worst it is read again and refused as a duplicate.
            logger.error("cannot save the polling cursor", metadata: ["key": "\(key)", "error": "\(error)"])
        }
    }
}

/// Room names, and the ids of incident rooms, resolved to rooms; neither a room's id nor its kind changes
/// while the daemon runs.
final class ResolvedRooms: Sendable {
    private let rooms = Mutex<[String: RocketChatRoom]>([:])
    private let roomsByID = Mutex<[String: RocketChatRoom]>([:])

    subscript(name: String) -> RocketChatRoom? {
        get { rooms.withLock { $0[name] } }
        set { rooms.withLock { $0[name] = newValue } }
    }

    subscript(id id: String) -> RocketChatRoom? {
        get { roomsByID.withLock { $0[id] } }
        set { roomsByID.withLock { $0[id] = newValue } }
    }
}

/// A room's polling position: the timestamp of the last handled message and the ids handled at exactly
/// that timestamp (the history call includes messages at `oldest`, so same-millisecond messages that
/// arrive later are not lost).
struct PollCursor: Codable, Sendable, Hashable {
    var timestamp: String
    var handledIDs: [String]

    static let beginning = PollCursor(timestamp: "1970-01-01T00:00:00.000Z", handledIDs: [])

    init(timestamp: String, handledIDs: [String]) {
        self.timestamp = timestamp
        self.handledIDs = handledIDs
    }

    init?(encoded: String) {
        guard let cursor = try? JSONDecoder().decode(PollCursor.self, from: Data(encoded.utf8)) else { return nil }
        self = cursor
    }

    var encoded: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // A string and an array of strings: encoding cannot fail.
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    func covers(_ message: RocketChatMessage) -> Bool {
        let messageDate = Self.date(message.timestamp)
        let cursorDate = Self.date(timestamp)
        return messageDate < cursorDate || (messageDate == cursorDate && handledIDs.contains(message.id))
    }

    mutating func advance(past message: RocketChatMessage) {
        if Self.date(message.timestamp) == Self.date(timestamp) {
            if !handledIDs.contains(message.id) { handledIDs.append(message.id) }
        } else {
            timestamp = message.timestamp
            handledIDs = [message.id]
        }
    }

    /// Rocket.Chat writes `2016-12-09T12:50:51.555Z`; a timestamp it cannot read sorts first.
    static func date(_ text: String) -> Date {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        return .distantPast
    }
}
