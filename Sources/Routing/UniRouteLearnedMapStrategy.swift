import Foundation
import SwitchyardCore

/// UniRoute, learned soft map: p(k | x) = softmax_k(θₖᵀx + bₖ); predicted quality of model m =
/// Σₖ p(k | x) · (1 − error(k, m)).
///
/// θ starts as the soft nearest-centroid map (θₖ = β·cₖ, bₖ = −β|cₖ|²/2) of the cluster strategy's
/// K-means and is trained with full-batch Adam to maximise predicted correctness (squared error between
/// Σₖ p(k|x)·ψₖ and the prompt's real outcomes), with L2 decay. The number of epochs (0, the soft
/// centroid map, included) and the pseudo-count κ that shrinks each cluster's ψ toward the model's
/// mean (this map's soft mixing already averages clusters) are chosen together by cross-validation;
/// the saved map is trained on every labelled prompt for that many epochs.
public struct UniRouteLearnedMapStrategy: TrainableStrategy {
    public static let strategyName = "uniroute-learned-map"
    public static let decisionCostRank = 1
    public var name: String { Self.strategyName }
    public let models: [String]
    /// K × dimension.
    public let theta: FloatMatrix
    /// K biases.
    public let bias: [Float]
    /// K × models.
    public let quality: FloatMatrix
    /// θ for per-query sparse products.
    private let map: CentroidIndex

    /// Training knobs (defaults chosen on zeroeval dev).
    public struct Configuration: Sendable, Hashable {
        public var sharpness: Float = 100
        public var epochs = 150
        public var learningRate: Float = 0.02
        public var weightDecay: Float = 1e-4
        public init() {}
    }

    public init(models: [String], theta: FloatMatrix, bias: [Float], quality: FloatMatrix) throws(SwitchyardError) {
        guard theta.rows > 0, bias.count == theta.rows, quality.rows == theta.rows, quality.cols == models.count else {
            throw .invalidArgument("uniroute-learned-map: need K > 0 rows of θ, K biases and a K × models quality table")
        }
        self.models = models
        self.theta = theta
        self.bias = bias
        self.quality = quality
        self.map = CentroidIndex(theta)
    }

    public func explain(_ query: QueryFeatures) -> String? {
        let p = Self.probabilities(LinearAlgebra.stack([query], dimension: theta.cols), theta: theta, bias: bias)
        let top = (0..<theta.rows).sorted { p[0, $0] > p[0, $1] }.prefix(3)
        return "soft clusters: " + top.map { "\($0) p=\(String(format: "%.2f", p[0, $0]))" }.joined(separator: ", ")
    }

