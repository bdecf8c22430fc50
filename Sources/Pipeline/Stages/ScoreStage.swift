import Logging
import Payloads
import Routing
import SwitchyardCore

/// The score stage as a plain type: features in, a routing decision (or an error record) out.
///
/// The decision is the router's (`RequestRouter.decide`, for a trained router exactly `Router.decide`, what
/// `switchyard route` runs), restricted to the pool, the line's pin and its `max_cost_usd`. With a batch
/// budget, `ScoreBudget` then chooses along that ranking (streamed λ, ledger reservation, cheaper model
/// before `budget_exhausted`) and the reservation travels with the request. The runner-up models become
/// the decision's alternatives, which dispatch falls back along; under a budget those estimated at most
/// the reserved model's cost come first, and pricier ones (that still fit the budget left) only when fewer
/// cheaper ones remain.
public struct ScoreStage: Sendable {
    public let router: any RequestRouter
    /// The batch budget; nil for none.
    public let budget: ScoreBudget?
    /// Models the pipeline can call (pipeline.yaml `models`); nil: every model the router knows.
    public let poolModels: Set<String>?
    /// Fallback models kept per decision. Default 2.
    public let maxAlternatives: Int
    /// The router's models that are in the pool, when that is not all of them (nil: no restriction).
    private let poolRestriction: Set<String>?

    public init(router: any RequestRouter, budget: ScoreBudget? = nil, poolModels: Set<String>? = nil, maxAlternatives: Int = 2) {
        self.router = router
        self.budget = budget
        self.poolModels = poolModels
        self.maxAlternatives = maxAlternatives
        poolRestriction = poolModels.flatMap { pool in router.models.allSatisfy(pool.contains) ? nil : pool.intersection(router.models) }
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

    public func process(_ item: ProfiledRequest, logger: @autoclosure () -> Logger) -> StageOutput<RoutedRequest> {
        let request = item.request
        var constraints = RoutingConstraints(maxCostUSD: request.maxCostUSD)
        if let pinned = request.pinnedModel {
            constraints.allowedModels = [pinned]
        } else {
            constraints.allowedModels = poolRestriction
        }
        let ranked: RoutingDecision
        do {
            ranked = try router.decide(id: request.customID, features: item.features, constraints: constraints)
        } catch {
            return .finished(failure(error, request: request))
        }
        // The ranking as candidates, best first.
        let candidates = [ModelAssessment(model: ranked.model, predictedQuality: ranked.predictedQuality, estimatedCostUSD: ranked.estimatedCostUSD)]
            + ranked.alternatives.map { ModelAssessment(model: $0.model, predictedQuality: $0.predictedQuality, estimatedCostUSD: $0.estimatedCostUSD) }
        var index = 0
        var hold: BudgetHold?
        if let budget {
            let assessed = router.predictsQuality ? candidates : candidates.map {
                ModelAssessment(model: $0.model, predictedQuality: nil, estimatedCostUSD: $0.estimatedCostUSD)
            }
            switch budget.choose(assessed, ranked: Array(assessed.indices)) {
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
        var fallbacks = Array(candidates.indices.filter { i in
            i != index && (hold == nil || candidates[i].estimatedCostUSD <= chosen.estimatedCostUSD)
        }.prefix(maxAlternatives))
        if let budget, fallbacks.count < maxAlternatives {
            // Under a budget the cheaper models come first; when too few are left (the cheapest was chosen),
            // pricier ones the budget still has room for follow, in rank order: dispatch reaches them only
            // after every cheaper candidate failed (a backend down, a model not served) and settles what
            // they cost, so a failing cheap backend does not fail every line routed to it.
            let room = budget.availableUSD
            fallbacks += candidates.indices.filter { i in
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
        return .next(RoutedRequest(request: request, decision: decision,
                                   predictedQuality: router.predictsQuality ? chosen.predictedQuality : nil,
                                   inputTokens: item.features.inputTokens, budgetHold: hold))
    }

    /// The error record for a query the router could not route.
    private func failure(_ error: RoutingError, request: PipelineRequest) -> OutputRecord {
        switch error {
        case .noEligibleModel where request.pinnedModel != nil:
            return .failure(
                requestID: request.requestID, customID: request.customID, code: .unknownModel,
                message: "pinned model '\(request.pinnedModel ?? "")' is not known to router '\(router.strategyName)': add it to the profiles or unpin it",
                field: request.format == .openAIBatch ? "body.model" : "model")
        case .noEligibleModel:
            return .failure(requestID: request.requestID, customID: request.customID, code: .noEligibleModel,
                            message: "the router knows no model of the pool")
        case .overCostCap(let cap, _):
            return .failure(
                requestID: request.requestID, customID: request.customID, code: .overCostCap,
                message: "no model is estimated to cost at most max_cost_usd \(cap)", field: "max_cost_usd")
        case .featureDimensionMismatch, .modelMismatch:
            return .failure(requestID: request.requestID, customID: request.customID, code: error.code, message: error.description)
        }
    }
}
