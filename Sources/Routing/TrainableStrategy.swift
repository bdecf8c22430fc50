import Budget
import Foundation
import Profiling
import Logging
import SwitchyardCore

/// A strategy that `switchyard profile build` learns from routing data and saves into the artifact
/// directory, and that `route` and the score stage load back.
///
/// To add a strategy: conform to this protocol and list the type in `StrategyRegistry.standard`.
/// `train` gets everything build knows (train and dev records, their features, outcome and cost
/// matrices, prices); `save(to:)` writes into a directory made for this strategy alone
/// (`strategies/<strategyName>/`), and `load(from:)` must turn a missing or corrupt file there into a
/// `SwitchyardError` that says to rebuild, never a crash.
public protocol TrainableStrategy: RoutingStrategy {
    /// The name on the command line and in the manifest; equals the instances' `name`.
    static var strategyName: String { get }
    static func train(_ context: TrainingContext) throws -> Self
    func save(to directory: URL) throws
    static func load(from directory: URL) throws -> Self
    /// Where the strategy stands in per-decision work, lowest first (the order `Benchmarks/routing.sh`
    /// measures: a cluster table, a soft map, requirement profiles, the aptitude set, the whole training
    /// pool). `auto` prefers the cheaper of strategies cross-validation cannot tell apart. Default:
    /// after the five.
    static var decisionCostRank: Int { get }
    /// Out-of-fold predictions of the configuration cross-validation chooses (`CrossValidation`): what
    /// the build ranks strategies, blends and stacks by. `train` then fits that configuration on every
    /// labelled prompt. The default fits `train` on each fold's complement (for strategies with nothing
    /// to choose); strategies with hyper-parameters choose them here and share the choice with `train`
    /// through `context.cache`.
    static func crossValidate(_ context: TrainingContext) throws -> CrossValidated
    /// True for baselines that route on estimated cost alone (their instances' `routesOnCostOnly`).
    /// Default false.
    static var costOnly: Bool { get }
}

extension TrainableStrategy {
    public static var decisionCostRank: Int { 5 }

    public static var costOnly: Bool { false }

    public static func crossValidate(_ context: TrainingContext) throws -> CrossValidated {
        let cv = try context.crossValidation()
        let perFold = try cv.mapFolds { f in
            let fit = try train(cv.foldContext(context, fold: f))
            return fit.predictQuality(batch: cv.heldOutRows[f].map { cv.labelled.features[$0] }).flatMap { $0 }
        }
        let predictions = cv.assemble(perFold)
        return CrossValidated(predictions: predictions, estimate: cv.score(predictions), choice: "")
    }
}

/// A strategy's cross-validation: its out-of-fold predictions (labelled rows × models, flattened, in
/// `context.models` order), their score, and what was chosen (for the log and the manifest).
public struct CrossValidated: Sendable {
    public var predictions: [Double]
    public var estimate: CVEstimate
    /// The chosen hyper-parameters, e.g. "K=30 κ=5" (empty when there is nothing to choose).
    public var choice: String

    public init(predictions: [Double], estimate: CVEstimate, choice: String) {
        self.predictions = predictions
        self.estimate = estimate
        self.choice = choice
    }
}

/// Everything a strategy may learn from, computed once by the profile builder.
///
/// Row i of every matrix belongs to record i of the same split; columns of outcome and cost matrices
/// follow `models`. Train and dev are one labelled pool (`labelled()`), which cross-validation
/// (`crossValidation()`) scores every choice on; dev may be empty.
public struct TrainingContext: Sendable {
    public var models: [String]
    public var prices: [String: ModelPrice]
    /// Estimated cost per model before a query runs (`Budget.CostModel`, in `models` order): what the
    /// router will trade quality against.
    public var costModel: CostModel
    public var train: Split
    public var dev: Split
    /// Seed for every random choice, so the same inputs build the same artifact.
    public var seed: UInt64
    public var logger: Logger
    /// Shared between the strategies of one build (e.g. K-means reused by the learned map).
    public var cache: TrainingCache
    /// Whether dev is labelled data like train (default true): cross-validated and fitted with it. False
    /// leaves dev out of everything (experiments that keep it as a held-out split of their own).
    public var includeDevInFit: Bool = true
    /// Folds of the cross-validation every choice is made by (default `CrossValidationFolds.defaultCount`).
    public var crossValidationFolds: Int = CrossValidationFolds.defaultCount
    /// Query groups `costModel` was fitted on (nil: per-model means); the router uses the same.
    public var costGroups: CostGroups? = nil
    /// Whether the task prior kept by the build reads the whole prompt's task vector (chosen by
    /// `profile build`) rather than the routing vector.
    public var taskPriorReadsTaskVector: Bool = false
    /// Candidate featurizers of the whole prompt for the task prior's classifier (each cross-validated
    /// beside the routing vector; `profile build` keeps the best).
    public var taskFeaturizers: [Featurizer] = []
    /// The task prior's input the build chose (`TaskPrior.Input.label`), nil before it chose.
    public var taskPriorInput: String? = nil