    /// θx over the query's non-zeros, softmax and the K × models mix in stack buffers: no matrix per query.
    public func predictQuality(_ query: QueryFeatures) -> [Double] {
        map.softMix(query.vector, nonZeros: query.nonZeros, bias: bias, quality: quality)
    }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        queries.map { predictQuality($0) }
    }

    /// softmax(X θᵀ + b) row by row.
    static func probabilities(_ x: FloatMatrix, theta: FloatMatrix, bias: [Float]) -> FloatMatrix {
        var logits = LinearAlgebra.multiplyTransposed(x, theta)
        let k = theta.rows
        logits.values.withUnsafeMutableBufferPointer { l in
            for i in 0..<x.rows {
                var maximum = -Float.infinity
                for c in 0..<k {
                    l[i * k + c] += bias[c]
                    maximum = max(maximum, l[i * k + c])
                }
                var sum: Float = 0
                for c in 0..<k {
                    let e = expf(l[i * k + c] - maximum)
                    l[i * k + c] = e
                    sum += e
                }
                for c in 0..<k { l[i * k + c] /= sum }
            }
        }
        return logits
    }

    public static func train(_ context: TrainingContext) throws -> UniRouteLearnedMapStrategy {
        try train(context, configuration: Configuration())
    }

    public static func train(_ context: TrainingContext, configuration: Configuration) throws -> UniRouteLearnedMapStrategy {
        let table = try ClusterTable.build(context)
        let best = try choice(context, configuration: configuration)
        let labelled = try context.labelled()
        let weights = fit(
            SparseRows(labelled.vectors), outcomes: labelled.outcomes, psi: table.quality, table: table, epochs: best.epoch,
            configuration: configuration)
        return try UniRouteLearnedMapStrategy(
            models: context.models, theta: weights.theta, bias: weights.bias, quality: table.stats.quality(kappa: best.kappa))
    }

    public static func crossValidate(_ context: TrainingContext) throws -> CrossValidated {
        let best = try choice(context, configuration: Configuration())
        return CrossValidated(predictions: best.predictions, estimate: best.estimate, choice: "epochs=\(best.epoch) κ=\(best.kappa)")
    }

    /// The epochs and κ cross-validation chose, with their out-of-fold predictions.
    struct Choice: Sendable {
        var epoch: Int
        var kappa: Float
        var estimate: CVEstimate
        var predictions: [Double]
    }

    /// Epochs compared: the soft centroid map (0) and every tenth epoch.
    static func checkpoints(_ configuration: Configuration) -> [Int] {
        Array(stride(from: 0, through: configuration.epochs, by: 10)) + (configuration.epochs % 10 == 0 ? [] : [configuration.epochs])
    }

    /// The build's choice (made once per context and configuration; the saved fit reuses it).
    static func choice(_ context: TrainingContext, configuration: Configuration) throws -> Choice {
        try context.cache.value("learned-map-\(configuration)") { try choose(context, configuration: configuration) }
    }

    /// Trains the map on every fold's complement (θ from the cluster strategy's centroids, ψ the other
    /// folds' cluster table), keeps the held-out probabilities at every checkpoint, then scores every
    /// (epochs, κ) pair: one training run per fold serves the whole grid.
    static func choose(_ context: TrainingContext, configuration: Configuration) throws -> Choice {
        let table = try ClusterTable.build(context)
        let cv = try context.crossValidation()
        let labelled = cv.labelled
        let epochs = checkpoints(configuration)
        let k = table.centroids.rows
        // Held-out probabilities (fold rows × K) at every checkpoint, by fold.
        let held: [[[Float]]] = try cv.mapFolds { f in
            let training = cv.folds.training(f)
            let heldOut = SparseRows(labelled.vectors, rows: cv.heldOutRows[f])
            var byEpoch = [[Float]](repeating: [], count: epochs.count)
            _ = fit(
                SparseRows(labelled.vectors, rows: training), outcomes: CrossValidation.gather(labelled.outcomes, rows: training),
                psi: table.quality(excludingFold: f), table: table, epochs: configuration.epochs, configuration: configuration,
                checkpoints: Set(epochs)
            ) { epoch, weights in
                if let index = epochs.firstIndex(of: epoch) { byEpoch[index] = heldOut.probabilities(weights) }
            }
            return byEpoch
        }
        var best: Choice? = nil
        let m = context.models.count
        for (index, epoch) in epochs.enumerated() {
            for kappa in [table.kappa] + PriorShrinkage.candidates.map(Float.init).filter({ $0 != table.kappa }) {
                let perFold = (0..<cv.folds.count).map { f -> [Double] in
                    let psi = table.quality(excludingFold: f, kappa: kappa)
                    let p = held[f][index]
                    let rows = p.count / max(1, k)
                    var out = [Double](repeating: 0, count: rows * m)
                    for i in 0..<rows {
                        for c in 0..<k where p[i * k + c] > 0 {
                            let w = Double(p[i * k + c])
                            for j in 0..<m { out[i * m + j] += w * Double(psi[c, j]) }
                        }
                    }
                    return out
                }
                let predicted = cv.assemble(perFold)
                let estimate = cv.score(predicted)
                context.logger.debug("learned-map candidate", metadata: ["epochs": "\(epoch)", "kappa": "\(kappa)", "cv_aiq": "\(estimate.formatted)"])
                if best == nil || estimate.mean > best!.estimate.mean + CrossValidation.minimumGain {
                    best = Choice(epoch: epoch, kappa: kappa, estimate: estimate, predictions: predicted)
                }
            }
        }
        guard let best else { throw SwitchyardError.invalidArgument("uniroute-learned-map: nothing to cross-validate") }
        context.logger.info("uniroute-learned-map: chose by cross-validation", metadata: [
            "k": "\(k)", "epochs": "\(best.epoch)", "kappa": "\(best.kappa)", "cv_aiq": "\(best.estimate.formatted)",
        ])
        return best
    }

    /// θ trained from the soft centroid map (θₖ = β·cₖ, bₖ = −β|cₖ|²/2) for `epochs` epochs on rows `x`
    /// with `outcomes`, the loss the squared error of Σₖ p(k|x)ψₖ against them.
    static func fit(
        _ x: SparseRows, outcomes y: FloatMatrix, psi: FloatMatrix, table: ClusterTable, epochs: Int, configuration: Configuration,
        checkpoints: Set<Int> = [], checkpoint: (Int, SoftmaxMapWeights) -> Void = { _, _ in }
    ) -> SoftmaxMapWeights {
        let k = table.centroids.rows, m = psi.cols
        var theta = table.centroids
        for index in theta.values.indices { theta.values[index] *= configuration.sharpness }
        let bias = (0..<k).map { c in -configuration.sharpness * table.centroids.row(c).reduce(0) { $0 + $1 * $1 } / 2 }
        let n = Float(max(1, x.count))
        let trainer = SoftmaxMapTrainer(epochs: epochs, learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        return trainer.train(x, from: SoftmaxMapWeights(theta: theta, bias: bias), checkpoints: checkpoints, logitGradient: { p in
            // Residual R = 2(Pψ − Y)/n; dL/dP = Rψᵀ; then through the softmax.
            var gradient = [Float](repeating: 0, count: x.count * k)
            var residual = [Float](repeating: 0, count: m)
            var dP = [Float](repeating: 0, count: k)
            for i in 0..<x.count {
                for j in 0..<m {
                    var predicted: Float = 0
                    for c in 0..<k { predicted += p[i * k + c] * psi[c, j] }
                    residual[j] = 2 * (predicted - y[i, j]) / n
                }
                var dot: Float = 0
                for c in 0..<k {
                    var total: Float = 0
                    for j in 0..<m { total += residual[j] * psi[c, j] }
                    dP[c] = total
                    dot += p[i * k + c] * total
                }
                for c in 0..<k { gradient[i * k + c] = p[i * k + c] * (dP[c] - dot) }
            }
            return gradient
        }, checkpoint: checkpoint)
    }

    struct Stored: Codable {
        var models: [String]
        var clusters: Int
        var dimension: Int
        var bias: [Float]
    }

    public func save(to directory: URL) throws {
        try ArtifactFiles.writeJSON(
            Stored(models: models, clusters: theta.rows, dimension: theta.cols, bias: bias),
            to: directory.appendingPathComponent("map.json")
        )
        try theta.write(to: directory.appendingPathComponent("theta.f32"))
        try quality.write(to: directory.appendingPathComponent("quality.f32"))
    }

    public static func load(from directory: URL) throws -> UniRouteLearnedMapStrategy {
        let stored = try ArtifactFiles.readJSON(Stored.self, from: directory.appendingPathComponent("map.json"))
        return try UniRouteLearnedMapStrategy(
            models: stored.models,
            theta: try FloatMatrix.read(from: directory.appendingPathComponent("theta.f32"), rows: stored.clusters, cols: stored.dimension),
            bias: stored.bias,
            quality: try FloatMatrix.read(from: directory.appendingPathComponent("quality.f32"), rows: stored.clusters, cols: stored.models.count)
        )
    }
}
