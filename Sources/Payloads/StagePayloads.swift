import Routing
import SwitchyardCore

/// What the profile stage hands to score: the request and what the router needs to know about it.
public struct ProfiledRequest: Sendable, Hashable {
    public var request: PipelineRequest
    public var features: QueryFeatures

    public init(request: PipelineRequest, features: QueryFeatures) {
        self.request = request
        self.features = features
    }
}

/// What the score stage hands to dispatch: the request and the routing decision (with fallbacks).
public struct RoutedRequest: Sendable, Hashable {
    public var request: PipelineRequest
    public var decision: RoutingDecision
    /// The chosen model's predicted quality; nil for strategies that predict none (the decision then says 0).
    public var predictedQuality: Double?
    /// Input tokens the profiler counted, for the actual-cost estimate when a backend reports no usage.
    public var inputTokens: Int
    /// The batch-budget reservation dispatch must settle (nil without a budget).
    public var budgetHold: BudgetHold?

    public init(request: PipelineRequest, decision: RoutingDecision, predictedQuality: Double?, inputTokens: Int,
                budgetHold: BudgetHold? = nil) {
        self.request = request
        self.decision = decision
        self.predictedQuality = predictedQuality
        self.inputTokens = inputTokens
        self.budgetHold = budgetHold
    }
}

/// A stage's answer for one request: pass it on, or finish it (every request ends as one `OutputRecord`).
public enum StageOutput<Next: Sendable>: Sendable {
    case next(Next)
    case finished(OutputRecord)
}
