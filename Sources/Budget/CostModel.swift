import SwitchyardCore

/// Estimated USD per model for one query: input tokens × input price + predicted output tokens × output price.
///
/// Output length is what makes cost uncertain before a call, and it depends on the model (a verbose model
/// costs more on the same prompt) and on the kind of query (a math proof is longer than a yes/no answer).
/// So output tokens are predicted per model, per group (task, cluster, domain: whatever key the caller
/// supplies) with shrinkage towards the model's overall mean, learned from routing data.
///
/// Value type, `Sendable`, `Codable`: the router artifact stores it and every score worker shares it.
public struct CostModel: Codable, Sendable, Hashable {
    /// Model names; every array of this type and every `estimate` result follows this order.
    public private(set) var models: [String]
    /// Price per model, in `models` order.
    public private(set) var prices: [ModelPrice]
    /// Mean output tokens per model over all training records (fallback for unknown groups).
    public private(set) var meanOutputTokens: [Double]
    /// Shrunk mean output tokens per group, per model (`models` order).
    public private(set) var groupOutputTokens: [String: [Double]]
    /// Pseudo-count used when the model was fitted (a group with n samples weighs n / (n + k) of its own mean).
    public private(set) var shrinkage: Double

    public init(
        models: [String], prices: [ModelPrice], meanOutputTokens: [Double],
        groupOutputTokens: [String: [Double]] = [:], shrinkage: Double = CostModel.defaultShrinkage
    ) throws(SwitchyardError) {
        guard models.count == prices.count, models.count == meanOutputTokens.count else {
            throw .invalidArgument(
                "CostModel: \(models.count) models but \(prices.count) prices and \(meanOutputTokens.count) output means; give one of each per model")
        }
        for (group, row) in groupOutputTokens where row.count != models.count {
            throw .invalidArgument("CostModel: group '\(group)' has \(row.count) output means for \(models.count) models")
        }
        self.models = models
        self.prices = prices
        self.meanOutputTokens = meanOutputTokens
        self.groupOutputTokens = groupOutputTokens
        self.shrinkage = shrinkage
    }

    /// Default pseudo-count of the group shrinkage: 5 records.
    public static let defaultShrinkage = 5.0

    /// Index of a model in `models`, or nil.
    public func index(of model: String) -> Int? { models.firstIndex(of: model) }

    /// Predicted output tokens per model (`models` order) for a query of `group` (nil or unknown: model means).
    public func outputTokens(group: String?) -> [Double] {
        if let group, let row = groupOutputTokens[group] { return row }
        return meanOutputTokens
    }

    /// Estimated USD per model, in `models` order.
    public func estimate(inputTokens: Int, group: String?) -> [Double] {
        let out = outputTokens(group: group)
        let input = Double(max(0, inputTokens))
        var result = [Double](repeating: 0, count: models.count)
        for j in 0..<models.count {
            result[j] = prices[j].cost(inputTokens: input, outputTokens: out[j])
        }
        return result
    }

    /// Estimated USD of one model (nil when the model is not in the pool).
    public func estimate(model: String, inputTokens: Int, group: String?) -> Double? {
        guard let j = index(of: model) else { return nil }
        return prices[j].cost(inputTokens: Double(max(0, inputTokens)), outputTokens: outputTokens(group: group)[j])
    }

    /// Adds (or replaces) a model, for onboarding without retraining: `meanOutputTokens` is the new model's
    /// mean output length (from its aptitude outcomes, or nil to use the pool's median mean), and the same
    /// value is used for every group.
    public func adding(model: String, price: ModelPrice, meanOutputTokens newMean: Double? = nil) -> CostModel {
        var copy = self
        let fallback = newMean ?? Self.median(meanOutputTokens) ?? 0
        if let j = index(of: model) {
            copy.prices[j] = price
            copy.meanOutputTokens[j] = fallback
            for key in copy.groupOutputTokens.keys { copy.groupOutputTokens[key]?[j] = fallback }
        } else {
            copy.models.append(model)
            copy.prices.append(price)
            copy.meanOutputTokens.append(fallback)
            for key in copy.groupOutputTokens.keys { copy.groupOutputTokens[key]?.append(fallback) }
        }
        return copy
    }

