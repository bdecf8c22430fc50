import Logging
import Routing
import SwitchyardCore

/// The score stage as a plain type: features in, a routing decision (or an error record) out.
///
/// Picks argmax `quality − λ·cost` among models that fit the request's `max_cost_usd`; without
/// predicted quality it keeps the router's order. With a batch budget, `ScoreBudget` chooses instead
/// (streamed λ, ledger reservation, cheaper model before `budget_exhausted`) and the reservation travels
/// with the request. The runner-up models become the decision's alternatives, which dispatch falls back
/// along; under a budget those estimated at most the reserved model's cost come first, and pricier ones
/// (that still fit the budget left) only when fewer cheaper ones remain.
public struct ScoreStage: Sendable {
    public let router: any RequestRouter
    /// λ in quality per USD; 0 means quality first. From `router.lambda` (auto: 0).
    public let lambda: Double
    /// The batch budget; nil for none.
    public let budget: ScoreBudget?
    /// Models the pipeline can call (pipeline.yaml `models`); nil: every model the router knows.
    public let poolModels: Set<String>?
    /// Fallback models kept per decision. Default 2.
    public let maxAlternatives: Int

    public init(router: any RequestRouter, lambda: Double = 0, budget: ScoreBudget? = nil, poolModels: Set<String>? = nil,
                maxAlternatives: Int = 2) {
        self.router = router
        self.lambda = lambda
        self.budget = budget
        self.poolModels = poolModels
        self.maxAlternatives = maxAlternatives
    }

    /// Call before `process`: waits (asynchronously, never blocking a thread) while the budget's
    /// reservations in flight exceed its pacing share, for at most `maxWait`, calling `keepAlive` about
    /// every second (extend the task's lease). Returns at once without a budget or pacing.
    public func waitForBudget(maxWait: Duration = .seconds(5), keepAlive: @Sendable () -> Void = {}) async {
        guard let budget, budget.shouldWaitForSettles else { return }
        let deadline = ContinuousClock.now + maxWait
        var lastKeepAlive = ContinuousClock.now
        while budget.shouldWaitForSettles, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
            if ContinuousClock.now - lastKeepAlive > .seconds(1) {
                keepAlive()
                lastKeepAlive = ContinuousClock.now
            }
        }
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
        var index = ranked[0]
        var hold: BudgetHold?
        if let budget {
            switch budget.choose(candidates, ranked: ranked) {
            case .route(let chosen, let reservation):
                index = chosen
                hold = reservation
            case .exhausted(let available, let cheapest):
                return .finished(.failure(
                    requestID: request.requestID, customID: request.customID, code: .budgetExhausted,
                    message: String(format: "batch budget exhausted: %.6f USD left, cheapest eligible model needs %.6f USD; raise --budget-usd", available, cheapest)))
            }
        }
        let chosen = candidates[index]
        var fallbacks = Array(ranked.filter { i in
            i != index && (hold == nil || candidates[i].estimatedCostUSD <= chosen.estimatedCostUSD)
        }.prefix(maxAlternatives))
        if let budget, fallbacks.count < maxAlternatives {
            // Under a budget the cheaper models come first; when too few are left (the cheapest was chosen),
            // pricier ones the budget still has room for follow, in rank order: dispatch reaches them only
            // after every cheaper candidate failed (a backend down, a model not served) and settles what
            // they cost, so a failing cheap backend does not fail every line routed to it.
            let room = budget.availableUSD
            fallbacks += ranked.filter { i in
                i != index && candidates[i].estimatedCostUSD > chosen.estimatedCostUSD && candidates[i].estimatedCostUSD <= room
            }.prefix(maxAlternatives - fallbacks.count)
        }
        let alternatives = fallbacks.map { i in
            RoutingAlternative(model: candidates[i].model, predictedQuality: candidates[i].predictedQuality ?? 0,
                               estimatedCostUSD: candidates[i].estimatedCostUSD)
        }
        let decision = RoutingDecision(
            id: request.customID, model: chosen.model, strategy: router.strategyName,
            predictedQuality: chosen.predictedQuality ?? 0, estimatedCostUSD: chosen.estimatedCostUSD,
            alternatives: Array(alternatives))
        return .next(RoutedRequest(request: request, decision: decision, predictedQuality: chosen.predictedQuality,
                                   inputTokens: item.features.inputTokens, budgetHold: hold))
    }

    /// Candidate indices, best first under the fixed λ (the router's order without predicted quality).
    private func rank(_ candidates: [ModelAssessment]) -> [Int] {
        guard candidates.contains(where: { $0.predictedQuality != nil }) else { return Array(candidates.indices) }
        return candidates.indices.sorted { a, b in
            let scoreA = (candidates[a].predictedQuality ?? 0) - lambda * candidates[a].estimatedCostUSD
            let scoreB = (candidates[b].predictedQuality ?? 0) - lambda * candidates[b].estimatedCostUSD
            if scoreA != scoreB { return scoreA > scoreB }
            if candidates[a].estimatedCostUSD != candidates[b].estimatedCostUSD { return candidates[a].estimatedCostUSD < candidates[b].estimatedCostUSD }
            return a < b
        }
    }
}
