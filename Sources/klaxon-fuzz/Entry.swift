import Foundation

#if canImport(Glibc)
    import Glibc
#endif

#if KLAXON_LIBFUZZER
    /// libFuzzer's driver, called from our own `main`: SwiftPM already names the executable's entry point,
    /// so libFuzzer's `main` is not linked and this hands it the command line instead (bench/fuzz/run.sh).
    @_silgen_name("LLVMFuzzerRunDriver")
    private func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt
#endif

/// `klaxon-fuzz`: built with `-sanitize=fuzzer` (bench/fuzz/run.sh) it is a libFuzzer binary for the target
/// named by `KLAXON_FUZZ_TARGET`; built normally it replays files (a corpus, a crash) through a target:
/// `klaxon-fuzz <target> FILE|DIR...`, which is how a crash is reproduced without the fuzzing build.
@main
struct KlaxonFuzz {
    /// An input that takes longer than this is a finding, like a crash: the daemon answers each request
    /// on a shared event loop, so one slow parse stalls everyone.
    static let slowInputLimit: Double = 0.100

    // Set once in `main` before libFuzzer starts, then only read by libFuzzer's callback on the same
    // thread (the driver runs inputs one at a time on the calling thread): no concurrent access exists.
    nonisolated(unsafe) static var selected: FuzzTargets.Target?

    static func main() {
        #if KLAXON_LIBFUZZER
            let name = ProcessInfo.processInfo.environment["KLAXON_FUZZ_TARGET"] ?? ""
            guard let target = FuzzTargets.target(named: name) else { usage() }
            selected = target
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(
                LLVMFuzzerRunDriver(&argc, &argv) { bytes, count in
                    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
                    KlaxonFuzz.runTimed(KlaxonFuzz.selected!, data)
                    return 0
                })
        #else
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let target = FuzzTargets.target(named: name) else { usage() }
            var count = 0
            for path in arguments.dropFirst() {
                for file in files(at: path) {
                    guard let data = FileManager.default.contents(atPath: file) else {
                        FileHandle.standardError.write(Data("cannot read \(file)\n".utf8))
                        exit(2)
                    }
                    runTimed(target, data, name: file)
                    count += 1
                }
            }
            print("\(name): \(count) inputs replayed, no crash, none slower than \(Int(slowInputLimit * 1000)) ms")
        #endif
    }

    /// Runs one input and stops the process (a finding) if it took too long. Thread CPU time, not wall time:
    /// a busy machine must not turn into findings.
    static func runTimed(_ target: FuzzTargets.Target, _ data: Data, name: String = "input") {
        let start = cpuSeconds()
        target(data)
        let elapsed = cpuSeconds() - start
        if elapsed > slowInputLimit {
            fatalError("\(name) took \(Int(elapsed * 1000)) ms of CPU (limit \(Int(slowInputLimit * 1000)) ms)")
        }
    }

    /// The process's CPU time (`clock()`; POSIX fixes CLOCKS_PER_SEC at 1,000,000). Not `clock_gettime`
    /// with a `timespec`: in the fuzzing build the modules Foundation brings also declare `timespec`
    /// (Dispatch's), and member import visibility refuses its fields. The fuzz targets run on this one
    /// thread, so the process's time is the input's.
    static func cpuSeconds() -> Double {
        Double(clock()) / 1_000_000
    }

    static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { "\(path)/\($0)" }
        } catch {
            FileHandle.standardError.write(Data("cannot list \(path): \(error)\n".utf8))
            exit(2)
        }
    }

    static func usage() -> Never {
        let names = FuzzTargets.all.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(
            Data("usage: KLAXON_FUZZ_TARGET=<target> klaxon-fuzz [libFuzzer flags], or klaxon-fuzz <target> FILE|DIR...\ntargets: \(names)\n".utf8))
        exit(2)
    }
}
