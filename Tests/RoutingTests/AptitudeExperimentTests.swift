import Budget
import Foundation
import Logging
import Profiling
@testable import Routing
import SwitchyardCore
import Testing

/// Measurements on the shared routing data, not unit tests: they take minutes in a debug build, so
/// they run only with `SWITCHYARD_EXPERIMENTS=1` (and `SWITCHYARD_EXPERIMENT_SPLIT=test` to evaluate
/// on test once development is over; dev otherwise). They print AIQ tables (numbers go in the report) and
/// check the claims the README makes from them.
@Suite("Aptitude and InferenceDynamics experiments (opt-in)", .serialized)
struct AptitudeExperimentTests {
    static let enabled = ProcessInfo.processInfo.environment["SWITCHYARD_EXPERIMENTS"] == "1"
    static let split = ProcessInfo.processInfo.environment["SWITCHYARD_EXPERIMENT_SPLIT"] ?? "dev"
    static let dataName = ProcessInfo.processInfo.environment["SWITCHYARD_EXPERIMENT_DATA"] ?? "zeroeval"
    /// Models left out of training in the onboarding experiment: strong cheap ones and the best one,
    /// so a router that ignores them visibly loses quality.
    static let leftOut = [
        "gpt-4o-2024-08-06", "gemini-1.5-flash", "deepseek-v2.5-0908", "Qwen2-72B-Instruct", "claude-3-haiku-20240307",
    ]

    static let env = ProcessInfo.processInfo.environment
    /// Aptitude knobs overridable from the environment while exploring on dev.
    static var aptitudeConfiguration: AptitudeConfiguration {
        var c = AptitudeConfiguration()
        if let v = env["APT_CATEGORIES"].flatMap(Int.init) { c.categories = v }
        if let v = env["APT_PER"].flatMap(Int.init) { c.promptsPerCategory = v }
        if let v = env["APT_TEMP"].flatMap(Double.init) { c.temperature = v }
        if let v = env["APT_NEIGHBOURS"].flatMap(Int.init) { c.neighbours = v }
        return c
    }

    @Test("dev/test AIQ of inference-dynamics and aptitude", .enabled(if: enabled))
    func strategiesAIQ() throws {
        let data = try AptitudeExperimentData.load(name: Self.dataName, split: Self.split)
        let context = try data.context(models: data.models)
        var rows: [(String, Double)] = []
        let started = Date()
        if Self.env["SKIP_ID"] == nil {
            let id = try InferenceDynamicsStrategy.train(context)
            rows.append(("inference-dynamics", data.aiq(id, models: data.models)))
            print("inference-dynamics trained in \(Date().timeIntervalSince(started)) s; domains: \(id.extractor?.vocabulary.names ?? [])")
        }
        let t2 = Date()
        let apt = try AptitudeTrainer(configuration: Self.aptitudeConfiguration).train(context)
        rows.append(("aptitude", data.aiq(apt, models: data.models)))
        print("aptitude trained in \(Date().timeIntervalSince(t2)) s; set \(apt.set.count) prompts")
        let knn = try KNNStrategy.train(context)
        rows.append(("knn (D1)", data.aiq(knn, models: data.models)))
        for (name, value) in rows { print("AIQ[\(Self.dataName)/\(Self.split)] \(name): \(String(format: "%.4f", value))") }
        for (name, value) in rows {
            #expect(value > 0 && value < 1, "\(name): AIQ \(value) outside (0, 1)")
        }
    }

