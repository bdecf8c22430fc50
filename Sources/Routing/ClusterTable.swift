import SwitchyardCore

/// K-means clusters of the training prompts and each model's mean outcome per cluster: the shared
/// ground of `uniroute-cluster` and `uniroute-learned-map`. K is chosen on dev.
struct ClusterTable: Sendable {
    var centroids: FloatMatrix
    /// K × models: mean outcome (= 1 − error) per cluster, from train only (for selection and for
    /// training the learned map).
    var trainQuality: FloatMatrix
    /// K × models: the same over train and dev (dev is UniRoute's validation set), used to route.
    var pooledQuality: FloatMatrix
    var devAIQ: Double

    /// Values of K tried (default 4 … 40; those above n/10 are skipped).
    static let candidates = [4, 8, 12, 16, 20, 30, 40]
    /// Pseudo-count pulling a small cluster's outcome toward the model's global mean.
    static let prior: Float = 2

    static func build(_ context: TrainingContext) -> ClusterTable {
        context.cache.value("cluster-table") { compute(context) }
    }

    static func compute(_ context: TrainingContext) -> ClusterTable {
        let train = context.train
        var best: ClusterTable? = nil
        let usable = candidates.filter { $0 * 10 <= max(train.count, 10) }
        for k in usable.isEmpty ? [1] : usable {
            let kmeans = KMeans.fit(train.vectors, configuration: KMeans.Configuration(k: k, restarts: 2, seed: context.seed))
            let quality = meanQuality(assignments: [(kmeans.assignments, train.outcomes)], k: kmeans.centroids.rows)
            let selection = context.selection
            let assigned = KMeans.assign(selection.vectors, centroids: kmeans.centroids).assignments
            let predicted = assigned.flatMap { quality.row($0).map(Double.init) }
            let aiq = context.selectionAIQ(predicted: predicted)
            context.logger.debug("uniroute candidate", metadata: ["k": "\(k)", "dev_aiq": "\(aiq)"])
            if best == nil || aiq > best!.devAIQ {
                let devAssigned = context.dev.count > 0
                    ? KMeans.assign(context.dev.vectors, centroids: kmeans.centroids).assignments : []
                let pooled = meanQuality(
                    assignments: [(kmeans.assignments, train.outcomes), (devAssigned, context.dev.outcomes)],
                    k: kmeans.centroids.rows
                )
                best = ClusterTable(centroids: kmeans.centroids, trainQuality: quality, pooledQuality: pooled, devAIQ: aiq)
            }
        }
        context.logger.info("uniroute: chose K on dev", metadata: ["k": "\(best!.centroids.rows)", "dev_aiq": "\(best!.devAIQ)"])
        return best!
    }

    /// Per-cluster mean outcome of every model, shrunk toward the model's global mean by `prior`.
    static func meanQuality(assignments parts: [([Int], FloatMatrix)], k: Int) -> FloatMatrix {
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
        var quality = FloatMatrix(rows: k, cols: m)
        for c in 0..<k {
            for j in 0..<m {
                let globalMean = total > 0 ? global[j] / total : 0
                quality[c, j] = (sums[c, j] + prior * globalMean) / (counts[c] + prior)
            }
        }
        return quality
    }
}
