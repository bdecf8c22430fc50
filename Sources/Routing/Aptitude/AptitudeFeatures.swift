import Foundation
import Profiling

/// Turns (a query's similarities to the aptitude set, a model's aptitude outcomes) into the scorer's
/// feature row. Every feature is a function of the model's aptitude outcomes, never of its name, which
/// is what lets the trained scorer apply unchanged to a model it never saw.
///
/// Features, in order: affinity-weighted category accuracy; accuracy in the nearest category;
/// similarity-weighted outcome of the `neighbours` and of the `nearNeighbours` nearest aptitude prompts;
/// overall aptitude; the logits of the first, third and fifth; then, per category k,
/// affinity_k · (accuracy_k − overall) so the scorer can learn which categories tell models apart.
struct AptitudeFeatures {
    let configuration: AptitudeConfiguration
    let set: AptitudeSet

    var width: Int { 8 + set.categoryCount }

    /// What depends on the query alone, computed once and shared by every model.
    struct QueryContext {
        var neighbourIndex: [Int]
        var neighbourWeight: [Double]
        var nearIndex: [Int]
        var nearWeight: [Double]
        var affinity: [Double]
        var nearestCategory: Int
        /// Aptitude prompt to leave out (the query itself during training), or nil.
        var excluded: Int?
    }

    /// `itemSims`: cosine to every aptitude prompt; `centroidSims`: cosine to every category centroid.
    func context(itemSims: UnsafeBufferPointer<Float>, centroidSims: UnsafeBufferPointer<Float>, excluded: Int?) -> QueryContext {
        let k = max(1, configuration.neighbours, configuration.nearNeighbours)
        // Partial selection of the k most similar prompts, best first (k is small: insertion into a
        // sorted stack buffer); once k are held, most prompts cost one comparison with the k-th.
        let (ni, nw, ci, cw) = withUnsafeTemporaryAllocation(of: Int.self, capacity: k + 1) { index in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: k + 1) { value in
                var held = 0
                var threshold = -Float.infinity
                for j in 0..<itemSims.count {
                    let s = itemSims[j]
                    guard held < k || s > threshold, j != excluded else { continue }
                    var pos = min(held, k - 1)
                    while pos > 0 && value[pos - 1] < s {
                        value[pos] = value[pos - 1]
                        index[pos] = index[pos - 1]
                        pos -= 1
                    }
                    value[pos] = s
                    index[pos] = j
                    held = min(held + 1, k)
                    if held == k { threshold = value[k - 1] }
                }
                let tau = configuration.temperature
                let best = Double(held > 0 ? value[0] : 0)
                // One weight per held prompt; both neighbour features read a prefix of them.
                let indices = Array(index[0..<held])
                let weights = (0..<held).map { Foundation.exp(tau * (Double(value[$0]) - best)) }
                let n = min(configuration.neighbours, held), near = min(configuration.nearNeighbours, held)
                return (Array(indices.prefix(n)), Array(weights.prefix(n)), Array(indices.prefix(near)), Array(weights.prefix(near)))
            }
        }
        let tau = configuration.temperature
        var affinity = [Double](repeating: 0, count: centroidSims.count)
        var maxSim = -Double.infinity
        var nearest = 0
        for c in 0..<centroidSims.count where Double(centroidSims[c]) > maxSim {
            maxSim = Double(centroidSims[c])
            nearest = c
        }
        var total = 0.0
        for c in 0..<centroidSims.count {
            affinity[c] = Foundation.exp(tau * (Double(centroidSims[c]) - maxSim))
            total += affinity[c]
        }
        if total > 0 { for c in affinity.indices { affinity[c] /= total } }
        return QueryContext(
            neighbourIndex: ni, neighbourWeight: nw, nearIndex: ci, nearWeight: cw,
            affinity: affinity, nearestCategory: nearest, excluded: excluded
        )
    }

    /// Per-category outcome sums and counts of one model: precomputed once per model.
    struct ModelSummary: Sendable, Hashable, Codable {
        var sums: [Double]
        var counts: [Double]
        var total: Double
        var count: Double
    }

    func summary(outcomes: [Float]) -> ModelSummary {
        var sums = [Double](repeating: 0, count: set.categoryCount)
        var counts = [Double](repeating: 0, count: set.categoryCount)
        for (j, o) in outcomes.enumerated() where j < set.categories.count && set.categories[j] < sums.count {
            sums[set.categories[j]] += Double(o)
            counts[set.categories[j]] += 1
        }
        return ModelSummary(sums: sums, counts: counts, total: sums.reduce(0, +), count: counts.reduce(0, +))
    }

    /// The feature row for one (query, model) pair, written into `row` (length `width`).
    func fill(_ row: inout [Float], context q: QueryContext, outcomes: [Float], summary s: ModelSummary) {
        var total = s.total, count = s.count
        var excludedCategory = -1
        var excludedOutcome = 0.0
        if let e = q.excluded, e < outcomes.count {
            excludedCategory = set.categories[e]
            excludedOutcome = Double(outcomes[e])
            total -= excludedOutcome
            count -= 1
        }
        let overall = count > 0 ? total / count : 0.5
        let smoothing = configuration.smoothing
        func accuracy(_ c: Int) -> Double {
            var sum = s.sums[c], n = s.counts[c]
            if c == excludedCategory { sum -= excludedOutcome; n -= 1 }
            return (sum + smoothing * overall) / (n + smoothing)
        }
        var affinityAccuracy = 0.0
        for c in q.affinity.indices { affinityAccuracy += q.affinity[c] * accuracy(c) }
        func weighted(_ index: [Int], _ weight: [Double]) -> Double {
            var num = 0.0, den = 0.0
            for (j, w) in zip(index, weight) { num += w * Double(outcomes[j]); den += w }
            return den > 0 ? (num + 0.5 * overall) / (den + 0.5) : overall
        }
        let neighbours = weighted(q.neighbourIndex, q.neighbourWeight)
        let near = weighted(q.nearIndex, q.nearWeight)
        row[0] = Float(affinityAccuracy)
        row[1] = Float(accuracy(q.nearestCategory))
        row[2] = Float(neighbours)
        row[3] = Float(near)
        row[4] = Float(overall)
        row[5] = Float(RequirementVectorMath.logit(affinityAccuracy, epsilon: 0.02))
        row[6] = Float(RequirementVectorMath.logit(neighbours, epsilon: 0.02))
        row[7] = Float(RequirementVectorMath.logit(overall, epsilon: 0.02))
        for c in q.affinity.indices { row[8 + c] = Float(q.affinity[c] * (accuracy(c) - overall)) }
    }
}

