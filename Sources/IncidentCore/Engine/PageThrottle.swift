import Foundation
import Synchronization

/// How often one person may be called through one pager webhook (`paging.throttle`): a phone that rings
/// every few seconds because five incidents page the same on-call engineer wakes nobody further, and
/// an SMS gateway bills every message. In the spirit of GoAlert's per-contact-method limits.
public struct PageThrottleLimits: Sendable, Hashable, Decodable {
    /// At most one call per person per webhook within this long.
    public var perPersonEvery: TimeSpan = .minutes(1)
    /// And at most this many per person per webhook in any hour.
    public var perHour: Int = 10

    public init(perPersonEvery: TimeSpan = .minutes(1), perHour: Int = 10) {
        self.perPersonEvery = perPersonEvery
        self.perHour = perHour
    }
}

extension PageThrottleLimits: ConfigObject {
    static let defaults = PageThrottleLimits()
    static let rules: [String: [ConfigRule]] = ["perHour": [.range(1...1_000)]]
}

/// The pager-webhook calls made recently, per webhook and person, and whether another is allowed now.
///
/// Decisions only read it (`refusal`); calls are recorded from change sets after they were committed
/// (`record`), so a decision that is thrown away (a conflict re-decided) counts nothing. Two decisions
/// on different incidents at the same moment may both pass before either is recorded: the limit may be
/// exceeded by that one call, never more. It lives in memory: a restart forgets the last hour (at most
/// one extra call per person), and each replica keeps its own.
public final class PageThrottle: Sendable {
    public let limits: PageThrottleLimits
    private let calls = Mutex<[Key: [Date]]>([:])

    struct Key: Hashable {
        var webhook: String
        var person: String
    }

    public init(limits: PageThrottleLimits = PageThrottleLimits()) {
        self.limits = limits
    }

    /// Why `person` may not be called through `webhook` at `now`, or nil if they may.
    public func refusal(webhook: String, person: String, at now: Date) -> String? {
        let recent = calls.withLock { $0[Key(webhook: webhook, person: person)] ?? [] }.filter { now.timeIntervalSince($0) < 3_600 }
        if let last = recent.max(), now.timeIntervalSince(last) < TimeInterval(limits.perPersonEvery.seconds) {
            let ago = max(0, Int(now.timeIntervalSince(last).rounded()))
            return "called \(ago) s ago (at most one call every \(Self.describe(TimeInterval(limits.perPersonEvery.seconds))))"
        }
        if recent.count >= limits.perHour {
            return "called \(recent.count) times in the last hour (at most \(limits.perHour))"
        }
        return nil
    }

    /// Records the page and escalation calls a committed change set queued.
    public func record(_ changes: ChangeSet) {
        let notices = changes.outbox.compactMap { message -> PagerNotice? in
            guard case .pagerWebhook(let notice) = message.action, notice.event == .page || notice.event == .escalation else { return nil }
            return notice
        }
        guard !notices.isEmpty else { return }
        calls.withLock { calls in
            for notice in notices {
                for person in notice.people {
                    let key = Key(webhook: notice.webhook, person: person.id)
                    // The hour before the newest call is all a refusal ever looks at.
                    calls[key, default: []].removeAll { notice.at.timeIntervalSince($0) >= 3_600 }
                    calls[key, default: []].append(notice.at)
                }
            }
        }
    }

    private static func describe(_ seconds: TimeInterval) -> String {
        seconds.truncatingRemainder(dividingBy: 60) == 0 ? (seconds == 60 ? "minute" : "\(Int(seconds / 60)) min") : "\(Int(seconds)) s"
    }
}