    @Test("onboarding: leave 5 models out, add them from aptitude outcomes", .enabled(if: enabled))
    func onboarding() throws {
        let data = try AptitudeExperimentData.load(name: Self.dataName, split: Self.split)
        let kept = data.models.filter { !Self.leftOut.contains($0) }
        let trainer = AptitudeTrainer(configuration: Self.aptitudeConfiguration)
        let full = try trainer.train(try data.context(models: data.models))
        let partial = try trainer.train(try data.context(models: kept))
        var onboarded = partial
        for model in Self.leftOut {
            var outcomes: [String: Double] = [:]
            for record in data.train where partial.set.ids.contains(record.id) { outcomes[record.id] = record.outcomes[model] }
            onboarded = try onboarded.adding(model: model, outcomes: outcomes)
        }
        let report = [
            ("trained without the 5 (21 models)", partial, kept),
            ("trained without, 5 onboarded (26)", onboarded, onboarded.models),
            ("trained with all 26", full, data.models),
        ]
        var measured: [(aiq: Double, newShare: Double)] = []
        for (label, strategy, models) in report {
            let aiq = data.aiq(strategy, models: models)
            let (share, quality) = data.shareAndQuality(strategy, models: models, newModels: Self.leftOut, lambda: 0)
            let (shareMid, qualityMid, costMid) = data.atBudget(strategy, models: models, newModels: Self.leftOut)
            print("ONBOARD[\(Self.dataName)/\(Self.split)] \(label): AIQ \(String(format: "%.4f", aiq)); λ=0: quality \(String(format: "%.4f", quality)), new-model share \(String(format: "%.3f", share)); at ≤25% best-single cost: quality \(String(format: "%.4f", qualityMid)) cost \(String(format: "%.6f", costMid)) new share \(String(format: "%.3f", shareMid))")
            measured.append((aiq, share))
        }
        // The README's claims: onboarding from aptitude outcomes alone beats leaving the models out, comes
        // within 0.01 AIQ of training with them, and the onboarded models are actually chosen.
        let (without, onboardedRun, trainedWith) = (measured[0], measured[1], measured[2])
        #expect(onboardedRun.aiq > without.aiq, "onboarding did not beat leaving the 5 models out")
        #expect(abs(onboardedRun.aiq - trainedWith.aiq) <= 0.01, "onboarded \(onboardedRun.aiq) vs trained with all \(trainedWith.aiq)")
        #expect(onboardedRun.newShare > 0, "the onboarded models are never chosen at λ = 0")
    }
}

/// Loads one shared routing data set, featurises it as `profile build` would (D1's featurizer with its
/// defaults) and evaluates strategies with D1's λ sweep.
struct AptitudeExperimentData {
    var train: [RoutingRecord]
    var dev: [RoutingRecord]
    var eval: [RoutingRecord]
    var models: [String]
    var prices: [String: ModelPrice]
    var featurizer: Featurizer
    var trainFeatures: [QueryFeatures]
    var devFeatures: [QueryFeatures]
    var evalFeatures: [QueryFeatures]

