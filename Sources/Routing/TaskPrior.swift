import Foundation
import Profiling
import SwitchyardCore

/// A learned soft map from a query to the *tasks* of the training data, and each model's mean outcome
/// per task: prior(x) = Σₜ p(t | x) · quality(t), p(t | x) = softmax(θₜᵀx + bₜ).
///
/// Why: routing data is made of tasks (benchmarks), and which models do well depends on the task far
/// more than on anything else a few hundred labelled prompts can teach. Where prompts share no
/// template (LLMRouter: multiple-choice sets of one format), nearest neighbours and K-means confuse
/// tasks; a classifier trained on the records' task labels knows them better (dev, LLMRouter: 83 % vs
/// 70 % for the nearest neighbour), and on dev its prior alone beat every unsupervised strategy.
/// Strategies are blended toward it by a weight chosen by cross-validation (`TaskPriorBlendStrategy`),
/// and the `ensemble` stacks it with them. Needs only labels
/// present in the training data; at query time no label is read.
public struct TaskPrior: Sendable, Hashable {
    /// Task names, one per row of `theta` and `quality`.
    public let tasks: [String]
    /// The models of `quality`'s columns.
    public let models: [String]
    /// T × dimension.
    public let theta: FloatMatrix
    /// T biases.
    public let bias: [Float]
    /// T × models: shrunk mean outcome per task.
    public let quality: FloatMatrix
    /// Whether θ reads the query's `taskVector` (the task featurizer's, template kept) rather than its
    /// routing `vector`.
    public let readsTaskVector: Bool
    /// θ for per-query sparse products.
    private let map: CentroidIndex

    public init(
        tasks: [String], models: [String], theta: FloatMatrix, bias: [Float], quality: FloatMatrix, readsTaskVector: Bool = false
    ) throws(SwitchyardError) {
        guard tasks.count >= 2, theta.rows == tasks.count, bias.count == tasks.count,
              quality.rows == tasks.count, quality.cols == models.count, theta.cols > 0 else {
            throw .invalidArgument("task prior: need T ≥ 2 tasks, a T × dimension θ, T biases and a T × models quality table; rebuild the artifact")
        }
        self.tasks = tasks
        self.models = models
        self.theta = theta
        self.bias = bias
        self.quality = quality
        self.readsTaskVector = readsTaskVector
        self.map = CentroidIndex(theta)
    }

    public static func == (a: TaskPrior, b: TaskPrior) -> Bool {
        a.tasks == b.tasks && a.models == b.models && a.theta == b.theta && a.bias == b.bias && a.quality == b.quality
            && a.readsTaskVector == b.readsTaskVector
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(tasks)
        hasher.combine(models)
        hasher.combine(bias)
    }

    public var dimension: Int { theta.cols }

    /// p(t | x) for every row of `x` (rows × T).
    public func probabilities(_ x: FloatMatrix) -> FloatMatrix {
        UniRouteLearnedMapStrategy.probabilities(x, theta: theta, bias: bias)
    }

    /// p(t | query) into `p` (`tasks.count` values): the profile stage's mix when the query carries one,
    /// else softmax(θ·x + b) of the vector θ reads (its task vector, or its routing vector for a prior
    /// trained on those). A query with neither gets the uniform mix.
    func taskMix(_ query: QueryFeatures, into p: UnsafeMutableBufferPointer<Float>) {
        guard readsTaskVector else { return map.softmax(query.vector, nonZeros: query.nonZeros, bias: bias, into: p) }
        if let given = query.taskMix, given.count == tasks.count {
            for c in 0..<tasks.count { p[c] = given[c] }
            return
        }
        map.softmax(query.taskVector ?? [], nonZeros: query.taskNonZeros, bias: bias, into: p)
    }

    /// p(t | query) of one query.
    public func taskMix(_ query: QueryFeatures) -> [Float] {
        [Float](unsafeUninitializedCapacity: tasks.count) { p, initialized in
            taskMix(query, into: p)
            initialized = tasks.count
        }
    }

    /// The prior of every query (queries × models, in `models` order); a query whose vector has another
    /// length gets the uniform mix over tasks.
    public func priors(_ queries: [QueryFeatures]) -> FloatMatrix {
        guard readsTaskVector else {
            return LinearAlgebra.multiply(probabilities(LinearAlgebra.stack(queries, dimension: dimension)), quality)
        }
        var out = FloatMatrix(rows: queries.count, cols: models.count)
        for (i, query) in queries.enumerated() {
            for (j, value) in prior(query).enumerated() { out[i, j] = Float(value) }
        }
        return out
    }

