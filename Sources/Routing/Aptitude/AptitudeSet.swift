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
    /// Gold answer of every aptitude prompt (nil for one without), so `models onboard` can grade a new
    /// model itself; set by `profile build --answers` (`attachingAnswers`). Nil in artifacts built without.
    public var answers: [String?]?
    /// Grader spec of every aptitude prompt (`first-number`, ...), beside `answers`.
    public var graders: [String?]?
    /// Task label of every aptitude prompt, when the answers file gave one (to name categories).
    public var tasks: [String?]?

    public var count: Int { ids.count }
    public var categoryCount: Int { dimension > 0 ? centroids.count / dimension : 0 }

    /// A copy carrying the gold answer, grader and task `lookup` gives each aptitude prompt id, and the
    /// ids it had none for.
    public func attachingAnswers(_ lookup: (String) -> (answer: String, grader: String, task: String?)?) -> (set: AptitudeSet, missing: [String]) {
        var copy = self
        var answers: [String?] = []
        var graders: [String?] = []
        var tasks: [String?] = []
        var missing: [String] = []
        for id in ids {
            let gold = lookup(id)
            if gold == nil { missing.append(id) }
            answers.append(gold?.answer)
            graders.append(gold?.grader)
            tasks.append(gold?.task)
        }
        copy.answers = answers
        copy.graders = graders
        copy.tasks = tasks
        return (copy, missing)
    }

    /// Aptitude prompts to give a new model, in set order: the first `perCategory` of each category
    /// that have an answer (all that have one when nil). Deterministic, so a rerun asks the same ones.
    public func onboardingIndices(perCategory: Int?) -> [Int] {
        var taken = [Int](repeating: 0, count: max(categoryCount, (categories.max() ?? -1) + 1))
        var out: [Int] = []
        for i in 0..<count {
            guard answers?[i] != nil, graders?[i] != nil else { continue }
            let c = categories[i]
            if let perCategory, taken[c] >= perCategory { continue }
            taken[c] += 1
            out.append(i)
        }
        return out
    }

    public init(
        ids: [String], prompts: [String], categories: [Int], vectors: [Float], centroids: [Float], dimension: Int,
        answers: [String?]? = nil, graders: [String?]? = nil, tasks: [String?]? = nil
    ) {
        self.answers = answers
        self.graders = graders
        self.tasks = tasks
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
        var rng = SplitMix64(seed: seed ^ 0xA5A5, discarding: 1)
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
