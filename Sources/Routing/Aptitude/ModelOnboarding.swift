import Budget
import Foundation
import Logging
import Profiling
import SwitchyardCore

/// Onboards a new model into a built artifact directory from its aptitude outcomes and price alone:
/// no retraining and no inference of the other candidates (`switchyard models add`).
///
/// What changes: the aptitude strategy gets the model's aptitude vector; `uniroute-cluster` and
/// `uniroute-learned-map` get its per-cluster quality, computed from the same outcomes by mapping each
/// aptitude prompt (its stored vector) to their clusters; `inference-dynamics` gets its proficiencies
/// from the aptitude prompts' requirements; the shared task prior (when strategies are blended toward it)
/// gets its per-task quality the same way; the cost model and manifest get its price. Strategies that
/// need a model's outcomes on every training prompt (kNN, best-single, the ensemble's stack, ...) keep
/// their pool until the next `profile build`. Files are written strategies first and manifest last.
public enum ModelOnboarding {
    public struct Report: Sendable, Codable, Hashable {
        public var model: String
        /// Strategies that now score the model.
        public var updated: [String]
        /// Strategies left as they were, with why.
        public var unchanged: [String: String]
        /// Aptitude prompts answered, of the set's size.
        public var answered: Int
        public var aptitudeSize: Int
        /// The model's mean outcome on the aptitude prompts it answered.
        public var meanAptitude: Double
        /// Validation prompts UniRoute's per-cluster quality came from (0: from the aptitude prompts).
        public var validationPrompts: Int = 0
    }

    /// A new model's outcomes on a validation set and the prompts' routing vectors (the artifact's
    /// featurizer): UniRoute's own way to place a model, its error per cluster on held-out prompts.
    public struct Validation: Sendable {
        public var vectors: [[Float]]
        public var outcomes: [Float]

        public init(vectors: [[Float]], outcomes: [Float]) {
            self.vectors = vectors
            self.outcomes = outcomes
        }
    }

    /// Pseudo-count pulling a cluster's quality toward the model's overall aptitude (5 prompts).
    public static let clusterShrinkage: Float = 5

