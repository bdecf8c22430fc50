import Routing
import SwitchyardCore

/// Any trained `RoutingStrategy` (loaded from the profiles) plus a `CostEstimator`.
public struct StrategyRouter: RequestRouter {
    public let strategy: any RoutingStrategy
    public let costs: CostEstimator

    public init(strategy: any RoutingStrategy, costs: CostEstimator) {
        self.strategy = strategy
        self.costs = costs
    }

    public var strategyName: String { strategy.name }
    public var models: [String] { strategy.models }

    public func assess(_ features: QueryFeatures) -> [ModelAssessment] {
        let quality = strategy.predictQuality(features)
        let estimated = costs.costs(inputTokens: features.inputTokens)
        let costByModel = Dictionary(zip(costs.models, estimated), uniquingKeysWith: { first, _ in first })
        return strategy.models.enumerated().map { index, model in
            ModelAssessment(
                model: model, predictedQuality: index < quality.count ? quality[index] : nil,
                estimatedCostUSD: costByModel[model] ?? 0)
        }
    }
}
