import Foundation
import IncidentCore

/// A small deterministic generator (SplitMix64): the same sequence on every run and platform, so a
/// failing seed reproduces exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The policy a simulated week is planned and checked against, in seconds. Tests spell it out rather
/// than read it from the engine's config, so a changed default is a failing test instead of a silently
/// different week.
public struct WeekPolicy: Sendable {
    /// Severity ids an incident is declared with, drawn uniformly (list one twice to draw it twice as often).
    public var mix: [String]
    /// `updateEvery` per severity; a severity missing here has no update reminders.
    public var cadence: [String: TimeInterval]
    /// `ackWithin` of the severities that page; the others start no acknowledgement clock.
    public var ackWithin: [String: TimeInterval]
    /// `escalateAfter` per severity (the long-running escalation).
    public var escalateAfter: [String: TimeInterval]
    /// `reviewWithin` per severity, counted from the resolution.
    public var reviewWithin: [String: TimeInterval]
    /// `incidents.monitorFor`: a resolved incident not closed by hand is closed this long after. At least 2 min.
    public var monitorFor: TimeInterval
    /// The escalation chain's `after` waits, step by step (`oncall.escalation[].after`).
    public var escalationAfter: [TimeInterval]
    /// `oncall.repeatEscalation`: how many more times the chain is walked while nobody acknowledges.
    public var repeatEscalation: Int
    /// `incidents.overdueAfterCadences`: the reminder that makes this many since the last update escalates.
    public var overdueAfterCadences: Int

    public init(
        mix: [String], cadence: [String: TimeInterval], ackWithin: [String: TimeInterval], escalateAfter: [String: TimeInterval],
        reviewWithin: [String: TimeInterval], monitorFor: TimeInterval, escalationAfter: [TimeInterval], repeatEscalation: Int = 0,
        overdueAfterCadences: Int = 2
    ) {
        self.mix = mix
        self.cadence = cadence
        self.ackWithin = ackWithin
        self.escalateAfter = escalateAfter
        self.reviewWithin = reviewWithin
        self.monitorFor = monitorFor
        self.escalationAfter = escalationAfter
        self.repeatEscalation = repeatEscalation
        self.overdueAfterCadences = overdueAfterCadences
    }
}

/// A week of incidents as a plan of commands, and what the policy says must follow from it. Shared by
/// the pure engine week (IncidentCoreTests) and the integration week through the real scheduler, outbox
/// and SQLite (SchedulerTests), so both check the same rules the same way.
public enum SimulatedWeek {
    public enum Action: Equatable, Sendable {
        case declare(severity: String)
        case ack, update
        case severity(String)
        case resolve, close
    }

    public struct Event: Sendable {
        public var at: Date
        public var incident: Int
        public var action: Action
        /// Ties (same second) run in the order they were planned.
        public var order: Int
    }

    /// Simulated time runs from `start` to `start` + 8 days: a week of declarations, and a day to settle.
    public static let length: TimeInterval = 8 * 86_400

