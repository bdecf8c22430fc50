import Foundation
import Profiling
import SwitchyardCore

/// `manifest.json` of an artifact directory: what was built, from what, and how to load it.
///
/// Layout of the directory (format version 2):
/// ```
/// manifest.json              this file
/// featurizer/                featurizer.json (template lines, options) + idf.f32
/// cost_model.json            Budget.CostModel: prices and predicted output tokens per model
/// strategies/<name>/         one directory per strategy (its own JSON + raw little-endian Float32 *.f32)
/// task_prior/                optional `TaskPrior` (task_prior.json, theta.f32, quality.f32) that strategies
///                            with a `taskPriorWeight` below 1 are blended toward
/// task_featurizer/           optional featurizer of the task prior's classifier (whole prompt, template kept),
///                            present when `task_prior.json` says `readsTaskVector` (new in version 2)
/// ```
/// Matrices are raw little-endian Float32 without header; their shapes are in the JSON beside them.
public struct RouterManifest: Codable, Sendable, Hashable {
    /// Bumped whenever the layout or a file's meaning changes; `route` refuses versions it cannot read.
    public static let currentFormatVersion = 2
    /// Versions this switchyard reads: version 1 is version 2 without `task_featurizer/` (its task
    /// prior reads the routing vector). A version-1 switchyard refuses version 2, whose task prior it
    /// would misread.
    public static let readableFormatVersions = 1...currentFormatVersion

    public var formatVersion: Int
    public var featurizer: Featurizer.Configuration
    public var featurizerLabel: String
    public var featureDimension: Int
    public var tokenCounter: TokenCounter
    public var models: [String]
    public var prices: [String: ModelPrice]
    public var strategies: [StrategyEntry]
    /// The strategy `auto` resolves to: best dev area under the cost–quality curve.
    public var autoStrategy: String
    /// λ used when `route` is given neither `--lambda` nor `--budget-usd`: the cheapest point of the
    /// auto strategy's dev curve that reaches the best single model's dev quality (or its best quality).
    public var defaultLambda: Double
    public var build: BuildInfo
    /// Dev AIQ of every strategy under every featurizer tried (empty when only one was tried).
    public var featurizerComparison: [FeaturizerTrial]

    public struct StrategyEntry: Codable, Sendable, Hashable {
        public var name: String
        /// Area under the dev cost–quality curve (dev outcomes not in the fitted tables).
        public var devAIQ: Double
        /// Seconds spent training (both fits).
        public var trainSeconds: Double
        /// Weight of the strategy's own prediction against the task prior (`TaskPriorBlendStrategy`,
        /// chosen on dev); absent or 1: not blended.
        public var taskPriorWeight: Double? = nil
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
        public var devAIQ: [String: Double]
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