    /// The prior of one query without building matrices (sparse products over its non-zeros).
    public func prior(_ query: QueryFeatures) -> [Double] {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, tasks.count)) { p in
            taskMix(query, into: p)
            return CentroidIndex.mix(UnsafeBufferPointer(rebasing: p[0..<tasks.count]), quality: quality)
        }
    }

    /// The same table with `model`'s column added (or replaced): per task, its aptitude outcomes weighted
    /// by each aptitude prompt's p(t | prompt), shrunk toward its mean by `shrinkage` prompts.
    public func adding(model: String, vectors: [[Float]], outcomes: [Float], shrinkage: Float) throws -> TaskPrior {
        let membership = probabilities(try FloatMatrix(stacking: vectors, cols: dimension))
        let table = ModelOnboarding.appendingColumn(quality, models: models, model: model, membership: membership, outcomes: outcomes, shrinkage: shrinkage)
        return try TaskPrior(
            tasks: tasks, models: ModelOnboarding.columnNames(models, model), theta: theta, bias: bias, quality: table, readsTaskVector: readsTaskVector)
    }

    // MARK: Training

    /// Training knobs.
    public struct Configuration: Sendable, Hashable {
        /// Epochs at most; the number used is chosen by cross-validated log loss among every fifth.
        public var epochs = 200
        public var learningRate: Float = 0.1
        /// L2 decay per sample (≈ 1 / (C·n) of a logistic regression with C = 10 on a few thousand prompts).
        public var weightDecay: Float = 3e-5
        /// Pseudo-count pulling a task's mean toward the model's global mean.
        public var kappa: Float = 2
        /// Fewest labelled prompts a task needs to get its own row (smaller ones are left out).
        public var minimumTaskSize = 10
        public init() {}
    }

    /// What one build learns once and every strategy reuses, for one feature space: θ over every
    /// labelled prompt for the cross-validated number of epochs, the per-task outcome table, and the
    /// out-of-fold prior of every labelled prompt (its fold's classifier and table), which the blends
    /// and the stack are chosen by.
    struct Fit: Sendable {
        var tasks: [String]
        var theta: FloatMatrix
        var bias: [Float]
        var quality: FloatMatrix
        /// What the classifier reads.
        var input: Input
        var readsTaskVector: Bool { input.readsTaskVector }
        var epochs: Int
        /// Cross-validated log loss of the task classifier at `epochs`.
        var logLoss: CVEstimate
        /// Out-of-fold prior (labelled rows × models, flattened, in the context's model order).
        var predictions: [Double]

        func prior(models: [String]) -> TaskPrior? {
            try? TaskPrior(tasks: tasks, models: models, theta: theta, bias: bias, quality: quality, readsTaskVector: input.readsTaskVector)
        }
    }

    /// What a task classifier reads: the routing vector, the task vector the training features carry,
    /// or a candidate task featurizer's vectors of the whole prompt (template kept).
    enum Input: Sendable {
        case routingVector
        case taskVector
        case featurizer(Featurizer)

        var readsTaskVector: Bool {
            if case .routingVector = self { return false }
            return true
        }

        /// The featurizer the profile stage must run for this input (nil: the routing vector's, or unknown).
        var featurizer: Featurizer? {
            if case .featurizer(let featurizer) = self { return featurizer }
            return nil
        }

        var label: String {
            switch self {
            case .routingVector: return "routing vector"
            case .taskVector: return "task vector"
            case .featurizer(let featurizer): return "whole prompt, \(featurizer.configuration.label)"
            }
        }
    }

    /// The build's fit (cached): the one the build chose (`context.taskPriorInput`), else the first over
    /// the given features (nil: `context.taskPriorReadsTaskVector`); nil when the labelled records carry
    /// fewer than two usable task labels.
    static func fit(_ context: TrainingContext, readsTaskVector: Bool? = nil) throws -> Fit? {
        let fits = try fits(context)
        if readsTaskVector == nil, let label = context.taskPriorInput, let chosen = fits.first(where: { $0.input.label == label }) {
            return chosen
        }
        let wanted = readsTaskVector ?? context.taskPriorReadsTaskVector
        return fits.first { $0.readsTaskVector == wanted } ?? fits.first { !$0.readsTaskVector }
    }

    /// Every candidate fit (cached): over the routing vector, over the task vector when the training
    /// features carry one, and over each of `context.taskFeaturizers`. The build keeps the one its
    /// blended strategies score best with.
    static func fits(_ context: TrainingContext) throws -> [Fit] {
        try context.cache.value("task-prior") { try compute(context, configuration: Configuration()) }
    }

    static func compute(_ context: TrainingContext, configuration: Configuration) throws -> [Fit] {
        let cv = try context.crossValidation()
        let labelled = cv.labelled
        var sizes: [String: Int] = [:]
        for record in labelled.records { if let task = record.task { sizes[task, default: 0] += 1 } }
        let tasks = sizes.filter { $0.value >= configuration.minimumTaskSize }.keys.sorted()
        guard tasks.count >= 2 else {
            context.logger.info("task prior: not used (the labelled records carry fewer than two task labels with enough prompts)", metadata: [
                "labelled_tasks": "\(sizes.count)", "minimum_task_size": "\(configuration.minimumTaskSize)",
            ])
            return []
        }
        let index = Dictionary(uniqueKeysWithValues: tasks.enumerated().map { ($1, $0) })
        // Task of every labelled row (-1: none usable) and the rows that have one.
        let labels = labelled.records.map { record in record.task.flatMap { index[$0] } ?? -1 }
        let taskRows = labels.indices.filter { labels[$0] >= 0 }
        let stats = ClusterTable.Stats(assignments: labels, outcomes: labelled.outcomes, k: tasks.count, rows: taskRows)
        let foldTables = cv.heldOutRows.map { rows in
            stats.subtracting(ClusterTable.Stats(
                assignments: labels, outcomes: labelled.outcomes, k: tasks.count, rows: rows.filter { labels[$0] >= 0 })
            ).quality(kappa: configuration.kappa)
        }
        let hasTaskVectors = !labelled.features.isEmpty && labelled.features.allSatisfy { $0.taskVector != nil }
        let checkpoints = Array(stride(from: 5, through: configuration.epochs, by: 5))
        let t = tasks.count, m = context.models.count
        let candidates: [Input] = [.routingVector] + (hasTaskVectors ? [.taskVector] : []) + context.taskFeaturizers.map { .featurizer($0) }
        return try candidates.map { input in
            let x = try inputs(labelled, input)
            // Held-out p(t | x) of every fold row at every checkpoint, by fold.
            let held: [[[Float]]] = try cv.mapFolds { f in
                let training = cv.folds.training(f).filter { labels[$0] >= 0 }
                let heldOut = SparseRows(x, rows: cv.heldOutRows[f])
                var byEpoch = [[Float]](repeating: [], count: checkpoints.count)
                _ = fitClassifier(
                    SparseRows(x, rows: training), labels: training.map { labels[$0] }, tasks: t, epochs: configuration.epochs,
                    configuration: configuration, checkpoints: Set(checkpoints)
                ) { epoch, weights in
                    if let position = checkpoints.firstIndex(of: epoch) { byEpoch[position] = heldOut.probabilities(weights) }
                }
                return byEpoch
            }
            // The checkpoint with the lowest cross-validated log loss over the labelled held-out rows.
            var best: (position: Int, loss: CVEstimate)? = nil
            for position in checkpoints.indices {
                let losses = (0..<cv.folds.count).map { f -> Double in
                    var total = 0.0, n = 0.0
                    for (r, row) in cv.heldOutRows[f].enumerated() where labels[row] >= 0 {
                        total -= log(max(Double(held[f][position][r * t + labels[row]]), 1e-12))
                        n += 1
                    }
                    return n > 0 ? total / n : 0
                }
                let loss = CVEstimate(folds: losses)
                if best == nil || loss.mean < best!.loss.mean - 1e-6 { best = (position, loss) }
            }
            let chosen = best ?? (0, CVEstimate(folds: []))
            let epochs = checkpoints.isEmpty ? configuration.epochs : checkpoints[chosen.position]
            let perFold = (0..<cv.folds.count).map { f in
                mixes(held[f].isEmpty ? [] : held[f][chosen.position], tasks: t, quality: foldTables[f], models: m)
            }
            let predictions = cv.assemble(perFold)
            let weights = fitClassifier(
                SparseRows(x, rows: taskRows), labels: taskRows.map { labels[$0] }, tasks: t, epochs: epochs, configuration: configuration)
            var accuracy = 0.0
            for (f, rows) in cv.heldOutRows.enumerated() where !held[f].isEmpty {
                for (r, row) in rows.enumerated() where labels[row] >= 0 {
                    let p = held[f][chosen.position][(r * t)..<((r + 1) * t)]
                    if p.indices.max(by: { p[$0] < p[$1] }).map({ $0 - r * t }) == labels[row] { accuracy += 1 }
                }
            }
            accuracy /= Double(max(1, taskRows.count))
            context.logger.info("task prior: trained", metadata: [
                "tasks": "\(t)", "epochs": "\(epochs)", "cv_log_loss": "\(chosen.loss.formatted)",
                "cv_task_accuracy": "\(String(format: "%.3f", accuracy))",
                "features": "\(input.label)",
            ])
            return Fit(
                tasks: tasks, theta: weights.theta, bias: weights.bias, quality: stats.quality(kappa: configuration.kappa),
                input: input, epochs: epochs, logLoss: chosen.loss, predictions: predictions)
        }
    }

    /// The classifier's inputs for every row of `split`: its routing vectors, its task vectors, or a
    /// featurizer's vectors of its prompts.
    static func inputs(_ split: TrainingContext.Split, _ input: Input) throws -> FloatMatrix {
        switch input {
        case .routingVector:
            return split.vectors
        case .taskVector:
            let dimension = split.features.first?.taskVector?.count ?? 0
            return LinearAlgebra.stack(split.features.map { QueryFeatures(vector: $0.taskVector ?? [], inputTokens: 0) }, dimension: dimension)
        case .featurizer(let featurizer):
            return try FloatMatrix(stacking: featurizer.vectors(split.records.map(\.prompt)), cols: featurizer.dimension)
        }
    }

    /// Rows × models priors Σₜ p(t | x)·quality(t, m) from rows × T probabilities.
    static func mixes(_ p: [Float], tasks t: Int, quality: FloatMatrix, models m: Int) -> [Double] {
        let rows = t > 0 ? p.count / t : 0
        var out = [Double](repeating: 0, count: rows * m)
        for i in 0..<rows {
            for c in 0..<t {
                let w = Double(p[i * t + c])
                guard w > 0 else { continue }
                for j in 0..<m { out[i * m + j] += w * Double(quality[c, j]) }
            }
        }
        return out
    }

    /// Softmax regression (full-batch Adam, `SoftmaxMapTrainer`) of `labels` on rows `x` for `epochs`
    /// epochs, calling `checkpoint` after the epochs in `checkpoints`.
    static func fitClassifier(
        _ x: SparseRows, labels: [Int], tasks t: Int, epochs: Int, configuration: Configuration, checkpoints: Set<Int> = [],
        checkpoint: (Int, SoftmaxMapWeights) -> Void = { _, _ in }
    ) -> SoftmaxMapWeights {
        let n = Float(max(1, x.count))
        let trainer = SoftmaxMapTrainer(epochs: epochs, learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        let start = SoftmaxMapWeights(theta: FloatMatrix(rows: t, cols: x.cols), bias: [Float](repeating: 0, count: t))
        return trainer.train(x, from: start, checkpoints: checkpoints, logitGradient: { p in
            var gradient = p
            for (i, label) in labels.enumerated() { gradient[i * t + label] -= 1 }
            for index in gradient.indices { gradient[index] /= n }
            return gradient
        }, checkpoint: checkpoint)
    }

    // MARK: Persistence

    struct Stored: Codable {
        var tasks: [String]
        var models: [String]
        var dimension: Int
        var bias: [Float]
        /// Absent in artifacts built before the task featurizer: θ reads the routing vector.
        var readsTaskVector: Bool?
    }

    /// Writes `task_prior.json`, `theta.f32` and `quality.f32` into `directory`.
    public func save(to directory: URL) throws {
        try ArtifactFiles.makeDirectory(directory)
        try ArtifactFiles.writeJSON(
            Stored(tasks: tasks, models: models, dimension: dimension, bias: bias, readsTaskVector: readsTaskVector), to: directory.appendingPathComponent("task_prior.json"))
        try theta.write(to: directory.appendingPathComponent("theta.f32"))
        try quality.write(to: directory.appendingPathComponent("quality.f32"))
    }

    public static func load(from directory: URL) throws -> TaskPrior {
        let stored = try ArtifactFiles.readJSON(Stored.self, from: directory.appendingPathComponent("task_prior.json"))
        return try TaskPrior(
            tasks: stored.tasks, models: stored.models,
            theta: try FloatMatrix.read(from: directory.appendingPathComponent("theta.f32"), rows: stored.tasks.count, cols: stored.dimension),
            bias: stored.bias,
            quality: try FloatMatrix.read(from: directory.appendingPathComponent("quality.f32"), rows: stored.tasks.count, cols: stored.models.count),
            readsTaskVector: stored.readsTaskVector ?? false)
    }
}

