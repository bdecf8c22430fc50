import Foundation
import Logging
import Routing
import SwitchyardCore

/// Leave-models-out evaluation of onboarding: hold some models out of training, build the artifact without
/// them, onboard each from its aptitude outcomes only (`ModelOnboarding`, what `switchyard models add`
/// does), then evaluate on the full pool. Comparing with the same artifact before onboarding shows what the
/// new models add without retraining.
public enum LeaveModelsOut {
    public struct Result: Sendable {
        public var heldOut: [String]
        public var onboarding: [ModelOnboarding.Report]
        /// Strategies of the artifact before onboarding (held-out models unscored, never chosen), full pool.
        public var before: EvaluationReport
        /// The same strategies after onboarding.
        public var after: EvaluationReport
    }

    /// Removes `models` from every record (outcomes, costs, output tokens).
    public static func without(_ models: Set<String>, _ data: RoutingDataset) -> RoutingDataset {
        RoutingDataset(records: data.records.map { record in
            var r = record
            for m in models {
                r.outcomes[m] = nil
                r.costs[m] = nil
                r.outputTokens?[m] = nil
            }
            return r
        })
    }

    /// Runs the whole protocol in `directory` (the artifact is written to `directory/profiles`).
    /// `builder` must include the `aptitude` strategy (onboarding needs its aptitude set).
    public static func run(
        train: RoutingDataset, dev: RoutingDataset?, test: RoutingDataset, prices: [String: ModelPrice],
        heldOut: [String], builder: ProfileBuilder, directory: URL, logger: Logger,
        evaluator: Evaluator = Evaluator()
    ) throws -> Result {
        let held = Set(heldOut)
        let profiles = directory.appendingPathComponent("profiles")
        _ = try builder.build(
            train: without(held, train), dev: dev.map { without(held, $0) }, prices: prices,
            sources: .init(trainFile: "train (leave-models-out)", devFile: dev == nil ? nil : "dev (leave-models-out)"),
            to: profiles)
        let beforeArtifact = try RouterArtifact.load(from: profiles)
        let (tables, beforePredictions) = try ArtifactEvaluation.predictions(artifact: beforeArtifact, dataset: test)
        _ = tables
        var reports: [ModelOnboarding.Report] = []
        let known = train.records + (dev?.records ?? [])
        for model in heldOut {
            guard let price = prices[model] else {
                throw SwitchyardError.invalidArgument("no price for held-out model '\(model)': add it to models.json")
            }
            var outcomes: [String: Double] = [:]
            var tokens = 0.0, counted = 0.0
            for record in known {
                if let q = record.outcomes[model] { outcomes[record.id] = q }
                if let t = record.outputTokens?[model] { tokens += Double(t); counted += 1 }
            }
            let aptitude = AptitudeOutcomes(model: model, outcomes: outcomes, meanOutputTokens: counted > 0 ? tokens / counted : nil)
            reports.append(try ModelOnboarding.onboard(directory: profiles, model: model, price: price, outcomes: aptitude, logger: logger))
        }
        let afterArtifact = try RouterArtifact.load(from: profiles)
        // Evaluate on the full pool: the test split's models, as the artifact now lists them.
        let fullTables = try EvaluationTables(dataset: test, models: afterArtifact.manifest.models.filter { test.models.contains($0) })
        let (_, afterPredictions) = try ArtifactEvaluation.predictions(artifact: afterArtifact, dataset: test)
        // Before: the same pool, held-out columns never chosen.
        let before = try evaluator.evaluate(
            fullTables, strategies: remap(beforePredictions, from: beforeArtifact.manifest.models.filter { test.models.contains($0) }, to: fullTables.models),
            dataset: "before onboarding (\(heldOut.joined(separator: ", ")) held out)")
        let after = try evaluator.evaluate(
            fullTables, strategies: afterPredictions, dataset: "after onboarding \(heldOut.joined(separator: ", ")) from aptitude outcomes")
        return Result(heldOut: heldOut, onboarding: reports, before: before, after: after)
    }

    /// Re-lays predictions made over pool `from` onto pool `to` (models missing from `from` are never chosen).
    static func remap(_ predictions: [StrategyPredictions], from: [String], to: [String]) -> [StrategyPredictions] {
        let a = from.count, b = to.count
        let columns = to.map { from.firstIndex(of: $0) }
        return predictions.map { p in
            let n = p.predicted.count / max(1, a)
            var q = [Double](repeating: -1e6, count: n * b), c = [Double](repeating: 1e6, count: n * b)
            for i in 0..<n {
                for j in 0..<b {
                    if let k = columns[j] {
                        q[i * b + j] = p.predicted[i * a + k]
                        c[i * b + j] = p.estimated[i * a + k]
                    }
                }
            }
            return StrategyPredictions(name: p.name, predicted: q, estimated: c)
        }
    }
}