extension AptitudeFeatures {
    /// The scorer folded with every model's aptitude outcomes: what a decision reads per model.
    ///
    /// σ(w·row + b) of `fill` (no prompt left out, as at decision time) regrouped: the parts that do not
    /// depend on the query are summed once per model, and the C category features become one dot product
    /// of the query's affinity with `categoryTerm`. Why: filling a row of 8 + C features per model and
    /// query cost more than everything else a decision does. Tables are model-minor (one row per category
    /// or aptitude prompt, models across in pairs) so a decision sweeps two models per instruction; the
    /// arithmetic per model is the same multiply-then-add as `fill`'s, so the sums are the same.
    struct ScoringTable: Sendable, Hashable {
        var models: Int
        var categories: Int
        /// Pairs of models per row: ⌈models / 2⌉ (the last pair padded with zeros).
        var lanes: Int
        /// categories × lanes: accuracy per category, smoothed toward the model's overall aptitude.
        var accuracy: [SIMD2<Double>]
        /// categories × lanes: w₈₊꜀ · (accuracy − overall).
        var categoryTerm: [SIMD2<Double>]
        /// aptitude prompts × lanes: the outcomes the neighbour features average.
        var outcomes: [SIMD2<Double>]
        /// Per model: overall aptitude.
        var overall: [Double]
        /// Per model: b + w₄·overall + w₇·logit(overall).
        var constant: [Double]
        /// w₀ … w₃, w₅, w₆: the weights of the query-dependent features.
        var affinityWeight, nearestWeight, neighbourWeight, nearWeight, affinityLogitWeight, neighbourLogitWeight: Double

        /// Model `m`'s value in row `row` of a lane table.
        static func value(_ table: UnsafeBufferPointer<SIMD2<Double>>, row: Int, lanes: Int, model m: Int) -> Double {
            table[row * lanes + m / 2][m % 2]
        }
    }

