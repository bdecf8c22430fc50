import Foundation
import SwitchyardCore

/// UniRoute, hard cluster map: a query goes to its nearest K-means centroid; a model's predicted
/// quality is 1 − its error on that cluster (error measured on every labelled prompt, train + dev,
/// shrunk toward the model's mean with the cluster's size as evidence, see `ClusterTable`). K and the
/// shrinkage pseudo-count κ are chosen by cross-validated area under the cost–quality curve.
public struct UniRouteClusterStrategy: TrainableStrategy {
    public static let strategyName = "uniroute-cluster"
    public static let decisionCostRank = 0
    public var name: String { Self.strategyName }
    public let models: [String]
    /// K × dimension.
    public let centroids: FloatMatrix
    /// K × models: predicted quality per cluster.
    public let quality: FloatMatrix
    private let nearest: CentroidIndex

    public init(models: [String], centroids: FloatMatrix, quality: FloatMatrix) throws(SwitchyardError) {
        guard centroids.rows > 0, quality.rows == centroids.rows, quality.cols == models.count else {
            throw .invalidArgument("uniroute-cluster: need K > 0 centroids and a K × models quality table")
        }
        self.models = models
        self.centroids = centroids
        self.quality = quality
        self.nearest = CentroidIndex(centroids)
    }

    /// The cluster of each query (nearest centroid; cluster 0 for a vector of another length).
    public func clusters(_ queries: [QueryFeatures]) -> [Int] {
        queries.map { nearest.nearest($0.vector) ?? 0 }
    }

    public func explain(_ query: QueryFeatures) -> String? {
        let cluster = clusters([query])[0]
        let ranked = models.indices.sorted { quality[cluster, $0] > quality[cluster, $1] }.prefix(3)
        return "cluster \(cluster) of \(centroids.rows); best there: " + ranked.map { "\(models[$0]) \(String(format: "%.2f", quality[cluster, $0]))" }.joined(separator: ", ")
    }

    /// One nearest-centroid lookup over the query's non-zeros and a row copy: no matrix per query.
    public func predictQuality(_ query: QueryFeatures) -> [Double] {
        let base = (nearest.nearest(query.vector, nonZeros: query.nonZeros) ?? 0) * quality.cols
        return quality.values.withUnsafeBufferPointer { q in
            [Double](unsafeUninitializedCapacity: quality.cols) { out, initialized in
                for j in 0..<quality.cols { out[j] = Double(q[base + j]) }
                initialized = quality.cols
            }
        }
    }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        queries.map { predictQuality($0) }
    }

    public static func train(_ context: TrainingContext) throws -> UniRouteClusterStrategy {
        let table = try ClusterTable.build(context)
        return try UniRouteClusterStrategy(models: context.models, centroids: table.centroids, quality: table.quality)
    }

    public static func crossValidate(_ context: TrainingContext) throws -> CrossValidated {
        let table = try ClusterTable.build(context)
        return CrossValidated(predictions: table.predictions, estimate: table.estimate, choice: "K=\(table.centroids.rows) κ=\(table.kappa)")
    }

    struct Stored: Codable {
        var models: [String]
        var clusters: Int
        var dimension: Int
    }

    public func save(to directory: URL) throws {
        try ArtifactFiles.writeJSON(
            Stored(models: models, clusters: centroids.rows, dimension: centroids.cols),
            to: directory.appendingPathComponent("clusters.json")
        )
        try centroids.write(to: directory.appendingPathComponent("centroids.f32"))
        try quality.write(to: directory.appendingPathComponent("quality.f32"))
    }

    public static func load(from directory: URL) throws -> UniRouteClusterStrategy {
        let stored = try ArtifactFiles.readJSON(Stored.self, from: directory.appendingPathComponent("clusters.json"))
        return try UniRouteClusterStrategy(
            models: stored.models,
            centroids: try FloatMatrix.read(from: directory.appendingPathComponent("centroids.f32"), rows: stored.clusters, cols: stored.dimension),
            quality: try FloatMatrix.read(from: directory.appendingPathComponent("quality.f32"), rows: stored.clusters, cols: stored.models.count)
        )
    }
}
