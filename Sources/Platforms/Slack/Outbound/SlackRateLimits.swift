import Foundation
import Synchronization

/// Paces `chat.postMessage` to about one message per second per channel, allowing short bursts, as
/// Slack asks (docs.slack.dev/reference/methods/chat.postMessage, "Rate limiting").
///
/// A generic cell rate algorithm per channel: each channel has a theoretical arrival time (TAT) that every
/// accepted message pushes one interval further; a message is accepted while the TAT is at most
/// `burst - 1` intervals ahead of now. A message that must wait books the next free slot under its
/// ticket (the outbox message id), so when the outbox retries it at that time it goes at once instead
/// of competing again: a busy channel delays each message once, never starves one.
public final class SlackChannelPacer: Sendable {
    public struct Settings: Sendable {
        public var interval: TimeInterval = 1
        public var burst: Int = 4
        public init(interval: TimeInterval = 1, burst: Int = 4) {
            self.interval = interval
            self.burst = burst
        }
    }

    /// One delivery may post in two channels (a status card and an announcement): a booking is per both.
    private struct BookingKey: Hashable {
        var ticket: Int64
        var channel: String
    }

    private struct State {
        var theoreticalArrival: [String: Date] = [:]
        /// When each waiting message may go.
        var bookings: [BookingKey: Date] = [:]
        /// Stale entries are swept at most this often: a sweep reads every booking, and a busy outbox
        /// asks for a slot thousands of times a second.
        var nextSweep = Date.distantPast
    }

    private let settings: Settings
    private let state = Mutex(State())

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// nil: post now. Otherwise the seconds to wait; the slot is then reserved for `ticket`.
    public func admit(channel: String, ticket: Int64, now: Date) -> TimeInterval? {
        state.withLock { state in
            forgetStaleBookings(&state, now: now)
            let key = BookingKey(ticket: ticket, channel: channel)
            if let slot = state.bookings[key] {
                // Clocks and timers are not exact: a retry a little early still uses its slot.
                if slot.timeIntervalSince(now) <= settings.interval / 10 {
                    state.bookings[key] = nil
                    return nil
                }
                return slot.timeIntervalSince(now)
            }
            let tolerance = settings.interval * Double(max(settings.burst - 1, 0))
            let arrival = max(state.theoreticalArrival[channel] ?? now, now)
            let earliest = arrival.addingTimeInterval(-tolerance)
            state.theoreticalArrival[channel] = arrival.addingTimeInterval(settings.interval)
            if earliest <= now { return nil }
            state.bookings[key] = earliest
            return earliest.timeIntervalSince(now)
        }
    }

    private static let sweepInterval: TimeInterval = 30

    /// A booking whose message never came back (delivered elsewhere, or given up) is dropped after a while.
    private func forgetStaleBookings(_ state: inout State, now: Date) {
        guard now >= state.nextSweep else { return }
        state.nextSweep = now.addingTimeInterval(Self.sweepInterval)
        let horizon = now.addingTimeInterval(-300)
        state.bookings = state.bookings.filter { $0.value > horizon }
        state.theoreticalArrival = state.theoreticalArrival.filter { $0.value > horizon }
    }
}
