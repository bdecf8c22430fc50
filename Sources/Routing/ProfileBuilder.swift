import Budget
import Embedding
import Foundation
import Logging
import Profiling
import SwitchyardCore

/// `switchyard profile build`: learns featurizer, cost model and every strategy from routing data,
/// chooses every hyper-parameter, the task-prior blends, the stack and `auto` by K-fold
/// cross-validation over train + dev (`CrossValidation`), and writes the artifact directory (see
/// `RouterManifest`).
///
/// Train and dev are one labelled pool: K folds stratified by task (seeded) score every candidate on
/// every labelled prompt once, with a fit that never saw its fold; the saved fit then uses the whole
/// pool with the chosen configuration. The test split is never read here.
public struct ProfileBuilder: Sendable {
    /// Build options, with their defaults.
    public struct Configuration: Sendable {
        /// Featurizers to compare by cross-validation (default: only the default featurizer). The winner
        /// is the one whose best learned strategy has the highest cross-validated AIQ.
        public var featurizers: [Featurizer.Configuration]
        /// Strategy names to build (default nil: every strategy of the registry, and `ensemble`).
        public var strategies: [String]?
        /// Seed of every random choice, the folds included (default 0).
        public var seed: UInt64
        /// Numbers of query groups for cost estimates compared by cross-validation (`CostGroups.select`;
        /// default `CostGroups.candidates`; [] or [0]: one mean output length per model).
        public var costGroupCandidates: [Int]
        /// Candidate features of the task classifier behind the task prior, each cross-validated beside
        /// the routing vector (default `taskFeaturizerCandidates`: hashed TF-IDF of the whole prompt,
        /// template kept, since the template is what tells tasks apart, with and without character
        /// n-grams; []: the routing features alone).
        public var taskFeaturizers: [Featurizer.Configuration]
        /// Folds of the cross-validation (default `CrossValidationFolds.defaultCount`).
        public var folds: Int
        /// When set, the chosen featurizer's out-of-fold predictions are written there as JSON Lines, one
        /// labelled prompt a line (`id`, `task`, `fold`, `outcomes`, `costs`, `estimated`, and per strategy
        /// its own and its routed predictions): for analysis, e.g. of stacks (default nil).
        public var outOfFoldFile: URL? = nil
        /// Which task prior to keep: nil (default) the candidate whose blends cross-validate best; true
        /// only whole-prompt classifiers, false only the routing-vector one (`profile build --task-prior`).
        public var taskPriorReadsWholePrompt: Bool? = nil

        public init(
            featurizers: [Featurizer.Configuration] = [Featurizer.Configuration()], strategies: [String]? = nil,
            seed: UInt64 = 0, costGroupCandidates: [Int] = CostGroups.candidates,
            taskFeaturizers: [Featurizer.Configuration] = ProfileBuilder.taskFeaturizerCandidates,
            folds: Int = CrossValidationFolds.defaultCount
        ) {
            self.featurizers = featurizers
            self.strategies = strategies
            self.seed = seed
            self.costGroupCandidates = costGroupCandidates
            self.taskFeaturizers = taskFeaturizers
            self.folds = folds
        }
    }

    /// Whole-prompt featurizers the task classifier is cross-validated with by default: word 1–2-grams in
    /// 4096 buckets, and the same with character 3–5-grams in 8192 (LLMRouter, sklearn, same folds: task
    /// accuracy 83 % → 88 %, the prior's cross-validated AIQ 0.638 → 0.644).
    public static let taskFeaturizerCandidates: [Featurizer.Configuration] = [
        Featurizer.Configuration(stripTemplate: false),
        Featurizer.Configuration(stripTemplate: false, lexical: .init(dimension: 8192, wordNGrams: 1...2, charNGrams: 3...5)),
    ]

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

