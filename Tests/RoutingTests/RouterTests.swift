import Budget
import Foundation
@testable import Routing
import SwitchyardCore
import Testing

/// The Router's choice, ranking and constraints on a fixed strategy.
@Suite struct RouterTests {
    struct FixedStrategy: RoutingStrategy {
        var name = "fixed"
        var models = ["a", "b", "c"]
        var quality: [Double] = [0.9, 0.7, 0.3]
        func predictQuality(_ query: QueryFeatures) -> [Double] { quality }
    }

    /// a costs 10·(in+out)/1e6, b 1·, c 0.1· (with 100 in and 100 out tokens: 0.002, 0.0002, 0.00002).
    func costModel() throws -> CostModel {
        try CostModel(
            models: ["a", "b", "c"],
            prices: [ModelPrice(inputUSDPerMTok: 10, outputUSDPerMTok: 10), ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 1), ModelPrice(inputUSDPerMTok: 0.1, outputUSDPerMTok: 0.1)],
            meanOutputTokens: [100, 100, 100]
        )
    }

    let query = QueryFeatures(vector: [], inputTokens: 100)

    @Test func lambdaTradesQualityForCost() throws {
        let best = try Router(strategy: FixedStrategy(), costModel: costModel(), lambda: 0).decide(id: "1", query: query)
        #expect(best.model == "a")
        #expect(best.alternatives.map(\.model) == ["b", "c"])
        #expect(abs(best.estimatedCostUSD - 0.002) < 1e-12)
        // λ = 200/USD: a scores 0.9 − 0.4 = 0.5, b 0.7 − 0.04 = 0.66, c 0.3 − 0.004.
        let mid = try Router(strategy: FixedStrategy(), costModel: costModel(), lambda: 200).decide(id: "1", query: query)
        #expect(mid.model == "b")
        #expect(mid.alternatives.map(\.model) == ["a", "c"])
        let cheapest = try Router(strategy: FixedStrategy(), costModel: costModel(), lambda: .infinity).decide(id: "1", query: query)
        #expect(cheapest.model == "c")
        #expect(cheapest.strategy == "fixed")
    }

    @Test func constraintsExcludeModels() throws {
        let router = try Router(strategy: FixedStrategy(), costModel: costModel(), lambda: 0)
        #expect(try router.decide(id: "1", query: query, constraints: .init(deniedModels: ["a"])).model == "b")
        #expect(try router.decide(id: "1", query: query, constraints: .init(unavailableModels: ["a", "b"])).model == "c")
        #expect(try router.decide(id: "1", query: query, constraints: .init(allowedModels: ["c"])).alternatives.isEmpty)
        #expect(try router.decide(id: "1", query: query, constraints: .init(maxCostUSD: 0.0005)).model == "b")
        #expect(throws: RoutingError.overCostCap(maxCostUSD: 0.00001, cheapestUSD: 0.00002)) {
            try router.decide(id: "1", query: query, constraints: .init(maxCostUSD: 0.00001))
        }
        #expect(try router.decide(id: "1", query: query, constraints: .init(minQuality: 0.5)).alternatives.map(\.model) == ["b"])
        do {
            _ = try router.decide(id: "1", query: query, constraints: .init(minQuality: 0.95))
            Issue.record("expected noEligibleModel")
        } catch {
            #expect(error.code == .noEligibleModel)
        }
    }

    @Test func unknownModelInStrategyIsAnError() throws {
        var strategy = FixedStrategy()
        strategy.models = ["a", "b", "zzz"]
        #expect(throws: RoutingError.self) { try Router(strategy: strategy, costModel: costModel(), lambda: 0) }
    }

    @Test func sweepAndAIQMatchHandComputation() throws {
        // Two queries, two models: model 0 right on query 0 (cost 1), model 1 right on query 1 (cost 3).
        let outcomes = try FloatMatrix(rows: 2, cols: 2, values: [1, 0, 0, 1])
        let costs = try FloatMatrix(rows: 2, cols: 2, values: [1, 3, 1, 3])
        let perfect = CostQualitySweep.sweep(predicted: [1, 0, 0, 1], estimated: [1, 3, 1, 3], outcomes: outcomes, costs: costs, lambdas: [0])
        #expect(perfect == [CostQualityPoint(lambda: 0, cost: 2, quality: 1)])
        // Points (1, 0.5) and (2, 1) over [1, 3]: Q = 0.5 on [1, 2), 1 on [2, 3] → area 1.5 / 2.
        let points = [CostQualityPoint(lambda: 1, cost: 1, quality: 0.5), CostQualityPoint(lambda: 0, cost: 2, quality: 1)]
        #expect(abs(CostQualitySweep.aiq(points, lo: 1, hi: 3) - 0.75) < 1e-12)
        #expect(CostQualitySweep.costToMatch(1, points) == 2)
        #expect(CostQualitySweep.quality(at: 0.5, points) == 0)
    }
}
