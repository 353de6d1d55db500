import IncidentCore
import SQLiteNIO

/// One caller's writes. A job may be written more than once (see `SQLiteWriter`), always on a database
/// where its earlier attempts left nothing behind, so it must depend on its inputs and the database only.
enum SQLiteWriteJob: Sendable {
    /// Written with the transaction's other change sets (see `ChangeSetBatch`). Returns `()`.
    case changeSet(PreparedChangeSet)
    /// Change sets written in order, each only if the one before it was, with the transaction's other
    /// change sets (see `ChangeSetBatch`). Returns an `OrderedCommitResult`.
    case changeSetChain([PreparedChangeSet])
    /// A new incident number and its number within `day`. Returns `(number: Int, daySequence: Int)`.
    case allocateIncidentNumber(day: String)
    /// A new number as `allocateIncidentNumber`, then the change set `build` makes with it, written with
    /// the transaction's other change sets. Returns what `build` returns beside the change set.
    /// `labelScope`: also count within that period of `incidents.idFormat` (`label:<scope>` in the day
    /// counters), handed to `build` as its third argument (nil without a scope).
    case numberedChangeSet(
        day: String, labelScope: String?,
        build: @Sendable (_ number: Int, _ daySequence: Int, _ labelSequence: Int?) throws -> (PreparedChangeSet, any Sendable))
    /// A delivery result for an outbox message. Returns `()`, or is refused with `StoreError.notFound`.
    case updateOutboxMessage(OutboxMessageUpdate)
    /// Statements of its own, whose result it returns. A refusal (a `StoreError`) must come before the job
    /// has written anything: the transaction goes on without it, with nothing to roll back to.
    /// `singleStatement`: the body runs exactly one statement (see `isSingleStatement`).
    case statements(singleStatement: Bool, @Sendable (SQLiteSession) throws -> any Sendable)

    /// Whether the job, written alone, is exactly one statement. SQLite makes a single statement atomic
    /// and durable by itself (autocommit, fsync at its end), so alone it needs no BEGIN and COMMIT round
    /// trips: that is what claims and delivery marks cost before group commit, and what they cost when
    /// nothing else is waiting (the scheduler firing timers one by one).
    var isSingleStatement: Bool {
        switch self {
        case .changeSet(let changes): changes.isSingleInsert
        case .changeSetChain(let chain): chain.count == 1 && chain[0].isSingleInsert
        case .allocateIncidentNumber, .numberedChangeSet: false
        case .updateOutboxMessage: true
        case .statements(let singleStatement, _): singleStatement
        }
    }
}

/// What the outbox sender records about one message.
struct OutboxMessageUpdate: Sendable {
    enum Change: Sendable {
        case delivered(platformMessageID: String?, at: SQLiteData)
        case retry(notBefore: SQLiteData, error: String, failingSince: SQLiteData)
        /// Not an attempt: a wait imposed from outside (a rate limit, a parked platform).
        case postpone(notBefore: SQLiteData, reason: String)
        case dead(error: String)
    }

    let id: Int64
    let change: Change
}