    /// Everything cross-validation measured under one featurizer.
    struct Trial {
        var featurizer: Featurizer
        var context: TrainingContext
        var entries: [RouterManifest.StrategyEntry]
        /// Out-of-fold predictions of every entry as it routes (blended where blended).
        var predictions: [String: [Double]]
        /// Every strategy's own out-of-fold predictions (unblended), and the kept task prior's fit.
        var own: [String: [Double]]
        var prior: TaskPrior.Fit?
        var stack: EnsembleStrategy.Stack?
        var costError: CVEstimate?
        var taskPriorNote: String?
        /// Best cross-validated AIQ of a learned strategy: what featurizers are ranked by.
        var score: Double
    }

    /// Builds the artifact into `directory` (created; existing files of the same names replaced)
    /// and returns its manifest: the labelled pool's cost model, one cross-validated trial per featurizer,
    /// the best trial's defaults, then the saved fits and the manifest.
    public func build(
        train: RoutingDataset, dev: RoutingDataset?, prices: [String: ModelPrice], sources: Sources,
        embedders: [String: any Embedder] = [:], to directory: URL
    ) throws -> RouterManifest {
        let started = Date()
        let models = try Self.sharedPricedModels(train: train, dev: dev, prices: prices)
        let strategyTypes = try selectedTypes()
        let tokenCounter = TokenCounter.calibrate(on: train.records)
        let labelledRecords = train.records + (dev?.records ?? [])
        let costModel = try CostModel.fit(records: labelledRecords, prices: prices, models: models)
        let (trials, best) = try compareFeaturizers(
            labelledRecords: labelledRecords, embedders: embedders, tokenCounter: tokenCounter, costModel: costModel,
            models: models, prices: prices, train: train, dev: dev, strategyTypes: strategyTypes)
        guard var chosen = best, !chosen.entries.isEmpty else {
            throw SwitchyardError.invalidArgument("no strategy could be trained: see the errors above")
        }
        let candidates = chosen.entries.filter { !Self.referenceStrategies.contains($0.name) }
        let auto = autoStrategy(candidates.isEmpty ? chosen.entries : candidates)
        let cv = try chosen.context.crossValidation()
        setDefaultLambdas(&chosen, cv: cv)
        let defaultLambda = chosen.entries.first { $0.name == auto }?.defaultLambda ?? 0
        if let file = configuration.outOfFoldFile { try Self.writeOutOfFold(chosen, cv: cv, to: file) }

        try saveFits(&chosen, models: models, to: directory)
        let context = chosen.context
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
            featurizerComparison: configuration.featurizers.count > 1 ? trials : [],
            crossValidation: .init(
                folds: cv.folds.count, labelledRecords: cv.count, nearTieMargin: Self.autoTolerance,
                costRelativeError: chosen.costError?.mean, costGroups: context.costGroups?.centroids.rows ?? 0,
                taskPrior: chosen.taskPriorNote)
        )
        try ArtifactFiles.writeJSON(manifest, to: directory.appendingPathComponent("manifest.json"))
        logger.info("artifact written", metadata: [
            "dir": "\(directory.path)", "featurizer": "\(manifest.featurizerLabel)", "auto": "\(auto)",
            "default_lambda": "\(defaultLambda)", "seconds": "\(manifest.build.seconds)",
        ])
        return manifest
    }

    /// The models every train (and dev) record has outcomes and costs for; each must have a price.
    static func sharedPricedModels(train: RoutingDataset, dev: RoutingDataset?, prices: [String: ModelPrice]) throws -> [String] {
        var models = train.models
        if let dev { models = models.filter { dev.models.contains($0) } }
        guard !models.isEmpty else {
            throw SwitchyardError.invalidArgument("no model has outcomes and costs in every train (and dev) record: check the routing data")
        }
        let unpriced = models.filter { prices[$0] == nil }
        guard unpriced.isEmpty else {
            throw SwitchyardError.invalidArgument("no price for \(unpriced.joined(separator: ", ")): add them to models.json (or pass --models)")
        }
        return models
    }

    /// One cross-validated trial per configured featurizer: every trial's figures for the manifest, and
    /// the trial whose best learned strategy scores highest (nil when there is none).
    func compareFeaturizers(
        labelledRecords: [RoutingRecord], embedders: [String: any Embedder], tokenCounter: TokenCounter, costModel: CostModel,
        models: [String], prices: [String: ModelPrice], train: RoutingDataset, dev: RoutingDataset?,
        strategyTypes: [any TrainableStrategy.Type]
    ) throws -> ([RouterManifest.FeaturizerTrial], Trial?) {
        // Featurizers (idf, template) learn from every labelled prompt's text: no outcome reaches them.
        let labelledPrompts = labelledRecords.map { (prompt: $0.prompt, task: $0.task) }
        // Only records that carry task labels can teach a task classifier.
        let taskFeaturizers = try labelledRecords.contains(where: { $0.task != nil })
            ? configuration.taskFeaturizers.map { try Featurizer.learn(from: labelledPrompts, configuration: $0) } : []
        var trials: [RouterManifest.FeaturizerTrial] = []
        var best: Trial? = nil
        for featurizerConfiguration in configuration.featurizers {
            let embedder = featurizerConfiguration.embedder.flatMap { embedders[$0] }
            let featurizer = try Featurizer.learn(from: labelledPrompts, configuration: featurizerConfiguration, embedder: embedder)
            let trial = try crossValidate(
                featurizer: featurizer, tokenCounter: tokenCounter, costModel: costModel, models: models, prices: prices,
                train: train, dev: dev, taskFeaturizers: taskFeaturizers, strategyTypes: strategyTypes)
            trials.append(.init(
                featurizer: featurizerConfiguration.label,
                cvAIQ: Dictionary(uniqueKeysWithValues: trial.entries.map { ($0.name, $0.cvAIQ) }),
                cvStandardError: Dictionary(uniqueKeysWithValues: trial.entries.map { ($0.name, $0.cvStandardError ?? 0) })))
            if let current = best, !(trial.score > current.score) { continue }
            best = trial
        }
        return (trials, best)
    }

    /// Each strategy's default λ, from its out-of-fold predictions.
    func setDefaultLambdas(_ trial: inout Trial, cv: CrossValidation) {
        for index in trial.entries.indices {
            let entry = trial.entries[index]
            if let predicted = trial.predictions[entry.name] {
                trial.entries[index].defaultLambda = Self.defaultLambda(
                    predicted: predicted, costOnly: registry.type(named: entry.name)?.costOnly ?? false, cv: cv)
            }
        }
    }

    /// The saved fits into `directory`: every labelled prompt with the cross-validated choices (cached in
    /// the trial's context), the task prior where a blend or the stack uses it, the featurizer, cost model
    /// and cost groups. Adds each strategy's training time to its entry.
    func saveFits(_ chosen: inout Trial, models: [String], to directory: URL) throws {
        try ArtifactFiles.makeDirectory(directory)
        let context = chosen.context
        if let fit = chosen.prior, let prior = fit.prior(models: models),
           chosen.entries.contains(where: { ($0.taskPriorWeight ?? 1) < 1 }) || chosen.stack?.usesPrior == true {
            try prior.save(to: directory.appendingPathComponent(RouterArtifact.taskPriorDirectory))
            if let taskFeaturizer = fit.input.featurizer {
                try taskFeaturizer.save(to: directory.appendingPathComponent(RouterArtifact.taskFeaturizerDirectory))
            }
        }
        for (index, entry) in chosen.entries.enumerated() {
            let t0 = Date()
            let strategyDirectory = RouterArtifact.strategyDirectory(directory, entry.name)
            if entry.name == EnsembleStrategy.strategyName {
                guard let stack = chosen.stack else { continue }
                try ArtifactFiles.makeDirectory(strategyDirectory)
                try stack.save(to: strategyDirectory)
            } else {
                guard let type = registry.type(named: entry.name) else { continue }
                let strategy = try type.train(context)
                try ArtifactFiles.makeDirectory(strategyDirectory)
                try strategy.save(to: strategyDirectory)
            }
            chosen.entries[index].trainSeconds += Date().timeIntervalSince(t0)
        }
        try chosen.featurizer.save(to: directory.appendingPathComponent("featurizer"))
        try ArtifactFiles.writeJSON(context.costModel, to: directory.appendingPathComponent("cost_model.json"))
        try context.costGroups?.save(to: directory)
    }

    /// Cross-validates everything under one featurizer: cost groups, every strategy, the task prior's
    /// features and each strategy's blend toward it, and the stack.
    func crossValidate(
        featurizer: Featurizer, tokenCounter: TokenCounter, costModel: CostModel, models: [String], prices: [String: ModelPrice],
        train: RoutingDataset, dev: RoutingDataset?, taskFeaturizers: [Featurizer], strategyTypes: [any TrainableStrategy.Type]
    ) throws -> Trial {
        var context = try makeContext(
            featurizer: featurizer, tokenCounter: tokenCounter, costModel: costModel, models: models,
            prices: prices, train: train, dev: dev
        )
        context.taskFeaturizers = taskFeaturizers
        let label = featurizer.configuration.label
        let labelled = try context.labelled()
        let folds = CrossValidationFolds(tasks: labelled.records.map(\.task), count: context.crossValidationFolds, seed: context.seed)
        let selection = try CostGroups.select(
            candidates: configuration.costGroupCandidates, labelled: labelled, folds: folds, prices: prices, models: models,
            seed: configuration.seed)
        logger.info("cost groups", metadata: [
            "featurizer": "\(label)", "chosen_k": "\(selection.groups?.centroids.rows ?? 0)",
            "cv_relative_cost_error": .dictionary(Dictionary(
                selection.errors.map { ("k\($0.k)", .string($0.error.formatted)) }, uniquingKeysWith: { first, _ in first })),
        ])
        if let groups = selection.groups {
            var groupOf: [String: String] = [:]
            for (record, group) in zip(labelled.records, groups.groups(of: labelled.features)) { groupOf[record.prompt] = group }
            context.costModel = try CostModel.fit(records: labelled.records, prices: prices, models: models, group: { groupOf[$0.prompt] })
            context.costGroups = groups
        }
        let cv = try context.crossValidation()
        var entries: [RouterManifest.StrategyEntry] = []
        var own: [String: CrossValidated] = [:]
        for type in strategyTypes {
            let t0 = Date()
            let result: CrossValidated
            do {
                result = try type.crossValidate(context)
            } catch {
                if configuration.strategies != nil { throw error }
                logger.error("strategy failed to train; left out of the artifact", metadata: ["strategy": "\(type.strategyName)", "error": "\(error)"])
                continue
            }
            own[type.strategyName] = result
            entries.append(.init(
                name: type.strategyName, cvAIQ: result.estimate.mean, cvStandardError: result.estimate.standardError,
                cvFolds: result.estimate.folds, trainSeconds: Date().timeIntervalSince(t0), choice: result.choice))
        }
        var predictions = own.mapValues(\.predictions)
        // Each candidate task prior (routing vector; whole prompt) with every learned strategy's blend;
        // the prior whose blends sum highest is kept (a tie keeps the routing vector: no second featurizer).
        let t0 = Date()
        let fits = try TaskPrior.fits(context)
        var bestPrior: (fit: TaskPrior.Fit, sum: Double, blends: [String: (weight: Double, estimate: CVEstimate, predictions: [Double])])? = nil
        for fit in fits where configuration.taskPriorReadsWholePrompt.map({ $0 == fit.readsTaskVector }) ?? true {
            var blends: [String: (weight: Double, estimate: CVEstimate, predictions: [Double])] = [:]
            for entry in entries where !Self.referenceStrategies.contains(entry.name) {
                guard let local = own[entry.name]?.predictions else { continue }
                blends[entry.name] = TaskPriorBlendStrategy.choose(local: local, prior: fit.predictions, cv: cv)
            }
            let sum = blends.keys.sorted().compactMap { blends[$0]?.estimate.mean }.reduce(0, +)
            if bestPrior == nil || sum > bestPrior!.sum + 1e-12 { bestPrior = (fit, sum, blends) }
        }
        var taskPriorNote: String? = nil
        if let bestPrior {
            context.taskPriorReadsTaskVector = bestPrior.fit.readsTaskVector
            context.taskPriorInput = bestPrior.fit.input.label
            taskPriorNote = "\(bestPrior.fit.input.label), \(bestPrior.fit.epochs) epochs, cv log loss \(bestPrior.fit.logLoss.formatted)"
            for index in entries.indices {
                guard let blend = bestPrior.blends[entries[index].name], blend.weight < 1 else { continue }
                entries[index].taskPriorWeight = blend.weight
                entries[index].cvAIQ = blend.estimate.mean
                entries[index].cvStandardError = blend.estimate.standardError
                entries[index].cvFolds = blend.estimate.folds
                predictions[entries[index].name] = blend.predictions
            }
        }
        let priorSeconds = Date().timeIntervalSince(t0)
        // The stack over the learned strategies as they route and the task prior.
        var stack: EnsembleStrategy.Stack? = nil
        let learned = entries.map(\.name).filter { !Self.referenceStrategies.contains($0) }
        if configuration.strategies?.contains(EnsembleStrategy.strategyName) ?? true, learned.count >= 2 {
            let t1 = Date()
            let fitted = try EnsembleStrategy.crossValidate(
                bases: learned.compactMap { name in predictions[name].map { (name: name, predictions: $0) } },
                prior: bestPrior?.fit.predictions, cv: cv, logger: logger)
            stack = fitted.stack
            predictions[EnsembleStrategy.strategyName] = fitted.result.predictions
            entries.append(.init(
                name: EnsembleStrategy.strategyName, cvAIQ: fitted.result.estimate.mean, cvStandardError: fitted.result.estimate.standardError,
                cvFolds: fitted.result.estimate.folds, trainSeconds: Date().timeIntervalSince(t1) + priorSeconds, choice: fitted.result.choice))
        }
        for entry in entries {
            logger.info("cross-validated", metadata: [
                "featurizer": "\(label)", "strategy": "\(entry.name)", "cv_aiq": "\(String(format: "%.4f ± %.4f", entry.cvAIQ, entry.cvStandardError ?? 0))",
                "task_prior_weight": "\(entry.taskPriorWeight.map { String(format: "%.2f", 1 - $0) } ?? "0")", "choice": "\(entry.choice ?? "")",
            ])
        }
        let scored = entries.filter { !Self.referenceStrategies.contains($0.name) }
        return Trial(
            featurizer: featurizer, context: context, entries: entries, predictions: predictions,
            own: own.mapValues(\.predictions), prior: bestPrior?.fit, stack: stack,
            costError: selection.errors.first { $0.k == (selection.groups?.centroids.rows ?? 0) }?.error ?? selection.errors.first?.error,
            taskPriorNote: taskPriorNote, score: (scored.isEmpty ? entries : scored).map(\.cvAIQ).max() ?? -.infinity)
    }

    /// One JSON line per labelled prompt with its fold, tables and every strategy's out-of-fold predictions.
    static func writeOutOfFold(_ trial: Trial, cv: CrossValidation, to file: URL) throws {
        struct Line: Encodable {
            var id: String
            var task: String?
            var fold: Int
            var models: [String]
            var outcomes: [Float]
            var costs: [Float]
            var estimated: [Double]
            var own: [String: [Double]]
            var routed: [String: [Double]]
            var prior: [Double]?
        }
        let m = cv.models.count
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = Data()
        for i in 0..<cv.count {
            let row = { (values: [Double]) in Array(values[(i * m)..<((i + 1) * m)]) }
            let line = Line(
                id: cv.labelled.records[i].id, task: cv.labelled.records[i].task, fold: cv.fold(of: i), models: cv.models,
                outcomes: cv.labelled.outcomes.row(i), costs: cv.labelled.costs.row(i), estimated: row(cv.estimated),
                own: trial.own.mapValues(row), routed: trial.predictions.mapValues(row), prior: trial.prior.map { row($0.predictions) })
            data.append(try encoder.encode(line))
            data.append(0x0A)
        }
        do {
            try data.write(to: file, options: .atomic)
        } catch {
            throw SwitchyardError.unreadableFile(file: file.path, reason: "cannot write the out-of-fold predictions: \(error)")
        }
    }

    /// Cross-validated AIQ below the best within which `auto` takes the cheapest strategy to run rather
    /// than the top score. The folds' standard errors of the paired differences between strategies run
    /// 0.001–0.003 on the shared data; a stack must also win by more than this to be `auto`.
    public static let autoTolerance = 0.002

    /// The strategy `auto` resolves to: among `entries` within `autoTolerance` of the best
    /// cross-validated AIQ, the one with the lowest `decisionCostRank` (then the higher AIQ, then the name).
    func autoStrategy(_ entries: [RouterManifest.StrategyEntry]) -> String {
        let best = entries.map(\.cvAIQ).max() ?? -.infinity
        let rank = { (name: String) in
            name == EnsembleStrategy.strategyName ? EnsembleStrategy.decisionCostRank : registry.type(named: name)?.decisionCostRank ?? Int.max
        }
        let contenders = entries.filter { $0.cvAIQ >= best - Self.autoTolerance }
        return contenders.min { a, b in
            (rank(a.name), -a.cvAIQ, a.name) < (rank(b.name), -b.cvAIQ, b.name)
        }?.name ?? entries.first?.name ?? ""
    }

    func selectedTypes() throws -> [any TrainableStrategy.Type] {
        guard let names = configuration.strategies else { return registry.types }
        return try names.filter { $0 != EnsembleStrategy.strategyName }.map { name in
            guard let type = registry.type(named: name) else {
                throw SwitchyardError.invalidArgument(
                    "unknown strategy '\(name)'; known: \((registry.names + [EnsembleStrategy.strategyName]).joined(separator: ", "))")
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

    /// The cheapest λ of a strategy's out-of-fold sweep over every labelled prompt that reaches the best
    /// single model's quality there (or, when it never does, the λ of its best quality): the strategy's
    /// λ when none is given, and the floor of its batch budgets. Cost-only strategies: ∞ (stored as 1e12).
    static func defaultLambda(predicted: [Double], costOnly: Bool, cv: CrossValidation) -> Double {
        guard cv.count > 0, !costOnly else { return 1e12 }
        let split = cv.labelled
        let points = CostQualitySweep.sweep(predicted: predicted, estimated: cv.estimated, outcomes: split.outcomes, costs: split.costs)
        let bestSingle = CostQualitySweep.singleModels(outcomes: split.outcomes, costs: split.costs).quality.max() ?? 0
        let maxQuality = points.map(\.quality).max() ?? 0
        let target = min(bestSingle, maxQuality)
        let reaching = points.filter { $0.quality >= target - 1e-12 }
        let lambda = reaching.min { $0.cost != $1.cost ? $0.cost < $1.cost : $0.lambda > $1.lambda }?.lambda ?? 0
        return lambda.isFinite ? lambda : 1e12  // JSON has no ∞; 1e12 quality/USD picks the cheapest.
    }
}
