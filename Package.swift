// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Fanout",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Fanout", targets: ["Fanout"]),
        .executable(name: "fanout", targets: ["FanoutCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // libcurl, from the system (apt: libcurl4-openssl-dev). Only FanoutHTTP imports it.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // Starting and reaping child processes: posix_spawn, unnamed temporary files, waitid. Only FanoutCore uses it.
        .target(name: "CSpawn"),
        // HTTP/1.1 and HTTP/2 client: one thread drives curl's multi interface; async/await on top.
        .target(
            name: "FanoutHTTP",
            dependencies: ["CCurl", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // AWS Signature Version 4: header signing and presigned URLs. Pure functions, no I/O.
        .target(
            name: "FanoutSigV4",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Object stores: the `ObjectStore` seam and its registry, the S3 and Cloud Storage clients and their
        // credentials, and the local file system.
        .target(
            name: "FanoutStorage",
            dependencies: [
                "FanoutHTTP", "FanoutSigV4",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The engine: map steps, inputs, shard plans, run state in object storage, backends, aggregation.
        .target(
            name: "FanoutCore",
            dependencies: [
                "FanoutStorage", "FanoutHTTP", "CSpawn",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Kubernetes: a small API client (kubeconfig, exec credentials, watches) and the Indexed-Job backend.
        .target(
            name: "FanoutKubernetes",
            dependencies: [
                "FanoutCore", "FanoutHTTP", "FanoutStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // What users `import Fanout` for.
        .target(
            name: "Fanout",
            dependencies: ["FanoutCore", "FanoutStorage", "FanoutHTTP", "FanoutKubernetes"],
            swiftSettings: swiftSettings
        ),
        // The `fanout` command-line tool.
        .executableTarget(
            name: "FanoutCLI",
            dependencies: [
                "Fanout",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Notebook-style examples: `swift run word-count PREFIX`, `swift run file-stats PREFIX`,
        // `swift run log-levels PREFIX`, `swift run fleet-line-count PREFIX` (a fleet declared in code).
        .executableTarget(
            name: "word-count",
            dependencies: ["Fanout"],
            path: "Examples/WordCount",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "file-stats",
            dependencies: ["Fanout"],
            path: "Examples/FileStats",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "log-levels",
            dependencies: ["Fanout"],
            path: "Examples/LogLevels",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fleet-line-count",
            dependencies: ["Fanout"],
            path: "Examples/FleetLineCount",
            swiftSettings: swiftSettings
        ),
        // The S3 client benchmark against boto3 (scripts/bench).
        .executableTarget(
            name: "FanoutBench",
            dependencies: ["Fanout"],
            path: "Sources/FanoutBench",
            swiftSettings: swiftSettings
        ),
        // Runs the engine's benchmark (scripts/bench-engine).
        .executableTarget(
            name: "fanout-bench-engine",
            dependencies: ["Fanout"],
            path: "Benchmarks/EngineBench",
            swiftSettings: swiftSettings
        ),
        // Shared by the test suites: where the loopback servers are, temporary folders.
        .target(
            name: "FanoutTestSupport",
            dependencies: ["FanoutStorage", "FanoutHTTP", "FanoutSigV4"],
            path: "Tests/FanoutTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FanoutHTTPTests",
            dependencies: ["FanoutHTTP", "FanoutTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FanoutSigV4Tests",
            dependencies: ["FanoutSigV4"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FanoutStorageTests",
            dependencies: [
                "FanoutStorage", "FanoutSigV4", "FanoutTestSupport", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FanoutTestSteps",
            dependencies: ["FanoutCore"],
            path: "Tests/FanoutTestSteps",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FanoutTestWorker",
            dependencies: ["FanoutCore", "FanoutTestSteps"],
            path: "Tests/FanoutTestWorker",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FanoutCoreTests",
            dependencies: ["FanoutCore", "FanoutTestSteps", "FanoutTestSupport", "FanoutTestWorker"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FanoutKubernetesTests",
            dependencies: [
                "FanoutKubernetes", "FanoutCore", "FanoutTestSteps", "FanoutTestSupport", "FanoutTestWorker",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FanoutCLITests",
            dependencies: ["FanoutHTTP", "FanoutStorage", "FanoutTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
