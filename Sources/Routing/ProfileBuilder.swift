import Budget
import Embedding
import Foundation
import Logging
import Profiling
import SwitchyardCore

/// `switchyard profile build`: learns featurizer, cost model and every strategy from routing data,
/// measures each on dev, picks `auto`, and writes the artifact directory (see `RouterManifest`).
///
/// Dev is used twice, honestly: first every strategy is fitted on train alone (dev may choose its
/// hyper-parameters) and scored on dev, which ranks featurizers and strategies; then the saved fit may
/// pool dev outcomes with train (`TrainingContext.includeDevInFit`).
public struct ProfileBuilder: Sendable {
    /// Build options, with their defaults.
    public struct Configuration: Sendable {
        /// Featurizers to compare on dev (default: only the default featurizer). The winner is the one
        /// whose best learned strategy has the highest dev AIQ.
        public var featurizers: [Featurizer.Configuration]
        /// Strategy names to build (default nil: every strategy of the registry).
        public var strategies: [String]?
        /// Seed of every random choice (default 0).
        public var seed: UInt64
        /// Numbers of query groups for cost estimates compared on dev (`CostGroups.select`; default
        /// `CostGroups.candidates`; [] or [0]: one mean output length per model).
        public var costGroupCandidates: [Int]
        /// Features of the task classifier behind the task prior (default: hashed TF-IDF of the whole
        /// prompt, template kept, since the template is what tells tasks apart; nil: the routing features).
        public var taskFeaturizer: Featurizer.Configuration?
        /// Which task prior to keep: nil (default) the one whose blends score best on dev; true the
        /// whole-prompt classifier, false the routing-vector one (`profile build --task-prior`).
        public var taskPriorReadsWholePrompt: Bool?

        public init(
            featurizers: [Featurizer.Configuration] = [Featurizer.Configuration()], strategies: [String]? = nil,
            seed: UInt64 = 0, costGroupCandidates: [Int] = CostGroups.candidates,
            taskFeaturizer: Featurizer.Configuration? = Featurizer.Configuration(stripTemplate: false)
        ) {
            self.featurizers = featurizers
            self.strategies = strategies
            self.seed = seed
            self.costGroupCandidates = costGroupCandidates
            self.taskFeaturizer = taskFeaturizer
        }
    }

    /// Strategies that are references, never chosen as `auto` nor used to rank featurizers.
    public static let referenceStrategies: Set<String> = ["random", "cheapest", "best-single"]

    public var configuration: Configuration
    public var registry: StrategyRegistry
    public var logger: Logger

    public init(configuration: Configuration = Configuration(), registry: StrategyRegistry = .standard, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
    }

    /// Where the data came from, for the manifest.
    public struct Sources: Sendable {
        public var trainFile: String
        public var devFile: String?
        public init(trainFile: String, devFile: String?) {
            self.trainFile = trainFile
            self.devFile = devFile
        }
    }

