import Foundation
import Routing
import SwitchyardCore

/// Turns a loaded router artifact and a routing-data split into what `Evaluator` needs: the split's realised
/// tables and every strategy's predicted quality and estimated cost (as the `Router` would see them).
/// `switchyard eval` is this plus `Evaluator` and `EvaluationOutput`.
public enum ArtifactEvaluation {
    /// Prompts profiled per featurizer call (bounds memory on big splits).
    public static let profileBatch = 256

    /// - `strategies`: names to evaluate (nil: every strategy loaded in the artifact).
    public static func predictions(
        artifact: RouterArtifact, dataset: RoutingDataset, strategies: [String]? = nil
    ) throws -> (tables: EvaluationTables, predictions: [StrategyPredictions]) {
        let pool = artifact.manifest.models.filter { dataset.models.contains($0) }
        guard !pool.isEmpty else {
            throw SwitchyardError.invalidArgument(
                "the data has none of the artifact's models (\(artifact.manifest.models.joined(separator: ", "))): evaluate on data of the same pool")
        }
        let tables = try EvaluationTables(dataset: dataset, models: pool)
        let profiler = artifact.profiler()
        var features: [QueryFeatures] = []
        features.reserveCapacity(dataset.records.count)
        let prompts = dataset.records.map(\.prompt)
        for start in stride(from: 0, to: prompts.count, by: profileBatch) {
            features += try profiler.profile(Array(prompts[start..<min(start + profileBatch, prompts.count)])).map(QueryFeatures.init)
        }
        let m = pool.count
        var out: [StrategyPredictions] = []
        for name in strategies ?? artifact.strategies.keys.sorted() {
            guard let strategy = artifact.strategies[name] else {
                throw SwitchyardError.invalidArgument(
                    "strategy '\(name)' is not loaded from the artifact; available: \(artifact.strategies.keys.sorted().joined(separator: ", "))")
            }
            let columns = pool.map { strategy.models.firstIndex(of: $0) }
            // Quality and cost exactly as `route` and the pipeline's score stage see them (`Router.predict`).
            let router = try artifact.router(strategy: name)
            let predictions = features.map(router.predict)
            let rows = predictions.map(\.quality)
            let costs = predictions.map(\.cost)
            var predicted = [Double](repeating: -1e6, count: tables.count * m)  // a model the strategy does not score is never chosen
            var estimated = [Double](repeating: 1e6, count: tables.count * m)
            for (i, row) in rows.enumerated() {
                for j in 0..<m {
                    if let k = columns[j], k < row.count, k < costs[i].count {
                        predicted[i * m + j] = row[k]
                        estimated[i * m + j] = costs[i][k]
                    }
                }
            }
            if strategy.routesOnCostOnly {
                costOnlyScores(&predicted, estimated: estimated, models: m)
            }
            out.append(StrategyPredictions(
                name: name, predicted: predicted, estimated: estimated, minimumLambda: artifact.manifest.defaultLambda(of: strategy.name)))
        }
        return (tables, out)
    }

    /// What a price-only strategy (`cheapest`) is judged on: the `Router`'s own score for it, the cheapest
    /// estimate first (−cost / the row's largest cost, predicted quality only breaking ties), so the λ sweep
    /// and the budgets choose exactly what `route --strategy cheapest` would, instead of ranking by the
    /// strategy's predicted qualities (the model means, which made it a copy of `best-single`).
    static func costOnlyScores(_ predicted: inout [Double], estimated: [Double], models m: Int) {
        guard m > 0 else { return }
        for start in stride(from: 0, to: predicted.count, by: m) {
            var maxCost = 1e-30
            for j in start..<(start + m) where predicted[j] > -1e6 && estimated[j] > maxCost { maxCost = estimated[j] }
            for j in start..<(start + m) where predicted[j] > -1e6 {
                predicted[j] = -(estimated[j] / maxCost) + 1e-9 * predicted[j]
            }
        }
    }
}
