// swift-tools-version:6.1
import PackageDescription

// The floor under Klaxon's idle memory (bench/memory/run.sh with FLOOR=1): a Hummingbird server that only
// answers /healthz, on the same toolchain and the same Hummingbird as Klaxon, with nothing of Klaxon in it.
let package = Package(
    name: "floor",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0")
    ],
    targets: [
        .executableTarget(name: "floor", dependencies: [.product(name: "Hummingbird", package: "hummingbird")])
    ]
)
