import Embedding
import Foundation
import Logging
import SwitchyardCore

/// k nearest training prompts by cosine similarity; predicted quality of a model = its (optionally
/// similarity-weighted) mean outcome on those neighbours, shrunk toward the model's mean outcome by
/// `PriorShrinkage` with evidence n = Σ of the neighbours' cosines (far neighbours are weak evidence).
/// The prior is either the model's global mean or, hierarchically, its shrunk mean on the query's
/// UniRoute cluster (`ClusterTable`: global → cluster → neighbours). k, the vote weighting, the prior
/// and κ are chosen together by cross-validated area under the cost–quality curve; the saved
/// neighbour pool and priors are every labelled prompt (train + dev).
public struct KNNStrategy: TrainableStrategy {
    public static let strategyName = "knn"
    public static let decisionCostRank = 4
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

    /// Values of k tried.
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
            Self.similarities(query, pool: vectors, postings: postings, into: sims)
            let local = Self.neighbourMeans(UnsafeBufferPointer(sims), k: k, outcomes: outcomes, weighted: weighted)
            if let clusterPrior, let cluster = priorIndex?.nearest(query.vector, nonZeros: query.nonZeros) {
                return shrinkage.apply(local.means, evidence: local.evidence, toward: clusterPrior.quality.row(cluster).map(Double.init))
            }
            return shrinkage.apply(local.means, evidence: local.evidence)
        }
    }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        // A sparse pool: one query at a time over its postings beats a dense product of the stack.
        if postings != nil { return queries.map(predictQuality) }
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
        return vote(top[...], similarities: top.map { similarities[$0] }[...], outcomes: outcomes, weighted: weighted)
    }

    /// The vote of the neighbours `top` (pool rows, best first) with their cosines `similarities`.
    static func vote(
        _ top: ArraySlice<Int>, similarities: ArraySlice<Float>, outcomes: FloatMatrix, weighted: Bool
    ) -> (means: [Double], evidence: Double) {
        var means = [Double](repeating: 0, count: outcomes.cols)
        var total = 0.0, evidence = 0.0
        for (index, cosine) in zip(top, similarities) {
            let similarity = max(0, Double(cosine))
            let w = weighted ? similarity : 1
            evidence += similarity
            total += w
            for j in 0..<outcomes.cols { means[j] += w * Double(outcomes[index, j]) }
        }
        guard total > 0 else {
            // No similar neighbour at all (weighted votes): equal votes, and no evidence.
            return (weighted && !top.isEmpty ? vote(top, similarities: similarities, outcomes: outcomes, weighted: false).means : means, 0)
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

    /// Chooses k, the vote weighting, the prior and κ together by K-fold cross-validation: every
    /// labelled prompt is predicted from its k nearest prompts *of the other folds*, shrunk toward the
    /// other folds' mean or their table of its cluster (`ClusterTable.quality(excludingFold:)`). One
    /// neighbour search serves every candidate. Why not dev alone: 5 × 2 × 2 × 9 candidates scored on a
    /// few hundred dev prompts choose by noise (LLMRouter: dev preferred k = 20 at dev AIQ 0.639, 0.627
    /// on test). Candidates run from the least smoothing (small k, equal votes, no cluster prior,
    /// κ = 0) up, and a later one must gain more than `CrossValidation.minimumGain`: near-ties go to
    /// the simpler choice, not to noise.
    public static func train(_ context: TrainingContext) throws -> KNNStrategy {
        let table = try ClusterTable.build(context)
        let best = try choice(context)
        return try fit(context, k: best.k, weighted: best.weighted, kappa: best.kappa, clusterPrior: best.clusterPrior, table: table)
    }

    public static func crossValidate(_ context: TrainingContext) throws -> CrossValidated {
        let best = try choice(context)
        return CrossValidated(
            predictions: best.predictions, estimate: best.estimate,
            choice: "k=\(best.k) weighted=\(best.weighted) cluster_prior=\(best.clusterPrior) κ=\(best.kappa)")
    }

    /// The knobs cross-validation chose, with their out-of-fold predictions.
    struct Choice: Sendable {
        var k: Int
        var weighted: Bool
        var kappa: Double
        var clusterPrior: Bool
        var estimate: CVEstimate
        var predictions: [Double]
    }

    /// The build's choice (made once per context; the saved fit reuses it).
    static func choice(_ context: TrainingContext) throws -> Choice {
        try context.cache.value("knn-choice") { try choose(context, table: ClusterTable.build(context)) }
    }

    static func choose(_ context: TrainingContext, table: ClusterTable) throws -> Choice {
        let cv = try context.crossValidation()
        let labelled = cv.labelled
        let m = labelled.outcomes.cols
        let smallestPool = (0..<cv.folds.count).map { labelled.count - cv.heldOutRows[$0].count }.min() ?? 0
        let kMax = min(candidates.max() ?? 1, smallestPool)
        let empty = CVEstimate(folds: [])
        guard kMax >= 1 else {
            return Choice(k: 1, weighted: false, kappa: 0, clusterPrior: false, estimate: empty, predictions: [])
        }
        let neighbours = outOfFoldNeighbours(labelled, folds: cv.folds.fold, k: kMax)
        let clusterPriors = ClusterTable.outOfFold(
            cv, assigned: table.assigned, tables: (0..<cv.folds.count).map { table.quality(excludingFold: $0) })
        // The global prior of a fold: the other folds' mean outcome per model.
        let globalPriors = cv.rowsOfFoldValues(cv.complementMeans(labelled.outcomes))
        var best: Choice? = nil
        for k in candidates where k <= kMax {
            for weighted in [false, true] {
                var local: [Double] = []
                var evidence: [Double] = []
                local.reserveCapacity(labelled.count * m)
                for row in neighbours {
                    let votes = vote(row.index.prefix(k), similarities: row.similarity.prefix(k), outcomes: labelled.outcomes, weighted: weighted)
                    local += votes.means
                    evidence.append(votes.evidence)
                }
                for useClusters in [false, true] {
                    for kappa in PriorShrinkage.candidates {
                        let predicted = PriorShrinkage.shrink(
                            local: local, evidence: evidence, queryPriors: useClusters ? clusterPriors : globalPriors, kappa: kappa)
                        let estimate = cv.score(predicted)
                        context.logger.debug("knn candidate", metadata: [
                            "k": "\(k)", "weighted": "\(weighted)", "cluster_prior": "\(useClusters)", "kappa": "\(kappa)",
                            "cv_aiq": "\(estimate.formatted)",
                        ])
                        if best == nil || estimate.mean > best!.estimate.mean + CrossValidation.minimumGain {
                            best = Choice(
                                k: k, weighted: weighted, kappa: kappa, clusterPrior: useClusters, estimate: estimate, predictions: predicted)
                        }
                    }
                }
            }
        }
        guard let best else { return Choice(k: 1, weighted: false, kappa: 0, clusterPrior: false, estimate: empty, predictions: []) }
        context.logger.info("knn: chose by cross-validation", metadata: [
            "k": "\(best.k)", "weighted": "\(best.weighted)", "cluster_prior": "\(best.clusterPrior)",
            "kappa": "\(best.kappa)", "cv_aiq": "\(best.estimate.formatted)",
        ])
        return best
    }

    /// The `k` nearest prompts of every pool prompt among those of the other folds (`folds[i]` is row
    /// i's fold), best first, with their cosines.
    static func outOfFoldNeighbours(_ pool: TrainingContext.Split, folds: [Int], k: Int) -> [(index: [Int], similarity: [Float])] {
        let n = pool.count
        let postings = SparsePostings(pool.vectors)
        var members: [Int: [Int]] = [:]
        for (i, f) in folds.enumerated() { members[f, default: []].append(i) }
        var out: [(index: [Int], similarity: [Float])] = []
        out.reserveCapacity(n)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { sims in
            for i in 0..<n {
                similarities(pool.features[i], pool: pool.vectors, postings: postings, into: sims)
                for r in members[folds[i]] ?? [i] { sims[r] = -.infinity }
                let top = topIndices(UnsafeBufferPointer(sims), k: k)
                out.append((top, top.map { sims[$0] }))
            }
        }
        return out
    }

    /// Cosine of `query` with every pool row into `out`: over the pool's postings when it is sparse,
    /// else one BLAS matrix-vector product.
    static func similarities(_ query: QueryFeatures, pool: FloatMatrix, postings: SparsePostings?, into out: UnsafeMutableBufferPointer<Float>) {
        if let postings {
            postings.similarities(query.vector, nonZeros: query.nonZeros, into: out)
            return
        }
        pool.values.withUnsafeBufferPointer { values in
            query.vector.withUnsafeBufferPointer { v in
                BLAS.sgemv(rows: pool.rows, cols: pool.cols, a: values.baseAddress, x: v.baseAddress, y: out.baseAddress)
            }
        }
    }

    /// The strategy with the chosen knobs over every labelled prompt.
    static func fit(
        _ context: TrainingContext, k: Int, weighted: Bool, kappa: Double, clusterPrior: Bool, table: ClusterTable
    ) throws -> KNNStrategy {
        let pool = try context.labelled()
        let vectors = pool.vectors, outcomes = pool.outcomes
        return try KNNStrategy(
            models: context.models, k: min(k, vectors.rows), vectors: vectors, outcomes: outcomes, weighted: weighted,
            shrinkage: PriorShrinkage(prior: PriorShrinkage.means(outcomes), kappa: kappa),
            clusterPrior: clusterPrior ? (table.centroids, table.quality) : nil
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
