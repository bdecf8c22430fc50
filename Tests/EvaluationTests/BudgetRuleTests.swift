import Foundation
import Logging
import Profiling
import Routing
import SwitchyardCore
import Testing
@testable import Evaluation

/// A batch budget is a cap, not a spending target: on both data sets' test splits, whatever the budget,
/// budget mode (`eval --budgets`, the `BudgetAllocator` that `route --budget-usd` runs) realises at least
/// the quality the λ sweep reaches at the same realised spend, within two prompts.
///
/// Before the budget's λ was floored at the strategy's own default λ, it fell to λ = 0 at large budgets,
/// where predicted-quality differences between the top models are mostly noise, and bought expensive
/// models for nothing (ZeroEval test, uniroute-cluster at 100 %: 0.8075 at $1.484 against the sweep's
/// 0.8239 at no more cost).
@Suite("Batch budgets against the λ sweep (both data sets)")
struct BudgetRuleTests {
    static let fractions = [0.1, 0.25, 0.5, 0.75, 1.0, 2.0]

    @Test("at every budget, quality ≥ the sweep's at the same realised spend", arguments: ["zeroeval", "llmrouter"])
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
                strategies: ["best-single", "uniroute-cluster"], seed: 0, costGroupCandidates: [0, 8], taskFeaturizers: []),
            logger: Logger(label: "budget-rule", factory: { _ in SwiftLogNoOpLogHandler() })
        ).build(train: train, dev: dev, prices: prices, sources: .init(trainFile: "train.jsonl", devFile: "dev.jsonl"), to: directory)
        let artifact = try RouterArtifact.load(from: directory)
        let (tables, predictions) = try ArtifactEvaluation.predictions(artifact: artifact, dataset: test)
        let report = try Evaluator(configuration: .init(budgetFractions: Self.fractions)).evaluate(tables, strategies: predictions, dataset: name)
        let n = Double(tables.count)
        var compared = 0
        for strategy in report.strategies {
            #expect(strategy.budgets.count == Self.fractions.count)
            for row in strategy.budgets where row.unanswered == 0 {
                let spend = row.realisedSpendUSD / n
                let sweep = try #require(strategy.curve.quality(at: spend + 1e-15))
                #expect(
                    row.quality >= sweep - 2 / n,
                    "\(name) \(strategy.name) at \(Int(row.fraction * 100)) %: budget mode \(row.quality) at $\(spend) per prompt, the sweep \(sweep)")
                compared += 1
            }
        }
        #expect(compared >= 8, "most budgets must answer every prompt")
    }
}
