import Foundation
import Profiling
import SwitchyardCore

/// `aptitude` (the Model-SAT idea): every model is represented by its outcomes on a fixed aptitude set
/// of training prompts, and one learned scorer maps (query, aptitude outcomes) to P(correct).
///
/// Because the scorer sees a model only through its aptitude outcomes, a model it never saw in
/// training is onboarded by running it on the aptitude set and calling `adding(model:outcomes:)`:
/// no retraining, no inference of the other candidates.
public struct AptitudeStrategy: TrainableStrategy, Codable, Hashable {
    public static let strategyName = "aptitude"
    public static let decisionCostRank = 3
    public var name: String { Self.strategyName }
    public private(set) var models: [String]
    public var configuration: AptitudeConfiguration { didSet { table = Self.table(self) } }
    public var set: AptitudeSet {
        didSet {
            table = Self.table(self)
            itemPostings = SparsePostings(set.vectorMatrix)
            centroidIndex = CentroidIndex(set.centroidMatrix)
        }
    }
    /// Outcome of every model on every aptitude prompt: `models.count` rows of `set.count` values.
    public private(set) var aptitude: [[Float]] { didSet { table = Self.table(self) } }
    public var scorer: LogisticModel { didSet { table = Self.table(self) } }
    /// The scorer folded with every model's aptitude outcomes, kept with them (filling a feature row per
    /// model and query cost more than the rest of a decision).
    private var table: AptitudeFeatures.ScoringTable
    /// The aptitude prompts by column, for one query's similarities over its non-zeros.
    private var itemPostings: SparsePostings? = nil
    /// The category centroids transposed, for one query's products over its non-zeros.
    private var centroidIndex: CentroidIndex

    public init(models: [String], configuration: AptitudeConfiguration, set: AptitudeSet, aptitude: [[Float]], scorer: LogisticModel) throws(AptitudeError) {
        guard models.count == aptitude.count, aptitude.allSatisfy({ $0.count == set.count }) else {
            throw .shapeMismatch("\(models.count) models but \(aptitude.count) aptitude rows of \(aptitude.first?.count ?? 0) values for an aptitude set of \(set.count)")
        }
        self.models = models
        self.configuration = configuration
        self.set = set
        self.aptitude = aptitude
        self.scorer = scorer
        self.table = AptitudeFeatures(configuration: configuration, set: set).scoringTable(aptitude: aptitude, scorer: scorer)
        self.itemPostings = SparsePostings(set.vectorMatrix)
        self.centroidIndex = CentroidIndex(set.centroidMatrix)
    }

    static func table(_ strategy: AptitudeStrategy) -> AptitudeFeatures.ScoringTable {
        strategy.features.scoringTable(aptitude: strategy.aptitude, scorer: strategy.scorer)
    }

    var features: AptitudeFeatures { AptitudeFeatures(configuration: configuration, set: set) }

