import Foundation
import Logging
import Profiling
import Routing
import SwitchyardCore
import Testing
@testable import Evaluation

/// A batch budget is a cap, not a spending target: on both data sets' test splits, whatever the budget,
/// budget mode (`eval --budgets`, the `BudgetAllocator` that `route --budget-usd` runs) realises at least
/// the quality the λ sweep reaches at the same realised spend, within noise.
///
/// "Within noise", paired: the sweep's quality at a spend x is the best of ~400 λ points costing ≤ x, read
/// on the test outcomes (an oracle choice of λ, optimistic by construction). The test recovers that
/// point's λ, routes the split at it, and takes the per-prompt difference d_i = outcome(budget mode's
/// choice) − outcome(the sweep point's choice); it requires mean(d) ≥ −2 s.e.(d), s.e. = sd(d) / √n. A rule
/// that is systematically worse than the envelope fails; one that loses by less than the paired noise of
/// the two routings (a few prompts where they disagree) passes. The figures are printed per budget: the
/// margin in prompts (n · mean d) and in standard errors.
///
/// Before the budget's λ was floored at the strategy's own default λ, it fell to λ = 0 at large budgets,
/// where predicted-quality differences between the top models are mostly noise, and bought expensive
/// models for nothing (ZeroEval test, uniroute-cluster at 100 %: 0.8075 at $1.484 against the sweep's
/// 0.8239 at no more cost).
@Suite("Batch budgets against the λ sweep (both data sets)")
struct BudgetRuleTests {
    static let fractions = [0.1, 0.25, 0.5, 0.75, 1.0, 2.0]

    @Test("at every budget, quality ≥ the sweep's at the same realised spend − 2 s.e. of the paired difference", arguments: ["zeroeval", "llmrouter"])
    func budgetMatchesSweep(_ name: String) throws {
        let train = try SharedData.dataset(name, "train")
        let dev = try SharedData.dataset(name, "dev")
        let test = try SharedData.dataset(name, "test")
        let catalog = try ModelInfo.loadCatalog(path: SharedData.root.appendingPathComponent("\(name)/models.json").path)
        let prices = Dictionary(uniqueKeysWithValues: catalog.map { ($0.name, $0.price) })
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-budget-rule-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try ProfileBuilder(
            configuration: .init(
                featurizers: [Featurizer.Configuration(lexical: .init(dimension: 1024))],
                strategies: ["best-single", "uniroute-cluster"], seed: 0, costGroupCandidates: [0, 8], taskFeaturizers: [],
                // Two folds keep the debug build's profile cheap; only the default λ (the budget's floor)
                // may move with them, and the assertion holds whatever λ the folds choose.
                folds: 2),
            logger: Logger(label: "budget-rule", factory: { _ in SwiftLogNoOpLogHandler() })
        ).build(train: train, dev: dev, prices: prices, sources: .init(trainFile: "train.jsonl", devFile: "dev.jsonl"), to: directory)
        let artifact = try RouterArtifact.load(from: directory)
        let (tables, predictions) = try ArtifactEvaluation.predictions(artifact: artifact, dataset: test)
        let evaluator = Evaluator(configuration: .init(budgetFractions: Self.fractions))
        let report = try evaluator.evaluate(tables, strategies: predictions, dataset: name)
        let n = tables.count
        let models = tables.models.count
        var compared = 0
        for (strategy, predicted) in zip(report.strategies, predictions) {
            #expect(strategy.name == predicted.name)
            #expect(strategy.budgets.count == Self.fractions.count)
            for row in strategy.budgets where row.unanswered == 0 {
                let spend = row.realisedSpendUSD / Double(n)
                let x = spend + 1e-15
                // The point that defines the envelope Q(x) (the cheapest among the best).
                let point = try #require(strategy.points.filter { $0.cost <= x + 1e-15 }.max {
                    $0.quality != $1.quality ? $0.quality < $1.quality : $0.cost > $1.cost
                })
                #expect(point.quality == strategy.curve.quality(at: x))
                let sweepChoices = Evaluator.choices(predicted, models: models, lambda: point.lambda ?? .infinity)
                #expect(abs(tables.realised(sweepChoices).quality - point.quality) < 1e-12)
                let budgetChoices = try evaluator.allocate(tables, predicted, budgetUSD: row.budgetUSD).choices
                #expect(abs(tables.realised(budgetChoices).quality - row.quality) < 1e-12)
                var differences: [Double] = []
                for i in 0..<n {
                    guard let b = budgetChoices[i], let s = sweepChoices[i] else { continue }
                    differences.append(tables.outcome(i, b) - tables.outcome(i, s))
                }
                try #require(differences.count == n, "every prompt is answered by both routings")
                let mean = differences.reduce(0, +) / Double(n)
                let variance = differences.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, n - 1))
                let standardError = (variance / Double(n)).squareRoot()
                let label = "\(name) \(strategy.name) at \(Int(row.fraction * 100)) %"
                let lambda = point.lambda.map { String(format: "%.4g", $0) } ?? "∞"
                let margin = standardError > 0 ? String(format: "%+.2f s.e.", mean / standardError) : "same choices"
                print("\(label): budget \(String(format: "%.4f", row.quality)) at $\(String(format: "%.6f", spend)) per prompt, "
                    + "sweep \(String(format: "%.4f", point.quality)) (λ \(lambda)); "
                    + "\(String(format: "%+.1f", mean * Double(n))) prompts, s.e. \(String(format: "%.1f", standardError * Double(n))) prompts, \(margin)")
                #expect(
                    mean >= -2 * standardError,
                    "\(label): budget mode \(row.quality) at $\(spend) per prompt, the sweep \(point.quality): \(mean * Double(n)) prompts, 2 s.e. = \(2 * standardError * Double(n)) prompts")
                compared += 1
            }
        }
        #expect(compared >= 8, "most budgets must answer every prompt")
    }
}
