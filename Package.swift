// swift-tools-version:6.1
// Switchyard: a distributed batch router for LLM requests.
//
// Layout (lower never imports higher):
//   CZeroMQ, COpenBLAS            C shims over system libraries (apt: libzmq3-dev with CURVE, libopenblas-dev)
//   ZeroMQ                        thin safe wrapper over libzmq
//   SwitchyardCore                shared value types and file formats (contracts)
//   Wire                          frames of the work protocol
//   WorkProtocol                  the work protocol without a transport: coordinator state machine, journal, tables
//   WorkRuntime                   the work protocol over ZeroMQ: coordinator server, stage worker, producer, consumer
//   BlockingHTTP                  AsyncHTTPClient for synchronous callers; blocking work off the cooperative pool
//   Embedding                     tokenizer, safetensors, MiniLM on OpenBLAS (the one BLAS caller), hashed embedder
//   Profiling                     what a query requires (capabilities, domains, tokens)
//   Budget                        batch budget: knapsack by Lagrangian relaxation, spend ledger
//   Grading                       graders: a reply against a labelled prompt's gold answer
//   Routing                       model profiles and routing strategies
//   Backends                      OpenAI-compatible client, limits, retries, breakers, dispatch
//   ReplayBackend                 an OpenAI-compatible server that answers from recorded outcomes (tests, demos)
//   Payloads                      what travels between stages: versioned compact binary, bodies as bytes
//   Collecting                    outcomes from live models: collect, grade, routing data out
//   Pipeline                      requests: pipeline.yaml, ingest, stages, sink, runtime assembly
//   Evaluation                    cost-quality curves, router metrics, SVG plots
//   SwitchyardCLI / switchyard    the command line
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// The numeric modules (embedding, profiling, routing, evaluation) run their training and sweep loops over every
/// prompt × model × λ of the real data sets in the test suite; unoptimized, they are ~30× slower (BudgetRuleTests:
/// 12 min of CPU at -Onone, 24 s at -O) and the suite's profile builds took most of `make test`. Debug builds
/// compile these modules with -O (still `-enable-testing`, so `@testable import` works); release builds are
/// unchanged. The pipeline, transport and CLI modules stay unoptimized for the debugger.
let numericSwiftSettings: [SwiftSetting] = swiftSettings + [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "Switchyard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.21.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.70.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"6.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // MARK: C shims
        .systemLibrary(
            name: "CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // Headers only (cblas.h): Embedding opens libopenblas.so.0 at run time, on first use.
        .systemLibrary(
            name: "COpenBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),

        // MARK: Foundations
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], swiftSettings: swiftSettings),
        .target(name: "SwitchyardCore", swiftSettings: swiftSettings),
        .target(name: "Wire", swiftSettings: swiftSettings),

        // MARK: Work protocol (no ZeroMQ), then its runtime over ZeroMQ
        .target(
            name: "WorkProtocol",
            dependencies: ["Wire", .product(name: "Logging", package: "swift-log"), .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "WorkRuntime",
            dependencies: [
                "WorkProtocol", "Wire", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"), .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: HTTP for synchronous callers (remote embedder, LLM requirement extractor)
        .target(
            name: "BlockingHTTP",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Domain
        .target(
            name: "Embedding",
            dependencies: ["COpenBLAS", "BlockingHTTP", .product(name: "Logging", package: "swift-log")],
            swiftSettings: numericSwiftSettings
        ),
        .target(
            name: "Profiling",
            dependencies: ["SwitchyardCore", "Embedding", "BlockingHTTP", .product(name: "Logging", package: "swift-log")],
            swiftSettings: numericSwiftSettings
        ),
        .target(name: "Budget", dependencies: ["SwitchyardCore"], swiftSettings: swiftSettings),
        .target(name: "Grading", dependencies: ["SwitchyardCore"], swiftSettings: swiftSettings),
        .target(
            name: "Routing",
            dependencies: [
                "SwitchyardCore", "Embedding", "Profiling", "Budget",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: numericSwiftSettings
        ),
        .target(
            name: "Backends",
            dependencies: [
                "SwitchyardCore", "Grading",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ReplayBackend",
            dependencies: [
                "SwitchyardCore", "Grading",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Payloads",
            dependencies: ["SwitchyardCore", "Wire", "Budget", "Routing"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Collecting",
            dependencies: [
                "SwitchyardCore", "Budget", "Grading", "Backends",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Pipeline",
            dependencies: [
                "ZeroMQ", "Wire", "WorkProtocol", "WorkRuntime", "SwitchyardCore", "Embedding", "Profiling", "Budget",
                "Routing", "Backends", "Payloads",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Evaluation",
            dependencies: ["SwitchyardCore", "Budget", "Routing", .product(name: "Logging", package: "swift-log")],
            exclude: ["METRICS.md"],
            swiftSettings: numericSwiftSettings
        ),

        // MARK: Command line
        .target(
            name: "SwitchyardCLI",
            dependencies: [
                "SwitchyardCore", "ZeroMQ", "Wire", "WorkProtocol", "WorkRuntime", "Embedding", "Profiling", "Budget", "Routing",
                "Backends", "ReplayBackend", "Payloads", "Pipeline", "Evaluation", "Grading", "Collecting", "BlockingHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "switchyard", dependencies: ["SwitchyardCLI"], swiftSettings: swiftSettings),

        // MARK: Benchmarks (make bench; never part of make test)
        .executableTarget(
            name: "SwitchyardBench",
            dependencies: [
                "SwitchyardCore", "ZeroMQ", "Wire", "WorkProtocol", "WorkRuntime", "Embedding", "Profiling", "Budget", "Routing",
                "Backends", "ReplayBackend", "Payloads", "Pipeline", "Evaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/SwitchyardBench",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests (Swift Testing)
        // Test support: Hummingbird servers in tests, shut down gracefully.
        .target(
            name: "HTTPTestSupport",
            dependencies: [
                "ReplayBackend",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/HTTPTestSupport",
            swiftSettings: swiftSettings
        ),
        // Test support: the work protocol's in-memory coordinator harness; helpers for tests that drive real processes.
        .target(
            name: "WorkProtocolTestSupport",
            dependencies: ["WorkProtocol", "Wire", "SwitchyardCore"],
            path: "Tests/WorkProtocolTestSupport",
            swiftSettings: swiftSettings
        ),
        // Test support: a clock the test advances by hand (retries, backoff, rate limits, breakers, pacing without sleeping).
        .target(name: "ClockTestSupport", dependencies: ["SwitchyardCore"], path: "Tests/ClockTestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "SwitchyardCoreTests", dependencies: ["SwitchyardCore"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "SwitchyardCore"]),
        .testTarget(name: "EmbeddingTests", dependencies: ["Embedding"]),
        .testTarget(name: "BudgetTests", dependencies: ["Budget", "SwitchyardCore"]),
        .testTarget(name: "GradingTests", dependencies: ["Grading", "SwitchyardCore"]),
        .testTarget(name: "CollectingTests", dependencies: ["Collecting", "Grading", "Backends", "ReplayBackend", "SwitchyardCore", "HTTPTestSupport", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(
            name: "RoutingTests", dependencies: ["Routing", "Profiling", "Embedding", "SwitchyardCore"],
            exclude: ["Fixtures/requirements_llm_server.py"]  // a server the tests start by path, not a resource
        ),
        .testTarget(name: "BackendsTests", dependencies: [
            "Backends", "ReplayBackend", "SwitchyardCore", "HTTPTestSupport", "ClockTestSupport", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "PayloadsTests", dependencies: ["Payloads", "Wire", "SwitchyardCore", "Profiling", "Routing", "Budget"]),
        .testTarget(name: "WorkProtocolTests", dependencies: [
            "WorkProtocol", "WorkProtocolTestSupport", "Wire", "SwitchyardCore", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "WorkRuntimeTests", dependencies: [
            "WorkRuntime", "WorkProtocol", "WorkProtocolTestSupport", "Wire", "ZeroMQ", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "PipelineTests", dependencies: [
            "Pipeline", "Payloads", "ZeroMQ", "Wire", "SwitchyardCore", "Routing", "Budget", "Embedding", "WorkProtocolTestSupport", "ClockTestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Routing", "SwitchyardCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["SwitchyardCore", "HTTPTestSupport", .product(name: "Hummingbird", package: "hummingbird")]),
    ]
)