    /// `validation`, when given, fills the UniRoute strategies' per-cluster quality instead of the
    /// aptitude prompts (the rest is unchanged). Only answered aptitude prompts feed the UniRoute,
    /// inference-dynamics and task-prior columns; the aptitude strategy fills the others (`adding`).
    public static func onboard(
        directory: URL, model: String, price: ModelPrice, outcomes: AptitudeOutcomes, validation: Validation? = nil, logger: Logger
    ) throws -> Report {
        guard !model.isEmpty else { throw SwitchyardError.invalidArgument("--name must not be empty") }
        guard price.inputUSDPerMTok >= 0, price.outputUSDPerMTok >= 0 else {
            throw SwitchyardError.invalidArgument("prices must be ≥ 0 USD per million tokens")
        }
        var manifest = try RouterManifest.load(from: directory)
        guard manifest.strategies.contains(where: { $0.name == AptitudeStrategy.strategyName }) else {
            throw SwitchyardError.badFile(
                file: directory.path,
                reason: "the artifact has no '\(AptitudeStrategy.strategyName)' strategy, whose aptitude set onboarding needs: rebuild it with `switchyard profile build` including that strategy")
        }
        let aptitudeDirectory = RouterArtifact.strategyDirectory(directory, AptitudeStrategy.strategyName)
        let aptitude = try AptitudeStrategy.load(from: aptitudeDirectory).adding(model: model, outcomes: outcomes.outcomes)
        guard let fullRow = aptitude.models.firstIndex(of: model).map({ aptitude.aptitude[$0] }) else {
            throw SwitchyardError.invalidArgument("model \(model) was not added")
        }
        let set = aptitude.set
        // The answered aptitude prompts (all of them after a full test), in set order.
        let rows = (0..<set.count).filter { outcomes.outcomes[set.ids[$0]] != nil }
        let itemVectors = rows.map { Array(set.vectors[($0 * set.dimension)..<(($0 + 1) * set.dimension)]) }
        let observed = rows.map { fullRow[$0] }
        let answered = rows.count
        let mean = Double(observed.reduce(0, +)) / Double(max(1, observed.count))
        if let validation, validation.vectors.count != validation.outcomes.count || validation.vectors.isEmpty {
            throw SwitchyardError.invalidArgument("validation: \(validation.vectors.count) vectors for \(validation.outcomes.count) outcomes")
        }
        let clusterVectors = validation?.vectors ?? itemVectors
        let clusterOutcomes = validation?.outcomes ?? observed
        var updated: [String] = []
        var unchanged: [String: String] = [:]
        for entry in manifest.strategies {
            let strategyDirectory = RouterArtifact.strategyDirectory(directory, entry.name)
            switch entry.name {
            case AptitudeStrategy.strategyName:
                try aptitude.save(to: strategyDirectory)
                updated.append(entry.name)
            case UniRouteClusterStrategy.strategyName:
                let strategy = try UniRouteClusterStrategy.load(from: strategyDirectory)
                let clusters = strategy.clusters(clusterVectors.map { QueryFeatures(vector: $0, inputTokens: 0) })
                var membership = FloatMatrix(rows: clusterVectors.count, cols: strategy.centroids.rows)
                for (i, c) in clusters.enumerated() { membership[i, c] = 1 }
                let quality = appendingColumn(strategy.quality, models: strategy.models, model: model, membership: membership, outcomes: clusterOutcomes)
                try UniRouteClusterStrategy(models: columnNames(strategy.models, model), centroids: strategy.centroids, quality: quality)
                    .save(to: strategyDirectory)
                updated.append(entry.name)
            case UniRouteLearnedMapStrategy.strategyName:
                let strategy = try UniRouteLearnedMapStrategy.load(from: strategyDirectory)
                let x = try FloatMatrix(stacking: clusterVectors, cols: strategy.theta.cols)
                let membership = UniRouteLearnedMapStrategy.probabilities(x, theta: strategy.theta, bias: strategy.bias)
                let quality = appendingColumn(strategy.quality, models: strategy.models, model: model, membership: membership, outcomes: clusterOutcomes)
                try UniRouteLearnedMapStrategy(models: columnNames(strategy.models, model), theta: strategy.theta, bias: strategy.bias, quality: quality)
                    .save(to: strategyDirectory)
                updated.append(entry.name)
            case InferenceDynamicsStrategy.strategyName:
                let strategy = try InferenceDynamicsStrategy.load(from: strategyDirectory)
                if let extended = strategy.adding(model: model, vectors: itemVectors, outcomes: observed.map(Double.init)) {
                    try extended.save(to: strategyDirectory)
                    updated.append(entry.name)
                } else {
                    unchanged[entry.name] = "its requirements came from the profiler; rebuild to include the model"
                }
            case EnsembleStrategy.strategyName:
                unchanged[entry.name] = "its stack has weights per model, learned from outcomes on all training prompts; rebuild to include it"
            default:
                unchanged[entry.name] = "needs the model's outcomes on all training prompts; rebuild to include it"
            }
        }
        // The task prior blended strategies lean on gets the model's column from the same outcomes.
        let priorDirectory = directory.appendingPathComponent(RouterArtifact.taskPriorDirectory)
        if FileManager.default.fileExists(atPath: priorDirectory.appendingPathComponent("task_prior.json").path) {
            let prior = try TaskPrior.load(from: priorDirectory)
            // A classifier over the whole prompt reads the aptitude prompts through its own featurizer.
            let vectors = try prior.readsTaskVector
                ? Featurizer.load(from: directory.appendingPathComponent(RouterArtifact.taskFeaturizerDirectory)).vectors(rows.map { set.prompts[$0] }) : itemVectors
            try prior.adding(model: model, vectors: vectors, outcomes: observed, shrinkage: clusterShrinkage).save(to: priorDirectory)
        }
        let costModelURL = directory.appendingPathComponent("cost_model.json")
        let costModel = try ArtifactFiles.readJSON(CostModel.self, from: costModelURL)
            .adding(model: model, price: price, meanOutputTokens: outcomes.meanOutputTokens)
        try ArtifactFiles.writeJSON(costModel, to: costModelURL)
        if !manifest.models.contains(model) { manifest.models.append(model) }
        manifest.prices[model] = price
        try ArtifactFiles.writeJSON(manifest, to: directory.appendingPathComponent("manifest.json"))
        logger.info("onboarded model", metadata: [
            "model": "\(model)", "updated": "\(updated.joined(separator: ","))", "answered": "\(answered)/\(set.count)",
        ])
        return Report(
            model: model, updated: updated, unchanged: unchanged, answered: answered, aptitudeSize: set.count, meanAptitude: mean,
            validationPrompts: validation?.vectors.count ?? 0)
    }

    static func columnNames(_ models: [String], _ model: String) -> [String] {
        models.contains(model) ? models : models + [model]
    }

    /// The quality table with the model's column (added, or replaced when it exists):
    /// quality_k = (Σᵢ p(k|i)·oᵢ + s·mean) / (Σᵢ p(k|i) + s) over the aptitude prompts i.
    static func appendingColumn(
        _ quality: FloatMatrix, models: [String], model: String, membership: FloatMatrix, outcomes: [Float], shrinkage: Float = clusterShrinkage
    ) -> FloatMatrix {
        let k = quality.rows
        let mean = outcomes.reduce(0, +) / Float(max(1, outcomes.count))
        var column = [Float](repeating: 0, count: k)
        for c in 0..<k {
            var num: Float = 0, den: Float = 0
            for i in 0..<min(membership.rows, outcomes.count) {
                num += membership[i, c] * outcomes[i]
                den += membership[i, c]
            }
            column[c] = (num + shrinkage * mean) / (den + shrinkage)
        }
        let existing = models.firstIndex(of: model)
        let cols = existing == nil ? quality.cols + 1 : quality.cols
        var out = FloatMatrix(rows: k, cols: cols)
        for r in 0..<k {
            for j in 0..<quality.cols { out[r, j] = quality[r, j] }
            out[r, existing ?? quality.cols] = column[r]
        }
        return out
    }
}
