// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "klaxon",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "klaxon", targets: ["klaxon"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        // Already in the graph through Hummingbird; named for the server's read-timeout channel handler.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.0"),
        // The YAML incident export (runbook 002's incident record).
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
    ],
    targets: [
        // Pure core: incidents, lifecycle, command language, config, templates, rotations. No I/O.
        .target(
            name: "IncidentCore",
            dependencies: [
                .product(name: "Mustache", package: "swift-mustache")
            ],
            swiftSettings: swiftSettings
        ),
        // The store protocol's SQLite implementation and its migrations.
        .target(
            name: "Storage",
            dependencies: [
                "IncidentCore",
                // SQLiteData, and the SQLite it bundles (its VaporCSQLite module), which `SQLiteDatabase` calls.
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The store protocol's PostgreSQL implementation and its migrations (several replicas on one database).
        .target(
            name: "PostgresStorage",
            dependencies: [
                "IncidentCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // One folder per chat platform (inbound routes and verification, outbound client, long-running parts),
        // the other outbox clients (webhooks, email, tickets) and what they share.
        .target(
            name: "Platforms",
            dependencies: [
                "IncidentCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                // The SMTP client (Email/): a plain NIO connection, TLS from the first byte or after STARTTLS.
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // Each platform's inbound routes and long-running parts live beside its client.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Long-running workers: the outbox sender and the timer scheduler.
        .target(
            name: "Scheduler",
            dependencies: [
                "IncidentCore",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP: the Hummingbird application, routes and the daemon's wiring.
        .target(
            name: "Server",
            dependencies: [
                "IncidentCore",
                "Platforms",
                "Scheduler",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "klaxon",
            dependencies: [
                "IncidentCore",
                "Server",
                "Scheduler",
                "Storage",
                "PostgresStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzzing: every inbound decoder, the command parser and the config loader (bench/fuzz/run.sh builds it
        // with libFuzzer; a normal build replays files through the same targets).
        .executableTarget(
            name: "klaxon-fuzz",
            dependencies: ["IncidentCore", "Platforms"],
            swiftSettings: swiftSettings
        ),
        // The fake Slack of the tests (KlaxonTestSupport's `FakeSlack`) as a server for the benchmarks
        // (bench/lib.sh's `start_fake_slack`).
        .executableTarget(
            name: "klaxon-fake-slack",
            dependencies: [
                "KlaxonTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // `bench/scheduler/run.sh`: issue 4's scheduler benchmark (100,000 live timers in one SQLite store).
        .executableTarget(
            name: "SchedulerBench",
            dependencies: [
                "IncidentCore", "Storage", "PostgresStorage", "Platforms", "Scheduler",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "bench/scheduler/Sources",
            swiftSettings: swiftSettings
        ),
        // Test helpers shared by the test targets: a manual clock, temporary files, child processes, PostgreSQL,
        // and the fake Slack, Rocket.Chat and Mattermost servers (Fakes/).
        .target(
            name: "KlaxonTestSupport",
            dependencies: [
                "IncidentCore",
                "PostgresStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IncidentCoreTests",
            dependencies: ["IncidentCore", "KlaxonTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "IncidentCore", "Storage", "PostgresStorage", "KlaxonTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "IncidentCore", "Storage", "PostgresStorage", "Platforms", "Scheduler", "Server", "KlaxonTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SchedulerTests",
            dependencies: [
                "IncidentCore", "Storage", "Platforms", "Scheduler", "Server", "KlaxonTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            // The real SMTP server the email tests start (aiosmtpd); run from its source path, not a resource.
            exclude: ["Email/smtp_server.py"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SlackTests",
            dependencies: [
                "IncidentCore", "Storage", "Platforms", "Scheduler", "Server", "KlaxonTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["Fixtures/README.md"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RocketChatMattermostTests",
            dependencies: [
                "IncidentCore", "Storage", "Platforms", "Scheduler", "Server", "KlaxonTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
