import Logging
import Routing
import SwitchyardCore

/// The score stage as a plain type: features in, a routing decision (or an error record) out.
///
/// Picks argmax `quality − λ·cost` among models that fit the request's `max_cost_usd` and the batch
/// budget; without predicted quality it keeps the router's order. The runner-up models become the
/// decision's alternatives, which dispatch falls back along.
public struct ScoreStage: Sendable {
    public let router: any RequestRouter
    /// λ in quality per USD; 0 means quality first. From `router.lambda` (auto: 0).
    public let lambda: Double
    public let budget: BatchBudget
    /// Models the pipeline can call (pipeline.yaml `models`); nil: every model the router knows.
    public let poolModels: Set<String>?
    /// Fallback models kept per decision. Default 2.
    public let maxAlternatives: Int

    public init(router: any RequestRouter, lambda: Double = 0, budget: BatchBudget, poolModels: Set<String>? = nil,
                maxAlternatives: Int = 2) {
        self.router = router
        self.lambda = lambda
        self.budget = budget
        self.poolModels = poolModels
        self.maxAlternatives = maxAlternatives
    }

    public func process(_ item: ProfiledRequest, logger: Logger) -> StageOutput<RoutedRequest> {
        let request = item.request
        var candidates = router.assess(item.features)
        if let poolModels { candidates = candidates.filter { poolModels.contains($0.model) } }
        if let pinned = request.pinnedModel {
            candidates = candidates.filter { $0.model == pinned }
            if candidates.isEmpty {
                return .finished(.failure(
                    requestID: request.requestID, customID: request.customID, code: .unknownModel,
                    message: "pinned model '\(pinned)' is not known to router '\(router.strategyName)': add it to the profiles or unpin it",
                    field: request.format == .openAIBatch ? "body.model" : "model"))
            }
        }
        guard !candidates.isEmpty else {
            return .finished(.failure(requestID: request.requestID, customID: request.customID, code: .noEligibleModel,
                                      message: "the router knows no model of the pool"))
        }
        if let cap = request.maxCostUSD {
            candidates = candidates.filter { $0.estimatedCostUSD <= cap }
            if candidates.isEmpty {
                return .finished(.failure(
                    requestID: request.requestID, customID: request.customID, code: .overCostCap,
                    message: "no model is estimated to cost at most max_cost_usd \(cap)", field: "max_cost_usd"))
            }
        }
        let ranked = rank(candidates)
        // Take the best model whose estimate still fits the budget.
        guard let index = ranked.firstIndex(where: { budget.reserve($0.estimatedCostUSD) }) else {
            let remaining = budget.remainingUSD ?? 0
            return .finished(.failure(
                requestID: request.requestID, customID: request.customID, code: .budgetExhausted,
                message: String(format: "batch budget exhausted: %.6f USD left, cheapest eligible model needs %.6f USD; raise --budget-usd", remaining, ranked.map(\.estimatedCostUSD).min() ?? 0)))
        }
        let chosen = ranked[index]
        let alternatives = ranked.enumerated().filter { $0.offset != index }.prefix(maxAlternatives).map { entry in
            RoutingAlternative(model: entry.element.model, predictedQuality: entry.element.predictedQuality ?? 0,
                               estimatedCostUSD: entry.element.estimatedCostUSD)
        }
        let decision = RoutingDecision(
            id: request.customID, model: chosen.model, strategy: router.strategyName,
            predictedQuality: chosen.predictedQuality ?? 0, estimatedCostUSD: chosen.estimatedCostUSD,
            alternatives: Array(alternatives))
        return .next(RoutedRequest(request: request, decision: decision, predictedQuality: chosen.predictedQuality,
                                   inputTokens: item.features.inputTokens))
    }

    private func rank(_ candidates: [ModelAssessment]) -> [ModelAssessment] {
        guard candidates.contains(where: { $0.predictedQuality != nil }) else { return candidates }
        return candidates.enumerated().sorted { a, b in
            let scoreA = (a.element.predictedQuality ?? 0) - lambda * a.element.estimatedCostUSD
            let scoreB = (b.element.predictedQuality ?? 0) - lambda * b.element.estimatedCostUSD
            if scoreA != scoreB { return scoreA > scoreB }
            if a.element.estimatedCostUSD != b.element.estimatedCostUSD { return a.element.estimatedCostUSD < b.element.estimatedCostUSD }
            return a.offset < b.offset
        }.map(\.element)
    }
}
