import SwitchyardCore

/// K-means clusters of the labelled prompts and each model's mean outcome per cluster: the shared
/// ground of `uniroute-cluster` and `uniroute-learned-map` (and the cluster prior of kNN and
/// inference-dynamics, and the aptitude set's categories).
///
/// A cluster's mean is shrunk toward the model's global mean by empirical Bayes (`PriorShrinkage` with
/// the cluster's size as evidence: (Σ outcomes + κ·global) / (n + κ)). K and κ are chosen together by
/// K-fold cross-validation (`CrossValidation`): each fold's prompts are predicted from the tables of
/// the other folds, exactly, by subtracting the fold's own sums (no refit). Centroids are fitted once
/// on every labelled prompt's vector (they see no outcome), so one K-means per K serves all folds.
struct ClusterTable: Sendable {
    var centroids: FloatMatrix
    /// Cluster of every labelled row (the cross-validation's order).
    var assigned: [Int]
    /// Outcome sums and sizes per cluster over every labelled row.
    var stats: Stats
    /// The same over each fold's rows alone, by fold.
    var foldStats: [Stats]
    /// Pseudo-count chosen by cross-validation.
    var kappa: Float
    /// Cross-validated AIQ of the chosen K and κ.
    var estimate: CVEstimate
    /// Out-of-fold predictions of the chosen K and κ (labelled rows × models, flattened).
    var predictions: [Double]

    /// K × models: shrunk mean outcome (= 1 − error) per cluster over every labelled row, at κ.
    var quality: FloatMatrix { stats.quality(kappa: kappa) }

    /// The table fold `f`'s model would have: every other fold's rows, at `kappa` (default the chosen κ).
    func quality(excludingFold f: Int, kappa: Float? = nil) -> FloatMatrix {
        stats.subtracting(foldStats[f]).quality(kappa: kappa ?? self.kappa)
    }

    /// Values of K tried (default 4 … 40; those above n/10 are skipped).
    static let candidates = [4, 8, 12, 16, 20, 30, 40]

    /// Per-cluster outcome sums and counts, and the global sums per model.
    struct Stats: Sendable {
        var sums: FloatMatrix
        var counts: [Float]
        var globalSums: [Float]
        var total: Float

        var globalMean: [Float] { globalSums.map { total > 0 ? $0 / total : 0 } }

        /// Sums of `outcomes`' rows by their cluster in `assignments` (only `rows` when given).
        init(assignments: [Int], outcomes: FloatMatrix, k: Int, rows: [Int]? = nil) {
            let m = outcomes.cols
            var sums = FloatMatrix(rows: k, cols: m)
            var counts = [Float](repeating: 0, count: k)
            var global = [Float](repeating: 0, count: m)
            var total: Float = 0
            for i in rows ?? Array(assignments.indices) {
                let cluster = assignments[i]
                counts[cluster] += 1
                total += 1
                for j in 0..<m {
                    sums[cluster, j] += outcomes[i, j]
                    global[j] += outcomes[i, j]
                }
            }
            self.sums = sums
            self.counts = counts
            self.globalSums = global
            self.total = total
        }

        init(sums: FloatMatrix, counts: [Float], globalSums: [Float], total: Float) {
            self.sums = sums
            self.counts = counts
            self.globalSums = globalSums
            self.total = total
        }

        /// These sums without `part`'s (a subset of the same rows).
        func subtracting(_ part: Stats) -> Stats {
            var sums = self.sums
            for index in sums.values.indices { sums.values[index] -= part.sums.values[index] }
            return Stats(
                sums: sums, counts: zip(counts, part.counts).map { $0 - $1 },
                globalSums: zip(globalSums, part.globalSums).map { $0 - $1 }, total: total - part.total)
        }

        /// (Σ outcomes + κ·global) / (n + κ) per cluster and model; an empty cluster gets the global mean.
        func quality(kappa: Float) -> FloatMatrix {
            let global = globalMean
            var quality = FloatMatrix(rows: sums.rows, cols: sums.cols)
            for c in 0..<sums.rows {
                for j in 0..<sums.cols {
                    let n = counts[c] + kappa
                    quality[c, j] = n > 0 ? (sums[c, j] + kappa * global[j]) / n : global[j]
                }
            }
            return quality
        }
    }

    /// Out-of-fold rows of per-cluster tables: row i is `tables[fold(i)]`'s row of i's cluster.
    static func outOfFold(_ cv: CrossValidation, assigned: [Int], tables: [FloatMatrix]) -> [Double] {
        let m = cv.models.count
        var out = [Double](repeating: 0, count: cv.count * m)
        for i in 0..<cv.count {
            let table = tables[cv.fold(of: i)]
            for j in 0..<m { out[i * m + j] = Double(table[assigned[i], j]) }
        }
        return out
    }

    static func build(_ context: TrainingContext) throws -> ClusterTable {
        try context.cache.value("cluster-table") { try compute(context) }
    }

    static func compute(_ context: TrainingContext) throws -> ClusterTable {
        let cv = try context.crossValidation()
        let labelled = cv.labelled
        var best: ClusterTable? = nil
        let usable = candidates.filter { $0 * 10 <= max(labelled.count, 10) }
        for k in usable.isEmpty ? [1] : usable {
            let kmeans = KMeans.fit(labelled.vectors, configuration: KMeans.Configuration(k: k, restarts: 2, seed: context.seed))
            let clusters = kmeans.centroids.rows
            let stats = Stats(assignments: kmeans.assignments, outcomes: labelled.outcomes, k: clusters)
            let foldStats = cv.heldOutRows.map { Stats(assignments: kmeans.assignments, outcomes: labelled.outcomes, k: clusters, rows: $0) }
            let complements = foldStats.map { stats.subtracting($0) }
            for kappa in PriorShrinkage.candidates.map(Float.init) {
                let predicted = outOfFold(cv, assigned: kmeans.assignments, tables: complements.map { $0.quality(kappa: kappa) })
                let estimate = cv.score(predicted)
                context.logger.debug("uniroute candidate", metadata: ["k": "\(k)", "kappa": "\(kappa)", "cv_aiq": "\(estimate.formatted)"])
                if best == nil || estimate.mean > best!.estimate.mean + CrossValidation.minimumGain {
                    best = ClusterTable(
                        centroids: kmeans.centroids, assigned: kmeans.assignments, stats: stats, foldStats: foldStats, kappa: kappa,
                        estimate: estimate, predictions: predicted)
                }
            }
        }
        guard let best else { throw SwitchyardError.invalidArgument("uniroute: no labelled prompts to cluster") }
        context.logger.info("uniroute: chose K and κ by cross-validation", metadata: [
            "k": "\(best.centroids.rows)", "kappa": "\(best.kappa)", "cv_aiq": "\(best.estimate.formatted)",
        ])
        return best
    }
}
