import SwitchyardCore

/// The realised outcome and cost of every model on every prompt of a routing-data split, in `Double`
/// (row-major, prompt after prompt), plus each prompt's task: everything metrics need, nothing else.
public struct EvaluationTables: Sendable {
    public let models: [String]
    public let ids: [String]
    public let tasks: [String]
    /// Realised outcome, `count × models.count`.
    public let outcomes: [Double]
    /// Realised USD, `count × models.count`.
    public let costs: [Double]

    public var count: Int { ids.count }

    /// Builds the tables for `models` (default: the models every record has, sorted).
    /// A record missing a model's outcome or cost is an error naming it.
    public init(dataset: RoutingDataset, models: [String]? = nil) throws(SwitchyardError) {
        let pool = models ?? dataset.models
        guard !pool.isEmpty else {
            throw .invalidArgument("no model has outcomes and costs in every record: check the routing data")
        }
        var outcomes: [Double] = []
        var costs: [Double] = []
        outcomes.reserveCapacity(dataset.records.count * pool.count)
        costs.reserveCapacity(dataset.records.count * pool.count)
        for record in dataset.records {
            for model in pool {
                guard let q = record.outcomes[model], let c = record.costs[model] else {
                    throw .invalidArgument("record '\(record.id)' has no outcome or cost for model '\(model)': evaluate on data that covers the whole pool")
                }
                outcomes.append(q)
                costs.append(c)
            }
        }
        self.models = pool
        self.ids = dataset.records.map(\.id)
        self.tasks = dataset.records.map { $0.task ?? "all" }
        self.outcomes = outcomes
        self.costs = costs
    }

    @inlinable public func outcome(_ i: Int, _ j: Int) -> Double { outcomes[i * models.count + j] }
    @inlinable public func cost(_ i: Int, _ j: Int) -> Double { costs[i * models.count + j] }

    /// Mean realised (quality, cost) when prompt `i` goes to `choices[i]` (nil: unanswered, quality 0, cost 0),
    /// over the prompts in `subset` (default all).
    public func realised(_ choices: [Int?], subset: [Int]? = nil) -> (quality: Double, cost: Double) {
        let rows = subset ?? Array(0..<count)
        guard !rows.isEmpty else { return (0, 0) }
        var q = 0.0, c = 0.0
        for i in rows {
            guard let j = choices[i] else { continue }
            q += outcome(i, j)
            c += cost(i, j)
        }
        return (q / Double(rows.count), c / Double(rows.count))
    }

    /// Prompt indices per task, tasks sorted.
    public var taskIndices: [(task: String, rows: [Int])] {
        var groups: [String: [Int]] = [:]
        for (i, task) in tasks.enumerated() { groups[task, default: []].append(i) }
        return groups.keys.sorted().map { ($0, groups[$0] ?? []) }
    }
}
