import Foundation
import SwitchyardCore

/// One point of a cost–quality curve: routing a whole split at one λ.
public struct CostQualityPoint: Sendable, Codable, Hashable {
    public var lambda: Double
    /// Mean realised USD per query.
    public var cost: Double
    /// Mean realised outcome.
    public var quality: Double

    public init(lambda: Double, cost: Double, quality: Double) {
        self.lambda = lambda
        self.cost = cost
        self.quality = quality
    }
}

/// The λ sweep and area-under-curve metric of `BASELINES.md` (same definitions as `baselines.py`),
/// kept small here so `profile build` can choose hyper-parameters and `auto` on dev. The full report
/// (curves, APGR, SVG) is the `Evaluation` module's.
public enum CostQualitySweep {
    /// λ = 0, 400 values log-spaced in [1e-1, 1e8] (quality per USD), and ∞ (cheapest predicted).
    public static let lambdas: [Double] = {
        var out: [Double] = [0]
        for i in 0..<400 { out.append(pow(10, -1 + 9 * Double(i) / 399)) }
        out.append(.infinity)
        return out
    }()

    /// Index of the model chosen for one query at `lambda`, as `baselines.py` routes and by the rule of
    /// every other path (`DecisionRule`): argmax q − λ·c with ties to the cheaper; at λ = ∞ the cheapest
    /// predicted, ties to the better.
    @inline(__always)
    public static func choose(quality: UnsafeBufferPointer<Double>, cost: UnsafeBufferPointer<Double>, lambda: Double) -> Int {
        var best = 0
        var bestScore = -Double.infinity
        var maxCost = 0.0
        for c in cost where c > maxCost { maxCost = c }
        let scale = DecisionRule.costScale(maxCost: maxCost)
        for j in 0..<quality.count {
            let score = DecisionRule.score(quality: quality[j], cost: cost[j], lambda: lambda, costOnly: lambda.isInfinite, costScale: scale)
            if score > bestScore {
                bestScore = score
                best = j
            }
        }
        return best
    }

    /// Sweeps λ: `predicted` and `estimated` are queries × models (row-major, flattened), `outcomes`
    /// and `costs` the realised tables of the same split. Chooses by `DecisionRule.score` exactly as
    /// `choose` does, with each row's cost scale computed once rather than once per λ.
    public static func sweep(predicted: [Double], estimated: [Double], outcomes: FloatMatrix, costs: FloatMatrix, lambdas: [Double] = lambdas) -> [CostQualityPoint] {
        let n = outcomes.rows, m = outcomes.cols
        precondition(predicted.count == n * m && estimated.count == n * m, "tables must be queries x models")
        guard n > 0 else { return [] }
        var scales = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var maxCost = 0.0
            for j in 0..<m where estimated[i * m + j] > maxCost { maxCost = estimated[i * m + j] }
            scales[i] = DecisionRule.costScale(maxCost: maxCost)
        }
        var points: [CostQualityPoint] = []
        points.reserveCapacity(lambdas.count)
        predicted.withUnsafeBufferPointer { q in
            estimated.withUnsafeBufferPointer { c in
                outcomes.values.withUnsafeBufferPointer { realQuality in
                    costs.values.withUnsafeBufferPointer { realCost in
                        for lambda in lambdas {
                            let costOnly = lambda.isInfinite
                            var cost = 0.0, quality = 0.0
                            for i in 0..<n {
                                let base = i * m
                                var best = base
                                var bestScore = -Double.infinity
                                for k in base..<(base + m) {
                                    let score = DecisionRule.score(quality: q[k], cost: c[k], lambda: lambda, costOnly: costOnly, costScale: scales[i])
                                    if score > bestScore {
                                        bestScore = score
                                        best = k
                                    }
                                }
                                cost += Double(realCost[best])
                                quality += Double(realQuality[best])
                            }
                            points.append(CostQualityPoint(lambda: lambda, cost: cost / Double(n), quality: quality / Double(n)))
                        }
                    }
                }
            }
        }
        return points
    }

    /// Q(x): the best quality among points costing at most x (0 when none).
    public static func quality(at x: Double, _ points: [CostQualityPoint]) -> Double {
        points.filter { $0.cost <= x + 1e-15 }.map(\.quality).max() ?? 0
    }

    /// (1 / (hi − lo)) ∫ Q(c) dc over [lo, hi], exact for the step function.
    public static func aiq(_ points: [CostQualityPoint], lo: Double, hi: Double) -> Double {
        // Every model costs the same: no cost range to integrate over; the quality reached at that cost
        // (never NaN, which JSON cannot hold and which would poison every max over strategies).
        guard hi > lo else { return points.isEmpty ? 0 : quality(at: hi, points) }
        let xs = Array(Set([lo, hi] + points.map(\.cost).filter { $0 > lo && $0 < hi })).sorted()
        var area = 0.0
        for (a, b) in zip(xs.dropLast(), xs.dropFirst()) { area += quality(at: a, points) * (b - a) }
        return area / (hi - lo)
    }

    /// The cheapest point reaching `target` quality, or nil.
    public static func costToMatch(_ target: Double, _ points: [CostQualityPoint]) -> Double? {
        points.filter { $0.quality >= target - 1e-12 }.map(\.cost).min()
    }

    /// Mean realised quality and cost per model of a split: the single-model references.
    public static func singleModels(outcomes: FloatMatrix, costs: FloatMatrix) -> (quality: [Double], cost: [Double]) {
        var quality = [Double](repeating: 0, count: outcomes.cols)
        var cost = [Double](repeating: 0, count: outcomes.cols)
        for i in 0..<outcomes.rows {
            for j in 0..<outcomes.cols {
                quality[j] += Double(outcomes[i, j])
                cost[j] += Double(costs[i, j])
            }
        }
        let n = Double(max(1, outcomes.rows))
        return (quality.map { $0 / n }, cost.map { $0 / n })
    }

    /// AIQ of a strategy's predictions on a split, over the split's single-model cost range.
    public static func aiq(predicted: [Double], estimated: [Double], outcomes: FloatMatrix, costs: FloatMatrix) -> Double {
        let singles = singleModels(outcomes: outcomes, costs: costs)
        let points = sweep(predicted: predicted, estimated: estimated, outcomes: outcomes, costs: costs)
        return aiq(points, lo: singles.cost.min() ?? 0, hi: singles.cost.max() ?? 0)
    }
}
