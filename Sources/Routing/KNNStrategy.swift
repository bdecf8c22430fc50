import COpenBLAS
import Foundation
import Logging
import SwitchyardCore

/// k nearest training prompts by cosine similarity; predicted quality of a model = its (optionally
/// similarity-weighted) mean outcome on those neighbours, shrunk toward the model's mean outcome by
/// `PriorShrinkage` with evidence n = Σ of the neighbours' cosines (far neighbours are weak evidence).
/// The prior is either the model's global mean or, hierarchically, its shrunk mean on the query's
/// UniRoute cluster (`ClusterTable`: global → cluster → neighbours). k, the vote weighting, the prior
/// and κ are chosen together on dev (by area under the cost–quality curve) with train as the pool; the
/// final neighbour pool and priors are train + dev.
public struct KNNStrategy: TrainableStrategy {
    public static let strategyName = "knn"
    public var name: String { Self.strategyName }
    public let models: [String]
    public let k: Int
    /// Neighbour pool: n × dimension, rows L2-normalised.
    public let vectors: FloatMatrix
    /// n × models outcomes of the pool.
    public let outcomes: FloatMatrix
    /// Votes weighted by cosine similarity (true) or equal (false).
    public let weighted: Bool
    /// Pull toward each model's pool mean (κ = 0: none).
    public let shrinkage: PriorShrinkage
    /// Cluster prior: C × dimension centroids and C × models shrunk means; nil: the global `shrinkage.prior`.
    public let clusterPrior: (centroids: FloatMatrix, quality: FloatMatrix)?

    /// The pool by column (compressed sparse columns) when it is sparse: per-query similarities then
    /// touch only the pool entries that share a non-zero with the query; nil for a dense pool (MiniLM),
    /// which uses one BLAS matrix-vector product instead.
    private let postings: SparsePostings?
    /// Nearest-centroid lookup of the cluster prior.
    private let priorIndex: CentroidIndex?

    /// Values of k tried on dev.
    public static let candidates = [5, 10, 20, 40, 80]

    public init(
        models: [String], k: Int, vectors: FloatMatrix, outcomes: FloatMatrix, weighted: Bool = false, shrinkage: PriorShrinkage? = nil,
        clusterPrior: (centroids: FloatMatrix, quality: FloatMatrix)? = nil
    ) throws(SwitchyardError) {
        guard k >= 1, vectors.rows == outcomes.rows, outcomes.cols == models.count, vectors.rows > 0 else {
            throw .invalidArgument("knn: need k >= 1 and a non-empty pool with one outcome row per vector and one column per model")
        }
        let shrinkage = shrinkage ?? PriorShrinkage(prior: PriorShrinkage.means(outcomes), kappa: 0)
        guard shrinkage.prior.count == models.count else {
            throw .invalidArgument("knn: the shrinkage prior has \(shrinkage.prior.count) values for \(models.count) models; rebuild the artifact")
        }
        self.models = models
        self.k = k
        self.vectors = vectors
        self.outcomes = outcomes
        self.weighted = weighted
        self.shrinkage = shrinkage
        if let clusterPrior {
            guard clusterPrior.centroids.rows > 0, clusterPrior.centroids.rows == clusterPrior.quality.rows,
                  clusterPrior.centroids.cols == vectors.cols, clusterPrior.quality.cols == models.count else {
                throw .invalidArgument("knn: the cluster prior needs C centroids of the pool's dimension and a C × models table; rebuild the artifact")
            }
        }
        self.clusterPrior = clusterPrior
        self.postings = SparsePostings(vectors)
        self.priorIndex = clusterPrior.map { CentroidIndex($0.centroids) }
    }

    public func explain(_ query: QueryFeatures) -> String? {
        let similarities = LinearAlgebra.multiplyTransposed(LinearAlgebra.stack([query], dimension: vectors.cols), vectors)
        let top = Self.topIndices(similarities, row: 0, k: k)
        let mean = top.reduce(Float(0)) { $0 + similarities[0, $1] } / Float(max(1, top.count))
        return "\(top.count) neighbours, mean cosine \(String(format: "%.3f", mean)), nearest pool rows \(top.prefix(3).map(String.init).joined(separator: ", "))"
    }

