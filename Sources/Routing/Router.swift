import Budget
import SwitchyardCore

/// Turns a strategy's predicted quality and the cost model's estimates into a decision:
/// argmax predictedQuality − λ·estimatedCost among eligible models, every other eligible model ranked
/// behind it (the dispatcher falls back along them).
///
/// λ is quality per USD: 0 buys the best predicted quality whatever it costs; ∞ picks the cheapest.
/// A value type, safe to share between score workers.
public struct Router: Sendable {
    public let strategy: any RoutingStrategy
    public let costModel: CostModel
    public var lambda: Double
    /// Query groups the cost model was fitted on (nil: one mean output length per model).
    public let costGroups: CostGroups?
    /// Column of `costModel` for each of `strategy.models`.
    private let costColumns: [Int]
    /// Cost rows precomputed at init so a decision does no dictionary lookup or string work:
    /// USD per input token / per output token, and predicted output tokens per (group, model), all in
    /// `strategy.models` order; row `groupCount` of `outputTokens` is the no-group (model mean) row.
    private let inputPrice: [Double]
    private let outputPrice: [Double]
    private let outputTokens: [Double]
    private let groupCount: Int

    public init(strategy: any RoutingStrategy, costModel: CostModel, lambda: Double, costGroups: CostGroups? = nil) throws(RoutingError) {
        var columns: [Int] = []
        for model in strategy.models {
            guard let j = costModel.index(of: model) else {
                throw .modelMismatch("strategy \(strategy.name) scores '\(model)' but the cost model has no price for it")
            }
            columns.append(j)
        }
        self.strategy = strategy
        self.costModel = costModel
        self.lambda = lambda
        self.costGroups = costGroups
        self.costColumns = columns
        self.inputPrice = columns.map { costModel.prices[$0].inputUSDPerMTok }
        self.outputPrice = columns.map { costModel.prices[$0].outputUSDPerMTok }
        let groups = costGroups?.centroids.rows ?? 0
        var table: [Double] = []
        table.reserveCapacity((groups + 1) * columns.count)
        for g in 0...groups {
            let row = costModel.outputTokens(group: g < groups ? CostGroups.key(g) : nil)
            table += columns.map { row[$0] }
        }
        self.outputTokens = table
        self.groupCount = groups
    }

    /// Estimated USD per model from the precomputed rows (same arithmetic as `ModelPrice.cost`).
    private func estimatedCosts(inputTokens: Int, groupIndex: Int?) -> [Double] {
        let m = costColumns.count
        let base = (groupIndex.map { $0 < groupCount ? $0 : groupCount } ?? groupCount) * m
        let input = Double(max(0, inputTokens))
        return [Double](unsafeUninitializedCapacity: m) { out, initialized in
            for j in 0..<m { out[j] = (input * inputPrice[j] + outputTokens[base + j] * outputPrice[j]) / 1_000_000 }
            initialized = m
        }
    }

    /// Estimated USD per model of `strategy.models` for a query (for the query's cost group when the
    /// router has `costGroups`).
    public func estimatedCosts(_ query: QueryFeatures) -> [Double] {
        estimatedCosts(inputTokens: query.inputTokens, groupIndex: costGroups?.index(of: query.vector, nonZeros: query.nonZeros))
    }

    /// Estimated USD per model of `strategy.models` for a query of a known cost group.
    public func estimatedCosts(_ query: QueryFeatures, group: String?) -> [Double] {
        let all = costModel.estimate(inputTokens: query.inputTokens, group: group)
        return costColumns.map { all[$0] }
    }

    /// Estimated costs of many queries (row i answers `queries[i]`).
    public func estimatedCosts(batch queries: [QueryFeatures]) -> [[Double]] {
        queries.map { estimatedCosts($0) }
    }

    /// The query as the router's tables read it: its non-zeros indexed once when a table multiplies its
    /// vector (strategy, cost groups), instead of once per table.
    public func prepared(_ query: QueryFeatures) -> QueryFeatures {
        strategy.readsQueryVector || costGroups != nil ? query.indexingNonZeros() : query
    }

    /// Predicted quality and estimated USD per model of `strategy.models` for one query: what every
    /// decision path reads (`route`, the score stage of `run` and `stage`, `eval`), one query at a time,
    /// so they agree to the bit (a strategy's batched BLAS form may round differently).
    public func predict(_ query: QueryFeatures) -> (quality: [Double], cost: [Double]) {
        let query = prepared(query)
        return (strategy.predictQuality(query), estimatedCosts(query))
    }

    /// The decision for one query.
    public func decide(id: String, query: QueryFeatures, constraints: RoutingConstraints = .none) throws(RoutingError) -> RoutingDecision {
        let (quality, cost) = predict(query)
        return try decide(id: id, quality: quality, cost: cost, constraints: constraints)
    }

    /// Decisions for many queries (one strategy call for all: BLAS-batched where the strategy can);
    /// a query that cannot be routed gets its error in place.
    public func decide(
        ids: [String], queries: [QueryFeatures], constraints: [RoutingConstraints]? = nil
    ) -> [Result<RoutingDecision, RoutingError>] {
        let queries = queries.map(prepared)
        let qualities = strategy.predictQuality(batch: queries)
        let costs = estimatedCosts(batch: queries)
        return queries.indices.map { i in
            Result { () throws(RoutingError) -> RoutingDecision in
                try decide(id: ids[i], quality: qualities[i], cost: costs[i], constraints: constraints?[i] ?? .none)
            }
        }
    }

    /// The decision from already predicted quality and cost (same order as `strategy.models`), by the
    /// rule every path uses (`DecisionRule`).
    public func decide(id: String, quality: [Double], cost: [Double], constraints: RoutingConstraints) throws(RoutingError) -> RoutingDecision {
        try DecisionRule.decide(
            id: id, strategy: strategy.name, models: strategy.models, quality: quality, cost: cost, constraints: constraints,
            order: strategy.routesOnCostOnly || lambda.isInfinite ? .cheapest : .quality(lambda: lambda))
    }
}
