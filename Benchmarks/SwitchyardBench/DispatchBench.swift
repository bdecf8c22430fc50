import ArgumentParser
import Backends
import Foundation
import Logging
import ReplayBackend
import SwitchyardCore

/// `SwitchyardBench dispatch`: the Dispatcher against the replay backend (zero added latency),
/// beside a plain AsyncHTTPClient loop (`OpenAIClient.postDirect`) with the same concurrency against
/// the same server, in the same run. Both share the machine with the in-process server.
struct DispatchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "Dispatcher requests/s and added latency vs a plain HTTP client loop on the replay backend."
    )

    @Option(help: "Routing data the replay backend serves (prompts are taken from it).")
    var data: String = "data/routing/zeroeval/test.jsonl"

    @Option(help: "Requests per measured phase at the throughput concurrency.")
    var requests: Int = 20_000

    @Option(help: "Requests in flight at once for the throughput phases.")
    var concurrency: Int = 64

    @Option(help: "Requests per measured phase at concurrency 1 (pure per-request overhead).")
    var serialRequests: Int = 2_000

    @Option(help: "Rounds (direct and dispatcher alternate; the median round is reported).")
    var rounds: Int = 3

    @Option(help: "Where to write the JSON results.")
    var out: String = "bench-results/dispatch.json"

    struct Phase: Codable {
        var name: String
        var concurrency: Int
        var requests: Int
        var failures: Int
        var seconds: Double
        var requestsPerSecond: Double
        var p50Ms: Double
        var p99Ms: Double

        enum CodingKeys: String, CodingKey {
            case name, concurrency, requests, failures, seconds
            case requestsPerSecond = "requests_per_second"
            case p50Ms = "p50_ms"
            case p99Ms = "p99_ms"
        }
    }

    func run() async throws {
        let logger: Logger = {
            var logger = Logger(label: "bench.dispatch")
            logger.logLevel = .error
            return logger
        }()
        let catalog = try ReplayCatalog.load(dataPath: data)
        let dataset = try RoutingDataset.load(path: data)
        let models = Array(catalog.models.prefix(3))
        guard !models.isEmpty else { throw ValidationError("\(data) has no models") }

        let responder = ReplayResponder(catalog: catalog, configuration: ReplayConfiguration())
        var serverLogger = logger
        serverLogger.logLevel = .critical  // Hummingbird logs the cancellation that stops it
        let server = ReplayServer(responder: responder, logger: serverLogger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = server.makeApplication { continuation.yield($0) }
        let serverTask = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ValidationError("replay server did not start") }

        // Bodies: prompts of the data, cycling; the direct loop sends them already addressed to the model.
        let prompts = dataset.records.prefix(1000).map(\.prompt)
        func body(_ i: Int, model: String) -> Data {
            let object: [String: Any] = [
                "model": model, "max_tokens": 256,
                "messages": [["role": "user", "content": prompts[i % prompts.count]]],
            ]
            return (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        }
        let directBodies = (0..<1000).map { body($0, model: models[$0 % models.count]) }
        let routedBodies = (0..<1000).map { body($0, model: "auto") }
        let url = "http://127.0.0.1:\(port)/v1/chat/completions"

        let endpoints = models.map {
            ModelEndpoint(
                name: $0, baseURL: "http://127.0.0.1:\(port)/v1",
                price: catalog.price(of: $0) ?? ModelPrice(inputUSDPerMTok: 0, outputUSDPerMTok: 0),
                limits: BackendLimits(maxConcurrency: concurrency)
            )
        }
        let dispatcher = try Dispatcher(
            endpoints: endpoints,
            configuration: DispatcherConfiguration(maxInFlight: concurrency, maxBackendShare: 1, seed: 1),
            logger: logger
        )
        let direct = OpenAIClient(
            maxConnectionsPerHost: concurrency, connectTimeout: .seconds(5), readTimeout: .seconds(30)
        )

        func directPhase(_ n: Int, _ c: Int) async -> Phase {
            await measure(name: "direct", requests: n, concurrency: c) { i in
                let result = await direct.postDirect(url: url, body: directBodies[i % directBodies.count], logger: logger)
                return result.status == 200
            }
        }
        func dispatchPhase(_ n: Int, _ c: Int) async -> Phase {
            await measure(name: "dispatcher", requests: n, concurrency: c) { i in
                let candidates = [models[i % models.count]] + models.filter { $0 != models[i % models.count] }
                let outcome = await dispatcher.dispatch(
                    DispatchRequest(requestID: "\(i)", body: routedBodies[i % routedBodies.count], candidates: candidates))
                return outcome.statusCode == 200
            }
        }

        // Warm up connections and code paths.
        _ = await directPhase(2000, concurrency)
        _ = await dispatchPhase(2000, concurrency)

        var serialDirect: [Phase] = [], serialDispatch: [Phase] = [], loadDirect: [Phase] = [], loadDispatch: [Phase] = []
        for _ in 0..<max(1, rounds) {
            serialDirect.append(await directPhase(serialRequests, 1))
            serialDispatch.append(await dispatchPhase(serialRequests, 1))
            loadDirect.append(await directPhase(requests, concurrency))
            loadDispatch.append(await dispatchPhase(requests, concurrency))
        }
        try await dispatcher.shutdown()
        try await direct.shutdown()
        serverTask.cancel()
        _ = try? await serverTask.value

        func median(_ phases: [Phase]) -> Phase {
            phases.sorted { $0.requestsPerSecond < $1.requestsPerSecond }[phases.count / 2]
        }
        let sd = median(serialDirect), sx = median(serialDispatch), ld = median(loadDirect), lx = median(loadDispatch)
        let result: [String: Any] = [
            "benchmark": "dispatch",
            "cores": ProcessInfo.processInfo.activeProcessorCount,
            "note": "replay backend in the same process, zero added latency; direct = plain AsyncHTTPClient POST loop with the same concurrency and server",
            "phases": try [sd, sx, ld, lx].map { try JSONSerialization.jsonObject(with: JSONEncoder().encode($0)) },
            "dispatcher_vs_direct_throughput_ratio": lx.requestsPerSecond / ld.requestsPerSecond,
            "added_p50_ms_serial": sx.p50Ms - sd.p50Ms,
            "added_p99_ms_serial": sx.p99Ms - sd.p99Ms,
            "added_p50_ms_loaded": lx.p50Ms - ld.p50Ms,
            "added_p99_ms_loaded": lx.p99Ms - ld.p99Ms,
            "targets": ["requests_per_second": 5000, "added_p50_ms": 0.2],
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: out).deletingLastPathComponent(), withIntermediateDirectories: true)
        try json.write(to: URL(fileURLWithPath: out))

        print("dispatch benchmark (\(ProcessInfo.processInfo.activeProcessorCount) cores, replay server in-process, median of \(rounds) rounds)")
        print("phase        conc  requests  fail     req/s   p50 ms   p99 ms")
        for p in [sd, sx, ld, lx] {
            let name = p.name.padding(toLength: 11, withPad: " ", startingAt: 0)
            print(name + String(format: " %5d %9d %5d %9.0f %8.3f %8.3f", p.concurrency, p.requests, p.failures, p.requestsPerSecond, p.p50Ms, p.p99Ms))
        }
        print(String(format: "dispatcher/direct throughput at concurrency %d: %.2f (target: >= 5000 req/s; dispatcher %.0f req/s)", concurrency, lx.requestsPerSecond / ld.requestsPerSecond, lx.requestsPerSecond))
        print(String(format: "added latency at concurrency 1: p50 %+.3f ms, p99 %+.3f ms (target: p50 <= 0.2 ms)", sx.p50Ms - sd.p50Ms, sx.p99Ms - sd.p99Ms))
        print("results in \(out)")
    }

    /// Runs `requests` calls with `concurrency` workers pulling from a shared counter.
    private func measure(
        name: String, requests: Int, concurrency: Int, _ call: @escaping @Sendable (Int) async -> Bool
    ) async -> Phase {
        let counter = Counter()
        let start = ContinuousClock.now
        let (latencies, failures) = await withTaskGroup(of: ([Double], Int).self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    var latencies: [Double] = []
                    var failures = 0
                    while let i = counter.next(limit: requests) {
                        let t0 = ContinuousClock.now
                        let ok = await call(i)
                        let d = ContinuousClock.now - t0
                        latencies.append(d.milliseconds)
                        if !ok { failures += 1 }
                    }
                    return (latencies, failures)
                }
            }
            var all: [Double] = []
            var failed = 0
            for await (part, f) in group {
                all += part
                failed += f
            }
            return (all.sorted(), failed)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = elapsed.seconds
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        return Phase(
            name: name, concurrency: concurrency, requests: requests, failures: failures, seconds: seconds,
            requestsPerSecond: Double(requests) / seconds, p50Ms: percentile(0.5), p99Ms: percentile(0.99))
    }

    /// Hands out request indices to the workers.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0

        func next(limit: Int) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard value < limit else { return nil }
            value += 1
            return value - 1
        }
    }
}