    static func routingData() throws -> URL {
        let url = RoutingTestData.routingData
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SwitchyardError.unreadableFile(file: url.path, reason: "routing data missing: it ships in the repository under data/routing")
        }
        return url
    }

    static func load(name: String, split: String) throws -> AptitudeExperimentData {
        let dir = try routingData().appendingPathComponent(name)
        let train = try RoutingDataset.load(path: dir.appendingPathComponent("train.jsonl").path)
        let dev = try RoutingDataset.load(path: dir.appendingPathComponent("dev.jsonl").path)
        let eval = try RoutingDataset.load(path: dir.appendingPathComponent("\(split).jsonl").path)
        let catalog = try ModelInfo.loadCatalog(path: dir.appendingPathComponent("models.json").path)
        let featurizer = try Featurizer.learn(from: train.records.map { ($0.prompt, $0.task) }, configuration: .init())
        let tokens = TokenCounter.calibrate(on: train.records)
        func features(_ records: [RoutingRecord]) throws -> [QueryFeatures] {
            let vectors = try featurizer.vectors(records.map(\.prompt))
            return zip(records, vectors).map { QueryFeatures(vector: $1, inputTokens: $0.inputTokens ?? tokens.count($0.prompt)) }
        }
        return AptitudeExperimentData(
            train: train.records, dev: dev.records, eval: eval.records, models: train.models,
            prices: Dictionary(uniqueKeysWithValues: catalog.map { ($0.name, $0.price) }),
            featurizer: featurizer, trainFeatures: try features(train.records), devFeatures: try features(dev.records),
            evalFeatures: try features(eval.records)
        )
    }

    func context(models: [String]) throws -> TrainingContext {
        var context = TrainingContext(
            models: models, prices: prices,
            costModel: try CostModel.fit(records: train, prices: prices, models: models),
            train: try .init(records: train, features: trainFeatures, models: models),
            dev: try .init(records: dev, features: devFeatures, models: models),
            seed: 42, logger: Logger(label: "experiment")
        )
        // Dev chooses hyper-parameters only: its outcomes stay out of fitted tables (as in profile build's scoring).
        context.includeDevInFit = false
        return context
    }

    func tables(_ strategy: any RoutingStrategy, models: [String]) throws -> (pred: [Double], est: [Double], split: TrainingContext.Split) {
        let split = try TrainingContext.Split(records: eval, features: evalFeatures, models: models)
        let estimator = try CostModel.fit(records: train, prices: prices, models: models)
        let predicted = strategy.predictQuality(batch: evalFeatures)
        // Columns follow `models`; the strategy's own order may differ (onboarded models come last).
        let index = models.map { strategy.models.firstIndex(of: $0) ?? 0 }
        let pred = predicted.flatMap { row in index.map { row[$0] } }
        let est = evalFeatures.flatMap { estimator.estimate(inputTokens: $0.inputTokens, group: nil) }
        return (pred, est, split)
    }

    func aiq(_ strategy: any RoutingStrategy, models: [String]) -> Double {
        guard let t = try? tables(strategy, models: models) else { return .nan }
        // Same cost range as BASELINES.md: the single models of the full pool on this split.
        let all = try? TrainingContext.Split(records: eval, features: evalFeatures, models: self.models)
        let singles = all.map { CostQualitySweep.singleModels(outcomes: $0.outcomes, costs: $0.costs) }
        let points = CostQualitySweep.sweep(predicted: t.pred, estimated: t.est, outcomes: t.split.outcomes, costs: t.split.costs)
        return CostQualitySweep.aiq(points, lo: singles?.cost.min() ?? 0, hi: singles?.cost.max() ?? 0)
    }

    /// Share of decisions going to `newModels` and realised quality at one λ.
    func shareAndQuality(_ strategy: any RoutingStrategy, models: [String], newModels: [String], lambda: Double) -> (Double, Double) {
        guard let t = try? tables(strategy, models: models) else { return (.nan, .nan) }
        let m = models.count
        var share = 0.0, quality = 0.0
        t.pred.withUnsafeBufferPointer { q in
            t.est.withUnsafeBufferPointer { c in
                for i in 0..<eval.count {
                    let j = CostQualitySweep.choose(
                        quality: UnsafeBufferPointer(rebasing: q[(i * m)..<((i + 1) * m)]),
                        cost: UnsafeBufferPointer(rebasing: c[(i * m)..<((i + 1) * m)]), lambda: lambda)
                    if newModels.contains(models[j]) { share += 1 }
                    quality += Double(t.split.outcomes[i, j])
                }
            }
        }
        return (share / Double(eval.count), quality / Double(eval.count))
    }

    /// The best sweep point costing at most 25 % of the best single model's cost on this split.
    func atBudget(_ strategy: any RoutingStrategy, models: [String], newModels: [String]) -> (Double, Double, Double) {
        guard let t = try? tables(strategy, models: models),
              let all = try? TrainingContext.Split(records: eval, features: evalFeatures, models: self.models) else { return (.nan, .nan, .nan) }
        let singles = CostQualitySweep.singleModels(outcomes: all.outcomes, costs: all.costs)
        let best = singles.quality.indices.max { singles.quality[$0] < singles.quality[$1] } ?? 0
        let cap = singles.cost[best] * 0.25
        let points = CostQualitySweep.sweep(predicted: t.pred, estimated: t.est, outcomes: t.split.outcomes, costs: t.split.costs)
        guard let point = points.filter({ $0.cost <= cap }).max(by: { $0.quality < $1.quality }) else { return (.nan, .nan, .nan) }
        let (share, quality) = shareAndQuality(strategy, models: models, newModels: newModels, lambda: point.lambda)
        return (share, quality, point.cost)
    }
}
