import Foundation
import SwitchyardCore

/// Query-dependent cost estimates: K-means groups of the training prompts, so the cost model predicts a
/// model's output length (hence cost) for *this kind* of query, not the model's mean over all queries.
///
/// A verbose model is expensive on proofs and cheap on yes/no questions; with one mean per model the
/// router over-pays on short tasks and under-estimates long ones. `CostModel` is fitted with the group
/// key `"c<k>"` of each training record, and the `Router` looks up the nearest centroid of each query.
public struct CostGroups: Sendable {
    /// K × featureDimension centroids (squared-L2 nearest centroid = the group).
    public let centroids: FloatMatrix
    private let halfNorms: [Float]

    /// Default number of groups (16: enough to separate the tasks of the shared data sets, each group
    /// still holding ≥ 5 records per model for the cost model's shrinkage on ~1k training prompts).
    public static let defaultK = 16

    public init(centroids: FloatMatrix) {
        self.centroids = centroids
        self.halfNorms = (0..<centroids.rows).map { c in centroids.row(c).reduce(0) { $0 + $1 * $1 } / 2 }
    }

    /// K-means (k-means++ init, seeded) over the training vectors; K is capped at rows / 20.
    public static func fit(_ vectors: FloatMatrix, k: Int = defaultK, seed: UInt64) -> CostGroups? {
        let clusters = min(k, vectors.rows / 20)
        guard clusters >= 2 else { return nil }
        let fit = KMeans.fit(vectors, configuration: .init(k: clusters, restarts: 1, seed: seed))
        return CostGroups(centroids: fit.centroids)
    }

    /// Group key of a cluster index (what `CostModel` is fitted with).
    public static func key(_ cluster: Int) -> String { "c\(cluster)" }

    /// The group of one query vector (nil when its dimension differs from the centroids').
    public func group(of vector: [Float]) -> String? {
        guard vector.count == centroids.cols, centroids.rows > 0 else { return nil }
        var best = 0
        var bestScore = -Float.infinity
        centroids.values.withUnsafeBufferPointer { c in
            vector.withUnsafeBufferPointer { v in
                let d = centroids.cols
                for k in 0..<centroids.rows {
                    var dot: Float = 0
                    let base = k * d
                    for i in 0..<d { dot += c[base + i] * v[i] }
                    let score = dot - halfNorms[k]
                    if score > bestScore {
                        bestScore = score
                        best = k
                    }
                }
            }
        }
        return Self.key(best)
    }

    /// Groups of many queries (one BLAS product).
    public func groups(of queries: [QueryFeatures]) -> [String?] {
        guard centroids.rows > 0 else { return queries.map { _ in nil } }
        let dots = LinearAlgebra.multiplyTransposed(LinearAlgebra.stack(queries, dimension: centroids.cols), centroids)
        return queries.indices.map { i in
            guard queries[i].vector.count == centroids.cols else { return nil }
            var best = 0
            var bestScore = -Float.infinity
            for k in 0..<centroids.rows {
                let score = dots[i, k] - halfNorms[k]
                if score > bestScore {
                    bestScore = score
                    best = k
                }
            }
            return Self.key(best)
        }
    }

    private struct Stored: Codable {
        var clusters: Int
        var dimension: Int
    }

    /// Writes `cost_groups.json` and `cost_groups.f32` into the artifact directory.
    public func save(to directory: URL) throws {
        try ArtifactFiles.writeJSON(Stored(clusters: centroids.rows, dimension: centroids.cols), to: directory.appendingPathComponent("cost_groups.json"))
        try centroids.write(to: directory.appendingPathComponent("cost_groups.f32"))
    }

    /// Loads the groups of an artifact; nil when it has none (artifacts built without cost groups).
    public static func load(from directory: URL) throws -> CostGroups? {
        let json = directory.appendingPathComponent("cost_groups.json")
        guard FileManager.default.fileExists(atPath: json.path) else { return nil }
        let stored = try ArtifactFiles.readJSON(Stored.self, from: json)
        return CostGroups(centroids: try FloatMatrix.read(
            from: directory.appendingPathComponent("cost_groups.f32"), rows: stored.clusters, cols: stored.dimension))
    }
}
