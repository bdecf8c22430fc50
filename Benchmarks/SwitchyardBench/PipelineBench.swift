#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Backends
import Foundation
import Logging
import Pipeline
import Profiling
import Routing
import SwitchyardCore

/// `SwitchyardBench pipeline`: the whole pipeline end to end (the real `switchyard` binary, every process
/// measured by the kernel: wall, user + system CPU, peak RSS) beside the stage-work bound measured in the
/// same run: the same prompts through the profiler alone, the router alone, and a plain AsyncHTTPClient
/// loop against the same replay backend.
///
/// Phases: `dry` (`run --dry-run`), `budget` (the same with the demo's `budget_usd`), `replay` (`run`
/// against two replay backends, no added latency), `stages` (seven `stage` processes, dry), `scale`
/// (a 1,000,000-line dry run, RSS sampled as it goes), `minilm` (a MiniLM-feature router against
/// `switchyard embed` alone on the same prompts). With `--before BIN`, an older binary runs `dry`,
/// `budget`, `replay` and `stages` on the same batch in the same run, for the before/after table.
struct PipelineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "End-to-end requests/s, CPU per request and RSS of run/stage, against the stage-work bound."
    )

    @Option(help: "The switchyard binary measured.")
    var switchyard: String = ".build/release/switchyard"

    @Option(help: "An older switchyard binary measured on the same batch in the same run (before/after).")
    var before: String?

    @Option(help: "Shared data directory (zeroeval/{train,dev,test}.jsonl).")
    var data: String = "../shared/data"

    @Option(help: "Working directory (batches, artifacts, outputs, logs).")
    var work: String = "bench-results/pipeline"

    @Option(help: "Times the ZeroEval test prompts are repeated in the batch (426 × 40 = 17,040 lines).")
    var repeats: Int = 40

    @Option(help: "Lines of the scale run (0 skips it).")
    var scaleLines: Int = 1_000_000

    @Option(help: "Prompts of the MiniLM phase (0 skips it).")
    var minilmPrompts: Int = 2_000

    @Option(help: "Rounds of the stage-work bound and the dry run, alternated (the median is reported): the machine is shared, so one round's CPU per request can be off by 10 %.")
    var rounds: Int = 3

    @Option(help: "Phases to run (comma-separated): bound, dry, budget, replay, stages, scale, minilm.")
    var phases: String = "bound,dry,budget,replay,stages,scale,minilm"

    @Option(help: "MiniLM model directory.")
    var minilmDir: String = ".models/all-MiniLM-L6-v2"

    @Option(help: "Where to write the JSON results.")
    var out: String = "bench-results/pipeline.json"

    /// One measured configuration.
    struct Measured: Codable {
        var name: String
        var binary: String
        var lines: Int
        var wallSeconds: Double
        var requestsPerSecond: Double
        /// Σ user + system CPU of every switchyard process of the run, per request.
        var cpuMicrosPerRequest: Double
        var peakRSSMB: Double
        var processes: [ProcessFigure]
        /// CPU µs per request of each stage: its own process in stage mode; in one process the stage's
        /// code as `SWITCHYARD_STAGE_CPU=1` splits it (measured in a second run).
        var stageCPUMicrosPerRequest: [String: Double]?
        var boundRatio: Double?
        /// CPU µs per request of every round, when the run was repeated (the row is the median).
        var roundsCPUMicrosPerRequest: [Double]?
        /// Error records the run may write (the budget run's `budget_exhausted`), by code; nil when none may.
        var errorRecords: [String: Int]?

        enum CodingKeys: String, CodingKey {
            case name, binary, lines, processes
            case wallSeconds = "wall_seconds", requestsPerSecond = "requests_per_second"
            case cpuMicrosPerRequest = "cpu_us_per_request", peakRSSMB = "peak_rss_mb"
            case stageCPUMicrosPerRequest = "stage_cpu_us_per_request", boundRatio = "cpu_ratio_to_stage_work_bound"
            case roundsCPUMicrosPerRequest = "rounds_cpu_us_per_request"
            case errorRecords = "error_records"
        }
    }

    struct ProcessFigure: Codable {
        var name: String
        var cpuSeconds: Double
        var peakRSSMB: Double
        enum CodingKeys: String, CodingKey { case name, cpuSeconds = "cpu_seconds", peakRSSMB = "peak_rss_mb" }
    }

    struct Bound: Codable {
        var profilerMicrosPerRequest: Double
        var routerMicrosPerRequest: Double
        var httpClientMicrosPerRequest: Double?
        var replayServerMicrosPerRequest: Double?
        var strategy: String
        /// Profiler + router µs per request of every round (the figures above are the median round's).
        var rounds: [Double]?
        enum CodingKeys: String, CodingKey {
            case strategy, rounds
            case profilerMicrosPerRequest = "profiler_us_per_request", routerMicrosPerRequest = "router_us_per_request"
            case httpClientMicrosPerRequest = "http_client_us_per_request", replayServerMicrosPerRequest = "replay_server_us_per_request"
        }
    }

    struct ScaleResult: Codable {
        var lines: Int
        var wallSeconds: Double
        var requestsPerSecond: Double
        var peakRSSMB: Double
        /// RSS (MB) when 10 %, 50 % and 100 % of the records were written.
        var rssAtProgressMB: [String: Double]
        enum CodingKeys: String, CodingKey {
            case lines, wallSeconds = "wall_seconds", requestsPerSecond = "requests_per_second", peakRSSMB = "peak_rss_mb"
            case rssAtProgressMB = "rss_mb_at_progress"
        }
    }

    struct MiniLMResult: Codable {
        var prompts: Int
        var embedRequestsPerSecond: Double
        var pipelineRequestsPerSecond: Double
        var ratio: Double
        enum CodingKeys: String, CodingKey {
            case prompts, ratio
            case embedRequestsPerSecond = "embed_requests_per_second", pipelineRequestsPerSecond = "pipeline_requests_per_second"
        }
    }

    func run() async throws {
        let selected = Set(phases.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let fm = FileManager.default
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        guard fm.isExecutableFile(atPath: switchyard) else {
            throw BenchError("\(switchyard) not found: build it with `swift build -c release --product switchyard`")
        }
        let zeroeval = (data as NSString).appendingPathComponent("zeroeval")
        let test = (zeroeval as NSString).appendingPathComponent("test.jsonl")
        guard fm.fileExists(atPath: test) else { throw BenchError("no routing data at \(test): pass --data") }
        let loadStart = loadAverage()

        // The batch: the ZeroEval test prompts × repeats, plain lines.
        let prompts = try RoutingDataset.load(path: test).records.map(\.prompt)
        let batch = (work as NSString).appendingPathComponent("batch-\(repeats).jsonl")
        try writeBatch(prompts: prompts, lines: prompts.count * repeats, to: batch)
        let lines = prompts.count * repeats
        let profiles = (work as NSString).appendingPathComponent("profiles-zeroeval")
        try await buildArtifact(into: profiles, zeroeval: zeroeval, featurizer: nil)
        print("pipeline benchmark: \(lines) lines (\(prompts.count) ZeroEval test prompts × \(repeats)), artifact \(profiles), load \(loadStart.map { String(format: "%.1f", $0) }.joined(separator: " "))")

        var rows: [Measured] = []
        var bound: Bound?
        let strategy = try RouterManifest.load(from: URL(fileURLWithPath: profiles)).autoStrategy

        // The replay backends serve (b) and the bound's HTTP loop.
        var backends: [Spawned] = []
        defer { backends.forEach { $0.terminate() } }
        var ports: [Int] = []
        if selected.contains("replay") || selected.contains("bound") {
            for i in 0..<2 {
                let (backend, port) = try await startReplay(name: "replay-\(i)", data: test)
                backends.append(backend)
                ports.append(port)
            }
        }

        // The bound and the dry run alternate for `rounds` rounds (medians reported), so both see the same load.
        var dryRounds: [Measured] = []
        if selected.contains("bound") {
            var bounds: [Bound] = []
            let dryConfig = try writeConfiguration(profiles: profiles, budget: nil, ports: nil, coordinatorPort: 0, name: "dry")
            for round in 0..<max(1, rounds) {
                bounds.append(try await measureBound(prompts: prompts, repeats: repeats, profiles: profiles, strategy: strategy,
                                                     port: round == 0 ? ports.first : nil, models: Self.models.map(\.name)))
                if selected.contains("dry") {
                    dryRounds.append(try await runOneProcess("after: run --dry-run", binary: switchyard, config: dryConfig, input: batch, lines: lines, dry: true))
                }
            }
            var median = bounds.sorted { $0.profilerMicrosPerRequest + $0.routerMicrosPerRequest < $1.profilerMicrosPerRequest + $1.routerMicrosPerRequest }[bounds.count / 2]
            median.httpClientMicrosPerRequest = bounds[0].httpClientMicrosPerRequest
            median.rounds = bounds.map { $0.profilerMicrosPerRequest + $0.routerMicrosPerRequest }
            bound = median
            if let bound {
                print("stage-work bound (\(bound.strategy)): " + String(format: "profiler %.1f µs/request, router %.1f µs/request, ",
                                                                            bound.profilerMicrosPerRequest, bound.routerMicrosPerRequest)
                      + "AsyncHTTPClient loop \(bound.httpClientMicrosPerRequest.map { String(format: "%.1f", $0) } ?? "-") µs/request")
            }
        }

        let binaries = [("after", switchyard)] + (before.map { [("before", $0)] } ?? [])
        for (label, binary) in binaries {
            if selected.contains("dry") {
                let config = try writeConfiguration(profiles: profiles, budget: nil, ports: nil, coordinatorPort: 0, name: "dry")
                var row: Measured
                if label == "after", !dryRounds.isEmpty {
                    row = dryRounds.sorted { $0.cpuMicrosPerRequest < $1.cpuMicrosPerRequest }[dryRounds.count / 2]
                    row.roundsCPUMicrosPerRequest = dryRounds.map(\.cpuMicrosPerRequest)
                } else {
                    row = try await runOneProcess("\(label): run --dry-run", binary: binary, config: config, input: batch, lines: lines, dry: true)
                }
                if label == "after" {
                    row.stageCPUMicrosPerRequest = try await stageSplit(binary: binary, config: config, input: batch, lines: lines, dry: true)
                }
                rows.append(row)
                print(Self.format(row))
            }
            if selected.contains("budget") {
                let config = try writeConfiguration(profiles: profiles, budget: 5.0, ports: nil, coordinatorPort: 0, name: "budget")
                // A budget may leave lines `budget_exhausted` (each with its record): counted, not a failure.
                let row = try await runOneProcess("\(label): run --dry-run, budget_usd 5 (demo pipeline.yaml)", binary: binary, config: config,
                                                  input: batch, lines: lines, dry: true, tolerating: ["budget_exhausted"])
                rows.append(row)
                print(Self.format(row))
            }
            if selected.contains("replay"), ports.count == 2 {
                let config = try writeConfiguration(profiles: profiles, budget: nil, ports: ports, coordinatorPort: 0, name: "replay")
                var row = try await runOneProcess("\(label): run, two replay backends", binary: binary, config: config, input: batch, lines: lines, dry: false)
                if label == "after" {
                    row.stageCPUMicrosPerRequest = try await stageSplit(binary: binary, config: config, input: batch, lines: lines, dry: false)
                }
                rows.append(row)
                print(Self.format(row))
            }
            if selected.contains("stages") {
                let port = try freePort()
                let config = try writeConfiguration(profiles: profiles, budget: nil, ports: nil, coordinatorPort: port, name: "stages")
                let row = try await runStages("\(label): 7 stage processes, dry", binary: binary, config: config, input: batch, lines: lines)
                rows.append(row)
                print(Self.format(row))
            }
        }
        if let bound {
            let dryBound = bound.profilerMicrosPerRequest + bound.routerMicrosPerRequest
            for i in rows.indices {
                let http = rows[i].name.contains("replay") ? (bound.httpClientMicrosPerRequest ?? 0) : 0
                rows[i].boundRatio = rows[i].cpuMicrosPerRequest / (dryBound + http)
            }
        }
        var backendCPU: [ProcessFigure] = []
        for backend in backends {
            backend.terminate()
            try? await backend.wait(timeout: .seconds(10))
            backendCPU.append(ProcessFigure(name: backend.name, cpuSeconds: backend.cpuSeconds, peakRSSMB: backend.peakRSSMB))
        }
        backends = []

        var scale: ScaleResult?
        if selected.contains("scale"), scaleLines > 0 {
            scale = try await runScale(prompts: prompts, profiles: profiles)
        }
        var minilm: MiniLMResult?
        if selected.contains("minilm"), minilmPrompts > 0 {
            minilm = try await runMiniLM(prompts: prompts, zeroeval: zeroeval)
        }

        let loadEnd = loadAverage()
        let result = Report(
            benchmark: "pipeline", cores: ProcessInfo.processInfo.activeProcessorCount, lines: lines,
            loadAverageStart: loadStart, loadAverageEnd: loadEnd, strategy: strategy, bound: bound, runs: rows,
            replayBackends: backendCPU, scale: scale, minilm: minilm,
            targets: ["dry_run_requests_per_second": 5_000, "cpu_ratio_to_stage_work_bound": 1.5, "replay_requests_per_second": 3_000,
                      "scale_peak_rss_mb": 300, "minilm_ratio_to_embed": 0.9])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try fm.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try encoder.encode(result).write(to: URL(fileURLWithPath: out))
        printTable(result)
        print("results in \(out)")
    }

    struct Report: Codable {
        var benchmark: String
        var cores: Int
        var lines: Int
        var loadAverageStart: [Double]
        var loadAverageEnd: [Double]
        var strategy: String
        var bound: Bound?
        var runs: [Measured]
        var replayBackends: [ProcessFigure]
        var scale: ScaleResult?
        var minilm: MiniLMResult?
        var targets: [String: Double]
        enum CodingKeys: String, CodingKey {
            case benchmark, cores, lines, strategy, bound, runs, scale, minilm, targets
            case loadAverageStart = "load_average_start", loadAverageEnd = "load_average_end", replayBackends = "replay_backends"
        }
    }

    // MARK: phases

    func runOneProcess(_ name: String, binary: String, config: String, input: String, lines: Int, dry: Bool,
                       environment: [String: String] = [:], tolerating: Set<String> = []) async throws -> Measured {
        let output = (work as NSString).appendingPathComponent("out-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var arguments = ["run", config, "--input", input, "--output", output, "--no-progress", "--log-level", "warning"]
        if dry { arguments.append("--dry-run") }
        let child = try Spawned("run", binary, arguments, log: (work as NSString).appendingPathComponent("run.log"), environment: environment)
        try await child.wait()
        let tolerated = try checkOutput(output, lines: lines, tolerating: tolerating)
        var row = Measured(
            name: name, binary: binary, lines: lines, wallSeconds: child.wallSeconds, requestsPerSecond: Double(lines) / child.wallSeconds,
            cpuMicrosPerRequest: child.cpuSeconds * 1e6 / Double(lines), peakRSSMB: child.peakRSSMB,
            processes: [ProcessFigure(name: "run", cpuSeconds: child.cpuSeconds, peakRSSMB: child.peakRSSMB)])
        if !tolerating.isEmpty { row.errorRecords = tolerated }
        if !environment.isEmpty, let summary = try? summaryObject(output), let stages = summary["stage_cpu_seconds"] as? [String: Double] {
            var split = stages.mapValues { $0 * 1e6 / Double(lines) }
            split["protocol and rest"] = child.cpuSeconds * 1e6 / Double(lines) - split.values.reduce(0, +)
            row.stageCPUMicrosPerRequest = split
        }
        return row
    }

    /// A second run with `SWITCHYARD_STAGE_CPU=1`: each stage's own CPU, the rest is the work protocol.
    func stageSplit(binary: String, config: String, input: String, lines: Int, dry: Bool) async throws -> [String: Double]? {
        try await runOneProcess("split", binary: binary, config: config, input: input, lines: lines, dry: dry,
                                environment: ["SWITCHYARD_STAGE_CPU": "1"]).stageCPUMicrosPerRequest
    }

    func runStages(_ name: String, binary: String, config: String, input: String, lines: Int) async throws -> Measured {
        let output = (work as NSString).appendingPathComponent("out-\(UUID().uuidString.prefix(8))")
        let journal = (work as NSString).appendingPathComponent("run/journal")
        try? FileManager.default.removeItem(atPath: (journal as NSString).deletingLastPathComponent)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let common = ["--config", config, "--log-level", "warning"]
        func log(_ role: String) -> String { (work as NSString).appendingPathComponent("stage-\(role).log") }
        let start = ContinuousClock.now
        var children: [Spawned] = []
        defer { children.forEach { $0.terminate() } }
        children.append(try Spawned("coordinator", binary, ["stage", "coordinator"] + common, log: log("coordinator")))
        children.append(try Spawned("sink", binary, ["stage", "sink", "--input", input, "--output", output, "--dry-run"] + common, log: log("sink")))
        for i in 1...2 { children.append(try Spawned("profile-\(i)", binary, ["stage", "profile"] + common, log: log("profile-\(i)"))) }
        children.append(try Spawned("score", binary, ["stage", "score"] + common, log: log("score")))
        children.append(try Spawned("dispatch", binary, ["stage", "dispatch", "--dry-run"] + common, log: log("dispatch")))
        children.append(try Spawned("ingest", binary, ["stage", "ingest", "--input", input] + common, log: log("ingest")))
        // Until the sink ends, every child's own peak RSS is read from /proc as it runs (`Spawned.observedPeakKB`).
        for sink in children where sink.name == "sink" {
            while !sink.poll() {
                children.forEach { $0.samplePeak() }
                try await Task.sleep(for: .milliseconds(20))
            }
            try await sink.wait()
        }
        let wall = (ContinuousClock.now - start).seconds
        for child in children { try await child.wait(timeout: .seconds(60)) }
        try checkOutput(output, lines: lines)
        let figures = children.map { ProcessFigure(name: $0.name, cpuSeconds: $0.cpuSeconds, peakRSSMB: $0.peakRSSMB) }
        var split: [String: Double] = [:]
        for figure in figures {
            let stage = figure.name.hasPrefix("profile") ? "profile" : figure.name
            split[stage, default: 0] += figure.cpuSeconds * 1e6 / Double(lines)
        }
        return Measured(
            name: name, binary: binary, lines: lines, wallSeconds: wall, requestsPerSecond: Double(lines) / wall,
            cpuMicrosPerRequest: figures.reduce(0) { $0 + $1.cpuSeconds } * 1e6 / Double(lines),
            peakRSSMB: figures.reduce(0) { $0 + $1.peakRSSMB }, processes: figures, stageCPUMicrosPerRequest: split)
    }

    /// The same prompts through the profiler alone and the router alone (in this process, one at a time,
    /// as the stages do), and a plain AsyncHTTPClient loop (64 in flight) against a replay backend.
    func measureBound(prompts: [String], repeats: Int, profiles: String, strategy: String, port: Int?, models: [String]) async throws -> Bound {
        let directory = URL(fileURLWithPath: profiles)
        let artifact = try RouterArtifact.load(from: directory, embedder: nil, only: [strategy])
        let profiler = artifact.profiler()
        let router = try artifact.router(strategy: strategy)
        let n = prompts.count * repeats
        // Warm up, then measure.
        for prompt in prompts.prefix(50) { _ = try profiler.profile([prompt]).map(QueryFeatures.init) }
        var features: [QueryFeatures] = []
        features.reserveCapacity(prompts.count)
        let profileStart = processCPUMicros()
        for r in 0..<repeats {
            for prompt in prompts {
                let profiled = try profiler.profile([prompt]).map(QueryFeatures.init)
                if r == 0 { features += profiled }
            }
        }
        let profilerMicros = (processCPUMicros() - profileStart) / Double(n)
        let routeStart = processCPUMicros()
        var chosen = 0
        for _ in 0..<repeats {
            for (i, query) in features.enumerated() {
                if let decision = try? router.decide(id: "\(i)", query: query), decision.estimatedCostUSD >= 0 { chosen += 1 }
            }
        }
        let routerMicros = (processCPUMicros() - routeStart) / Double(n)
        guard chosen == n else { throw BenchError("the router decided \(chosen) of \(n) queries") }

        var httpMicros: Double?
        if let port {
            let logger: Logger = {
                var logger = Logger(label: "bench.pipeline")
                logger.logLevel = .error
                return logger
            }()
            let client = OpenAIClient(maxConnectionsPerHost: 64, connectTimeout: .seconds(5), readTimeout: .seconds(30))
            let bodies = prompts.enumerated().map { i, prompt -> Data in
                var writer = JSONWriter()
                writer.raw("{\"model\":")
                writer.string(models[i % models.count])
                writer.raw(",\"messages\":[{\"role\":\"user\",\"content\":")
                writer.string(prompt)
                writer.raw("}]}")
                return Data(writer.bytes)
            }
            let url = "http://127.0.0.1:\(port)/v1/chat/completions"
            let counter = DispatchBench.Counter()
            _ = await withTaskGroup(of: Void.self) { group in  // warm-up: connections
                for _ in 0..<64 { group.addTask { _ = await client.postDirect(url: url, body: bodies[0], logger: logger) } }
            }
            let start = processCPUMicros()
            let failures = await withTaskGroup(of: Int.self) { group in
                for _ in 0..<64 {
                    group.addTask {
                        var failed = 0
                        while let i = counter.next(limit: n) {
                            let (status, _) = await client.postDirect(url: url, body: bodies[i % bodies.count], logger: logger)
                            if status != 200 { failed += 1 }
                        }
                        return failed
                    }
                }
                return await group.reduce(0, +)
            }
            httpMicros = (processCPUMicros() - start) / Double(n)
            try await client.shutdown()
            if failures > 0 { throw BenchError("the HTTP loop had \(failures) failures") }
        }
        return Bound(profilerMicrosPerRequest: profilerMicros, routerMicrosPerRequest: routerMicros, httpClientMicrosPerRequest: httpMicros,
                     replayServerMicrosPerRequest: nil, strategy: strategy)
    }

    func runScale(prompts: [String], profiles: String) async throws -> ScaleResult {
        let input = (work as NSString).appendingPathComponent("batch-scale.jsonl")
        try writeBatch(prompts: prompts, lines: scaleLines, to: input)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let config = try writeConfiguration(profiles: profiles, budget: nil, ports: nil, coordinatorPort: 0, name: "scale")
        let output = (work as NSString).appendingPathComponent("out-scale")
        try? FileManager.default.removeItem(atPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        let results = (output as NSString).appendingPathComponent("results.jsonl")
        let child = try Spawned("run", switchyard, ["run", config, "--input", input, "--output", output, "--dry-run", "--no-progress", "--log-level", "warning"],
                                log: (work as NSString).appendingPathComponent("scale.log"))
        var samples: [(bytes: Int, rss: Double)] = []
        while !child.poll() {
            if let rss = child.currentRSSMB() {
                let size = (try? FileManager.default.attributesOfItem(atPath: results)[.size] as? Int) ?? 0
                samples.append((size, rss))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard child.exitCode == 0 else { throw BenchError("scale run failed: \(child.tail())") }
        try checkOutput(output, lines: scaleLines)
        let total = (try? FileManager.default.attributesOfItem(atPath: results)[.size] as? Int) ?? 0
        var atProgress: [String: Double] = [:]
        for fraction in [0.1, 0.5, 1.0] {
            let target = Int(Double(total) * fraction)
            // The first sample at or past the fraction (the last one for 100 %).
            let sample = samples.first { $0.bytes >= target && $0.bytes > 0 } ?? samples.last
            atProgress["\(Int(fraction * 100))%"] = sample?.rss ?? 0
        }
        let result = ScaleResult(lines: scaleLines, wallSeconds: child.wallSeconds, requestsPerSecond: Double(scaleLines) / child.wallSeconds,
                                 peakRSSMB: child.peakRSSMB, rssAtProgressMB: atProgress)
        print(String(format: "scale: %d lines dry in %.1f s (%.0f req/s), peak RSS %.0f MB; RSS at 10/50/100 %%: %.0f / %.0f / %.0f MB",
                     scaleLines, result.wallSeconds, result.requestsPerSecond, result.peakRSSMB,
                     atProgress["10%"] ?? 0, atProgress["50%"] ?? 0, atProgress["100%"] ?? 0))
        return result
    }

    func runMiniLM(prompts: [String], zeroeval: String) async throws -> MiniLMResult? {
        guard FileManager.default.fileExists(atPath: (minilmDir as NSString).appendingPathComponent("model.safetensors")) else {
            print("minilm: \(minilmDir) missing (scripts/setup fetches it): phase skipped")
            return nil
        }
        let profiles = (work as NSString).appendingPathComponent("profiles-zeroeval-minilm")
        try await buildArtifact(into: profiles, zeroeval: zeroeval, featurizer: "minilm")
        let n = minilmPrompts
        let input = (work as NSString).appendingPathComponent("batch-minilm.jsonl")
        try writeBatch(prompts: prompts, lines: n, to: input)
        let embedOut = (work as NSString).appendingPathComponent("embed-out.jsonl")
        defer { try? FileManager.default.removeItem(atPath: embedOut) }
        let embed = try Spawned("embed", switchyard, ["embed", "--input", input, "--output", embedOut, "--embedder", "minilm", "--model-dir", minilmDir],
                                log: (work as NSString).appendingPathComponent("embed.log"))
        try await embed.wait()
        let config = try writeConfiguration(profiles: profiles, budget: nil, ports: nil, coordinatorPort: 0, name: "minilm", modelDir: minilmDir)
        let run = try await runOneProcess("after: run --dry-run, MiniLM router", binary: switchyard, config: config, input: input, lines: n, dry: true)
        let result = MiniLMResult(prompts: n, embedRequestsPerSecond: Double(n) / embed.wallSeconds,
                                  pipelineRequestsPerSecond: run.requestsPerSecond, ratio: run.requestsPerSecond / (Double(n) / embed.wallSeconds))
        print(String(format: "minilm: %d prompts: switchyard embed %.0f/s, run --dry-run with a MiniLM router %.0f/s: ratio %.2f (target >= 0.9)",
                     n, result.embedRequestsPerSecond, result.pipelineRequestsPerSecond, result.ratio))
        return result
    }

    // MARK: helpers

    /// The demo pool (pipeline.yaml): six ZeroEval models, prices as there.
    static let models: [(name: String, input: Double, output: Double, backend: Int)] = [
        ("gpt-4o-2024-08-06", 2.50, 10.00, 0), ("claude-3-5-sonnet-20240620", 3.00, 15.00, 0), ("gpt-4o-mini-2024-07-18", 0.15, 0.60, 0),
        ("Meta-Llama-3.1-8B-Instruct", 0.18, 0.18, 1), ("deepseek-v2.5-0908", 0.14, 0.28, 1), ("gemini-1.5-flash", 0.075, 0.30, 1),
    ]

    /// The demo's pipeline.yaml with this run's artifact, ports and budget.
    func writeConfiguration(profiles: String, budget: Double?, ports: [Int]?, coordinatorPort: Int, name: String,
                            modelDir: String? = nil) throws -> String {
        let absolute = URL(fileURLWithPath: profiles).standardizedFileURL.path
        var yaml = """
            coordinator: {endpoint: "tcp://127.0.0.1:\(coordinatorPort == 0 ? 5555 : coordinatorPort)", journal: ./run/journal, lease_seconds: 30, max_attempts: 3}
            stages: {profile: {workers: 2, batch: 32}, score: {workers: 1, batch: 16}, dispatch: {workers: 1, concurrency: 64}}
            ingest: {max_prompt_chars: 200000, default_max_tokens: 1024}
            profiler: {embedder: hashed\(modelDir.map { ", model_dir: \(URL(fileURLWithPath: $0).standardizedFileURL.path)" } ?? "")}
            router: {profiles: \(absolute), strategy: auto, lambda: auto\(budget.map { ", budget_usd: \($0)" } ?? "")}
            models:

            """
        for model in Self.models {
            let port = ports.map { $0[model.backend] } ?? 9
            yaml += """
                  - name: \(model.name)
                    backend: {url: "http://127.0.0.1:\(port)/v1"}
                    price: {input_usd_per_mtok: \(model.input), output_usd_per_mtok: \(model.output)}
                    limits: {concurrency: 64}

                """
        }
        let path = (work as NSString).appendingPathComponent("pipeline-\(name).yaml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func writeBatch(prompts: [String], lines: Int, to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { throw BenchError("cannot write \(path)") }
        defer { try? handle.close() }
        var writer = JSONWriter(capacity: 1 << 20)
        for i in 0..<lines {
            writer.raw("{\"id\":\"q")
            writer.integer(i)
            writer.raw("\",\"prompt\":")
            writer.string(prompts[i % prompts.count])
            writer.raw("}\n")
            if writer.bytes.count > 1 << 20 {
                try handle.write(contentsOf: writer.bytes)
                writer.bytes.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: writer.bytes)
    }

    func buildArtifact(into profiles: String, zeroeval: String, featurizer: String?) async throws {
        guard !FileManager.default.fileExists(atPath: (profiles as NSString).appendingPathComponent("manifest.json")) else { return }
        print("building the artifact \(profiles) (switchyard profile build\(featurizer.map { " --featurizer \($0)" } ?? ""))")
        var arguments = ["profile", "build", "--train", (zeroeval as NSString).appendingPathComponent("train.jsonl"),
                         "--dev", (zeroeval as NSString).appendingPathComponent("dev.jsonl"), "--out", profiles, "--log-level", "warning"]
        if let featurizer { arguments += ["--featurizer", featurizer, "--minilm-dir", minilmDir] }
        let child = try Spawned("profile-build", switchyard, arguments, log: (work as NSString).appendingPathComponent("profile-build.log"))
        try await child.wait()
    }

    func startReplay(name: String, data: String) async throws -> (Spawned, Int) {
        let child = try Spawned(name, switchyard, ["replay-backend", "--data", data, "--port", "0", "--log-level", "warning"],
                                log: (work as NSString).appendingPathComponent("\(name).log"))
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let text = child.tail(4_000)
            if let range = text.range(of: #"http://127\.0\.0\.1:(\d+)/v1"#, options: .regularExpression),
               let port = Int(text[range].dropFirst("http://127.0.0.1:".count).dropLast("/v1".count)) {
                return (child, port)
            }
            if child.poll() { throw BenchError("\(name) exited: \(child.tail())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.terminate()
        throw BenchError("\(name) did not announce its port")
    }

    /// Every line has a record, and every error record has a code in `tolerating` (returned, by code).
    @discardableResult
    func checkOutput(_ output: String, lines: Int, tolerating: Set<String> = []) throws -> [String: Int] {
        let summary = try summaryObject(output)
        let written = (summary["results"] as? Int ?? 0) + (summary["errors"] as? Int ?? 0)
        guard written == lines else { throw BenchError("\(output): \(written) records for \(lines) lines") }
        let byCode = (summary["errors_by_code"] as? [String: Int]) ?? [:]
        guard (summary["errors"] as? Int ?? 0) == byCode.filter({ tolerating.contains($0.key) }).values.reduce(0, +) else {
            throw BenchError("\(output): error records: \(summary["errors_by_code"] ?? "")")
        }
        return byCode
    }

    func summaryObject(_ output: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: (output as NSString).appendingPathComponent("summary.json")))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    func freePort() throws -> Int {
        try LoopbackPort.free()
    }

    static func format(_ row: Measured) -> String {
        var text = row.name.padding(toLength: 58, withPad: " ", startingAt: 0)
            + String(format: " %8.0f req/s %9.1f CPU-µs/req %7.0f MB", row.requestsPerSecond, row.cpuMicrosPerRequest, row.peakRSSMB)
        if let split = row.stageCPUMicrosPerRequest { text += "  [" + Self.split(split) + "]" }
        if let errors = row.errorRecords { text += "  (error records: \(errors.isEmpty ? "none" : Self.counts(errors)))" }
        return text
    }

    static func counts(_ counts: [String: Int]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    }

    static func split(_ split: [String: Double]) -> String {
        split.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", $0.value))" }.joined(separator: ", ")
    }

    func printTable(_ report: Report) {
        print("\n| run | req/s | CPU-µs/request | × stage-work bound | peak RSS MB | CPU-µs/request per stage |")
        print("|---|---|---|---|---|---|")
        for row in report.runs {
            let split = row.stageCPUMicrosPerRequest.map(Self.split) ?? ""
            let ratio = row.boundRatio.map { String(format: "%.2f", $0) } ?? "-"
            let errors = row.errorRecords.map { " (error records: \($0.isEmpty ? "none" : Self.counts($0)))" } ?? ""
            print("| \(row.name)\(errors) | " + String(format: "%.0f | %.1f | ", row.requestsPerSecond, row.cpuMicrosPerRequest)
                  + "\(ratio) | " + String(format: "%.0f", row.peakRSSMB) + " | \(split) |")
        }
        let before = Dictionary(report.runs.filter { $0.name.hasPrefix("before") }.map { ($0.name.dropFirst("before: ".count).description, $0) }, uniquingKeysWith: { a, _ in a })
        for row in report.runs where row.name.hasPrefix("after") {
            let key = row.name.dropFirst("after: ".count).description
            if let old = before[key] {
                print("\(key): " + String(format: "%.1f× requests/s, %.1f× less CPU per request (before %.0f req/s, %.0f µs)",
                                          row.requestsPerSecond / old.requestsPerSecond, old.cpuMicrosPerRequest / row.cpuMicrosPerRequest,
                                          old.requestsPerSecond, old.cpuMicrosPerRequest))
            }
        }
        print("load average start \(report.loadAverageStart), end \(report.loadAverageEnd) on \(report.cores) cores")
    }
}
