import Foundation
import IncidentCore
import Synchronization
import Testing

@testable import Storage

/// Declarations decided before they reach the write lock, with guessed numbers (`DeclarationForecast`):
/// a right guess is written as decided, a wrong one is decided again with the numbers the writer gives,
/// and either way every incident is written with, and decided with, its own numbers and no number is lost.
@Suite("SQLite declaration numbers decided ahead")
final class DeclarationForecastTests {
    private let databases = TemporaryDatabases()
    private static let day = "2025-11-10"

    /// The numbers each call of a declaration's `decide` got, in call order.
    private final class Calls: Sendable {
        private let calls = Mutex<[DeclarationNumbers]>([])
        func record(_ id: IncidentID, _ daySequence: Int, _ labelSequence: Int?) {
            calls.withLock { $0.append(DeclarationNumbers(number: id.number, daySequence: daySequence, labelSequence: labelSequence)) }
        }
        var all: [DeclarationNumbers] { calls.withLock { $0 } }
    }

    /// A declaration whose incident's title names the numbers it was decided with, so what was written
    /// shows which decision it was.
    private static func declare(
        _ store: SQLiteIncidentStore, labelScope: String? = nil, calls: Calls? = nil,
        deciding: @escaping @Sendable (DeclarationNumbers) -> Void = { _ in }
    ) async throws -> DeclarationNumbers {
        try await store.commitNumberedDeclaration(day: day, labelScope: labelScope) { id, daySequence, labelSequence in
            let numbers = DeclarationNumbers(number: id.number, daySequence: daySequence, labelSequence: labelSequence)
            calls?.record(id, daySequence, labelSequence)
            deciding(numbers)
            return (StoreFixtures.declaration(of: StoreFixtures.incident(id.number, title: Self.title(numbers))), numbers)
        }
    }

    private static func title(_ numbers: DeclarationNumbers) -> String {
        "decided as \(numbers.number)/\(numbers.daySequence)/\(numbers.labelSequence.map(String.init) ?? "-")"
    }

    @Test func theGuessIsTheLastNumbersSeenPlusTheDeclarationsOnTheirWay() {
        var forecast = DeclarationForecast()
        // Nothing seen yet: no guess, but the declaration counts as on its way.
        #expect(forecast.reserve(day: "d1", labelScope: nil) == nil)
        forecast.settle(day: "d1", labelScope: nil, guessed: nil, allocated: DeclarationNumbers(number: 10, daySequence: 4))

        let first = forecast.reserve(day: "d1", labelScope: nil)
        let second = forecast.reserve(day: "d1", labelScope: nil)
        #expect(first == DeclarationNumbers(number: 11, daySequence: 5))
        #expect(second == DeclarationNumbers(number: 12, daySequence: 6))
        // A day not seen yet, and a period not seen yet, give no guess.
        #expect(forecast.reserve(day: "d2", labelScope: nil) == nil)
        #expect(forecast.reserve(day: "d1", labelScope: "2025") == nil)

        // Settled out of order, the later one first with the numbers the first one guessed.
        forecast.settle(day: "d1", labelScope: nil, guessed: second, allocated: DeclarationNumbers(number: 11, daySequence: 5))
        forecast.settle(day: "d1", labelScope: nil, guessed: first, allocated: DeclarationNumbers(number: 12, daySequence: 6))
        forecast.settle(day: "d2", labelScope: nil, guessed: nil, allocated: DeclarationNumbers(number: 13, daySequence: 1))
        // Nothing committed of this one: its numbers are not known, and it no longer counts.
        forecast.settle(day: "d1", labelScope: "2025", guessed: nil, allocated: nil)
        #expect(forecast.reserve(day: "d1", labelScope: nil) == DeclarationNumbers(number: 14, daySequence: 7))
        #expect(forecast.reserve(day: "d2", labelScope: nil) == DeclarationNumbers(number: 15, daySequence: 2))
        #expect(forecast.statistics.guessedRight == 0)
        #expect(forecast.statistics.guessedWrong == 2)
        #expect(forecast.statistics.unguessed == 3)
    }

