/// The numbers a declaration gets from the writer: the incident's number, its number within its day, and
/// within its `incidents.idFormat` period (nil without one).
struct DeclarationNumbers: Equatable, Sendable {
    var number: Int
    var daySequence: Int
    var labelSequence: Int?
}

/// Guesses the numbers the writer will hand the declarations now on their way to it, so that each can be
/// decided by its own task before it reaches the write lock (`SQLiteWriteJob.numberedChangeSet`).
///
/// Why: the engine's decision and the new incident's JSON were half of what the single write connection
/// did per declaration, and everything the write connection does is done one job after another. A guess
/// costs nothing when it is wrong: the writer hands out numbers from the database's counters as always,
/// writes the decided change set only when its numbers are exactly the ones it guessed, and otherwise has
/// it decided again with the right ones, as every declaration was before. So a wrong guess never names
/// an incident wrongly and never leaves a gap; it only puts that one decision back on the write lock.
///
/// The guess is the last numbers the writer was seen to give plus the declarations still on their way
/// (this one included). Only this process writes the file (`SQLiteFileLock`), so once a counter has been
/// seen the guesses follow it; a counter not seen yet (the first declaration after start-up, the first of
/// a day or of a period) gives no guess.
struct DeclarationForecast {
    private var lastNumber: Int?
    /// Per counter key: the day, or `label:<period>` (the keys of `incident_day_counters`).
    private var lastOfKey: [String: Int] = [:]
    private var pending = 0
    private var pendingOfKey: [String: Int] = [:]

    /// Declarations written with the numbers guessed for them, written after a wrong guess, and written
    /// without one: for tests and diagnostics.
    private(set) var statistics = (guessedRight: 0, guessedWrong: 0, unguessed: 0)

    static func labelKey(_ scope: String) -> String { "label:" + scope }

    /// Counts a declaration on its way to the writer and guesses its numbers. Every reservation must be
    /// settled, once, whatever becomes of the declaration.
    mutating func reserve(day: String, labelScope: String?) -> DeclarationNumbers? {
        pending += 1
        pendingOfKey[day, default: 0] += 1
        if let labelScope { pendingOfKey[Self.labelKey(labelScope), default: 0] += 1 }
        guard let lastNumber, let lastOfDay = lastOfKey[day], let pendingOfDay = pendingOfKey[day] else { return nil }
        var labelSequence: Int?
        if let labelScope {
            let key = Self.labelKey(labelScope)
            guard let last = lastOfKey[key], let pendingOfLabel = pendingOfKey[key] else { return nil }
            labelSequence = last + pendingOfLabel
        }
        return DeclarationNumbers(number: lastNumber + pending, daySequence: lastOfDay + pendingOfDay, labelSequence: labelSequence)
    }

    /// The declaration reserved with `day` and `labelScope` has left the writer: with the numbers it was
    /// written with, or nil when nothing of it was committed (or what it was given is not known).
    mutating func settle(day: String, labelScope: String?, guessed: DeclarationNumbers?, allocated: DeclarationNumbers?) {
        pending -= 1
        release(day)
        if let labelScope { release(Self.labelKey(labelScope)) }
        if let allocated {
            lastNumber = max(lastNumber ?? allocated.number, allocated.number)
            lastOfKey[day] = max(lastOfKey[day] ?? allocated.daySequence, allocated.daySequence)
            if let labelScope, let sequence = allocated.labelSequence {
                let key = Self.labelKey(labelScope)
                lastOfKey[key] = max(lastOfKey[key] ?? sequence, sequence)
            }
        }
        switch (guessed, allocated) {
        case (nil, _): statistics.unguessed += 1
        case (let guess?, let allocated?) where guess == allocated: statistics.guessedRight += 1
        default: statistics.guessedWrong += 1
        }
        // Days and periods come and go; a counter nobody is declaring in is forgotten after a while, and
        // guessed again once it has been seen again.
        if lastOfKey.count > 64 {
            let label = labelScope.map(Self.labelKey)
            lastOfKey = lastOfKey.filter { pendingOfKey[$0.key] != nil || $0.key == day || $0.key == label }
        }
    }

    private mutating func release(_ key: String) {
        guard let count = pendingOfKey[key] else { return }
        pendingOfKey[key] = count > 1 ? count - 1 : nil
    }
}
