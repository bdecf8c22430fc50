import SwitchyardCore

/// Empirical-Bayes shrinkage of a strategy's per-query quality prediction toward the model's prior
/// (its mean outcome on the fitted data): q = w·q_local + (1 − w)·q_prior with w = n / (n + κ), where
/// n is the local evidence behind q_local (neighbours, cluster size, ...).
///
/// Why: per-query predictions from a few similar prompts are noisy, and the λ sweep trades them against
/// costs, so noise buys expensive models for nothing. Pulling a prediction toward the prior by how
/// little evidence it has is the posterior mean of a Beta prior worth κ pseudo-prompts. κ is chosen by
/// cross-validation (each strategy's), with κ = 0 (no shrinkage) among the candidates, so it never
/// costs cross-validated AIQ.
public struct PriorShrinkage: Sendable, Codable, Hashable {
    /// Prior quality per model (its mean outcome), same order as the strategy's `models`.
    public var prior: [Double]
    /// Pseudo-count κ of the prior, in the evidence's unit (0: no shrinkage).
    public var kappa: Double

    /// Pseudo-counts compared by default.
    public static let candidates: [Double] = [0, 1, 2, 5, 10, 20, 50, 100, 200]
    /// Pseudo-counts compared for a blend with evidence 1 (w = 1, 0.8, 0.67, 0.5, 0.33, 0.2, 0.1).
    public static let blendCandidates: [Double] = [0, 0.25, 0.5, 1, 2, 4, 9]

    public init(prior: [Double], kappa: Double) {
        self.prior = prior
        self.kappa = max(0, kappa)
    }

    /// Weight of the local prediction for `evidence` local observations: n / (n + κ) (1 when κ = 0,
    /// 0 when there is no evidence and κ > 0).
    public func weight(evidence: Double) -> Double {
        guard kappa > 0 else { return 1 }
        let n = max(0, evidence)
        return n / (n + kappa)
    }

    /// The shrunk prediction of every model (`local` in the prior's order).
    public func apply(_ local: [Double], evidence: Double) -> [Double] {
        apply(local, evidence: evidence, toward: prior)
    }

    /// The same toward a query's own prior (e.g. its cluster's means) instead of `prior`.
    public func apply(_ local: [Double], evidence: Double, toward prior: [Double]) -> [Double] {
        let w = weight(evidence: evidence)
        guard w < 1 else { return local }
        return local.indices.map { j in w * local[j] + (1 - w) * (j < prior.count ? prior[j] : local[j]) }
    }

    /// Predictions (queries × models, flattened) of `local` shrunk at `kappa` with `evidence` per query,
    /// each toward its own row of `queryPriors` (same shape as `local`).
    static func shrink(local: [Double], evidence: [Double], queryPriors: [Double], kappa: Double) -> [Double] {
        let m = evidence.isEmpty ? 0 : local.count / evidence.count
        let shrinkage = PriorShrinkage(prior: [], kappa: kappa)
        var out = local
        for i in evidence.indices {
            let w = shrinkage.weight(evidence: evidence[i])
            guard w < 1 else { continue }
            for j in (i * m)..<((i + 1) * m) { out[j] = w * local[j] + (1 - w) * queryPriors[j] }
        }
        return out
    }

    /// Mean outcome of every model over the rows of `outcomes` (the usual prior).
    public static func means(_ outcomes: FloatMatrix...) -> [Double] {
        let m = outcomes.first?.cols ?? 0
        var sums = [Double](repeating: 0, count: m)
        var n = 0
        for table in outcomes {
            for i in 0..<table.rows { for j in 0..<m { sums[j] += Double(table[i, j]) } }
            n += table.rows
        }
        return sums.map { n > 0 ? $0 / Double(n) : 0 }
    }
}