/// Writes the jobs of one transaction, each kind with a number of statements that does not grow with the
/// number of jobs: each statement costs a lookup in the connection's statement cache, often a fresh
/// parse (a multi-row statement's text changes with its row count) and its steps, so a transaction that
/// carries dozens of jobs must not cost dozens of statements each.
///
/// Jobs of one transaction overlap in time (none of their callers has returned yet), so any order is one
/// they could have run in: the kinds are written one after the other, each in arrival order.
enum SQLiteWriteBatch {
    /// One outcome per job, in order: a value, or the job's refusal. Throws on anything else, and then the
    /// caller must roll the transaction back.
    static func write(_ jobs: [SQLiteWriteJob], in session: SQLiteSession) throws -> [Result<any Sendable, any Error>] {
        var outcomes = [Result<any Sendable, any Error>](repeating: .success(()), count: jobs.count)
        // Each job's change sets as one chain; `isChain`: the job wants an `OrderedCommitResult` back.
        var chains: [(index: Int, chain: [PreparedChangeSet], isChain: Bool)] = []
        var allocations: [(index: Int, day: String, labelScope: String?)] = []
        var builders: [Int: @Sendable (Int, Int, Int?) throws -> (PreparedChangeSet, any Sendable)] = [:]
        var outboxUpdates: [(index: Int, update: OutboxMessageUpdate)] = []
        var statements: [(index: Int, body: @Sendable (SQLiteSession) throws -> any Sendable)] = []
        for (index, job) in jobs.enumerated() {
            switch job {
            case .changeSet(let changes): chains.append((index, [changes], false))
            case .changeSetChain(let chain): chains.append((index, chain, true))
            case .allocateIncidentNumber(let day): allocations.append((index, day, nil))
            case .numberedChangeSet(let day, let labelScope, let build):
                allocations.append((index, day, labelScope))
                builders[index] = build
            case .updateOutboxMessage(let update): outboxUpdates.append((index, update))
            case .statements(_, let body): statements.append((index, body))
            }
        }

        // Numbers first: the declarations' change sets need theirs before they can be made.
        if !allocations.isEmpty {
            let numbers = try allocateIncidentNumbers(days: allocations.map(\.day), in: session)
            let scoped = allocations.compactMap { $0.labelScope.map { "label:" + $0 } }
            var labelSequences = try allocateSequences(keys: scoped, in: session).makeIterator()
            for (allocation, number) in zip(allocations, numbers) {
                let labelSequence = allocation.labelScope == nil ? nil : labelSequences.next()
                guard let build = builders[allocation.index] else {
                    outcomes[allocation.index] = .success(number)
                    continue
                }
                do {
                    let (changes, result) = try build(number.number, number.daySequence, labelSequence)
                    outcomes[allocation.index] = .success(result)
                    if !changes.isEmpty { chains.append((allocation.index, [changes], false)) }
                } catch {
                    // Nothing of it is written yet: a refusal of this job alone (the number stays used).
                    outcomes[allocation.index] = .failure(error)
                }
            }
            chains.sort { $0.index < $1.index }
        }
        if !chains.isEmpty {
            let results = try ChangeSetBatch.write(chains.map(\.chain), in: session)
            for (chain, result) in zip(chains, results) {
                if chain.isChain {
                    outcomes[chain.index] = .success(result)
                } else if let refusal = result.refusal {
                    outcomes[chain.index] = .failure(refusal)
                }
            }
        }
        if !outboxUpdates.isEmpty {
            let found = try updateOutboxMessages(outboxUpdates.map(\.update), in: session)
            for (update, found) in zip(outboxUpdates, found) where !found {
                outcomes[update.index] = .failure(StoreError.notFound)
            }
        }
        for (index, body) in statements {
            do {
                outcomes[index] = .success(try body(session))
            } catch let refusal as StoreError {
                outcomes[index] = .failure(refusal)
            }
        }
        return outcomes
    }

    // MARK: - Incident numbers

    /// Numbers handed out in order, from counters rather than MAX(id) + 1: a number given to a declaration
    /// that then failed is never given to another incident. Two statements for any number of them.
    private static func allocateIncidentNumbers(days: [String], in session: SQLiteSession) throws -> [(number: Int, daySequence: Int)] {
        let global = try session.run(
            """
            INSERT INTO incident_number_counter (singleton, last_number) VALUES (1, ?1)
            ON CONFLICT (singleton) DO UPDATE SET last_number = last_number + ?1
            RETURNING last_number
            """,
            [.integer(days.count)])
        guard let lastNumber = try global.first?.int("last_number") else {
            throw MalformedRow(column: "last_number", problem: "the incident counter returned nothing")
        }

        let sequences = try allocateSequences(keys: days, in: session)
        return sequences.enumerated().map { offset, sequence in (lastNumber - days.count + 1 + offset, sequence) }
    }

