import Foundation
import Profiling
import SwitchyardCore

/// `manifest.json` of an artifact directory: what was built, from what, and how to load it.
///
/// Layout of the directory (format version 3):
/// ```
/// manifest.json              this file
/// featurizer/                featurizer.json (template lines, options) + idf.f32
/// cost_model.json            Budget.CostModel: prices and predicted output tokens per model
/// strategies/<name>/         one directory per strategy (its own JSON + raw little-endian Float32 *.f32)
/// task_prior/                optional `TaskPrior` (task_prior.json, theta.f32, quality.f32) that strategies
///                            with a `taskPriorWeight` below 1 are blended toward
/// task_featurizer/           optional featurizer of the task prior's classifier (whole prompt, template kept),
///                            present when `task_prior.json` says `readsTaskVector` (new in version 2)
/// strategies/ensemble/       optional stack over the other strategies and the task prior (`ensemble.json`,
///                            new in version 3; it reads the other strategies' directories)
/// ```
/// Version 3 also records every strategy's cross-validated AIQ (`cvAIQ` ± `cvStandardError`, the
/// folds' scores) and its own default λ; versions 1 and 2 recorded a dev AIQ, read into `cvAIQ`.
/// Matrices are raw little-endian Float32 without header; their shapes are in the JSON beside them.
public struct RouterManifest: Codable, Sendable, Hashable {
    /// Bumped whenever the layout or a file's meaning changes; `route` refuses versions it cannot read.
    public static let currentFormatVersion = 3
    /// Versions this switchyard reads: version 1 is version 2 without `task_featurizer/` (its task
    /// prior reads the routing vector), version 2 is version 3 without `ensemble` and cross-validation
    /// records. Older switchyards refuse newer versions, whose files they would misread.
    public static let readableFormatVersions = 1...currentFormatVersion

    public var formatVersion: Int
    public var featurizer: Featurizer.Configuration
    public var featurizerLabel: String
    public var featureDimension: Int
    public var tokenCounter: TokenCounter
    public var models: [String]
    public var prices: [String: ModelPrice]
    public var strategies: [StrategyEntry]
    /// The strategy `auto` resolves to: best cross-validated area under the cost–quality curve, the
    /// cheapest to run among near-ties (`ProfileBuilder.autoTolerance`).
    public var autoStrategy: String
    /// λ used when `route` is given neither `--lambda` nor `--budget-usd` (the auto strategy's own
    /// default λ), and the floor of every batch budget's λ: the cheapest point of the auto strategy's
    /// out-of-fold curve that reaches the best single model's quality (or its best quality).
    public var defaultLambda: Double
    public var build: BuildInfo
    /// Cross-validated AIQ of every strategy under every featurizer tried (empty when only one was tried).
    public var featurizerComparison: [FeaturizerTrial]
    /// How the choices were cross-validated (nil in artifacts before format 3).
    public var crossValidation: CrossValidationInfo? = nil

    public struct StrategyEntry: Codable, Sendable, Hashable {
        public var name: String
        /// Cross-validated area under the cost–quality curve over train + dev: the mean of the folds'
        /// AIQs (artifacts before format 3: the AIQ on dev).
        public var cvAIQ: Double
        /// Standard error of `cvAIQ` over the folds (nil before format 3).
        public var cvStandardError: Double? = nil
        /// AIQ of every fold (nil before format 3).
        public var cvFolds: [Double]? = nil
        /// Seconds spent training (cross-validation and the saved fit).
        public var trainSeconds: Double
        /// Weight of the strategy's own prediction against the task prior (`TaskPriorBlendStrategy`,
        /// chosen by cross-validation); absent or 1: not blended.
        public var taskPriorWeight: Double? = nil
        /// This strategy's λ when none is given, and its batch budgets' floor (nil: `defaultLambda`).
        public var defaultLambda: Double? = nil
        /// What cross-validation chose (hyper-parameters), for the record.
        public var choice: String? = nil

        public init(
            name: String, cvAIQ: Double, cvStandardError: Double? = nil, cvFolds: [Double]? = nil, trainSeconds: Double,
            taskPriorWeight: Double? = nil, defaultLambda: Double? = nil, choice: String? = nil
        ) {
            self.name = name
            self.cvAIQ = cvAIQ
            self.cvStandardError = cvStandardError
            self.cvFolds = cvFolds
            self.trainSeconds = trainSeconds
            self.taskPriorWeight = taskPriorWeight
            self.defaultLambda = defaultLambda
            self.choice = choice
        }

        /// The cross-validated estimate (mean and folds), when recorded.
        public var estimate: CVEstimate? { cvFolds.map { CVEstimate(folds: $0) } }

