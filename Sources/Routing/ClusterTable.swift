import SwitchyardCore

/// K-means clusters of the training prompts and each model's mean outcome per cluster: the shared
/// ground of `uniroute-cluster` and `uniroute-learned-map`.
///
/// A cluster's mean is shrunk toward the model's global mean by empirical Bayes (`PriorShrinkage` with
/// the cluster's size as evidence: (Σ outcomes + κ·global) / (n + κ)). K and κ are chosen together by
/// area under the cost–quality curve over train + dev, each prompt predicted from its cluster's table
/// *without its own outcomes* (leave-one-out, exact in closed form: (S − y + κ·g) / (n − 1 + κ)).
/// Why not dev alone: a few hundred dev prompts pick K and κ by noise (on ZeroEval dev preferred raw
/// means of 20 clusters, κ = 0); leave-one-out scores every labelled prompt, 5–7× the evidence, and
/// never scores a prompt with its own outcome. Centroids are fitted on train alone (they see no outcomes).
struct ClusterTable: Sendable {
    var centroids: FloatMatrix
    /// Outcome sums and sizes per cluster, from train only (for selection and for training the learned map).
    var trainStats: Stats
    /// The same over train and dev (dev is UniRoute's validation set), used to route.
    var pooledStats: Stats
    /// Pseudo-count chosen on dev.
    var kappa: Float
    /// Leave-one-out AIQ over train + dev of the chosen K and κ.
    var devAIQ: Double

    /// K × models: shrunk mean outcome (= 1 − error) per cluster from train, at the chosen κ.
    var trainQuality: FloatMatrix { trainStats.quality(kappa: kappa) }
    /// The same over train and dev.
    var pooledQuality: FloatMatrix { pooledStats.quality(kappa: kappa) }

    /// Values of K tried (default 4 … 40; those above n/10 are skipped).
    static let candidates = [4, 8, 12, 16, 20, 30, 40]

    /// Per-cluster outcome sums and counts, and the global mean per model.
    struct Stats: Sendable {
        var sums: FloatMatrix
        var counts: [Float]
        var globalMean: [Float]

        init(assignments parts: [([Int], FloatMatrix)], k: Int) {
            let m = parts.first?.1.cols ?? 0
            var sums = FloatMatrix(rows: k, cols: m)
            var counts = [Float](repeating: 0, count: k)
            var global = [Float](repeating: 0, count: m)
            var total: Float = 0
            for (assignments, outcomes) in parts {
                for (i, cluster) in assignments.enumerated() {
                    counts[cluster] += 1
                    total += 1
                    for j in 0..<m {
                        sums[cluster, j] += outcomes[i, j]
                        global[j] += outcomes[i, j]
                    }
                }
            }
            self.sums = sums
            self.counts = counts
            self.globalMean = global.map { total > 0 ? $0 / total : 0 }
        }

        /// (Σ outcomes + κ·global) / (n + κ) per cluster and model; an empty cluster gets the global mean.
        func quality(kappa: Float) -> FloatMatrix {
            var quality = FloatMatrix(rows: sums.rows, cols: sums.cols)
            for c in 0..<sums.rows {
                for j in 0..<sums.cols {
                    let n = counts[c] + kappa
                    quality[c, j] = n > 0 ? (sums[c, j] + kappa * globalMean[j]) / n : globalMean[j]
                }
            }
            return quality
        }

        /// Each labelled prompt's prediction (rows × models, flattened) from its cluster's table without
        /// its own outcome: (S − y + κ·g) / (n − 1 + κ); `assigned` and `outcomes` are the rows these
        /// stats were summed from, in the same order.
        func leaveOneOut(assigned: [Int], outcomes: FloatMatrix, kappa: Float) -> [Double] {
            var out = [Double](repeating: 0, count: assigned.count * sums.cols)
            for (i, c) in assigned.enumerated() {
                let n = counts[c] - 1 + kappa
                for j in 0..<sums.cols {
                    out[i * sums.cols + j] = n > 0 ? Double((sums[c, j] - outcomes[i, j] + kappa * globalMean[j]) / n) : Double(globalMean[j])
                }
            }
            return out
        }
    }

    static func build(_ context: TrainingContext) -> ClusterTable {
        context.cache.value("cluster-table") { compute(context) }
    }

    static func compute(_ context: TrainingContext) -> ClusterTable {
        let train = context.train
        var best: ClusterTable? = nil
        let usable = candidates.filter { $0 * 10 <= max(train.count, 10) }
        let labelled = (try? context.labelled()) ?? train
        let estimated = context.estimatedCosts(labelled)
        let outcomes = labelled.outcomes
        let costs = labelled.costs
        for k in usable.isEmpty ? [1] : usable {
            let kmeans = KMeans.fit(train.vectors, configuration: KMeans.Configuration(k: k, restarts: 2, seed: context.seed))
            let stats = Stats(assignments: [(kmeans.assignments, train.outcomes)], k: kmeans.centroids.rows)
            let devAssigned = context.dev.count > 0 ? KMeans.assign(context.dev.vectors, centroids: kmeans.centroids).assignments : []
            let pooled = Stats(assignments: [(kmeans.assignments, train.outcomes), (devAssigned, context.dev.outcomes)], k: kmeans.centroids.rows)
            let assigned = kmeans.assignments + devAssigned
            for kappa in PriorShrinkage.candidates.map(Float.init) {
                let predicted = pooled.leaveOneOut(assigned: assigned, outcomes: outcomes, kappa: kappa)
                let aiq = CostQualitySweep.aiq(predicted: predicted, estimated: estimated, outcomes: outcomes, costs: costs)
                context.logger.debug("uniroute candidate", metadata: ["k": "\(k)", "kappa": "\(kappa)", "loo_aiq": "\(aiq)"])
                if best == nil || aiq > best!.devAIQ + 1e-12 {
                    best = ClusterTable(centroids: kmeans.centroids, trainStats: stats, pooledStats: pooled, kappa: kappa, devAIQ: aiq)
                }
            }
        }
        context.logger.info("uniroute: chose K and κ by leave-one-out on train + dev", metadata: [
            "k": "\(best!.centroids.rows)", "kappa": "\(best!.kappa)", "loo_aiq": "\(best!.devAIQ)",
        ])
        return best!
    }
}