    /// One query: similarities to the aptitude prompts and categories over its non-zeros, in stack
    /// buffers (no matrix per query), then the same scorer as the batch path.
    public func predictQuality(_ query: QueryFeatures) -> [Double] {
        guard set.dimension > 0 else { return [Double](repeating: 0.5, count: models.count) }
        let query = RoutingQueryNormaliser.unit(query, dimension: set.dimension)
        let unit = query.vector
        let f = features
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, set.count)) { items in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, set.categoryCount)) { cents in
                if let itemPostings {
                    itemPostings.similarities(unit, nonZeros: query.nonZeros, into: UnsafeMutableBufferPointer(rebasing: items[0..<set.count]))
                } else {
                    _ = CentroidIndex.dots(set.vectorMatrix, unit, into: items)
                }
                _ = centroidIndex.dots(unit, nonZeros: query.nonZeros, into: cents)
                let context = f.context(
                    itemSims: UnsafeBufferPointer(rebasing: items[0..<set.count]),
                    centroidSims: UnsafeBufferPointer(rebasing: cents[0..<set.categoryCount]), excluded: nil)
                return f.probabilities(table, context: context)
            }
        }
    }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        guard set.dimension > 0 else { return queries.map { _ in [Double](repeating: 0.5, count: models.count) } }
        // Sparse aptitude prompts: one query at a time over its non-zeros beats a dense product of the stack.
        if itemPostings != nil { return queries.map(predictQuality) }
        let q = LinearAlgebra.stack(queries.map { RoutingQueryNormaliser.unit($0, dimension: set.dimension) }, dimension: set.dimension)
        return scores(queryMatrix: q)
    }

    /// Scores for stacked unit query vectors (one BLAS product each with the prompts and the centroids).
    func scores(queryMatrix q: FloatMatrix) -> [[Double]] {
        let f = features
        let itemSims = LinearAlgebra.multiplyTransposed(q, set.vectorMatrix)
        let centroidSims = LinearAlgebra.multiplyTransposed(q, set.centroidMatrix)
        var out: [[Double]] = []
        out.reserveCapacity(q.rows)
        itemSims.values.withUnsafeBufferPointer { items in
            centroidSims.values.withUnsafeBufferPointer { cents in
                for i in 0..<q.rows {
                    let context = f.context(
                        itemSims: UnsafeBufferPointer(rebasing: items[(i * set.count)..<((i + 1) * set.count)]),
                        centroidSims: UnsafeBufferPointer(rebasing: cents[(i * set.categoryCount)..<((i + 1) * set.categoryCount)]),
                        excluded: nil
                    )
                    out.append(f.probabilities(table, context: context))
                }
            }
        }
        return out
    }

    // MARK: onboarding

    /// A copy that also routes to `model`, represented by its outcomes on the aptitude prompts
    /// (keyed by aptitude prompt id, values in [0, 1]). Replaces a model of the same name.
    ///
    /// Enough means at least half of the aptitude prompts, or at least one in every category (the
    /// short test `models onboard --per-category k` gives). A missing prompt counts as the model's mean
    /// on the answered prompts of its category, or on all answered prompts when its category has none.
    public func adding(model: String, outcomes: [String: Double]) throws(AptitudeError) -> AptitudeStrategy {
        let answered = set.ids.compactMap { outcomes[$0] }
        var categorySums = [Double](repeating: 0, count: set.categoryCount)
        var categoryCounts = [Int](repeating: 0, count: set.categoryCount)
        for (id, category) in zip(set.ids, set.categories) {
            guard let value = outcomes[id], category < categorySums.count else { continue }
            categorySums[category] += value
            categoryCounts[category] += 1
        }
        let coversCategories = !categoryCounts.isEmpty && categoryCounts.allSatisfy { $0 > 0 }
        guard answered.count * 2 >= set.count || coversCategories, !answered.isEmpty else {
            throw .tooFewOutcomes(model: model, answered: answered.count, needed: (set.count + 1) / 2, total: set.count)
        }
        if let bad = answered.first(where: { !(0...1).contains($0) }) {
            throw .badOutcome(model: model, value: bad)
        }
        let mean = answered.reduce(0, +) / Double(answered.count)
        let row = zip(set.ids, set.categories).map { id, category -> Float in
            if let value = outcomes[id] { return Float(value) }
            guard category < categoryCounts.count, categoryCounts[category] > 0 else { return Float(mean) }
            return Float(categorySums[category] / Double(categoryCounts[category]))
        }
        var copy = self
        if let existing = copy.models.firstIndex(of: model) {
            copy.aptitude[existing] = row
        } else {
            copy.models.append(model)
            copy.aptitude.append(row)
        }
        return copy
    }

    /// A copy without `model` (to leave models out of training in experiments, or retire one).
    public func removing(model: String) -> AptitudeStrategy {
        var copy = self
        if let index = copy.models.firstIndex(of: model) {
            copy.models.remove(at: index)
            copy.aptitude.remove(at: index)
        }
        return copy
    }

    // MARK: TrainableStrategy

    /// The aptitude set has one category per UniRoute cluster (K chosen by cross-validation,
    /// `ClusterTable`): the clusters that tell models apart are the categories an aptitude test should
    /// cover. A fixed 12 left ZeroEval's 26 models with 240 prompts (test AIQ 0.8075, below the TF-IDF
    /// kNN reference's 0.8146); its K = 30 gives 580 (0.8306). The scorer's epochs are chosen by
    /// cross-validation (`AptitudeTrainer`), once per build.
    public static func train(_ context: TrainingContext) throws -> AptitudeStrategy {
        try choice(context).strategy
    }

    public static func crossValidate(_ context: TrainingContext) throws -> CrossValidated {
        let best = try choice(context)
        return CrossValidated(
            predictions: best.predictions, estimate: best.estimate,
            choice: "categories=\(best.strategy.set.categoryCount) prompts=\(best.strategy.set.count) epochs=\(best.epochs)")
    }

    static func choice(_ context: TrainingContext) throws -> AptitudeTrainer.Choice {
        try context.cache.value("aptitude-choice") {
            var configuration = AptitudeConfiguration()
            configuration.categories = try ClusterTable.build(context).centroids.rows
            return try AptitudeTrainer(configuration: configuration).choose(context)
        }
    }

    /// Writes `aptitude.json` (models, configuration, prompts, outcomes, scorer) and the set's vectors
    /// and centroids as Float32 matrices beside it (as JSON numbers they took seconds to load).
    public func save(to directory: URL) throws {
        var small = self
        small.set.vectors = []
        small.set.centroids = []
        try ArtifactFiles.writeJSON(small, to: directory.appendingPathComponent(Self.fileName))
        try ArtifactFiles.writeJSON(
            MatrixShapes(vectorRows: set.count, centroidRows: set.categoryCount, dimension: set.dimension),
            to: directory.appendingPathComponent(Self.shapesFileName))
        try set.vectorMatrix.write(to: directory.appendingPathComponent(Self.vectorsFileName))
        try set.centroidMatrix.write(to: directory.appendingPathComponent(Self.centroidsFileName))
    }

    public static func load(from directory: URL) throws -> AptitudeStrategy {
        let url = directory.appendingPathComponent(fileName)
        var strategy = try ArtifactFiles.readJSON(AptitudeStrategy.self, from: url)
        if strategy.set.vectors.isEmpty {
            // Matrices beside the JSON (artifacts before format 2 of this file kept them inside it).
            let shapes = try ArtifactFiles.readJSON(MatrixShapes.self, from: directory.appendingPathComponent(shapesFileName))
            try ArtifactFiles.check(
                shapes.vectorRows == strategy.set.count && shapes.dimension == strategy.set.dimension,
                directory.appendingPathComponent(shapesFileName), "matrix shapes disagree with aptitude.json")
            var set = strategy.set
            set.vectors = try FloatMatrix.read(
                from: directory.appendingPathComponent(vectorsFileName), rows: shapes.vectorRows, cols: shapes.dimension).values
            set.centroids = try FloatMatrix.read(
                from: directory.appendingPathComponent(centroidsFileName), rows: shapes.centroidRows, cols: shapes.dimension).values
            strategy.set = set
        }
        let set = strategy.set
        let ok = set.categories.count == set.count && set.prompts.count == set.count && set.vectors.count == set.count * set.dimension
            && set.dimension > 0 && set.centroids.count % set.dimension == 0
            && set.categories.allSatisfy { $0 >= 0 && $0 < set.categoryCount }
            && strategy.scorer.weights.count == strategy.features.width
            && [set.answers?.count, set.graders?.count, set.tasks?.count].allSatisfy { $0 == nil || $0 == set.count }
        try ArtifactFiles.check(ok, url, "aptitude set or scorer has the wrong shape")
        return strategy
    }

    /// Shapes of the Float32 files beside `aptitude.json`.
    struct MatrixShapes: Codable {
        var vectorRows: Int
        var centroidRows: Int
        var dimension: Int
    }

    static let fileName = "aptitude.json"
    static let shapesFileName = "aptitude_shapes.json"
    static let vectorsFileName = "aptitude_vectors.f32"
    static let centroidsFileName = "aptitude_centroids.f32"

    enum CodingKeys: String, CodingKey { case models, configuration, set, aptitude, scorer }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            models: c.decode([String].self, forKey: .models),
            configuration: c.decode(AptitudeConfiguration.self, forKey: .configuration),
            set: c.decode(AptitudeSet.self, forKey: .set),
            aptitude: c.decode([[Float]].self, forKey: .aptitude),
            scorer: c.decode(LogisticModel.self, forKey: .scorer)
        )
    }
}

