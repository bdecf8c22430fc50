import ArgumentParser
import Foundation
import Logging
import Profiling
import Embedding
import Routing
import SwitchyardCore

/// `SwitchyardBench routing`: profile-build time, artifact load time, decisions per second per core
/// for every strategy given features, and the test-split quality table (λ sweep, AIQ, cost to match
/// the best single model) against the single models measured in the same run.
struct RoutingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "routing",
        abstract: "Routing: build time, decisions/s/core per strategy, test-split quality (λ sweep)."
    )

    @Option(help: "Shared data directory holding <name>/{train,dev,test}.jsonl and models.json.")
    var data: String = "data/routing"

    @Option(help: "Data sets (comma-separated).")
    var datasets: String = "zeroeval,llmrouter"

    @Option(help: "Featurizer presets compared on dev (comma-separated).")
    var featurizers: String = Featurizer.Configuration.defaultPresetName

    @Option(help: "Strategies (comma-separated; default all).")
    var strategies: String?

    @Option(help: "Numbers of cost groups compared on dev (comma-separated; 0 = one mean cost per model).")
    var costGroups: String = CostGroups.candidates.map(String.init).joined(separator: ",")

    @Option(help: "Split the quality table is measured on (tuning is on dev only).")
    var split: String = "test"

    @Option(help: "Where to write the JSON results.")
    var out: String = "bench-results/routing.json"

    @Option(help: "Minimum seconds of decisions timed per strategy.")
    var seconds: Double = 1

    @Option(help: "Log level of the build (info shows what dev chose: K, k, κ, ...).")
    var logLevel: String = "warning"

    @Option(help: "Keep each data set's artifact under DIR/<data set> and, when one is already there, load it instead of building (speed work without a rebuild; build time is then not measured).")
    var artifacts: String?

    @Option(help: "MiniLM model directory (for minilm featurizers).")
    var minilmDir: String = ".models/all-MiniLM-L6-v2"

    @Option(help: "Write each data set's out-of-fold predictions (train + dev) to DIR/<data set>-oof.jsonl, for analysis.")
    var outOfFold: String?

    struct StrategyResult: Codable {
        var strategy: String
        /// Cross-validated AIQ over train + dev (the build's estimate) and its standard error.
        var cvAIQ: Double
        var cvStandardError: Double?
        var aiq: Double
        var qualityAtBestSingleCost: Double
        var qualityAtHalfBestSingleCost: Double
        var costToMatchBestSingle: Double?
        var costRatioToBestSingle: Double?
        var maxQuality: Double
        var decisionsPerSecondBatched: Double
        var decisionsPerSecondSingle: Double
    }

    struct DatasetResult: Codable {
        var dataset: String
        var split: String
        var featurizer: String
        var featurizerComparison: [RouterManifest.FeaturizerTrial]
        var buildSeconds: Double
        var loadMilliseconds: Double
        var bestSingleModel: String
        var bestSingleQuality: Double
        var bestSingleCost: Double
        var singleEnvelopeAIQ: Double
        /// Query groups of the cost model chosen on dev (0: one mean per model).
        var costGroups: Int
        var strategies: [StrategyResult]
    }

    func run() async throws {
        var logger = Logger(label: "bench.routing", factory: { label in StreamLogHandler.standardError(label: label) })
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
        var results: [DatasetResult] = []
        for name in datasets.split(separator: ",").map(String.init) {
            results.append(try runDataset(name, logger: logger))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(results).write(to: url)
        print("wrote \(out)")
    }

    func runDataset(_ name: String, logger: Logger) throws -> DatasetResult {
        let dir = URL(fileURLWithPath: data).appendingPathComponent(name)
        let train = try RoutingDataset.load(path: dir.appendingPathComponent("train.jsonl").path)
        let dev = try RoutingDataset.load(path: dir.appendingPathComponent("dev.jsonl").path)
        let test = try RoutingDataset.load(path: dir.appendingPathComponent("\(split).jsonl").path)
        let prices = Dictionary(try ModelInfo.loadCatalog(path: dir.appendingPathComponent("models.json").path).map { ($0.name, $0.price) }, uniquingKeysWith: { a, _ in a })
        let presets = try featurizers.split(separator: ",").map { preset in
            guard let configuration = Featurizer.Configuration.presets[String(preset)] else { throw ValidationError("unknown featurizer \(preset)") }
            return configuration
        }
        var embedders: [String: any Embedder] = [:]
        if presets.contains(where: { $0.embedder == "minilm" }) {
            embedders["minilm"] = try MiniLMEmbedder(modelDirectory: minilmDir, logger: logger)
        }
        if presets.contains(where: { $0.embedder == "hashed-4096" }) { embedders["hashed-4096"] = try HashedEmbedder(dimension: 4096) }
        let kept = artifacts.map { URL(fileURLWithPath: $0).appendingPathComponent(name) }
        let artifactDir = kept ?? FileManager.default.temporaryDirectory.appendingPathComponent("routing-bench-\(name)-\(getpid())")
        defer { if kept == nil { try? FileManager.default.removeItem(at: artifactDir) } }

        let t0 = Date()
        let manifest: RouterManifest
        var buildSeconds = 0.0
        if kept != nil, let existing = try? RouterManifest.load(from: artifactDir) {
            manifest = existing
            logger.warning("loaded the kept artifact: build time not measured", metadata: ["artifact": "\(artifactDir.path)"])
        } else {
            var configuration = ProfileBuilder.Configuration(
                featurizers: presets, strategies: strategies.map { $0.split(separator: ",").map(String.init) },
                costGroupCandidates: costGroups.split(separator: ",").compactMap { Int($0) })
            configuration.outOfFoldFile = outOfFold.map { URL(fileURLWithPath: $0).appendingPathComponent("\(name)-oof.jsonl") }
            manifest = try ProfileBuilder(configuration: configuration, logger: logger).build(
                train: train, dev: dev, prices: prices, sources: .init(trainFile: "train.jsonl", devFile: "dev.jsonl"),
                embedders: embedders, to: artifactDir
            )
            buildSeconds = Date().timeIntervalSince(t0)
        }
        let t1 = Date()
        let artifact = try RouterArtifact.load(from: artifactDir, embedder: manifest.featurizer.embedder.flatMap { embedders[$0] })
        let loadMilliseconds = Date().timeIntervalSince(t1) * 1000

        let features = try artifact.profiler().profile(test.records.map(\.prompt)).map(QueryFeatures.init)
        let split = try TrainingContext.Split(records: test.records, features: features, models: manifest.models)
        let singles = CostQualitySweep.singleModels(outcomes: split.outcomes, costs: split.costs)
        let best = singles.quality.indices.max { a, b in
            singles.quality[a] != singles.quality[b] ? singles.quality[a] < singles.quality[b] : singles.cost[a] > singles.cost[b]
        }!
        let lo = singles.cost.min()!, hi = singles.cost.max()!
        let envelope = singles.quality.indices.map { CostQualityPoint(lambda: 0, cost: singles.cost[$0], quality: singles.quality[$0]) }

        var strategies: [StrategyResult] = []
        let chosen = self.strategies.map { Set($0.split(separator: ",").map(String.init)) }
        for entry in manifest.strategies where chosen?.contains(entry.name) ?? true {
            let router = try artifact.router(strategy: entry.name, lambda: 0)
            let estimated = features.flatMap { router.estimatedCosts($0) }
            let predicted = router.strategy.predictQuality(batch: features).flatMap { $0 }
            let points: [CostQualityPoint]
            if router.strategy.routesOnCostOnly {
                points = CostQualitySweep.sweep(predicted: predicted, estimated: estimated, outcomes: split.outcomes, costs: split.costs, lambdas: [.infinity])
            } else {
                points = CostQualitySweep.sweep(predicted: predicted, estimated: estimated, outcomes: split.outcomes, costs: split.costs)
            }
            let match = CostQualitySweep.costToMatch(singles.quality[best], points)
            // Speed is measured given requirements (the profile stage's job), as the issue states it.
            let base = (router.strategy as? TaskPriorBlendStrategy)?.base ?? router.strategy
            let given = (base as? InferenceDynamicsStrategy).map { id in features.map(id.withRequirements) } ?? features
            strategies.append(StrategyResult(
                strategy: entry.name, cvAIQ: entry.cvAIQ, cvStandardError: entry.cvStandardError,
                aiq: CostQualitySweep.aiq(points, lo: lo, hi: hi),
                qualityAtBestSingleCost: CostQualitySweep.quality(at: singles.cost[best], points),
                qualityAtHalfBestSingleCost: CostQualitySweep.quality(at: 0.5 * singles.cost[best], points),
                costToMatchBestSingle: match, costRatioToBestSingle: match.map { $0 / singles.cost[best] },
                maxQuality: points.map(\.quality).max() ?? 0,
                decisionsPerSecondBatched: throughput(router: router, features: given, batched: true),
                decisionsPerSecondSingle: throughput(router: router, features: given, batched: false)
            ))
        }
        let result = DatasetResult(
            dataset: name, split: self.split, featurizer: manifest.featurizerLabel, featurizerComparison: manifest.featurizerComparison,
            buildSeconds: buildSeconds, loadMilliseconds: loadMilliseconds,
            bestSingleModel: manifest.models[best], bestSingleQuality: singles.quality[best], bestSingleCost: singles.cost[best],
            singleEnvelopeAIQ: CostQualitySweep.aiq(envelope, lo: lo, hi: hi),
            costGroups: artifact.costGroups?.centroids.rows ?? 0, strategies: strategies
        )
        printTable(result)
        return result
    }

    /// Decisions per second on one thread (BLAS is set to one thread by the script), features given:
    /// the best 0.1-s pass (whole sweeps over the test split) within `seconds`. Why the best: this VM's neighbours
    /// slow whole seconds at random (the same build measured 45k-93k/s in back-to-back runs), and the
    /// fastest pass is the one they disturbed least.
    func throughput(router: Router, features: [QueryFeatures], batched: Bool) -> Double {
        let ids = features.indices.map { "q\($0)" }
        var best = 0.0
        let start = Date()
        repeat {
            let passStart = Date()
            var decisions = 0
            repeat {
                if batched {
                    decisions += router.decide(ids: ids, queries: features).count
                } else {
                    for (i, query) in features.enumerated() where (try? router.decide(id: ids[i], query: query)) != nil { decisions += 1 }
                }
            } while Date().timeIntervalSince(passStart) < 0.1
            best = max(best, Double(decisions) / Date().timeIntervalSince(passStart))
        } while Date().timeIntervalSince(start) < seconds
        return best
    }

    func printTable(_ r: DatasetResult) {
        func f(_ x: Double?, _ digits: Int = 4) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "never" }
        print("""

            ## \(r.dataset) (\(r.split) split; featurizer \(r.featurizer); build \(f(r.buildSeconds, 1)) s; load \(f(r.loadMilliseconds, 1)) ms; cost groups K=\(r.costGroups))
            best single: \(r.bestSingleModel) quality \(f(r.bestSingleQuality)) at $\(f(r.bestSingleCost, 7)); single-model envelope AIQ \(f(r.singleEnvelopeAIQ))

            | strategy | CV AIQ ± s.e. (train + dev) | test AIQ | Q @ 50% best-single cost | Q @ best-single cost | cost to match best single (ratio) | max Q | decisions/s batched (best 0.1-s pass) | decisions/s single (best 0.1-s pass) |
            |---|---|---|---|---|---|---|---|---|
            """)
        for s in r.strategies {
            let ratio = s.costRatioToBestSingle.map { " (\(String(format: "%.0f", $0 * 100)) %)" } ?? ""
            print("| \(s.strategy) | \(f(s.cvAIQ)) ± \(f(s.cvStandardError)) | \(f(s.aiq)) | \(f(s.qualityAtHalfBestSingleCost)) | \(f(s.qualityAtBestSingleCost)) | \(s.costToMatchBestSingle.map { "$" + String(format: "%.7f", $0) } ?? "never")\(ratio) | \(f(s.maxQuality)) | \(String(format: "%.0f", s.decisionsPerSecondBatched)) | \(String(format: "%.0f", s.decisionsPerSecondSingle)) |")
        }
        if !r.featurizerComparison.isEmpty {
            print("\nFeaturizers (cross-validated AIQ):")
            for trial in r.featurizerComparison {
                print("- \(trial.featurizer): " + trial.cvAIQ.sorted { $0.key < $1.key }.map { "\($0.key) \(f($0.value))" }.joined(separator: ", "))
            }
        }
    }
}