    /// The next number of each key's counter in `incident_day_counters` (a day, or `label:<period>` of
    /// `incidents.idFormat`), in the keys' order; a key listed twice gets two numbers. One statement per
    /// batch of keys.
    private static func allocateSequences(keys days: [String], in session: SQLiteSession) throws -> [Int] {
        guard !days.isEmpty else { return [] }
        var perDay: [(day: String, count: Int)] = []
        for day in days {
            if let index = perDay.firstIndex(where: { $0.day == day }) {
                perDay[index].count += 1
            } else {
                perDay.append((day, 1))
            }
        }
        var lastOfDay: [String: Int] = [:]
        for (values, binds, _) in ChangeSetBatch.multiRow(perDay.map { [.text($0.day), .integer($0.count)] }) {
            let rows = try session.run(
                """
                INSERT INTO incident_day_counters (day, last_number) VALUES \(values)
                ON CONFLICT (day) DO UPDATE SET last_number = last_number + excluded.last_number
                RETURNING day, last_number
                """,
                binds)
            for row in rows {
                lastOfDay[try row.text("day")] = try row.int("last_number")
            }
        }

        // The counters moved by the whole batch; hand the numbers out in the jobs' order.
        var nextOfDay: [String: Int] = [:]
        for (day, count) in perDay {
            guard let last = lastOfDay[day] else {
                throw MalformedRow(column: "last_number", problem: "the counter of \(day) returned nothing")
            }
            nextOfDay[day] = last - count + 1
        }
        var numbers: [Int] = []
        for day in days {
            let sequence = nextOfDay[day, default: 0]
            nextOfDay[day] = sequence + 1
            numbers.append(sequence)
        }
        return numbers
    }

    // MARK: - Outbox delivery results

    /// One UPDATE per kind of result for all the messages; whether each message was found. The same
    /// message twice in one transaction (two senders racing) is updated twice, as it would be one call
    /// after the other: each round of a statement names a message once.
    private static func updateOutboxMessages(_ updates: [OutboxMessageUpdate], in session: SQLiteSession) throws -> [Bool] {
        var found = [Bool](repeating: false, count: updates.count)
        var pending = Array(updates.indices)
        while !pending.isEmpty {
            var round: [Int] = []
            var later: [Int] = []
            var named: Set<Int64> = []
            for index in pending {
                if named.insert(updates[index].id).inserted { round.append(index) } else { later.append(index) }
            }
            var delivered: [Int] = []
            var retried: [Int] = []
            var postponed: [Int] = []
            var dead: [Int] = []
            for index in round {
                switch updates[index].change {
                case .delivered: delivered.append(index)
                case .retry: retried.append(index)
                case .postpone: postponed.append(index)
                case .dead: dead.append(index)
                }
            }
            // Each kind's assignments, given how to name the value in column n of its rows (the message id
            // is column 1).
            let kinds: [(indices: [Int], assignments: ((Int) -> String) -> String)] = [
                (delivered, { "state = 'delivered', platform_message_id = \($0(2)), delivered_at = \($0(3))" }),
                (retried, { "attempts = attempts + 1, not_before = \($0(2)), last_error = \($0(3)), failing_since = COALESCE(failing_since, \($0(4)))" }),
                (postponed, { "not_before = \($0(2)), last_error = \($0(3))" }),
                (dead, { "state = 'dead', attempts = attempts + 1, last_error = \($0(2))" }),
            ]
            for (indices, assignments) in kinds where !indices.isEmpty {
                let rows: [[SQLiteData]] = indices.map { index in
                    let update = updates[index]
                    switch update.change {
                    case .delivered(let platformMessageID, let at): return [.int64(update.id), .optionalText(platformMessageID), at]
                    case .retry(let notBefore, let error, let failingSince): return [.int64(update.id), notBefore, .text(error), failingSince]
                    case .postpone(let notBefore, let reason): return [.int64(update.id), notBefore, .text(reason)]
                    case .dead(let error): return [.int64(update.id), .text(error)]
                    }
                }
                var updated: Set<Int64> = []
                // One message, the usual case when nothing else is waiting: a plain UPDATE, cheaper to parse.
                if rows.count == 1 {
                    let returned = try session.run(
                        "UPDATE outbox SET \(assignments { _ in "?" }), lease_owner = NULL, lease_expires_at = NULL WHERE id = ? RETURNING id",
                        Array(rows[0].dropFirst()) + [rows[0][0]])
                    if !returned.isEmpty { updated.insert(updates[indices[0]].id) }
                }
                for (values, binds, _) in rows.count == 1 ? [] : ChangeSetBatch.multiRow(rows) {
                    let returned = try session.run(
                        """
                        UPDATE outbox SET \(assignments { "new.column\($0)" }), lease_owner = NULL, lease_expires_at = NULL
                        FROM (VALUES \(values)) AS new
                        WHERE outbox.id = new.column1
                        RETURNING outbox.id
                        """,
                        binds)
                    for row in returned { updated.insert(try row.int64("id")) }
                }
                for index in indices where updated.contains(updates[index].id) {
                    found[index] = true
                }
            }
            pending = later
        }
        return found
    }
}