    /// One split of routing data with its features and outcome/cost tables.
    public struct Split: Sendable {
        public var records: [RoutingRecord]
        public var features: [QueryFeatures]
        /// `records.count x featureDimension`, the features' vectors stacked.
        public var vectors: FloatMatrix
        /// `records.count x models.count` outcomes in [0, 1].
        public var outcomes: FloatMatrix
        /// `records.count x models.count` realised cost in USD.
        public var costs: FloatMatrix

        public var count: Int { records.count }

        /// Builds the tables from records and their features (same order); every record must carry
        /// an outcome and a cost for every model.
        public init(records: [RoutingRecord], features: [QueryFeatures], models: [String]) throws(SwitchyardError) {
            guard records.count == features.count else {
                throw .invalidArgument("\(records.count) records but \(features.count) feature rows")
            }
            let dimension = features.first?.vector.count ?? 0
            var vectors = FloatMatrix(rows: 0, cols: dimension)
            vectors.values.reserveCapacity(records.count * dimension)
            for feature in features { try vectors.appendRow(feature.vector) }
            var outcomes = FloatMatrix(rows: records.count, cols: models.count)
            var costs = FloatMatrix(rows: records.count, cols: models.count)
            for (i, record) in records.enumerated() {
                for (j, model) in models.enumerated() {
                    guard let outcome = record.outcomes[model], let cost = record.costs[model] else {
                        throw .invalidArgument("record \(record.id) has no outcome or cost for model \(model)")
                    }
                    outcomes[i, j] = Float(outcome)
                    costs[i, j] = Float(cost)
                }
            }
            self.records = records
            self.features = features
            self.vectors = vectors
            self.outcomes = outcomes
            self.costs = costs
        }

        /// `first`'s rows followed by `second`'s.
        init(stacking first: Split, _ second: Split) throws(SwitchyardError) {
            let rows = first.count + second.count
            records = first.records + second.records
            features = first.features + second.features
            vectors = try FloatMatrix(rows: rows, cols: first.vectors.cols, values: first.vectors.values + second.vectors.values)
            outcomes = try FloatMatrix(rows: rows, cols: first.outcomes.cols, values: first.outcomes.values + second.outcomes.values)
            costs = try FloatMatrix(rows: rows, cols: first.costs.cols, values: first.costs.values + second.costs.values)
        }
    }

    public init(
        models: [String], prices: [String: ModelPrice], costModel: CostModel,
        train: Split, dev: Split, seed: UInt64, logger: Logger
    ) {
        self.models = models
        self.prices = prices
        self.costModel = costModel
        self.train = train
        self.dev = dev
        self.seed = seed
        self.logger = logger
        self.cache = TrainingCache()
    }

    /// Train and dev stacked, row for row (train alone when `includeDevInFit` is false): every labelled
    /// prompt, which cross-validation scores and the saved fit is made of.
    public func labelled() throws(SwitchyardError) -> Split {
        includeDevInFit && dev.count > 0 ? try Split(stacking: train, dev) : train
    }

    /// The build's cross-validation over `labelled()` (computed once per context and cached; set
    /// `costGroups` and `costModel` before the first call).
    public func crossValidation() throws -> CrossValidation {
        try cache.value("cross-validation") { try CrossValidation(context: self) }
    }
}

/// The strategies `profile build` trains and `route` can load, by name.
public struct StrategyRegistry: Sendable {
    public private(set) var types: [any TrainableStrategy.Type]

    public init(types: [any TrainableStrategy.Type]) {
        self.types = types
    }

    /// Every strategy of the project, in build order.
    public static let standard = StrategyRegistry(types: [
        BestSingleStrategy.self,
        CheapestStrategy.self,
        RandomStrategy.self,
        KNNStrategy.self,
        UniRouteClusterStrategy.self,
        UniRouteLearnedMapStrategy.self,
        InferenceDynamicsStrategy.self,
        AptitudeStrategy.self,
    ])

    public var names: [String] { types.map { $0.strategyName } }

    public func type(named name: String) -> (any TrainableStrategy.Type)? {
        types.first { $0.strategyName == name }
    }

    /// Adds (or replaces, by name) a strategy type.
    public mutating func register(_ type: any TrainableStrategy.Type) {
        types.removeAll { $0.strategyName == type.strategyName }
        types.append(type)
    }
}