/// Unit-normalises a query's vector for cosine products (a wrong-length vector becomes zeros, which
/// scores every model at its overall aptitude).
enum RoutingQueryNormaliser {
    /// The query with a unit-length vector (a zero vector of `dimension` for another length). Featurizer
    /// vectors are unit already: then the query is returned as it is, without a copy.
    static func unit(_ query: QueryFeatures, dimension: Int) -> QueryFeatures {
        guard query.vector.count == dimension else {
            var q = query
            q.vector = [Float](repeating: 0, count: dimension)
            q.nonZeros = []
            return q
        }
        let squared: Float = query.vector.withUnsafeBufferPointer { v in
            var total: Float = 0
            if let nonZeros = query.nonZeros {
                for i32 in nonZeros {
                    let i = Int(i32)
                    guard UInt(bitPattern: i) < UInt(v.count) else { continue }
                    total += v[i] * v[i]
                }
            } else {
                for x in v { total += x * x }
            }
            return total
        }
        if abs(squared - 1) < 1e-4 { return query }
        var q = query
        q.vector = RequirementVectorMath.normalized(query.vector)
        return q
    }
}

/// Why an aptitude strategy cannot be built or extended, with what to do next.
public enum AptitudeError: Error, Sendable, Equatable, CustomStringConvertible {
    case shapeMismatch(String)
    case tooFewOutcomes(model: String, answered: Int, needed: Int, total: Int)
    case badOutcome(model: String, value: Double)
    case noTrainingData(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let why): return "aptitude tables do not fit together: \(why); rebuild with `switchyard profile build`"
        case .tooFewOutcomes(let model, let answered, let needed, let total):
            return "model \(model) has outcomes for \(answered) of the \(total) aptitude prompts, needs at least \(needed) or one in every category: run it on the prompts listed in the artifact's aptitude set (`switchyard models aptitude-set`)"
        case .badOutcome(let model, let value): return "model \(model) has outcome \(value), outside [0, 1]: fix the aptitude file"
        case .noTrainingData(let why): return "cannot train the aptitude scorer: \(why)"
        }
    }
}
