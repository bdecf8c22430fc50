import Routing
import SwitchyardCore

/// What the score stage needs from `Routing`: per-model predicted quality and estimated cost for one
/// query. Choosing under λ, cost caps and the batch budget is `ScoreStage`'s job.
public protocol RequestRouter: Sendable {
    /// Strategy name written into decisions.
    var strategyName: String { get }
    /// Pool models this router knows, in the order of `assess`'s results.
    var models: [String] { get }
    /// Predicted quality (nil when the strategy predicts none) and estimated USD, per model of `models`.
    func assess(_ features: QueryFeatures) -> [ModelAssessment]
}

/// One model's prospects for one query.
public struct ModelAssessment: Sendable, Hashable {
    public var model: String
    public var predictedQuality: Double?
    public var estimatedCostUSD: Double

    public init(model: String, predictedQuality: Double?, estimatedCostUSD: Double) {
        self.model = model
        self.predictedQuality = predictedQuality
        self.estimatedCostUSD = estimatedCostUSD
    }
}

/// Routes on configured prices alone, for pools without trained profiles.
///
/// `cheapest` prefers the lowest estimated cost; `first` prefers the pool's order. Neither predicts
/// quality (decisions carry `predicted_quality: null`), so neither needs `router.profiles`.
public struct PriceRouter: RequestRouter {
    public enum Preference: String, Sendable { case cheapest, first }

    public let preference: Preference
    public let prices: [(name: String, price: ModelPrice)]
    /// Output tokens assumed per call when estimating cost. Default 256.
    public let expectedOutputTokens: Double

    public init(preference: Preference, models: [ModelConfiguration], expectedOutputTokens: Double = 256) {
        self.preference = preference
        self.prices = models.map { ($0.name, $0.price) }
        self.expectedOutputTokens = expectedOutputTokens
    }

    public var strategyName: String { preference.rawValue }
    public var models: [String] { prices.map(\.name) }

    public func assess(_ features: QueryFeatures) -> [ModelAssessment] {
        let assessments = prices.map { entry in
            ModelAssessment(
                model: entry.name, predictedQuality: nil,
                estimatedCostUSD: entry.price.cost(inputTokens: Double(features.inputTokens), outputTokens: expectedOutputTokens))
        }
        switch preference {
        case .first: return assessments
        case .cheapest:
            return assessments.enumerated()
                .sorted { ($0.element.estimatedCostUSD, $0.offset) < ($1.element.estimatedCostUSD, $1.offset) }
                .map(\.element)
        }
    }
}
