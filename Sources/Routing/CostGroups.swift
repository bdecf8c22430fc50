import Foundation
import Budget
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
    private let nearest: CentroidIndex
    private let keys: [String]

    /// Default number of groups when one is fitted without selection (16).
    public static let defaultK = 16
    /// Numbers of groups `profile build` compares on dev (0: no groups, one mean per model).
    public static let candidates = [0, 8, 16, 32]

    public init(centroids: FloatMatrix) {
        self.centroids = centroids
        self.nearest = CentroidIndex(centroids)
        self.keys = (0..<centroids.rows).map(Self.key)
    }

    /// K-means (k-means++ init, seeded) over the training vectors; K is capped at rows / 20.
    public static func fit(_ vectors: FloatMatrix, k: Int = defaultK, seed: UInt64) -> CostGroups? {
        let clusters = min(k, vectors.rows / 20)
        guard clusters >= 2 else { return nil }
        let fit = KMeans.fit(vectors, configuration: .init(k: clusters, restarts: 1, seed: seed))
        return CostGroups(centroids: fit.centroids)
    }

    /// Chooses the number of groups by cross-validation: for each candidate K, groups are fitted once
    /// on every labelled prompt's vector (no outcome), and each fold's prompts are priced by the cost
    /// model of the other folds; the relative error of estimated against realised cost,
    /// Σ|est − real| / Σ real over the fold's records and models, is averaged over folds, and the
    /// smallest wins (a larger K must lower it by more than 1e-4). Returns the chosen groups (nil for
    /// none) and every candidate's error, for the log.
    public static func select(
        candidates: [Int], labelled: TrainingContext.Split, folds: CrossValidationFolds,
        prices: [String: ModelPrice], models: [String], seed: UInt64
    ) throws -> (groups: CostGroups?, errors: [(k: Int, error: CVEstimate)]) {
        guard folds.count > 1 else {
            let k = candidates.max() ?? 0
            return (k > 1 ? fit(labelled.vectors, k: k, seed: seed) : nil, [])
        }
        var best: (error: Double, groups: CostGroups?)? = nil
        var errors: [(k: Int, error: CVEstimate)] = []
        for k in candidates.sorted() {
            let groups = k > 1 ? fit(labelled.vectors, k: k, seed: seed) : nil
            if k > 1 && groups == nil { continue }
            let assigned = groups?.groups(of: labelled.features) ?? labelled.features.map { _ in nil }
            var groupOf: [String: String] = [:]
            for (record, group) in zip(labelled.records, assigned) { groupOf[record.prompt] = group }
            let foldErrors = try (0..<folds.count).map { f -> Double in
                let model = try CostModel.fit(
                    records: folds.training(f).map { labelled.records[$0] }, prices: prices, models: models, group: { groupOf[$0.prompt] })
                var absolute = 0.0, total = 0.0
                for i in folds.heldOut(f) {
                    let estimate = model.estimate(inputTokens: labelled.features[i].inputTokens, group: assigned[i])
                    for j in 0..<models.count {
                        let real = Double(labelled.costs[i, j])
                        absolute += abs(estimate[j] - real)
                        total += real
                    }
                }
                return total > 0 ? absolute / total : 0
            }
            let error = CVEstimate(folds: foldErrors)
            errors.append((k, error))
            if best == nil || error.mean < best!.error - 1e-4 { best = (error.mean, groups) }
        }
        return (best?.groups, errors)
    }

    /// Group key of a cluster index (what `CostModel` is fitted with).
    public static func key(_ cluster: Int) -> String { "c\(cluster)" }

    /// The group of one query vector (nil when its dimension differs from the centroids').
    public func group(of vector: [Float]) -> String? {
        index(of: vector).map { keys[$0] }
    }

    /// The group index (0..<K) of one query vector, without allocating (nil when its dimension differs
    /// from the centroids'): what the `Router` uses to look up its precomputed cost rows. Sparse vectors
    /// are multiplied over their non-zeros only (see `CentroidIndex`).
    public func index(of vector: [Float], nonZeros: [Int32]? = nil) -> Int? {
        nearest.nearest(vector, nonZeros: nonZeros)
    }

    /// Groups of many queries (same answers as `group(of:)`, query by query).
    public func groups(of queries: [QueryFeatures]) -> [String?] {
        queries.map { group(of: $0.vector) }
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
