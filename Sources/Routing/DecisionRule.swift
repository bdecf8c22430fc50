import SwitchyardCore

/// The one rule every path decides by: `switchyard route`, the score stage of `run` and `stage`, and
/// the λ sweep of `eval` (`CostQualitySweep.choose`), so they all choose the same model for a query.
///
/// argmax q − λ·c, ties to the cheaper (a 1e-12 nudge), then to the model listed first; cost-only
/// (λ = ∞ or a cost-only strategy): the cheapest, ties to the better predicted.
public enum DecisionRule {
    public enum Order: Sendable, Equatable {
        /// Predicted quality against cost at λ (quality per USD).
        case quality(lambda: Double)
        /// Estimated cost alone.
        case cheapest
        /// The order `models` are listed in (price routers' `first`).
        case listed
    }

    /// The score of one model; `costScale` is 1 / (the largest cost among the candidates + 1e-30).
    @inline(__always)
    public static func score(quality: Double, cost: Double, lambda: Double, costOnly: Bool, costScale: Double) -> Double {
        costOnly ? -(cost * costScale) + 1e-9 * quality : quality - lambda * cost - 1e-12 * cost * costScale
    }

    @inline(__always)
    public static func costScale(maxCost: Double) -> Double { 1 / (maxCost + 1e-30) }

    /// The decision among `models` (with their predicted quality and estimated cost, same order) that
    /// `constraints` allow: the best first, every other eligible model ranked behind it (the dispatcher
    /// falls back along them).
    public static func decide(
        id: String, strategy: String, models: [String], quality: [Double], cost: [Double], constraints: RoutingConstraints, order: Order
    ) throws(RoutingError) -> RoutingDecision {
        var eligible: [Int] = []
        eligible.reserveCapacity(models.count)
        var excludedByFloor = 0
        // Name checks hash strings: skip them when no list is set (the common case).
        let filtersByName = constraints.allowedModels != nil || !constraints.deniedModels.isEmpty || !constraints.unavailableModels.isEmpty
        for j in 0..<models.count {
            if filtersByName {
                let name = models[j]
                if let allowed = constraints.allowedModels, !allowed.contains(name) { continue }
                if constraints.deniedModels.contains(name) || constraints.unavailableModels.contains(name) { continue }
            }
            if let floor = constraints.minQuality, quality[j] < floor {
                excludedByFloor += 1
                continue
            }
            eligible.append(j)
        }
        if eligible.isEmpty {
            throw .noEligibleModel(reason: excludedByFloor > 0
                ? "\(excludedByFloor) models were below the quality floor and the rest excluded"
                : "every model is excluded by the allow/deny lists or unavailable")
        }
        if let cap = constraints.maxCostUSD {
            let cheapest = eligible.map { cost[$0] }.min() ?? 0
            eligible.removeAll { cost[$0] > cap }
            if eligible.isEmpty { throw .overCostCap(maxCostUSD: cap, cheapestUSD: cheapest) }
        }
        var maxCost = 0.0
        for j in eligible where cost[j] > maxCost { maxCost = cost[j] }
        let scale = costScale(maxCost: maxCost)
        var scored: [(index: Int, score: Double)] = []
        scored.reserveCapacity(eligible.count)
        for j in eligible {
            let value: Double
            switch order {
            case .quality(let lambda): value = score(quality: quality[j], cost: cost[j], lambda: lambda, costOnly: false, costScale: scale)
            case .cheapest: value = score(quality: quality[j], cost: cost[j], lambda: 0, costOnly: true, costScale: scale)
            case .listed: value = -Double(j)
            }
            scored.append((j, value))
        }
        scored.sort { a, b in a.score != b.score ? a.score > b.score : a.index < b.index }
        let best = scored[0].index
        return RoutingDecision(
            id: id, model: models[best], strategy: strategy,
            predictedQuality: quality[best], estimatedCostUSD: cost[best],
            alternatives: scored.dropFirst().map {
                RoutingAlternative(model: models[$0.index], predictedQuality: quality[$0.index], estimatedCostUSD: cost[$0.index])
            }
        )
    }
}