    func scoringTable(aptitude: [[Float]], scorer: LogisticModel) -> ScoringTable {
        let w = { (i: Int) in i < scorer.weights.count ? scorer.weights[i] : 0 }
        let categories = set.categoryCount, smoothing = configuration.smoothing, models = aptitude.count
        let lanes = (models + 1) / 2
        var table = ScoringTable(
            models: models, categories: categories, lanes: lanes,
            accuracy: [SIMD2<Double>](repeating: .zero, count: categories * lanes),
            categoryTerm: [SIMD2<Double>](repeating: .zero, count: categories * lanes),
            outcomes: [SIMD2<Double>](repeating: .zero, count: set.count * lanes), overall: [], constant: [],
            affinityWeight: w(0), nearestWeight: w(1), neighbourWeight: w(2), nearWeight: w(3), affinityLogitWeight: w(5),
            neighbourLogitWeight: w(6))
        for (m, outcomes) in aptitude.enumerated() {
            let s = summary(outcomes: outcomes)
            let overall = s.count > 0 ? s.total / s.count : 0.5
            let lane = m / 2, half = m % 2
            for c in 0..<categories {
                let accuracy = c < s.sums.count ? (s.sums[c] + smoothing * overall) / (s.counts[c] + smoothing) : overall
                table.accuracy[c * lanes + lane][half] = accuracy
                table.categoryTerm[c * lanes + lane][half] = w(8 + c) * (accuracy - overall)
            }
            for j in 0..<set.count { table.outcomes[j * lanes + lane][half] = j < outcomes.count ? Double(outcomes[j]) : overall }
            table.overall.append(overall)
            table.constant.append(scorer.bias + w(4) * overall + w(7) * RequirementVectorMath.logit(overall, epsilon: 0.02))
        }
        return table
    }

    /// P(correct) of every model of `table` for one query's context (which must leave nothing out):
    /// the same value as `scorer.probability` of the row `fill` writes, up to rounding.
    func probabilities(_ table: ScoringTable, context q: QueryContext) -> [Double] {
        let categories = min(table.categories, q.affinity.count), models = table.models, lanes = table.lanes
        // Four per-model accumulators (in model pairs), each summed in the same order as `fill` sums its terms.
        return withUnsafeTemporaryAllocation(of: SIMD2<Double>.self, capacity: max(1, 4 * lanes)) { scratch in
            scratch.initialize(repeating: .zero)
            guard let affinityAccuracy = scratch.baseAddress else { return [] }
            let categoryPart = affinityAccuracy + lanes, neighbourSum = categoryPart + lanes, nearSum = neighbourSum + lanes
            table.accuracy.withUnsafeBufferPointer { accuracy in
                table.categoryTerm.withUnsafeBufferPointer { term in
                    for c in 0..<categories {
                        let a = SIMD2<Double>(repeating: q.affinity[c]), row = c * lanes
                        for l in 0..<lanes {
                            affinityAccuracy[l] += a * accuracy[row + l]
                            categoryPart[l] += a * term[row + l]
                        }
                    }
                }
            }
            let (neighbourWeight, nearWeight) = table.outcomes.withUnsafeBufferPointer { outcomes in
                func sweep(_ index: [Int], _ weight: [Double], into sum: UnsafeMutablePointer<SIMD2<Double>>) -> Double {
                    var den = 0.0
                    for (j, w) in zip(index, weight) {
                        let row = j * lanes, wide = SIMD2<Double>(repeating: w)
                        for l in 0..<lanes { sum[l] += wide * outcomes[row + l] }
                        den += w
                    }
                    return den
                }
                return (sweep(q.neighbourIndex, q.neighbourWeight, into: neighbourSum), sweep(q.nearIndex, q.nearWeight, into: nearSum))
            }
            return [Double](unsafeUninitializedCapacity: models) { out, initialized in
                table.accuracy.withUnsafeBufferPointer { accuracy in
                    for m in 0..<models {
                        let lane = m / 2, half = m % 2
                        let overall = table.overall[m]
                        let neighbours = neighbourWeight > 0 ? (neighbourSum[lane][half] + 0.5 * overall) / (neighbourWeight + 0.5) : overall
                        let near = nearWeight > 0 ? (nearSum[lane][half] + 0.5 * overall) / (nearWeight + 0.5) : overall
                        let nearest = q.nearestCategory < categories
                            ? ScoringTable.value(accuracy, row: q.nearestCategory, lanes: lanes, model: m) : overall
                        let affinityAccuracy = affinityAccuracy[lane][half]
                        var logit = table.constant[m] + categoryPart[lane][half]
                        logit += table.affinityWeight * affinityAccuracy + table.nearestWeight * nearest
                        logit += table.neighbourWeight * neighbours + table.nearWeight * near
                        logit += table.affinityLogitWeight * RequirementVectorMath.logit(affinityAccuracy, epsilon: 0.02)
                        logit += table.neighbourLogitWeight * RequirementVectorMath.logit(neighbours, epsilon: 0.02)
                        out[m] = RequirementVectorMath.sigmoid(logit)
                    }
                }
                initialized = models
            }
        }
    }
}