    /// `incidents` incidents declared over seven days from `start`. Paging incidents are mostly
    /// acknowledged in time, some late (part of the escalation chain walked first), some never; the
    /// others sometimes. Some are updated or re-classified; most are resolved after 10 min to 3 h, one in
    /// ten after 3 h to a day (half of the resolved closed by hand inside the monitoring window, the rest
    /// closed by it; a few closed without a resolution); a few slow ones that do not page stay open to
    /// the end. Every planned command is valid when it runs: none is rejected.
    public static func plan(incidents: Int, seed: UInt64, start: Date, policy: WeekPolicy) -> [Event] {
        var random = SeededGenerator(seed: seed)
        var events: [Event] = []
        func add(_ at: TimeInterval, _ incident: Int, _ action: Action) {
            events.append(Event(at: start.addingTimeInterval(at.rounded()), incident: incident, action: action, order: events.count))
        }
        func draw(_ range: Range<Int>) -> TimeInterval { TimeInterval(Int.random(in: range, using: &random)) }
        let severities = policy.mix.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let handCloseLatest = max(60, min(1200, Int(policy.monitorFor) - 60))
        for incident in 0..<incidents {
            let declared = draw(0..<(7 * 86_400))
            var severity = policy.mix.randomElement(using: &random)!
            add(declared, incident, .declare(severity: severity))
            let pages = policy.ackWithin[severity] != nil
            let roll = Int.random(in: 0..<100, using: &random)
            let staysOpen = !pages && roll < 5
            let life = staysOpen ? length - declared : roll < 15 ? draw((3 * 3600)..<(24 * 3600)) : draw(600..<(3 * 3600 + 1))
            let end = declared + life
            if let within = policy.ackWithin[severity].map({ Int($0) }) {
                // Paging: 70 % acknowledge in time, 15 % late (while the chain is walked), 15 % never.
                let roll = Int.random(in: 0..<100, using: &random)
                if roll < 70 {
                    add(declared + draw(20..<min(within, Int(life))), incident, .ack)
                } else if roll < 85, within < Int(life) {
                    add(declared + draw(within..<min(Int(life), 4 * within)), incident, .ack)
                }
            } else if Bool.random(using: &random) {
                add(declared + draw(20..<min(900, Int(life))), incident, .ack)
            }
            var moments = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                declared + draw(60..<Int(min(life, 86_400)))
            }
            moments.sort()
            let reclassifyAt = Int.random(in: 0..<100, using: &random) < 20 ? moments.popLast() : nil
            for moment in moments { add(moment, incident, .update) }
            if let reclassifyAt {
                let other = severities.filter { $0 != severity }.randomElement(using: &random)!
                add(reclassifyAt, incident, .severity(other))
                severity = other
            }
            guard !staysOpen else { continue }
            if Int.random(in: 0..<100, using: &random) < 5 {
                add(end, incident, .close)
            } else {
                add(end, incident, .resolve)
                if Bool.random(using: &random) {
                    add(end + draw(60..<(handCloseLatest + 1)), incident, .close)
                }
            }
        }
        return events.sorted { ($0.at, $0.order) < ($1.at, $1.order) }
    }

    /// What the policy says follows, for one incident, up to the end of the simulation.
    public struct Expected: Sendable, Equatable {
        public struct Reminder: Sendable, Equatable, CustomStringConvertible {
            public var at: Date
            /// Silence so far: `at` minus the last update (or the declaration).
            public var sinceUpdate: TimeInterval
            /// Reminders before this one since the last update or severity change (the timer's `step`).
            public var step: Int
            /// The severity's cadence when it fired.
            public var cadence: TimeInterval
            /// This reminder makes `overdueAfterCadences` and escalates (once per silent stretch).
            public var overdue: Bool
            public var description: String { "\(at) (+\(Int(sinceUpdate)) s, step \(step)\(overdue ? ", overdue" : ""))" }
        }

        public struct AckTimeout: Sendable, Equatable, CustomStringConvertible {
            public var at: Date
            /// The timer's step in the walk: 1 at the first timeout.
            public var step: Int
            /// The chain step notified (`step` modulo the chain's length); nil once the chain is exhausted.
            public var level: Int?
            /// Since the declaration.
            public var waited: TimeInterval
            public var description: String { "\(at) step \(step) " + (level.map { "→ level \($0)" } ?? "exhausted") }
        }

        public var reminders: [Reminder] = []
        public var ackTimeouts: [AckTimeout] = []
        /// The long-running escalation (`escalateAfter`).
        public var longRunning: [Date] = []
        public var review: Date?
        public var autoClose: Date?

        /// Every timer that fires with an effect: the engine should fire exactly these many.
        public var firingCount: Int {
            reminders.count + ackTimeouts.count + longRunning.count + (review == nil ? 0 : 1) + (autoClose == nil ? 0 : 1)
        }
    }

    /// The policy as a model, for one incident's `events` (in order), through `end`:
    /// - update reminders on a grid of the severity's cadence counted from the last update; a severity
    ///   change re-times the next one to `max(now, lastUpdate + newCadence)` (and the engine counts the
    ///   reminders from there); resolve and close stop them; the one that makes `overdueAfterCadences`
    ///   since the last update (or severity change) escalates;
    /// - the acknowledgement clock of a paging severity (started at declaration, or when a severity change
    ///   raises an unacknowledged incident to a paging one) walks the escalation chain: step `s` notifies
    ///   level `s % chain`, the next step follows after that step's own `after` (the severity's
    ///   `ackWithin` when the chain starts over), and the step after the last round says the chain is
    ///   exhausted; acknowledging, resolving, closing or a severity that does not page stops it; raised
    ///   between paging levels before anything escalated, the stricter `ackWithin` applies, counted from
    ///   the page: the first step comes at `max(now, pagedAt + newAckWithin)`;
    /// - the long-running escalation at `declared + escalateAfter` (re-timed by a severity change to
    ///   `max(now, declared + escalateAfter)`), unless resolved first;
    /// - the review reminder `reviewWithin` (of the severity at resolution) after the first resolution
    ///   (a close of an open incident resolves it); closing does not cancel it;
    /// - auto-close `monitorFor` after a resolution, unless closed by hand first.
    /// Timers due at the same second as a command fire before it, as the tests' schedulers run them.
    public static func expectations(for events: [Event], until end: Date, policy: WeekPolicy) -> Expected {
        var expected = Expected()
        var severity = ""
        var declaredAt = Date.distantPast
        var lastUpdate = Date.distantPast
        var open = true, closed = false, acknowledged = false
        var pagedAt: Date?
        /// Something escalated already (the engine's `escalationLevel > 0`).
        var escalated = false
        var reminder: (due: Date, step: Int)?
        var ackTimeout: (due: Date, step: Int)?
        var longRunning: Date?
        var monitoring: Date?
        var review: Date?
        let chain = policy.escalationAfter
        let threshold = max(1, policy.overdueAfterCadences)

        // Between two commands the kinds do not interact (what a command does depends only on whether
        // anything escalated, not in which order), so each fires through `date` on its own.
        func fire(through date: Date) {
            while case let (due, step)? = reminder, due <= date {
                // One step up the chain (`min(level + 1, last)`): a step above the first unless the chain has one.
                let overdue = !chain.isEmpty && step + 1 >= threshold && step < threshold
                escalated = escalated || (overdue && chain.count > 1)
                let cadence = policy.cadence[severity]!
                expected.reminders.append(.init(at: due, sinceUpdate: due.timeIntervalSince(lastUpdate), step: step, cadence: cadence, overdue: overdue))
                reminder = (due.addingTimeInterval(cadence), step + 1)
            }
            while case let (due, step)? = ackTimeout, due <= date {
                let waited = due.timeIntervalSince(declaredAt)
                guard !chain.isEmpty, step < chain.count * (policy.repeatEscalation + 1) else {
                    expected.ackTimeouts.append(.init(at: due, step: step, level: nil, waited: waited))
                    ackTimeout = nil
                    break
                }
                let level = step % chain.count
                escalated = escalated || level > 0
                expected.ackTimeouts.append(.init(at: due, step: step, level: level, waited: waited))
                let nextLevel = (step + 1) % chain.count
                // docs/paging.md: each step's `after` is counted from when the step before it fired.
                let gap = nextLevel == 0 ? policy.ackWithin[severity] ?? 300 : chain[nextLevel]
                ackTimeout = (due.addingTimeInterval(max(gap, 1)), step + 1)
            }
            if let due = longRunning, due <= date {
                escalated = escalated || chain.count > 1
                expected.longRunning.append(due)
                longRunning = nil
            }
            if let due = monitoring, due <= date {
                expected.autoClose = due
                closed = true
                monitoring = nil
            }
            if let due = review, due <= date {
                expected.review = due
                review = nil
            }
        }
        func resolve(at now: Date) {
            open = false
            reminder = nil
            ackTimeout = nil
            longRunning = nil
            review = policy.reviewWithin[severity].map { now.addingTimeInterval($0) }
        }

        for event in events {
            fire(through: event.at)
            let now = event.at
            switch event.action {
            case .declare(let initial):
                severity = initial
                declaredAt = now
                lastUpdate = now
                reminder = policy.cadence[severity].map { (now.addingTimeInterval($0), 0) }
                ackTimeout = policy.ackWithin[severity].map { (now.addingTimeInterval($0), 1) }
                pagedAt = ackTimeout == nil ? nil : now
                longRunning = policy.escalateAfter[severity].map { now.addingTimeInterval($0) }
            case .ack:
                acknowledged = true
                ackTimeout = nil
            case .update:
                lastUpdate = now
                if let cadence = policy.cadence[severity] { reminder = (now.addingTimeInterval(cadence), 0) }
            case .severity(let new):
                let oldWithin = policy.ackWithin[severity]
                severity = new
                reminder = policy.cadence[new].map { (max(now, lastUpdate.addingTimeInterval($0)), 0) }
                longRunning = policy.escalateAfter[new].map { max(now, declaredAt.addingTimeInterval($0)) }
                if let within = policy.ackWithin[new] {
                    if oldWithin == nil, !acknowledged {
                        pagedAt = now
                        ackTimeout = (now.addingTimeInterval(within), 1)
                    } else if let oldWithin, within < oldWithin, !acknowledged, !escalated, let pagedAt {
                        ackTimeout = (max(now, pagedAt.addingTimeInterval(within)), 1)
                    }
                } else {
                    ackTimeout = nil
                }
            case .resolve:
                resolve(at: now)
                monitoring = now.addingTimeInterval(policy.monitorFor)
            case .close:
                if closed { break }  // already closed by the monitoring window: the plan avoids this
                if open { resolve(at: now) }
                closed = true
                monitoring = nil
            }
        }
        fire(through: end)
        return expected
    }
}