    /// Builds the artifact into `directory` (created; existing files of the same names replaced)
    /// and returns its manifest.
    public func build(
        train: RoutingDataset, dev: RoutingDataset?, prices: [String: ModelPrice], sources: Sources,
        embedders: [String: any Embedder] = [:], to directory: URL
    ) throws -> RouterManifest {
        let started = Date()
        var models = train.models
        if let dev { models = models.filter { dev.models.contains($0) } }
        guard !models.isEmpty else {
            throw SwitchyardError.invalidArgument("no model has outcomes and costs in every train (and dev) record: check the routing data")
        }
        let unpriced = models.filter { prices[$0] == nil }
        guard unpriced.isEmpty else {
            throw SwitchyardError.invalidArgument("no price for \(unpriced.joined(separator: ", ")): add them to models.json (or pass --models)")
        }
        let strategyTypes = try selectedTypes()
        let tokenCounter = TokenCounter.calibrate(on: train.records)
        let costModel = try CostModel.fit(records: train.records + (dev?.records ?? []), prices: prices, models: models)
        let trainPrompts = train.records.map { (prompt: $0.prompt, task: $0.task) }
        // Only records that carry task labels can teach a task classifier.
        let taskFeaturizer = try train.records.contains(where: { $0.task != nil })
            ? configuration.taskFeaturizer.map { try Featurizer.learn(from: trainPrompts, configuration: $0) } : nil

        var trials: [RouterManifest.FeaturizerTrial] = []
        var best: (
            score: Double, featurizer: Featurizer, context: TrainingContext, entries: [RouterManifest.StrategyEntry],
            selectionFits: [String: any RoutingStrategy]
        )? = nil
        for featurizerConfiguration in configuration.featurizers {
            let embedder = featurizerConfiguration.embedder.flatMap { embedders[$0] }
            let featurizer = try Featurizer.learn(from: trainPrompts, configuration: featurizerConfiguration, embedder: embedder)
            var context = try makeContext(
                featurizer: featurizer, tokenCounter: tokenCounter, costModel: costModel, models: models,
                prices: prices, train: train, dev: dev, taskFeaturizer: taskFeaturizer
            )
            context.includeDevInFit = false
            let selection = try CostGroups.select(
                candidates: configuration.costGroupCandidates, train: context.train, dev: context.dev,
                prices: prices, models: models, seed: configuration.seed)
            logger.info("cost groups", metadata: [
                "featurizer": "\(featurizerConfiguration.label)", "chosen_k": "\(selection.groups?.centroids.rows ?? 0)",
                "dev_relative_cost_error": .dictionary(Dictionary(
                    selection.errors.map { ("k\($0.k)", .string(String(format: "%.4f", $0.error))) }, uniquingKeysWith: { first, _ in first })),
            ])
            if let groups = selection.groups {
                // Group of every train and dev prompt (same prompt, same vector, same group).
                var groupOf: [String: String] = [:]
                for split in [context.train, context.dev] {
                    for (record, group) in zip(split.records, groups.groups(of: split.features)) { groupOf[record.prompt] = group }
                }
                context.costModel = try CostModel.fit(
                    records: train.records + (dev?.records ?? []), prices: prices, models: models, group: { groupOf[$0.prompt] })
                context.costGroups = groups
            }
            var entries: [RouterManifest.StrategyEntry] = []
            var selectionFits: [String: any RoutingStrategy] = [:]
            // Each candidate task prior (routing vector; whole prompt) with every strategy's blend on dev.
            let priors = TaskPrior.fits(context).compactMap { fit in fit.prior(models: models, pooled: false).map { (fit.readsTaskVector, $0) } }
            var blends: [Bool: [String: (weight: Double?, aiq: Double)]] = [:]
            for type in strategyTypes {
                let t0 = Date()
                let strategy: any TrainableStrategy
                do {
                    strategy = try type.train(context)
                } catch {
                    if configuration.strategies != nil { throw error }
                    logger.error("strategy failed to train; left out of the artifact", metadata: ["strategy": "\(type.strategyName)", "error": "\(error)"])
                    continue
                }
                // One prediction pass on dev serves both the strategy's own score and the blend's choice.
                let local = strategy.predictQuality(batch: context.selection.features).flatMap { $0 }
                let own = Self.selectionAIQ(strategy, predicted: local, context: context)
                if !Self.referenceStrategies.contains(type.strategyName) {
                    for (readsTaskVector, prior) in priors {
                        let choice = TaskPriorBlendStrategy.choose(local: local, models: strategy.models, prior: prior, context: context)
                        blends[readsTaskVector, default: [:]][type.strategyName] = choice.weight < 1 && choice.aiq > own ? (choice.weight, choice.aiq) : (nil, own)
                    }
                }
                entries.append(.init(name: type.strategyName, devAIQ: own, trainSeconds: Date().timeIntervalSince(t0)))
                selectionFits[type.strategyName] = strategy
            }
            // The task prior whose blends score best on dev (summed over the learned strategies) is kept;
            // a tie keeps the routing vector (no second featurizer to run).
            var taskSpace: Bool? = nil
            var bestSum = -Double.infinity
            for space in configuration.taskPriorReadsWholePrompt.map({ [$0] }) ?? [false, true] {
                guard let scores = blends[space] else { continue }
                let sum = scores.sorted { $0.key < $1.key }.map(\.value.aiq).reduce(0, +)
                if sum > bestSum {
                    bestSum = sum
                    taskSpace = space
                }
            }
            for index in entries.indices {
                if let taskSpace, let blend = blends[taskSpace]?[entries[index].name] {
                    entries[index].taskPriorWeight = blend.weight
                    entries[index].devAIQ = blend.aiq
                }
                logger.info("dev score", metadata: [
                    "featurizer": "\(featurizerConfiguration.label)", "strategy": "\(entries[index].name)", "dev_aiq": "\(entries[index].devAIQ)",
                    "task_prior_weight": "\(entries[index].taskPriorWeight.map { String(format: "%.2f", 1 - $0) } ?? "0")",
                    "task_prior_features": "\(taskSpace.map { $0 ? "whole prompt" : "routing vector" } ?? "none")",
                ])
            }
            context.taskPriorReadsTaskVector = taskSpace ?? false
            trials.append(.init(featurizer: featurizerConfiguration.label, devAIQ: Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.devAIQ) })))
            let learned = entries.filter { !Self.referenceStrategies.contains($0.name) }
            let score = (learned.isEmpty ? entries : learned).map(\.devAIQ).max() ?? -.infinity
            if best == nil || score > best!.score {
                best = (score, featurizer, context, entries, selectionFits)
            }
        }
        guard var chosen = best, !chosen.entries.isEmpty else {
            throw SwitchyardError.invalidArgument("no strategy could be trained: see the errors above")
        }
        let candidates = chosen.entries.filter { !Self.referenceStrategies.contains($0.name) }
        let auto = autoStrategy(candidates.isEmpty ? chosen.entries : candidates)

        // Final fit, dev pooled where the strategy wants it; saved.
        try ArtifactFiles.makeDirectory(directory)
        chosen.context.includeDevInFit = true
        var defaultLambda = 0.0
        let pooledPrior = TaskPrior.fit(chosen.context)?.prior(models: models, pooled: true)
        if let pooledPrior, chosen.entries.contains(where: { ($0.taskPriorWeight ?? 1) < 1 }) {
            try pooledPrior.save(to: directory.appendingPathComponent(RouterArtifact.taskPriorDirectory))
            if pooledPrior.readsTaskVector, let taskFeaturizer {
                try taskFeaturizer.save(to: directory.appendingPathComponent(RouterArtifact.taskFeaturizerDirectory))
            }
        }
        for entry in chosen.entries {
            guard let type = registry.type(named: entry.name) else { continue }
            let t0 = Date()
            if entry.name == auto {
                var devFit = chosen.context
                devFit.includeDevInFit = false
                // The fit that was scored on dev (train alone) sets the default λ.
                var strategy: any RoutingStrategy = try chosen.selectionFits[entry.name] ?? type.train(devFit)
                if let weight = entry.taskPriorWeight, let prior = TaskPrior.fit(devFit)?.prior(models: models, pooled: false) {
                    strategy = TaskPriorBlendStrategy(base: strategy, prior: prior, weight: weight)
                }
                defaultLambda = Self.defaultLambda(strategy, context: devFit)
            }
            let strategy = try type.train(chosen.context)
            let strategyDirectory = RouterArtifact.strategyDirectory(directory, entry.name)
            try ArtifactFiles.makeDirectory(strategyDirectory)
            try strategy.save(to: strategyDirectory)
            if let index = chosen.entries.firstIndex(where: { $0.name == entry.name }) {
                chosen.entries[index].trainSeconds += Date().timeIntervalSince(t0)
            }
        }
        try chosen.featurizer.save(to: directory.appendingPathComponent("featurizer"))
        try ArtifactFiles.writeJSON(chosen.context.costModel, to: directory.appendingPathComponent("cost_model.json"))
        try chosen.context.costGroups?.save(to: directory)
        let manifest = RouterManifest(
            formatVersion: RouterManifest.currentFormatVersion,
            featurizer: chosen.featurizer.configuration,
            featurizerLabel: chosen.featurizer.configuration.label,
            featureDimension: chosen.featurizer.dimension,
            tokenCounter: tokenCounter,
            models: models,
            prices: prices.filter { models.contains($0.key) },
            strategies: chosen.entries,
            autoStrategy: auto,
            defaultLambda: defaultLambda,
            build: .init(
                createdAt: ISO8601DateFormatter().string(from: started),
                trainFile: sources.trainFile, devFile: sources.devFile,
                trainRecords: train.records.count, devRecords: dev?.records.count ?? 0,
                seed: configuration.seed, seconds: Date().timeIntervalSince(started)
            ),
            featurizerComparison: configuration.featurizers.count > 1 ? trials : []
        )
        try ArtifactFiles.writeJSON(manifest, to: directory.appendingPathComponent("manifest.json"))
        logger.info("artifact written", metadata: [
            "dir": "\(directory.path)", "featurizer": "\(manifest.featurizerLabel)", "auto": "\(auto)",
            "default_lambda": "\(defaultLambda)", "seconds": "\(manifest.build.seconds)",
        ])
        return manifest
    }

    /// Dev AIQ below the best within which `auto` takes the cheapest strategy to run rather than the
    /// top score: a fifth of the ~0.01 AIQ that separates strategies on a few hundred dev prompts by
    /// chance. (LLMRouter dev: knn 0.6404, inference-dynamics 0.6393, cluster 0.6390, learned map 0.6390:
    /// `auto` is the cluster table at ~10 × kNN's decisions/s.)
    public static let autoTolerance = 0.002

    /// The strategy `auto` resolves to: among `entries` within `autoTolerance` of the best dev AIQ, the
    /// one with the lowest `decisionCostRank` (then the higher AIQ, then the name).
    func autoStrategy(_ entries: [RouterManifest.StrategyEntry]) -> String {
        let best = entries.map(\.devAIQ).max() ?? -.infinity
        let rank = { (name: String) in registry.type(named: name)?.decisionCostRank ?? Int.max }
        let contenders = entries.filter { $0.devAIQ >= best - Self.autoTolerance }
        return contenders.min { a, b in
            (rank(a.name), -a.devAIQ, a.name) < (rank(b.name), -b.devAIQ, b.name)
        }?.name ?? entries.first?.name ?? ""
    }

    func selectedTypes() throws -> [any TrainableStrategy.Type] {
        guard let names = configuration.strategies else { return registry.types }
        return try names.map { name in
            guard let type = registry.type(named: name) else {
                throw SwitchyardError.invalidArgument("unknown strategy '\(name)'; known: \(registry.names.joined(separator: ", "))")
            }
            return type
        }
    }

    /// Featurises both splits and assembles the training context.
    public func makeContext(
        featurizer: Featurizer, tokenCounter: TokenCounter, costModel: CostModel, models: [String],
        prices: [String: ModelPrice], train: RoutingDataset, dev: RoutingDataset?, taskFeaturizer: Featurizer? = nil
    ) throws -> TrainingContext {
        func split(_ records: [RoutingRecord]) throws -> TrainingContext.Split {
            let prompts = records.map(\.prompt)
            let vectors = try featurizer.vectors(prompts)
            let taskVectors = try taskFeaturizer?.vectors(prompts)
            let features = zip(records, vectors).enumerated().map { i, pair in
                QueryFeatures(vector: pair.1, inputTokens: tokenCounter.count(pair.0.prompt), taskVector: taskVectors?[i]).indexingNonZeros()
            }
            return try TrainingContext.Split(records: records, features: features, models: models)
        }
        return TrainingContext(
            models: models, prices: prices, costModel: costModel,
            train: try split(train.records), dev: try split(dev?.records ?? []),
            seed: configuration.seed, logger: logger
        )
    }

    /// Dev AIQ of a trained strategy (a cost-only baseline is swept at λ = ∞ alone, as it routes).
    /// `predicted`: the strategy's predictions on the selection split (queries × models, flattened).
    static func selectionAIQ(_ strategy: any RoutingStrategy, predicted: [Double], context: TrainingContext) -> Double {
        let split = context.selection
        guard strategy.routesOnCostOnly else {
            let aiq = context.selectionAIQ(predicted: predicted)
            return aiq.isFinite ? aiq : 0
        }
        let points = CostQualitySweep.sweep(
            predicted: predicted, estimated: context.estimatedCosts(split), outcomes: split.outcomes, costs: split.costs, lambdas: [.infinity]
        )
        let singles = CostQualitySweep.singleModels(outcomes: split.outcomes, costs: split.costs)
        let aiq = CostQualitySweep.aiq(points, lo: singles.cost.min() ?? 0, hi: singles.cost.max() ?? 0)
        return aiq.isFinite ? aiq : 0
    }

    /// The cheapest λ of the strategy's dev sweep that reaches the best single model's dev quality
    /// (or, when it never does, the λ of its best quality).
    static func defaultLambda(_ strategy: any RoutingStrategy, context: TrainingContext) -> Double {
        let split = context.selection
        guard split.count > 0 else { return 0 }
        let predicted = strategy.predictQuality(batch: split.features).flatMap { $0 }
        let points = CostQualitySweep.sweep(predicted: predicted, estimated: context.estimatedCosts(split), outcomes: split.outcomes, costs: split.costs)
        let bestSingle = CostQualitySweep.singleModels(outcomes: split.outcomes, costs: split.costs).quality.max() ?? 0
        let maxQuality = points.map(\.quality).max() ?? 0
        let target = min(bestSingle, maxQuality)
        let reaching = points.filter { $0.quality >= target - 1e-12 }
        let lambda = reaching.min { $0.cost != $1.cost ? $0.cost < $1.cost : $0.lambda > $1.lambda }?.lambda ?? 0
        return lambda.isFinite ? lambda : 1e12  // JSON has no ∞; 1e12 quality/USD picks the cheapest.
    }
}