    /// One query: similarities from the pool's postings (or one BLAS product when the pool is dense)
    /// into a stack buffer, then the same neighbour vote and shrinkage as the batch path.
    public func predictQuality(_ query: QueryFeatures) -> [Double] {
        guard query.vector.count == vectors.cols else { return predictQuality(batch: [query])[0] }
        let n = vectors.rows
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { sims in
            if let postings {
                postings.similarities(query.vector, nonZeros: query.nonZeros, into: sims)
            } else {
                vectors.values.withUnsafeBufferPointer { pool in
                    query.vector.withUnsafeBufferPointer { v in
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(vectors.cols), 1, pool.baseAddress, Int32(vectors.cols),
                                    v.baseAddress, 1, 0, sims.baseAddress, 1)
                    }
                }
            }
            let local = Self.neighbourMeans(UnsafeBufferPointer(sims), k: k, outcomes: outcomes, weighted: weighted)
            if let clusterPrior, let cluster = priorIndex?.nearest(query.vector, nonZeros: query.nonZeros) {
                return shrinkage.apply(local.means, evidence: local.evidence, toward: clusterPrior.quality.row(cluster).map(Double.init))
            }
            return shrinkage.apply(local.means, evidence: local.evidence)
        }
    }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        let stacked = LinearAlgebra.stack(queries, dimension: vectors.cols)
        let similarities = LinearAlgebra.multiplyTransposed(stacked, vectors)
        let clusters = clusterPrior.map { KMeans.assign(stacked, centroids: $0.centroids).assignments }
        return (0..<queries.count).map { i in
            let local = Self.neighbourMeans(similarities, row: i, k: k, outcomes: outcomes, weighted: weighted)
            if let clusterPrior, let clusters {
                return shrinkage.apply(local.means, evidence: local.evidence, toward: clusterPrior.quality.row(clusters[i]).map(Double.init))
            }
            return shrinkage.apply(local.means, evidence: local.evidence)
        }
    }

    /// Mean outcomes of the k most similar pool rows (ties to the lower index, as a stable sort),
    /// weighted by cosine when `weighted`, and the evidence behind them: Σ of their cosines (≥ 0).
    static func neighbourMeans(
        _ similarities: FloatMatrix, row: Int, k: Int, outcomes: FloatMatrix, weighted: Bool = false
    ) -> (means: [Double], evidence: Double) {
        similarities.values.withUnsafeBufferPointer { values in
            neighbourMeans(UnsafeBufferPointer(rebasing: values[(row * similarities.cols)..<((row + 1) * similarities.cols)]),
                           k: k, outcomes: outcomes, weighted: weighted)
        }
    }

    /// The same over one query's similarities to every pool row.
    static func neighbourMeans(
        _ similarities: UnsafeBufferPointer<Float>, k: Int, outcomes: FloatMatrix, weighted: Bool = false
    ) -> (means: [Double], evidence: Double) {
        let top = topIndices(similarities, k: k)
        var means = [Double](repeating: 0, count: outcomes.cols)
        var total = 0.0, evidence = 0.0
        for index in top {
            let similarity = max(0, Double(similarities[index]))
            let w = weighted ? similarity : 1
            evidence += similarity
            total += w
            for j in 0..<outcomes.cols { means[j] += w * Double(outcomes[index, j]) }
        }
        guard total > 0 else {
            // No similar neighbour at all (weighted votes): equal votes, and no evidence.
            return (weighted && !top.isEmpty ? neighbourMeans(similarities, k: k, outcomes: outcomes).means : means, 0)
        }
        return (means.map { $0 / total }, evidence)
    }

    /// Indices of the k largest values of one row, best first.
    static func topIndices(_ matrix: FloatMatrix, row: Int, k: Int) -> [Int] {
        matrix.values.withUnsafeBufferPointer { values in
            topIndices(UnsafeBufferPointer(rebasing: values[(row * matrix.cols)..<((row + 1) * matrix.cols)]), k: k)
        }
    }

    /// Indices of the k largest values, best first (ties to the lower index).
    static func topIndices(_ values: UnsafeBufferPointer<Float>, k: Int) -> [Int] {
        let kk = min(k, values.count)
        guard kk > 0 else { return [] }
        var bestIndex = [Int]()
        var bestValue = [Float]()
        bestIndex.reserveCapacity(kk + 1)
        bestValue.reserveCapacity(kk + 1)
        // Once k are held, most values fall below the k-th best: one comparison with a scalar each.
        var threshold = -Float.infinity
        var full = false
        for c in 0..<values.count {
            let v = values[c]
            if full && v <= threshold { continue }
            var position = bestValue.count
            while position > 0 && bestValue[position - 1] < v { position -= 1 }
            bestValue.insert(v, at: position)
            bestIndex.insert(c, at: position)
            if bestValue.count > kk {
                bestValue.removeLast()
                bestIndex.removeLast()
            }
            if bestValue.count == kk {
                full = true
                threshold = bestValue[kk - 1]
            }
        }
        return bestIndex
    }

    public static func train(_ context: TrainingContext) throws -> KNNStrategy {
        let selection = context.selection
        let pool = context.train
        let similarities = LinearAlgebra.multiplyTransposed(selection.vectors, pool.vectors)
        let trainPrior = PriorShrinkage.means(pool.outcomes)
        let table = ClusterTable.build(context)
        let selectionClusters = KMeans.assign(selection.vectors, centroids: table.centroids).assignments
        let trainClusterQuality = table.trainQuality
        let clusterPriors = selectionClusters.flatMap { trainClusterQuality.row($0).map(Double.init) }
        var best = (k: candidates[0], weighted: false, kappa: 0.0, clusterPrior: false, aiq: -Double.infinity)
        for k in candidates where k <= pool.count {
            for weighted in [false, true] {
                var local: [Double] = []
                var evidence: [Double] = []
                for row in 0..<selection.count {
                    let neighbours = neighbourMeans(similarities, row: row, k: k, outcomes: pool.outcomes, weighted: weighted)
                    local += neighbours.means
                    evidence.append(neighbours.evidence)
                }
                for useClusters in [false, true] {
                    let choice = PriorShrinkage.choose(
                        local: local, evidence: evidence, prior: trainPrior, queryPriors: useClusters ? clusterPriors : nil, context: context)
                    context.logger.debug("knn candidate", metadata: [
                        "k": "\(k)", "weighted": "\(weighted)", "cluster_prior": "\(useClusters)",
                        "kappa": "\(choice.shrinkage.kappa)", "dev_aiq": "\(choice.aiq)",
                    ])
                    if choice.aiq > best.aiq + 1e-12 { best = (k, weighted, choice.shrinkage.kappa, useClusters, choice.aiq) }
                }
            }
        }
        context.logger.info("knn: chose on dev", metadata: [
            "k": "\(best.k)", "weighted": "\(best.weighted)", "cluster_prior": "\(best.clusterPrior)",
            "kappa": "\(best.kappa)", "dev_aiq": "\(best.aiq)",
        ])
        var vectors = context.train.vectors
        var outcomes = context.train.outcomes
        let pooled = context.includeDevInFit && context.dev.count > 0
        if pooled {
            vectors.values += context.dev.vectors.values
            outcomes.values += context.dev.outcomes.values
            vectors = try FloatMatrix(rows: context.train.count + context.dev.count, cols: vectors.cols, values: vectors.values)
            outcomes = try FloatMatrix(rows: context.train.count + context.dev.count, cols: outcomes.cols, values: outcomes.values)
        }
        return try KNNStrategy(
            models: context.models, k: min(best.k, vectors.rows), vectors: vectors, outcomes: outcomes, weighted: best.weighted,
            shrinkage: PriorShrinkage(prior: PriorShrinkage.means(outcomes), kappa: best.kappa),
            clusterPrior: best.clusterPrior ? (table.centroids, pooled ? table.pooledQuality : table.trainQuality) : nil
        )
    }

    struct Stored: Codable {
        var models: [String]
        var k: Int
        var rows: Int
        var dimension: Int
        /// Absent in artifacts built before shrinkage: equal votes, no shrinkage.
        var weighted: Bool?
        var shrinkage: PriorShrinkage?
        /// Clusters of the prior (absent: the global prior).
        var priorClusters: Int?
    }

    public func save(to directory: URL) throws {
        try ArtifactFiles.writeJSON(
            Stored(
                models: models, k: k, rows: vectors.rows, dimension: vectors.cols, weighted: weighted, shrinkage: shrinkage,
                priorClusters: clusterPrior?.centroids.rows),
            to: directory.appendingPathComponent("knn.json")
        )
        try vectors.write(to: directory.appendingPathComponent("vectors.f32"))
        try outcomes.write(to: directory.appendingPathComponent("outcomes.f32"))
        if let clusterPrior {
            try clusterPrior.centroids.write(to: directory.appendingPathComponent("prior_centroids.f32"))
            try clusterPrior.quality.write(to: directory.appendingPathComponent("prior_quality.f32"))
        }
    }

    public static func load(from directory: URL) throws -> KNNStrategy {
        let stored = try ArtifactFiles.readJSON(Stored.self, from: directory.appendingPathComponent("knn.json"))
        let vectors = try FloatMatrix.read(from: directory.appendingPathComponent("vectors.f32"), rows: stored.rows, cols: stored.dimension)
        let outcomes = try FloatMatrix.read(from: directory.appendingPathComponent("outcomes.f32"), rows: stored.rows, cols: stored.models.count)
        let clusterPrior = try stored.priorClusters.map { clusters in
            (centroids: try FloatMatrix.read(from: directory.appendingPathComponent("prior_centroids.f32"), rows: clusters, cols: stored.dimension),
             quality: try FloatMatrix.read(from: directory.appendingPathComponent("prior_quality.f32"), rows: clusters, cols: stored.models.count))
        }
        return try KNNStrategy(
            models: stored.models, k: stored.k, vectors: vectors, outcomes: outcomes, weighted: stored.weighted ?? false,
            shrinkage: stored.shrinkage, clusterPrior: clusterPrior
        )
    }
}