extension SimulatedWeek {
    /// The timeline lines the engine writes for what the model expects, with the people an escalation
    /// reaches left out (who is on call is the rotation tests' business): compare them with
    /// `withoutRecipients(_:keepLevel:)` of what was written.
    public enum Line {
        /// "Update reminder to <@alice>: no update for 45 min".
        public static func reminder(_ reminder: Expected.Reminder, owner: String) -> String {
            "Update reminder to <@\(owner)>: no update for \(TimeSpan.humanReadable(reminder.sinceUpdate))"
        }

        /// The escalation an overdue reminder writes beside it, nil when it is not overdue.
        public static func overdue(_ reminder: Expected.Reminder, policy: WeekPolicy) -> String? {
            guard reminder.overdue else { return nil }
            let silence = TimeSpan.humanReadable(reminder.sinceUpdate)
            let cadence = TimeSpan(seconds: Int64(reminder.cadence))
            return "Escalation: (has had no update for \(silence) (\(policy.overdueAfterCadences)× the \(cadence) cadence))"
        }

        /// A step of the acknowledgement chain (with its level), or the chain's end.
        public static func ackTimeout(_ timeout: Expected.AckTimeout) -> String {
            let waited = TimeSpan.humanReadable(timeout.waited)
            guard let level = timeout.level else { return "Still unacknowledged after \(waited); the escalation chain is exhausted" }
            return "Escalation step \(level + 1): (was not acknowledged within \(waited))"
        }

        /// The long-running escalation, `open` after the declaration.
        public static func longRunning(open: TimeInterval) -> String {
            "Escalation: (has been open for \(TimeSpan.humanReadable(open)))"
        }

        public static let review = "Post-incident review due"

        /// "Escalation step 2: <@dave> (was not acknowledged within 5 min)" → "Escalation step 2: (was not
        /// acknowledged within 5 min)", or without the level, "Escalation: (…)": the level an overdue or
        /// long-running escalation reaches depends on what else escalated, in the same second too.
        /// Other lines are returned as they are.
        public static func withoutRecipients(_ text: String, keepLevel: Bool) -> String {
            guard text.hasPrefix("Escalation step "), let colon = text.range(of: ": "),
                let reason = text.range(of: " (", range: colon.upperBound..<text.endIndex)
            else { return text }
            return (keepLevel ? String(text[..<colon.upperBound]) : "Escalation: ") + String(text[text.index(after: reason.lowerBound)...])
        }
    }
}
