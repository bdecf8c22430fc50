import Budget
import Foundation
import Profiling
import SwitchyardCore

/// Routes a whole batch: profile every prompt, predict, then decide per query at a fixed λ or, with
/// a batch budget, by `Budget.BudgetAllocator` (one λ for the batch, never below the router's λ, never
/// over budget in estimates).
/// What `switchyard route` runs, without any file or CLI concern.
public struct BatchRouter: Sendable {
    public let profiler: QueryProfiler
    public let router: Router
    /// Prompts profiled per featurizer call (default 256): bounds memory on big batches.
    public var chunkSize: Int = 256

    public init(profiler: QueryProfiler, router: Router) {
        self.profiler = profiler
        self.router = router
    }

    /// One entry per request, same order: the decision, or the error record's code and message.
    public struct Outcome: Sendable {
        public var result: Result<RoutingDecision, RouteRequest.LineError>
        /// Why, for `--explain` (strategy detail), when routed.
        public var explanation: String?
    }

    /// Decides every request; `budgetUSD` switches from the router's λ to the batch allocator.
    public func route(_ requests: [RouteRequest], budgetUSD: Double? = nil, explain: Bool = false) throws -> [Outcome] {
        let strategy = router.strategy
        var features: [QueryFeatures] = []
        features.reserveCapacity(requests.count)
        var start = 0
        while start < requests.count {
            let end = min(requests.count, start + chunkSize)
            features += try profiler.profile(requests[start..<end].map(\.prompt)).map(QueryFeatures.init)
            start = end
        }
        // One query at a time, as the pipeline's score stage predicts (`Router.predict`): same numbers.
        let predictions = features.map(router.predict)
        let qualities = predictions.map(\.quality)
        let costs = predictions.map(\.cost)
        var constraints: [RoutingConstraints] = []
        var outcomes = [Outcome?](repeating: nil, count: requests.count)
        for (i, request) in requests.enumerated() {
            var c = RoutingConstraints(maxCostUSD: request.maxCostUSD)
            if let pinned = request.pinnedModel {
                if !strategy.models.contains(pinned) {
                    outcomes[i] = Outcome(result: .failure(.init(id: request.id, code: .unknownModel, message: "model '\(pinned)' is not in the pool (\(strategy.models.joined(separator: ", ")))")))
                }
                c.allowedModels = [pinned]
            }
            constraints.append(c)
        }
        var router = self.router
        var budgetChoice: [Int?]? = nil
        if let budgetUSD {
            var problem = try BudgetProblem(quality: qualities, cost: costs)
            for (i, c) in constraints.enumerated() {
                let allowed = c.allowedModels.map { names in Set(names.compactMap { strategy.models.firstIndex(of: $0) }) }
                problem.restrict(query: i, maxCostUSD: c.maxCostUSD, allowed: allowed)
                if outcomes[i] != nil { problem.restrict(query: i, allowed: []) }
            }
            // The router's λ (the artifact's default) is the budget's floor: a budget caps spend, it
            // never buys what the router alone would not.
            let allocation = BudgetAllocator(configuration: .init(minimumLambda: router.lambda)).allocate(problem, budgetUSD: budgetUSD)
            router.lambda = allocation.lambda.isFinite ? allocation.lambda : 1e12
            budgetChoice = allocation.choices
            for (i, reason) in allocation.unassigned where outcomes[i] == nil {
                let code: ErrorCode = reason == .budgetExhausted ? .budgetExhausted : .noEligibleModel
                outcomes[i] = Outcome(result: .failure(.init(id: requests[i].id, code: code, message: "\(reason.rawValue): not routed within the batch budget of \(budgetUSD) USD")))
            }
        }
        for i in requests.indices where outcomes[i] == nil {
            do {
                var decision = try router.decide(id: requests[i].id, quality: qualities[i], cost: costs[i], constraints: constraints[i])
                if let choice = budgetChoice?[i] ?? nil, strategy.models[choice] != decision.model {
                    decision = Self.promote(strategy.models[choice], in: decision)
                }
                outcomes[i] = Outcome(result: .success(decision), explanation: explain ? strategy.explain(features[i]) : nil)
            } catch {
                outcomes[i] = Outcome(result: .failure(.init(id: requests[i].id, code: error.code, message: error.description)))
            }
        }
        return outcomes.map { $0! }
    }

    /// The decision with `model` (one of its alternatives) moved to the front.
    static func promote(_ model: String, in decision: RoutingDecision) -> RoutingDecision {
        guard let index = decision.alternatives.firstIndex(where: { $0.model == model }) else { return decision }
        var copy = decision
        let chosen = copy.alternatives.remove(at: index)
        copy.alternatives.insert(
            RoutingAlternative(model: decision.model, predictedQuality: decision.predictedQuality, estimatedCostUSD: decision.estimatedCostUSD),
            at: 0
        )
        copy.model = chosen.model
        copy.predictedQuality = chosen.predictedQuality
        copy.estimatedCostUSD = chosen.estimatedCostUSD
        return copy
    }
}
