import Profiling
import SwitchyardCore

/// The fixed aptitude test: a seeded, stratified sample of training prompts (at most
/// `promptsPerCategory` per category), their unit vectors and categories, and the category centroids
/// that place any query among them.
///
/// A model's representation is its outcome on these prompts, so a new model is onboarded by running
/// it on this set alone (`AptitudeStrategy.adding`).
public struct AptitudeSet: Sendable, Codable, Hashable {
    /// Record ids of the aptitude prompts (the `id` of the training line), in set order.
    public var ids: [String]
    /// The aptitude prompts' text, so a new model can be run on exactly this set (`models aptitude-set`).
    public var prompts: [String]
    /// Category of every aptitude prompt (index into `centroids`).
    public var categories: [Int]
    /// Unit vectors of the aptitude prompts: `ids.count × dimension`, row-major.
    public var vectors: [Float]
    /// Unit category centroids: `categoryCount × dimension`, row-major.
    public var centroids: [Float]
    public var dimension: Int

    public var count: Int { ids.count }
    public var categoryCount: Int { dimension > 0 ? centroids.count / dimension : 0 }

    public init(ids: [String], prompts: [String], categories: [Int], vectors: [Float], centroids: [Float], dimension: Int) {
        self.ids = ids
        self.prompts = prompts
        self.categories = categories
        self.vectors = vectors
        self.centroids = centroids
        self.dimension = dimension
    }

    /// Draws the set from training vectors: clusters them, then samples up to `perCategory` prompts from
    /// each cluster with a seeded shuffle. Indices returned point into the training rows.
    public static func sample(
        ids: [String], prompts: [String], vectors: [[Float]], categories k: Int, perCategory: Int, seed: UInt64
    ) -> (set: AptitudeSet, trainingRows: [Int]) {
        let dimension = vectors.first?.count ?? 0
        let fit = SphericalKMeans(k: k, seed: seed).fit(vectors)
        var rng = SeededSplitMix(seed: seed ^ 0xA5A5)
        var rows: [Int] = []
        var cats: [Int] = []
        for c in fit.centroids.indices {
            var members = fit.assignments.indices.filter { fit.assignments[$0] == c }
            members.shuffle(using: &rng)
            for r in members.prefix(perCategory).sorted() {
                rows.append(r)
                cats.append(c)
            }
        }
        let set = AptitudeSet(
            ids: rows.map { ids[$0] }, prompts: rows.map { prompts[$0] }, categories: cats,
            vectors: rows.flatMap { RequirementVectorMath.normalized(vectors[$0]) },
            centroids: fit.centroids.flatMap { $0 }, dimension: dimension
        )
        return (set, rows)
    }

    /// The aptitude prompts as a matrix (for one BLAS product with many queries).
    var vectorMatrix: FloatMatrix {
        (try? FloatMatrix(rows: count, cols: dimension, values: vectors)) ?? FloatMatrix(rows: 0, cols: dimension)
    }

    var centroidMatrix: FloatMatrix {
        (try? FloatMatrix(rows: categoryCount, cols: dimension, values: centroids)) ?? FloatMatrix(rows: 0, cols: dimension)
    }
}
