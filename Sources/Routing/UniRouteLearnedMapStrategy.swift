import Foundation
import SwitchyardCore

/// UniRoute, learned soft map: p(k | x) = softmax_k(θₖᵀx + bₖ); predicted quality of model m =
/// Σₖ p(k | x) · (1 − error(k, m)).
///
/// θ starts as the soft nearest-centroid map (θₖ = β·cₖ, bₖ = −β|cₖ|²/2) of the cluster strategy's
/// K-means and is trained on train with Adam to maximise predicted correctness (squared error between
/// Σₖ p(k|x)·ψₖ and the prompt's real outcomes, ψ from train), with L2 decay; the epoch with the
/// best dev area under the cost–quality curve is kept (epoch 0, the soft centroid map, included).
/// Then the pseudo-count κ that shrinks each cluster's ψ toward the model's mean (evidence: the
/// cluster's size, see `ClusterTable`) is chosen again on dev for this map, whose soft mixing already
/// averages clusters. Routing then uses ψ from train + dev at that κ, like `uniroute-cluster`.
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

    /// Mean squared error of Σₖ p(k|x)ψₖ against outcomes.
    static func meanSquaredError(_ x: FloatMatrix, outcomes: FloatMatrix, theta: FloatMatrix, bias: [Float], quality: FloatMatrix) -> Float {
        let predicted = LinearAlgebra.multiply(probabilities(x, theta: theta, bias: bias), quality)
        var total: Float = 0
        for index in predicted.values.indices {
            let r = predicted.values[index] - outcomes.values[index]
            total += r * r
        }
        return total / Float(max(1, x.rows))
    }

    public static func train(_ context: TrainingContext) throws -> UniRouteLearnedMapStrategy {
        try train(context, configuration: Configuration())
    }

    public static func train(_ context: TrainingContext, configuration: Configuration) throws -> UniRouteLearnedMapStrategy {
        let table = ClusterTable.build(context)
        let x = context.train.vectors
        let y = context.train.outcomes
        let psi = table.trainQuality
        let k = table.centroids.rows, d = x.cols, n = Float(max(1, x.rows))
        var theta = table.centroids
        for index in theta.values.indices { theta.values[index] *= configuration.sharpness }
        var bias = (0..<k).map { c in -configuration.sharpness * table.centroids.row(c).reduce(0) { $0 + $1 * $1 } / 2 }

        let validation = context.selection
        var bestTheta = theta, bestBias = bias
        func devScore(_ theta: FloatMatrix, _ bias: [Float]) -> Double {
            let p = probabilities(validation.vectors, theta: theta, bias: bias)
            return context.selectionAIQ(predicted: LinearAlgebra.multiply(p, psi).values.map(Double.init))
        }
        var bestScore = devScore(theta, bias)
        let initialScore = bestScore
        var bestEpoch = 0
        var adam = AdamOptimizer(rows: k, cols: d, learningRate: configuration.learningRate, weightDecay: configuration.weightDecay)
        for epoch in 1...max(1, configuration.epochs) {
            let p = probabilities(x, theta: theta, bias: bias)
            var residual = LinearAlgebra.multiply(p, psi)
            for index in residual.values.indices { residual.values[index] = 2 * (residual.values[index] - y.values[index]) / n }
            // dL/dP = R ψᵀ, then through the softmax.
            var gradLogits = LinearAlgebra.multiplyTransposed(residual, psi)
            for i in 0..<x.rows {
                var dot: Float = 0
                for c in 0..<k { dot += p[i, c] * gradLogits[i, c] }
                for c in 0..<k { gradLogits[i, c] = p[i, c] * (gradLogits[i, c] - dot) }
            }
            let gradTheta = LinearAlgebra.transposedMultiply(gradLogits, x)
            var gradBias = [Float](repeating: 0, count: k)
            for i in 0..<x.rows { for c in 0..<k { gradBias[c] += gradLogits[i, c] } }
            adam.update(theta: &theta, bias: &bias, gradTheta: gradTheta, gradBias: gradBias)
            if epoch % 10 == 0 || epoch == configuration.epochs {
                let score = devScore(theta, bias)
                if score > bestScore {
                    bestScore = score
                    bestTheta = theta
                    bestBias = bias
                    bestEpoch = epoch
                }
            }
        }
        var bestKappa = table.kappa
        let devP = probabilities(validation.vectors, theta: bestTheta, bias: bestBias)
        for kappa in PriorShrinkage.candidates.map(Float.init) {
            let score = context.selectionAIQ(predicted: LinearAlgebra.multiply(devP, table.trainStats.quality(kappa: kappa)).values.map(Double.init))
            if score > bestScore + 1e-12 {
                bestScore = score
                bestKappa = kappa
            }
        }
        context.logger.info(
            "uniroute-learned-map: trained",
            metadata: [
                "k": "\(k)", "best_epoch": "\(bestEpoch)", "kappa": "\(bestKappa)",
                "dev_aiq_initial": "\(initialScore)", "dev_aiq": "\(bestScore)",
            ]
        )
        return try UniRouteLearnedMapStrategy(models: context.models, theta: bestTheta, bias: bestBias,
            quality: (context.includeDevInFit ? table.pooledStats : table.trainStats).quality(kappa: bestKappa)
        )
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
