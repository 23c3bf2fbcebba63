// swift-tools-version:6.1
import PackageDescription

/// Settings shared by every Swift target: Swift 6 language mode is the default for
/// tools version 6; C modules are never re-exported through a public signature.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault")
]

let package = Package(
    name: "Temoin",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "temoin", targets: ["temoin"]),
        .executable(name: "temoin-device", targets: ["temoin-device"]),
        .executable(name: "temoin-verify", targets: ["temoin-verify"]),
        .executable(name: "temoin-bench", targets: ["temoin-bench"]),
        .library(name: "TemoinCore", targets: ["TemoinCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The HTTP server; swift-configuration support is not needed, so its trait is off.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        // HTTP parts after decoding, for the service's own request deadlines.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.0"),
        // The staff console's server-rendered pages (Docs/console.md).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // The fan-out's SMS gateways over HTTPS (Docs/fanout.md).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Thin system-library wrappers: headers and link flags from pkg-config, nothing else.
        .systemLibrary(
            name: "CTemoinOpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CTemoinSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(name: "CTemoinOpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CTemoinOgg", pkgConfig: "ogg", providers: [.apt(["libogg-dev"])]),
        .systemLibrary(name: "CTemoinSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CTemoinZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The one C target of our own: what Swift cannot call (variadic opus_encoder_ctl).
        .target(name: "CTemoinShim", dependencies: ["CTemoinOpus"]),

        // Pure core: Merkle math, entry encoding, signed notes, checkpoints, proofs.
        // Standard library only: no C, no I/O, no Foundation.
        .target(name: "TemoinCore", swiftSettings: swiftSettings),

        // Zip archives of export bundles (Docs/export.md): a deterministic writer (stored entries) and
        // a strict reader for the verifier (stored and deflate, through zlib), nothing extracted to disk.
        .target(name: "TemoinArchive", dependencies: ["TemoinCore", "CTemoinZlib"], swiftSettings: swiftSettings),

        // OpenSSL adapters: SHA-256, Ed25519, ECDSA P-256, X.509.
        .target(
            name: "TemoinCrypto",
            dependencies: ["TemoinCore", "CTemoinOpenSSL"],
            swiftSettings: swiftSettings
        ),

        // The recording's format: encoder settings as recorded, the packet stream, deterministic
        // Ogg Opus mux and demux (libogg only: the offline verifier links it).
        .target(
            name: "TemoinRecording", dependencies: ["TemoinCore", "TemoinCrypto", "CTemoinOgg"],
            swiftSettings: swiftSettings),

        // Audio adapters: libopus encoder and decoder, soxr resampling, Ogg Opus chunks from phones.
        .target(
            name: "TemoinAudio",
            dependencies: [
                "TemoinCore", "TemoinCrypto", "TemoinRecording", "CTemoinOpus", "CTemoinOgg", "CTemoinSoxr",
                "CTemoinShim",
            ],
            swiftSettings: swiftSettings
        ),

        // The ledger: SQLite store, blob store, the single writer, the reader, the audit.
        // No codec, no recording format, no export: entries, blobs and proofs only.
        .target(
            name: "TemoinLedger",
            dependencies: ["TemoinCore", "TemoinCrypto", "CTemoinSQLite"],
            swiftSettings: swiftSettings
        ),

        // Ingest, above the ledger: decode, resample, encode, per-alert ordering, one actor per alert.
        .target(
            name: "TemoinIngest",
            dependencies: ["TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinAudio", "TemoinLedger"],
            swiftSettings: swiftSettings
        ),

        // Export, above the ledger: an alert's recording, the signed bundle and its custody report
        // (the bundle's layout and texts are shared with the offline verifier).
        .target(
            name: "TemoinExport",
            dependencies: [
                "TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinLedger", "TemoinVerify", "TemoinArchive",
            ],
            swiftSettings: swiftSettings
        ),

        // The fan-out, above the ledger (Docs/fanout.md): trusted contacts (sealed), the texts sent
        // when an alert opens, SMS gateways, capability links and the live-location page's model.
        .target(
            name: "TemoinFanout",
            dependencies: [
                "TemoinCore", "TemoinCrypto", "TemoinLedger",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // The HTTP service: device API, public log API, health and metrics.
        .target(
            name: "TemoinServer",
            dependencies: [
                "TemoinCore", "TemoinCrypto", "TemoinAudio", "TemoinLedger", "TemoinIngest", "TemoinExport",
                "TemoinAPI", "TemoinFanout",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Mustache", package: "swift-mustache"),
                "TemoinVerify",
            ],
            // The console's templates, style sheet and scripts (Docs/console.md).
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),

        // The HTTP API's request and response bodies, shared by the server and the device client.
        .target(name: "TemoinAPI", swiftSettings: swiftSettings),

        // The phone's side, as a library: keys, signed statements, upload with retries, witness checks.
        .target(
            name: "TemoinDevice", dependencies: ["TemoinCore", "TemoinCrypto", "TemoinAPI"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "temoin-device",
            dependencies: [
                "TemoinDevice", "TemoinAPI", "TemoinCore", "TemoinCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // The offline verifier of export bundles: no SQLite, no server.
        .target(
            name: "TemoinVerify", dependencies: ["TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinArchive"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "temoin-verify",
            dependencies: [
                "TemoinVerify", "TemoinCore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // Command-line commands, as a library so tests drive them in process.
        .target(
            name: "TemoinCLI",
            dependencies: [
                "TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinAudio", "TemoinLedger", "TemoinIngest",
                "TemoinExport",
                "TemoinServer", "TemoinDevice", "TemoinVerify", "TemoinAPI", "TemoinFanout",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "temoin", dependencies: ["TemoinCLI"], swiftSettings: swiftSettings),

        // Benchmarks, outside the shipped binary: `temoin-bench appends|proofs|ingest|service|verify`.
        .executableTarget(
            name: "temoin-bench",
            dependencies: [
                "TemoinCLI", "TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinAudio", "TemoinLedger",
                "TemoinIngest", "TemoinExport", "TemoinVerify", "TemoinServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // Test support, never shipped: one way to run child processes that cannot deadlock on full
        // pipes, and the tags the test targets share (Docs/testing.md).
        .target(name: "TemoinTestSupport", path: "Tests/TemoinTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "TemoinTestSupportTests", dependencies: ["TemoinTestSupport"], swiftSettings: swiftSettings),

        // Fuzzing (Docs/fuzzing.md): one function per parser of outside bytes, each checking the
        // parser's invariants. `temoin-fuzz` is the libFuzzer entry point when built by
        // Scripts/fuzz (-D TEMOIN_FUZZ, -sanitize=fuzzer,address) and a corpus replayer otherwise.
        .target(
            name: "TemoinFuzzTargets",
            dependencies: [
                "TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinAudio", "TemoinLedger", "TemoinIngest",
                "TemoinServer",
                "TemoinVerify", "TemoinAPI", "TemoinArchive",
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "temoin-fuzz", dependencies: ["TemoinFuzzTargets"], swiftSettings: swiftSettings),

        .testTarget(
            name: "TemoinCoreTests",
            dependencies: ["TemoinCore", "TemoinCrypto", "TemoinTestSupport"],
            exclude: ["Vectors"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TemoinArchiveTests",
            dependencies: ["TemoinArchive", "TemoinCore", "CTemoinZlib", "TemoinTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TemoinCryptoTests",
            dependencies: ["TemoinCore", "TemoinCrypto", "TemoinTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TemoinAudioTests",
            dependencies: ["TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinAudio", "TemoinTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TemoinLedgerTests",
            dependencies: [
                "TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinAudio", "TemoinLedger", "TemoinIngest",
                "TemoinExport", "TemoinVerify", "TemoinTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TemoinServerTests",
            dependencies: [
                "TemoinServer", "TemoinDevice", "TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinAudio",
                "TemoinLedger", "TemoinIngest", "TemoinTestSupport", "TemoinVerify", "TemoinExport", "TemoinAPI",
                "TemoinFanout",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The fan-out against fake SMS providers over real HTTP on loopback (Docs/fanout.md).
        .testTarget(
            name: "TemoinFanoutTests",
            dependencies: [
                "TemoinFanout", "TemoinCore", "TemoinCrypto", "TemoinLedger", "TemoinTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TemoinFuzzTests",
            dependencies: ["TemoinFuzzTargets"],
            exclude: ["Corpus"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TemoinCLITests",
            dependencies: [
                "TemoinCLI", "TemoinCore", "TemoinCrypto", "TemoinRecording", "TemoinAudio", "TemoinLedger",
                "TemoinIngest", "TemoinExport", "TemoinTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
