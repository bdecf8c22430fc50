import SwitchyardCore

/// A hierarchical prior for `PriorShrinkage`: a query's prior is the shrunk mean outcome of each model
/// on the query's UniRoute cluster (`ClusterTable`), not the model's global mean.
///
/// Why: on data made of tasks (each with its own instruction template) the cluster mean already knows
/// which models are good at *this kind* of prompt, so a noisy per-query prediction is better pulled
/// toward it than toward a global mean (global → cluster → query). Strategies choose on dev between
/// this prior and the global one.
public struct ClusterPrior: Sendable, Codable, Hashable {
    /// C × dimension centroids.
    public let centroids: FloatMatrix
    /// C rows of one prior quality per model.
    public private(set) var quality: [[Double]]

    /// Nearest-centroid lookup over a query's non-zeros (not stored; rebuilt from `centroids`).
    private let index: CentroidIndex

    public init(centroids: FloatMatrix, quality: FloatMatrix) {
        self.centroids = centroids
        self.quality = (0..<quality.rows).map { quality.row($0).map(Double.init) }
        self.index = CentroidIndex(centroids)
    }

    public static func == (a: ClusterPrior, b: ClusterPrior) -> Bool { a.centroids == b.centroids && a.quality == b.quality }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(centroids)
        hasher.combine(quality)
    }

    /// The prior row of one query without building matrices; nil for a vector of another length.
    public func prior(_ vector: [Float], nonZeros: [Int32]? = nil) -> [Double]? {
        index.nearest(vector, nonZeros: nonZeros).map { quality[$0] }
    }

    /// Length of the query vectors the centroids live in.
    public var dimension: Int { centroids.cols }

    /// Whether the shapes agree with `models` models.
    public func isValid(models: Int) -> Bool {
        dimension > 0 && !quality.isEmpty && centroids.rows == quality.count && quality.allSatisfy { $0.count == models }
    }

    enum CodingKeys: String, CodingKey { case dimension, centroids, quality }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let dimension = try c.decode(Int.self, forKey: .dimension)
        let values = try c.decode([Float].self, forKey: .centroids)
        quality = try c.decode([[Double]].self, forKey: .quality)
        guard dimension > 0, values.count == quality.count * dimension else {
            throw DecodingError.dataCorruptedError(forKey: .centroids, in: c, debugDescription: "centroids do not match \(quality.count) clusters of dimension \(dimension)")
        }
        centroids = try FloatMatrix(rows: quality.count, cols: dimension, values: values)
        index = CentroidIndex(centroids)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dimension, forKey: .dimension)
        try c.encode(centroids.values, forKey: .centroids)
        try c.encode(quality, forKey: .quality)
    }

    /// The prior row of every query; nil for a query whose vector has another length (the caller falls
    /// back to the global prior). The same sparse nearest-centroid search as `prior(_:nonZeros:)`, so a
    /// batch decides exactly as one query at a time (a dense n × dimension stack and K-means assignment
    /// made the batch 3.8× slower than single queries on TF-IDF vectors: 80k vs 303k decisions/s).
    public func priors(_ queries: [QueryFeatures]) -> [[Double]?] {
        queries.map { prior($0.vector, nonZeros: $0.nonZeros) }
    }
}
