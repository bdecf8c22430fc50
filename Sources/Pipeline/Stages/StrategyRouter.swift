import Routing
import SwitchyardCore

/// A trained `Router` (strategy + cost model, loaded from the profiles) as the score stage's router:
/// the stage applies λ, cost caps, pins and the batch budget itself.
extension Router: RequestRouter {
    public var strategyName: String { strategy.name }
    public var models: [String] { strategy.models }

    public func assess(_ features: QueryFeatures) -> [ModelAssessment] {
        let quality = strategy.predictQuality(features)
        let costs = estimatedCosts(features)
        return strategy.models.enumerated().map { index, model in
            ModelAssessment(
                model: model, predictedQuality: index < quality.count ? quality[index] : nil,
                estimatedCostUSD: index < costs.count ? costs[index] : 0)
        }
    }
}