/// A strategy's predictions blended toward the `TaskPrior`: q = w·q_strategy + (1 − w)·prior(x), w
/// chosen per strategy by cross-validation (`choose`, w = 1 among the candidates, so the blend never
/// costs cross-validated AIQ).
///
/// Why one wrapper instead of a prior inside every strategy: the blend is the same arithmetic for all,
/// the build chooses w from the out-of-fold predictions it already has, and a model onboarded from its
/// aptitude results gets its prior column the same way for every strategy.
public struct TaskPriorBlendStrategy: RoutingStrategy {
    public let base: any RoutingStrategy
    public let prior: TaskPrior
    /// Weight of the base strategy's prediction, in (0, 1].
    public let weight: Double
    /// Column of `prior.quality` for each of `base.models` (nil: no prior for that model, unblended).
    private let priorColumns: [Int?]

    public init(base: any RoutingStrategy, prior: TaskPrior, weight: Double) {
        self.base = base
        self.prior = prior
        self.weight = min(1, max(0, weight))
        self.priorColumns = base.models.map { prior.models.firstIndex(of: $0) }
    }

    public var name: String { base.name }
    public var models: [String] { base.models }
    public var routesOnCostOnly: Bool { base.routesOnCostOnly }

    /// Weights of the base prediction compared by cross-validation.
    public static let candidates: [Double] = [1, 0.75, 0.5, 0.35, 0.25, 0.15, 0.1]