        enum CodingKeys: String, CodingKey {
            case name, cvAIQ, cvStandardError, cvFolds, trainSeconds, taskPriorWeight, defaultLambda, choice
            case devAIQ  // formats 1 and 2
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            cvAIQ = try c.decodeIfPresent(Double.self, forKey: .cvAIQ) ?? c.decode(Double.self, forKey: .devAIQ)
            cvStandardError = try c.decodeIfPresent(Double.self, forKey: .cvStandardError)
            cvFolds = try c.decodeIfPresent([Double].self, forKey: .cvFolds)
            trainSeconds = try c.decode(Double.self, forKey: .trainSeconds)
            taskPriorWeight = try c.decodeIfPresent(Double.self, forKey: .taskPriorWeight)
            defaultLambda = try c.decodeIfPresent(Double.self, forKey: .defaultLambda)
            choice = try c.decodeIfPresent(String.self, forKey: .choice)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(cvAIQ, forKey: .cvAIQ)
            try c.encodeIfPresent(cvStandardError, forKey: .cvStandardError)
            try c.encodeIfPresent(cvFolds, forKey: .cvFolds)
            try c.encode(trainSeconds, forKey: .trainSeconds)
            try c.encodeIfPresent(taskPriorWeight, forKey: .taskPriorWeight)
            try c.encodeIfPresent(defaultLambda, forKey: .defaultLambda)
            try c.encodeIfPresent(choice, forKey: .choice)
        }
    }

    /// The cross-validation a format-3 build chose everything by.
    public struct CrossValidationInfo: Codable, Sendable, Hashable {
        /// Folds K (stratified by task, seeded with `build.seed`).
        public var folds: Int
        /// Labelled prompts cross-validated (train + dev).
        public var labelledRecords: Int
        /// Cross-validated AIQ a cheaper strategy may trail the best by and still be `auto`.
        public var nearTieMargin: Double
        /// The cross-validated mean relative error of the cost estimates (the chosen cost groups).
        public var costRelativeError: Double?
        /// Chosen number of cost groups (0: one mean output length per model).
        public var costGroups: Int
        /// What the task prior chose: its features and epochs, and its cross-validated log loss.
        public var taskPrior: String?
    }

    /// This strategy's λ when none is given (its own, else the manifest's).
    public func defaultLambda(of strategy: String) -> Double {
        strategies.first { $0.name == strategy }?.defaultLambda ?? defaultLambda
    }

    public struct BuildInfo: Codable, Sendable, Hashable {
        public var createdAt: String
        public var trainFile: String
        public var devFile: String?
        public var trainRecords: Int
        public var devRecords: Int
        public var seed: UInt64
        public var seconds: Double
    }

    public struct FeaturizerTrial: Codable, Sendable, Hashable {
        public var featurizer: String
        /// Cross-validated AIQ per strategy (before format 3: dev AIQ).
        public var cvAIQ: [String: Double]
        /// Its standard error per strategy (nil before format 3).
        public var cvStandardError: [String: Double]? = nil

        public init(featurizer: String, cvAIQ: [String: Double], cvStandardError: [String: Double]? = nil) {
            self.featurizer = featurizer
            self.cvAIQ = cvAIQ
            self.cvStandardError = cvStandardError
        }

        enum CodingKeys: String, CodingKey { case featurizer, cvAIQ, cvStandardError, devAIQ }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            featurizer = try c.decode(String.self, forKey: .featurizer)
            cvAIQ = try c.decodeIfPresent([String: Double].self, forKey: .cvAIQ) ?? c.decode([String: Double].self, forKey: .devAIQ)
            cvStandardError = try c.decodeIfPresent([String: Double].self, forKey: .cvStandardError)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(featurizer, forKey: .featurizer)
            try c.encode(cvAIQ, forKey: .cvAIQ)
            try c.encodeIfPresent(cvStandardError, forKey: .cvStandardError)
        }
    }

    /// Reads and checks `manifest.json` in `directory`.
    public static func load(from directory: URL) throws(SwitchyardError) -> RouterManifest {
        let url = directory.appendingPathComponent("manifest.json")
        struct Version: Decodable { var formatVersion: Int }
        let version = try ArtifactFiles.readJSON(Version.self, from: url)
        guard readableFormatVersions.contains(version.formatVersion) else {
            throw .badFile(
                file: url.path,
                reason: "artifact format version \(version.formatVersion), this switchyard reads versions \(readableFormatVersions.lowerBound)–\(readableFormatVersions.upperBound): rebuild it with `switchyard profile build`"
            )
        }
        let manifest = try ArtifactFiles.readJSON(RouterManifest.self, from: url)
        try ArtifactFiles.check(!manifest.models.isEmpty, url, "lists no models")
        try ArtifactFiles.check(manifest.strategies.contains { $0.name == manifest.autoStrategy }, url, "auto strategy '\(manifest.autoStrategy)' is not among the strategies")
        return manifest
    }
}