    /// After the first declaration (no guess: nothing seen yet), each is decided once, before the write
    /// lock, with the numbers it then gets, the period's count included.
    @Test func oneAfterTheOtherEachIsDecidedOnceWithItsOwnNumbers() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        let calls = Calls()
        for _ in 1...5 {
            _ = try await Self.declare(store, labelScope: "2025", calls: calls)
        }
        #expect(calls.all == (1...5).map { DeclarationNumbers(number: $0, daySequence: $0, labelSequence: $0) })
        for number in 1...5 {
            #expect(
                try await store.incident(IncidentID(number))?.title
                    == Self.title(DeclarationNumbers(number: number, daySequence: number, labelSequence: number)))
        }
        let statistics = store.declarationForecastStatistics
        #expect(statistics.unguessed == 1)
        #expect(statistics.guessedRight == 4)
        #expect(statistics.guessedWrong == 0)
        try await store.close()
    }

    /// A number taken by someone the forecast does not know of makes the guess wrong: the declaration is
    /// decided again with the number the writer gives it, and only that decision is written.
    @Test func aWrongGuessIsDecidedAgainWithTheNumbersGiven() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        _ = try await Self.declare(store)
        #expect(try await store.allocateIncidentNumber(day: Self.day) == (IncidentID(2), 2))

        let calls = Calls()
        let written = try await Self.declare(store, calls: calls)
        #expect(calls.all == [DeclarationNumbers(number: 2, daySequence: 2), DeclarationNumbers(number: 3, daySequence: 3)])
        #expect(written == DeclarationNumbers(number: 3, daySequence: 3))
        #expect(try await store.incident(IncidentID(2)) == nil)
        #expect(try await store.incident(IncidentID(3))?.title == Self.title(written))
        #expect(store.declarationForecastStatistics.guessedWrong == 1)

        // The forecast has caught up: the next guess is right again.
        _ = try await Self.declare(store)
        #expect(store.declarationForecastStatistics.guessedRight == 1)
        try await store.close()
    }

    /// Two declarations reach the writer's queue in the other order than they guessed (the first was
    /// slower to decide), in one transaction: the writer hands the numbers out in the order of the
    /// guesses, so both come true and neither is decided again.
    @Test func guessesComeTrueWhenTheirDeclarationsQueueInAnotherOrder() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        _ = try await Self.declare(store)

        let writeLock = Gate()
        let slowDecision = Gate()
        let slowIsDeciding = Calls()
        let (slowCalls, quickCalls) = (Calls(), Calls())
        let before = await store.writeStatistics.transactions
        let (slow, quick) = try await withThrowingTaskGroup(of: (Bool, DeclarationNumbers)?.self) { group in
            group.addTask {
                try await store.write(singleStatement: false) { _ in writeLock.wait() }
                return nil
            }
            try await waitFor("the gated write to start its transaction") { await store.writeStatistics.transactions != before }
            group.addTask {
                let numbers = try await Self.declare(store, calls: slowCalls) { numbers in
                    // Only the decision made before the write lock (the first) is held back.
                    guard slowIsDeciding.all.isEmpty else { return }
                    slowIsDeciding.record(IncidentID(numbers.number), numbers.daySequence, nil)
                    slowDecision.wait()
                }
                return (true, numbers)
            }
            try await waitFor("the slow declaration to be deciding") { !slowIsDeciding.all.isEmpty }
            group.addTask { (false, try await Self.declare(store, calls: quickCalls)) }
            try await waitFor("the quick declaration to queue") { await store.queuedWrites >= 1 }
            slowDecision.open()
            try await waitFor("both declarations to queue") { await store.queuedWrites >= 2 }
            writeLock.open()
            var outcomes: [Bool: DeclarationNumbers] = [:]
            for try await case let (isSlow, numbers)? in group { outcomes[isSlow] = numbers }
            return (try #require(outcomes[true]), try #require(outcomes[false]))
        }
        #expect(slow == DeclarationNumbers(number: 2, daySequence: 2))
        #expect(quick == DeclarationNumbers(number: 3, daySequence: 3))
        #expect(slowCalls.all == [slow])
        #expect(quickCalls.all == [quick])
        #expect(store.declarationForecastStatistics.guessedRight == 2)
        #expect(try await store.incident(IncidentID(2))?.title == Self.title(slow))
        #expect(try await store.incident(IncidentID(3))?.title == Self.title(quick))
        try await store.close()
    }

    /// Many callers at once, right guesses and wrong ones mixed as the scheduler makes them: the numbers
    /// run from 1 without a gap, and every incident was written with the decision made with its numbers.
    @Test func manyCallersAtOnceGetEveryNumberOnceAndTheirOwnDecisions() async throws {
        let store = try await SQLiteIncidentStore.open(path: databases.newPath())
        let (callers, each) = (8, 40)
        let written = try await withThrowingTaskGroup(of: [DeclarationNumbers].self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var mine: [DeclarationNumbers] = []
                    for _ in 0..<each { mine.append(try await Self.declare(store, labelScope: "2025")) }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let count = callers * each
        #expect(written.map(\.number).sorted() == Array(1...count))
        #expect(written.allSatisfy { $0.daySequence == $0.number && $0.labelSequence == $0.number })
        let incidents = try await store.incidents(includeClosed: true, limit: count + 10)
        #expect(incidents.count == count)
        for incident in incidents {
            let number = incident.id.number
            #expect(incident.title == Self.title(DeclarationNumbers(number: number, daySequence: number, labelSequence: number)))
        }
        let statistics = store.declarationForecastStatistics
        #expect(statistics.guessedRight + statistics.guessedWrong + statistics.unguessed == count)
        try await store.close()
    }
}
