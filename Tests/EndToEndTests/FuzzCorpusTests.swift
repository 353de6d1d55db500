import Foundation
import KlaxonTestSupport
import Testing

/// Issue 12, item 1: every input in `bench/fuzz/corpus/` — the seeds and every crash or slow input the
/// fuzzer ever found (each is added there when fixed) — goes through its fuzz target again on every test
/// run, through the replay build of `klaxon-fuzz` (the same target code libFuzzer drives). A regression
/// that makes one of them crash, or take over 100 ms of CPU, fails here without a fuzzing build.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("bench/fuzz/corpus")

    static var targets: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus.path)) ?? []).sorted()
    }

    @Test("the corpus has a directory for every fuzz target")
    func everyTargetHasSeeds() throws {
        #expect(Self.targets.count >= 14, "bench/fuzz/corpus has \(Self.targets)")
        for target in Self.targets {
            let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.appendingPathComponent(target).path)
            #expect(!files.isEmpty, "no seeds for \(target)")
        }
    }

    @Test("every corpus input replays without a crash", arguments: targets)
    func replay(target: String) async throws {
        let klaxon = try #require(KlaxonChildProcess.binaryPath, "klaxon binary not built")
        let replayer = URL(fileURLWithPath: klaxon).deletingLastPathComponent().appendingPathComponent("klaxon-fuzz").path
        try #require(FileManager.default.isExecutableFile(atPath: replayer), "klaxon-fuzz not built next to \(klaxon)")
        let child = try KlaxonChildProcess(
            executable: replayer, [target, Self.corpus.appendingPathComponent(target).path], directory: Self.corpus.path)
        let finished = await child.waitForExit(timeout: .seconds(120))
        if !finished { child.kill() }
        // The last bytes of the pipe may be read just after the exit.
        let deadline = ContinuousClock.now + .seconds(5)
        while !child.output.contains("replayed"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(finished && child.terminationStatus == 0, "klaxon-fuzz \(target): \(child.output)")
        #expect(child.output.contains("no crash"), "\(child.output)")
    }
}
