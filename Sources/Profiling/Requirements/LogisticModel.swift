import Foundation
import SwitchyardCore

/// A binary logistic regression, P(y = 1 | x) = σ(w·x + b), trained in Swift with Adam.
///
/// Small and dependency-free on purpose: capability heads and the aptitude scorer train in seconds on
/// thousands of rows, and the weights travel in a JSON artifact.
public struct LogisticModel: Codable, Sendable, Hashable {
    public var weights: [Double]
    public var bias: Double

    public init(weights: [Double], bias: Double) {
        self.weights = weights
        self.bias = bias
    }

    /// σ(w·x + b).
    public func probability(_ x: [Float]) -> Double {
        RequirementVectorMath.sigmoid(RequirementVectorMath.dot(x, weights) + bias)
    }
}

/// How `LogisticModel.train` fits; the defaults suit a few thousand rows of tens to thousands of features.
public struct LogisticTrainingConfiguration: Sendable {
    /// Passes over the training rows at most (default 30).
    public var epochs: Int = 30
    /// Adam step size (default 0.02).
    public var learningRate: Double = 0.02
    /// L2 penalty on the weights, not the bias (default 1e-4).
    public var l2: Double = 1e-4
    /// Rows per Adam step (default 64).
    public var batchSize: Int = 64
    /// Epochs without validation improvement before stopping (default 4); unused without validation rows.
    public var patience: Int = 4
    /// Seed of the row order (default 11).
    public var seed: UInt64 = 11

    public init() {}
}

extension LogisticModel {
    /// Fits on `(x, y)` with y in [0, 1] (soft labels allowed); when validation rows are given, keeps the
    /// weights of the epoch with the lowest validation log-loss (early stopping). `onEpoch(e, model)` sees
    /// the weights after every epoch e (1-based), for callers that compare epochs themselves.
    public static func train(
        x: [[Float]], y: [Double],
        validation: (x: [[Float]], y: [Double])? = nil,
        configuration: LogisticTrainingConfiguration = .init(),
        onEpoch: ((Int, LogisticModel) -> Void)? = nil
    ) -> LogisticModel {
        let dim = x.first?.count ?? 0
        var model = LogisticModel(weights: [Double](repeating: 0, count: dim), bias: 0)
        guard !x.isEmpty else { return model }
        // Start the bias at the base rate so early stopping starts from a sensible model.
        let mean = min(max(y.reduce(0, +) / Double(y.count), 1e-3), 1 - 1e-3)
        model.bias = RequirementVectorMath.logit(mean)
        var m = [Double](repeating: 0, count: dim + 1)
        var v = [Double](repeating: 0, count: dim + 1)
        var grad = [Double](repeating: 0, count: dim + 1)
        var step = 0
        let (b1, b2, eps) = (0.9, 0.999, 1e-8)
        var rng = SplitMix64(seed: configuration.seed, discarding: 1)
        var order = Array(x.indices)
        var best = model
        var bestLoss = validation.map { logLoss(model, $0.x, $0.y) } ?? .infinity
        var stale = 0
        for epoch in 0..<configuration.epochs {
            order.shuffle(using: &rng)
            var start = 0
            while start < order.count {
                let end = min(start + configuration.batchSize, order.count)
                for i in grad.indices { grad[i] = 0 }
                for r in order[start..<end] {
                    let err = model.probability(x[r]) - y[r]
                    x[r].withUnsafeBufferPointer { row in
                        for d in 0..<min(dim, row.count) { grad[d] += err * Double(row[d]) }
                    }
                    grad[dim] += err
                }
                let scale = 1.0 / Double(end - start)
                step += 1
                let c1 = 1 - pow(b1, Double(step))
                let c2 = 1 - pow(b2, Double(step))
                for d in 0...dim {
                    var g = grad[d] * scale
                    if d < dim { g += configuration.l2 * model.weights[d] }
                    m[d] = b1 * m[d] + (1 - b1) * g
                    v[d] = b2 * v[d] + (1 - b2) * g * g
                    let delta = configuration.learningRate * (m[d] / c1) / ((v[d] / c2).squareRoot() + eps)
                    if d < dim { model.weights[d] -= delta } else { model.bias -= delta }
                }
                start = end
            }
            onEpoch?(epoch + 1, model)
            if let validation {
                let loss = logLoss(model, validation.x, validation.y)
                if loss < bestLoss - 1e-6 {
                    bestLoss = loss
                    best = model
                    stale = 0
                } else {
                    stale += 1
                    if stale >= configuration.patience { break }
                }
            }
        }
        return validation == nil ? model : best
    }

    /// Mean binary cross-entropy of the model on rows.
    public static func logLoss(_ model: LogisticModel, _ x: [[Float]], _ y: [Double]) -> Double {
        guard !x.isEmpty else { return 0 }
        var total = 0.0
        for i in x.indices {
            let p = min(max(model.probability(x[i]), 1e-6), 1 - 1e-6)
            total -= y[i] * log(p) + (1 - y[i]) * log(1 - p)
        }
        return total / Double(x.count)
    }
}
