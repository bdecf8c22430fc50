import SwitchyardCore

/// One batch to allocate: predicted quality and estimated cost of every model for every query, as flat
/// row-major `Float` arrays (query after query, `models` values each), plus who may use what.
///
/// Flat arrays keep the λ bisection over a million queries cache-friendly; build them once per batch.
public struct BudgetProblem: Sendable {
    public let queries: Int
    public let models: Int
    /// Predicted quality, `queries × models`, row-major.
    public var quality: [Float]
    /// Estimated USD, `queries × models`, row-major.
    public var cost: [Float]
    /// Whether a query may use a model (`max_cost_usd` caps, allow/deny lists); nil means everyone may use everything.
    public var eligible: [Bool]?

    public init(queries: Int, models: Int, quality: [Float], cost: [Float], eligible: [Bool]? = nil) throws(SwitchyardError) {
        let size = queries * models
        guard queries >= 0, models > 0, quality.count == size, cost.count == size, eligible.map({ $0.count == size }) ?? true else {
            throw .invalidArgument(
                "BudgetProblem: \(queries) queries × \(models) models needs \(size) qualities, costs (and eligibility flags); got \(quality.count), \(cost.count), \(eligible?.count ?? size)")
        }
        for value in cost where !(value.isFinite && value >= 0) {
            throw .invalidArgument("BudgetProblem: costs must be finite and ≥ 0 (got \(value)); check the cost model's prices")
        }
        self.queries = queries
        self.models = models
        self.quality = quality
        self.cost = cost
        self.eligible = eligible
    }

    /// Builds a problem from per-query rows (each `models` long).
    public init(quality rowsQ: [[Double]], cost rowsC: [[Double]], eligible rowsE: [[Bool]]? = nil) throws(SwitchyardError) {
        let n = rowsQ.count
        let m = rowsQ.first?.count ?? rowsC.first?.count ?? 1
        guard rowsC.count == n, rowsQ.allSatisfy({ $0.count == m }), rowsC.allSatisfy({ $0.count == m }) else {
            throw .invalidArgument("BudgetProblem: quality and cost need one row of \(m) values per query")
        }
        var eligible: [Bool]? = nil
        if let rowsE {
            guard rowsE.count == n, rowsE.allSatisfy({ $0.count == m }) else {
                throw .invalidArgument("BudgetProblem: eligibility needs one row of \(m) flags per query")
            }
            eligible = rowsE.flatMap { $0 }
        }
        try self.init(
            queries: n, models: m, quality: rowsQ.flatMap { $0.map(Float.init) }, cost: rowsC.flatMap { $0.map(Float.init) },
            eligible: eligible)
    }

    /// Whether query `i` may use model `j`.
    @inlinable public func isEligible(_ i: Int, _ j: Int) -> Bool { eligible?[i * models + j] ?? true }

    /// Applies one query's controls: a per-line cost cap (`max_cost_usd`), an allow list and a deny list of model indices.
    public mutating func restrict(query i: Int, maxCostUSD: Double? = nil, allowed: Set<Int>? = nil, denied: Set<Int> = []) {
        if eligible == nil { eligible = [Bool](repeating: true, count: queries * models) }
        for j in 0..<models {
            var ok = !denied.contains(j) && (allowed?.contains(j) ?? true)
            if let cap = maxCostUSD, Double(cost[i * models + j]) > cap { ok = false }
            if !ok { eligible?[i * models + j] = false }
        }
    }
}

/// What `BudgetAllocator` chose for a batch.
public struct BudgetAllocation: Sendable, Equatable {
    /// Chosen model index per query; `nil` when the query gets no model (see `unassigned`).
    public var choices: [Int?]
    /// The λ (quality per USD) of the Lagrangian solution the greedy repair started from.
    public var lambda: Double
    /// Sum of the chosen models' estimated costs (≤ the budget whenever any model was assigned).
    public var estimatedCostUSD: Double
    /// Sum of the chosen models' predicted qualities.
    public var predictedQuality: Double
    /// Lagrangian dual bound: no allocation within the budget can reach more total predicted quality.
    public var upperBound: Double
    /// Queries left without a model and why.
    public var unassigned: [Int: Reason]

    public enum Reason: String, Sendable, Equatable {
        /// The query's own controls (cost cap, allow/deny lists) exclude every model.
        case noEligibleModel = "no_eligible_model"
        /// Even the cheapest eligible models of the batch do not fit in the budget.
        case budgetExhausted = "budget_exhausted"
    }

    public init(choices: [Int?], lambda: Double, estimatedCostUSD: Double, predictedQuality: Double, upperBound: Double, unassigned: [Int: Reason]) {
        self.choices = choices
        self.lambda = lambda
        self.estimatedCostUSD = estimatedCostUSD
        self.predictedQuality = predictedQuality
        self.upperBound = upperBound
        self.unassigned = unassigned
    }
}
