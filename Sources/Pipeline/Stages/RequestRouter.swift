import Routing
import SwitchyardCore

/// What the score stage needs from `Routing`: the decision for one query, made exactly as `switchyard
/// route` makes it (`Router.decide`), every eligible model ranked best first. The batch budget, pool and
/// fallback count are `ScoreStage`'s job.
public protocol RequestRouter: Sendable {
    /// Strategy name written into decisions.
    var strategyName: String { get }
    /// Models this router knows.
    var models: [String] { get }
    /// False for price-only routers: their records carry `predicted_quality: null`.
    var predictsQuality: Bool { get }
    /// The decision for one profiled query under `constraints` (pin, pool, cost cap).
    func decide(id: String, features: QueryFeatures, constraints: RoutingConstraints) throws(RoutingError) -> RoutingDecision
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
    public var predictsQuality: Bool { false }

    public func decide(id: String, features: QueryFeatures, constraints: RoutingConstraints) throws(RoutingError) -> RoutingDecision {
        let cost = prices.map { $0.price.cost(inputTokens: Double(features.inputTokens), outputTokens: expectedOutputTokens) }
        return try DecisionRule.decide(
            id: id, strategy: strategyName, models: models, quality: [Double](repeating: 0, count: prices.count), cost: cost,
            constraints: constraints, order: preference == .cheapest ? .cheapest : .listed)
    }
}

/// A trained `Router` (strategy + cost model, loaded from the profiles) as the score stage's router.
extension Router: RequestRouter {
    public var strategyName: String { strategy.name }
    public var models: [String] { strategy.models }
    public var predictsQuality: Bool { true }

    public func decide(id: String, features: QueryFeatures, constraints: RoutingConstraints) throws(RoutingError) -> RoutingDecision {
        try decide(id: id, query: features, constraints: constraints)
    }
}

/// One model's prospects for one query, as the batch budget weighs them.
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