    /// A copy restricted to (and reordered as) `subset`; nil when a name is not in the pool.
    public func restricted(to subset: [String]) -> CostModel? {
        var idx: [Int] = []
        for name in subset {
            guard let j = index(of: name) else { return nil }
            idx.append(j)
        }
        var copy = self
        copy.models = subset
        copy.prices = idx.map { prices[$0] }
        copy.meanOutputTokens = idx.map { meanOutputTokens[$0] }
        copy.groupOutputTokens = groupOutputTokens.mapValues { row in idx.map { row[$0] } }
        return copy
    }

    /// Learns output lengths from routing data.
    ///
    /// - `prices`: price per model (from `models.json` via `ModelInfo.loadCatalog`, or `pipeline.yaml`).
    /// - `models`: the pool, in the order estimates should come back; defaults to `prices`' names, sorted.
    /// - `group`: the grouping key of a record (e.g. `{ $0.task }`); nil means no group.
    ///
    /// A record's output tokens for a model are its `output_tokens` entry when present, otherwise derived from
    /// its recorded cost: out = (cost·1e6 − in·p_in) / p_out, clamped at 0 (in = `input_tokens`, or the
    /// prompt's UTF-8 bytes / 4 when absent). A model with no data gets the pool's median mean.
    public static func fit(
        records: [RoutingRecord], prices: [String: ModelPrice], models: [String]? = nil,
        shrinkage: Double = defaultShrinkage, group: (RoutingRecord) -> String? = { _ in nil }
    ) throws(SwitchyardError) -> CostModel {
        let pool = models ?? prices.keys.sorted()
        var priceList: [ModelPrice] = []
        for name in pool {
            guard let price = prices[name] else {
                throw .invalidArgument("CostModel.fit: no price for model '\(name)'; add it to models.json or pipeline.yaml")
            }
            priceList.append(price)
        }
        let m = pool.count
        var sum = [Double](repeating: 0, count: m)
        var count = [Double](repeating: 0, count: m)
        var groupSum: [String: [Double]] = [:]
        var groupCount: [String: [Double]] = [:]
        for record in records {
            let key = group(record)
            let input = Double(record.inputTokens ?? max(1, record.prompt.utf8.count / 4))
            for j in 0..<m {
                guard let out = outputTokens(of: record, model: pool[j], inputTokens: input, price: priceList[j]) else { continue }
                sum[j] += out
                count[j] += 1
                if let key {
                    groupSum[key, default: [Double](repeating: 0, count: m)][j] += out
                    groupCount[key, default: [Double](repeating: 0, count: m)][j] += 1
                }
            }
        }
        var means = [Double](repeating: 0, count: m)
        let known = (0..<m).filter { count[$0] > 0 }.map { sum[$0] / count[$0] }
        let fallback = median(known) ?? 0
        for j in 0..<m { means[j] = count[j] > 0 ? sum[j] / count[j] : fallback }
        var groups: [String: [Double]] = [:]
        let k = max(0, shrinkage)
        for (key, sums) in groupSum {
            let counts = groupCount[key] ?? []
            groups[key] = (0..<m).map { j in
                let n = counts[j]
                return n + k > 0 ? (sums[j] + k * means[j]) / (n + k) : means[j]
            }
        }
        return try CostModel(models: pool, prices: priceList, meanOutputTokens: means, groupOutputTokens: groups, shrinkage: k)
    }

    /// Output tokens of one record for one model, recorded or derived from its cost; nil when unknown.
    static func outputTokens(of record: RoutingRecord, model: String, inputTokens: Double, price: ModelPrice) -> Double? {
        if let out = record.outputTokens?[model] { return Double(max(0, out)) }
        guard let cost = record.costs[model], price.outputUSDPerMTok > 0 else { return nil }
        let out = (cost * 1_000_000 - inputTokens * price.inputUSDPerMTok) / price.outputUSDPerMTok
        return out.isFinite ? max(0, out) : nil
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
