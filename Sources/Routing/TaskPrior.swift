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
/// Strategies are blended toward it by a weight chosen on dev (`TaskPriorBlend`). Needs only labels
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

    /// Training knobs (defaults chosen on LLMRouter and ZeroEval dev).
    public struct Configuration: Sendable, Hashable {
        public var epochs = 100
        public var learningRate: Float = 0.1
        /// L2 decay per sample (≈ 1 / (C·n) of a logistic regression with C = 10 on a few thousand prompts).
        public var weightDecay: Float = 3e-5
        /// Pseudo-count pulling a task's mean toward the model's global mean.
        public var kappa: Float = 2
        /// Fewest training prompts a task needs to get its own row (smaller ones are left out).
        public var minimumTaskSize = 10
        public init() {}
    }

    /// What one build learns once and every strategy reuses: θ (train only, early-stopped on dev log
    /// loss) and per-task outcome sums over train and over train + dev.
    struct Fit: Sendable {
        var tasks: [String]
        var theta: FloatMatrix
        var bias: [Float]
        var trainQuality: FloatMatrix
        var pooledQuality: FloatMatrix
        var readsTaskVector: Bool

        func prior(models: [String], pooled: Bool) -> TaskPrior? {
            try? TaskPrior(
                tasks: tasks, models: models, theta: theta, bias: bias, quality: pooled ? pooledQuality : trainQuality, readsTaskVector: readsTaskVector)
        }
    }

    /// The build's fit (cached) over the given features (nil: those the build chose,
    /// `context.taskPriorReadsTaskVector`), or nil when the training records carry fewer than two usable
    /// task labels. A context without task vectors has only the routing-vector fit.
    static func fit(_ context: TrainingContext, readsTaskVector: Bool? = nil) -> Fit? {
        let fits = fits(context)
        let wanted = readsTaskVector ?? context.taskPriorReadsTaskVector
        return fits.first { $0.readsTaskVector == wanted } ?? fits.first { !$0.readsTaskVector }
    }

    /// Every candidate fit (cached): over the routing vector, and over the whole prompt's task vector
    /// when the splits carry one. The build keeps the one its blended strategies score best with on dev.
    static func fits(_ context: TrainingContext) -> [Fit] {
        context.cache.value("task-prior") { compute(context, configuration: Configuration()) }
    }

    static func compute(_ context: TrainingContext, configuration: Configuration) -> [Fit] {
        let train = context.train
        var sizes: [String: Int] = [:]
        for record in train.records { if let task = record.task { sizes[task, default: 0] += 1 } }
        let tasks = sizes.filter { $0.value >= configuration.minimumTaskSize }.keys.sorted()
        guard tasks.count >= 2 else {
            context.logger.info("task prior: not used (the training records carry fewer than two task labels with enough prompts)", metadata: [
                "labelled_tasks": "\(sizes.count)", "minimum_task_size": "\(configuration.minimumTaskSize)",
            ])
            return []
        }
        let index = Dictionary(uniqueKeysWithValues: tasks.enumerated().map { ($1, $0) })
        // Rows with a usable label only.
        func labelled(_ split: TrainingContext.Split) -> (rows: [Int], labels: [Int]) {
            var rows: [Int] = [], labels: [Int] = []
            for (i, record) in split.records.enumerated() {
                if let task = record.task, let t = index[task] {
                    rows.append(i)
                    labels.append(t)
                }
            }
            return (rows, labels)
        }
        let (trainRows, trainLabels) = labelled(train)
        let (devRows, devLabels) = labelled(context.dev)
        // Both feature spaces when the splits carry task vectors (every train prompt does).
        let hasTaskVectors = !train.features.isEmpty && train.features.allSatisfy { $0.taskVector != nil }
        let trainStats = ClusterTable.Stats(assignments: [(trainLabels, subset(train.outcomes, rows: trainRows))], k: tasks.count)
        let pooledStats = ClusterTable.Stats(
            assignments: [(trainLabels, subset(train.outcomes, rows: trainRows)), (devLabels, subset(context.dev.outcomes, rows: devRows))],
            k: tasks.count)
        return (hasTaskVectors ? [false, true] : [false]).map { readsTaskVector in
            func inputs(_ split: TrainingContext.Split, rows: [Int]) -> FloatMatrix {
                guard readsTaskVector else { return subset(split.vectors, rows: rows) }
                let dimension = train.features.first?.taskVector?.count ?? 0
                return LinearAlgebra.stack(rows.map { QueryFeatures(vector: split.features[$0].taskVector ?? [], inputTokens: 0) }, dimension: dimension)
            }
            let fit = fitClassifier(x: inputs(train, rows: trainRows), labels: trainLabels, devX: inputs(context.dev, rows: devRows), devLabels: devLabels,
                            tasks: tasks.count, readsTaskVector: readsTaskVector, configuration: configuration)
            context.logger.info("task prior: trained", metadata: [
                "tasks": "\(tasks.count)", "best_epoch": "\(fit.epoch)", "dev_log_loss": "\(fit.loss)", "dev_task_accuracy": "\(fit.accuracy)",
                "features": "\(readsTaskVector ? "task featurizer (whole prompt)" : "routing vector")",
            ])
            return Fit(
                tasks: tasks, theta: fit.theta, bias: fit.bias,
                trainQuality: trainStats.quality(kappa: configuration.kappa), pooledQuality: pooledStats.quality(kappa: configuration.kappa),
                readsTaskVector: readsTaskVector)
        }
    }

    /// One trained classifier and how it did on dev.
    struct Classifier {
        var theta: FloatMatrix
        var bias: [Float]
        var readsTaskVector: Bool
        var loss: Float
        var epoch: Int
        var accuracy: Double
    }

    /// Softmax regression on `x` (Adam), early-stopped on dev log loss (train loss when dev has no labels).
    static func fitClassifier(
        x: FloatMatrix, labels trainLabels: [Int], devX: FloatMatrix, devLabels: [Int], tasks t: Int, readsTaskVector: Bool,
        configuration: Configuration
    ) -> Classifier {
        let d = x.cols, n = Float(max(1, x.rows))
        var theta = FloatMatrix(rows: t, cols: d)
        var bias = [Float](repeating: 0, count: t)
        var bestTheta = theta, bestBias = bias, bestLoss = Float.infinity, bestEpoch = 0
        var adam = AdamOptimizer(rows: t, cols: d, learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        func logLoss(_ x: FloatMatrix, _ labels: [Int], _ theta: FloatMatrix, _ bias: [Float]) -> Float {
            let p = UniRouteLearnedMapStrategy.probabilities(x, theta: theta, bias: bias)
            var total: Float = 0
            for (i, label) in labels.enumerated() { total -= logf(max(p[i, label], 1e-12)) }
            return total / Float(max(1, labels.count))
        }
        for epoch in 1...max(1, configuration.epochs) {
            var gradient = UniRouteLearnedMapStrategy.probabilities(x, theta: theta, bias: bias)
            for (i, label) in trainLabels.enumerated() { gradient[i, label] -= 1 }
            for index in gradient.values.indices { gradient.values[index] /= n }
            let gradTheta = LinearAlgebra.transposedMultiply(gradient, x)
            var gradBias = [Float](repeating: 0, count: t)
            for i in 0..<gradient.rows { for c in 0..<t { gradBias[c] += gradient[i, c] } }
            adam.update(theta: &theta, bias: &bias, gradTheta: gradTheta, gradBias: gradBias)
            if epoch % 5 == 0 || epoch == configuration.epochs {
                let loss = devLabels.isEmpty ? logLoss(x, trainLabels, theta, bias) : logLoss(devX, devLabels, theta, bias)
                if loss < bestLoss {
                    bestLoss = loss
                    bestTheta = theta
                    bestBias = bias
                    bestEpoch = epoch
                }
            }
        }
        var accuracy = 0.0
        if !devLabels.isEmpty {
            let p = UniRouteLearnedMapStrategy.probabilities(devX, theta: bestTheta, bias: bestBias)
            for (i, label) in devLabels.enumerated() {
                var best = 0
                for c in 1..<t where p[i, c] > p[i, best] { best = c }
                if best == label { accuracy += 1 }
            }
            accuracy /= Double(devLabels.count)
        }
        return Classifier(theta: bestTheta, bias: bestBias, readsTaskVector: readsTaskVector, loss: bestLoss, epoch: bestEpoch, accuracy: accuracy)
    }

    static func subset(_ matrix: FloatMatrix, rows: [Int]) -> FloatMatrix {
        var out = FloatMatrix(rows: rows.count, cols: matrix.cols)
        for (r, source) in rows.enumerated() {
            for c in 0..<matrix.cols { out[r, c] = matrix[source, c] }
        }
        return out
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
/// chosen on dev per strategy (`choose`, w = 1 among the candidates, so the blend never costs dev AIQ).
///
/// Why one wrapper instead of a prior inside every strategy: the blend is the same arithmetic for all,
/// the build chooses w from the dev predictions it already computes, and a model onboarded from its
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

    /// Weights of the base prediction compared on dev.
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

    /// The weight of `candidates` whose blend of `local` (selection split, queries × models flattened,
    /// in `models` order) has the best selection AIQ, ties to the larger weight; nil when no prior.
    static func choose(local: [Double], models: [String], prior: TaskPrior, context: TrainingContext) -> (weight: Double, aiq: Double) {
        let split = context.selection
        let priors = prior.priors(split.features)
        let columns = models.map { prior.models.firstIndex(of: $0) }
        let m = models.count
        var best = (weight: 1.0, aiq: -Double.infinity)
        for weight in candidates {
            var predicted: [Double] = []
            predicted.reserveCapacity(local.count)
            for i in 0..<split.count {
                predicted += blend(Array(local[(i * m)..<((i + 1) * m)]), prior: priors, row: i, columns: columns, weight: weight)
            }
            let aiq = context.selectionAIQ(predicted: predicted)
            if aiq > best.aiq + 1e-12 { best = (weight, aiq) }
        }
        return best
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
        try featurizer.vectors(prompts).map { vector in
            prior.taskMix(QueryFeatures(vector: [], inputTokens: 0, taskVector: vector).indexingNonZeros())
        }
    }
}