    public func explain(_ query: QueryFeatures) -> String? {
        let p = prior.taskMix(query)
        let top = p.indices.sorted { p[$0] > p[$1] }.prefix(2)
        let tasks = top.map { "\(prior.tasks[$0]) p=\(String(format: "%.2f", p[$0]))" }.joined(separator: ", ")
        return (base.explain(query).map { $0 + "; " } ?? "") + "task prior (weight \(String(format: "%.2f", 1 - weight))): \(tasks)"
    }

    public func predictQuality(_ query: QueryFeatures) -> [Double] {
        var local = base.predictQuality(query)
        let mixed = prior.prior(query)
        for j in local.indices {
            if let c = priorColumns[j] { local[j] = weight * local[j] + (1 - weight) * mixed[c] }
        }
        return local
    }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        // Sparse queries: the prior over each one's non-zeros beats a dense product of the stack.
        if !queries.isEmpty && queries.allSatisfy(\.isSparse) { return queries.map(predictQuality) }
        let local = base.predictQuality(batch: queries)
        let priors = prior.priors(queries)
        return local.indices.map { i in Self.blend(local[i], prior: priors, row: i, columns: priorColumns, weight: weight) }
    }

    static func blend(_ local: [Double], prior: FloatMatrix, row: Int, columns: [Int?], weight: Double) -> [Double] {
        local.indices.map { j in
            guard let c = columns[j] else { return local[j] }
            return weight * local[j] + (1 - weight) * Double(prior[row, c])
        }
    }

    /// The weight of `candidates` whose blend of a strategy's out-of-fold predictions `local` with the
    /// out-of-fold prior `prior` (both labelled rows × models, flattened, same model order) has the best
    /// cross-validated AIQ; w = 1 (no blend) comes first and a smaller weight must gain more than
    /// `CrossValidation.minimumGain`.
    static func choose(local: [Double], prior: [Double], cv: CrossValidation) -> (weight: Double, estimate: CVEstimate, predictions: [Double]) {
        var best: (weight: Double, estimate: CVEstimate, predictions: [Double])? = nil
        for weight in candidates {
            let predicted = weight == 1 ? local : zip(local, prior).map { weight * $0 + (1 - weight) * $1 }
            let estimate = cv.score(predicted)
            if best == nil || estimate.mean > best!.estimate.mean + CrossValidation.minimumGain { best = (weight, estimate, predicted) }
        }
        return best ?? (1, cv.score(local), local)
    }
}

/// The task prior's classifier as the profile stage runs it: its featurizer (whole prompt, template
/// kept) and θ, so a profiled query carries p(task | prompt) and the score stage only mixes the table.
public struct TaskPriorClassifier: TaskClassifier {
    public let featurizer: Featurizer
    public let prior: TaskPrior

    /// Nil when the prior reads the routing vector (artifacts built before the task featurizer).
    public init?(featurizer: Featurizer, prior: TaskPrior) {
        guard prior.readsTaskVector, featurizer.dimension == prior.dimension else { return nil }
        self.featurizer = featurizer
        self.prior = prior
    }

    public func taskMixes(_ prompts: [String]) throws -> [[Float]] {
        try featurizer.featureVectors(prompts).map { vector in
            var query = QueryFeatures(vector: [], inputTokens: 0, taskVector: vector.values)
            query.taskNonZeros = vector.nonZeros
            return prior.taskMix(query.indexingNonZeros())
        }
    }
}
