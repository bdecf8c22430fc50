import Foundation
import Logging
import SwitchyardCore

/// `ensemble`: a stacked model over the other strategies' predicted qualities and the task prior.
///
/// For every model m, q_m(x) = b_m + Σ_s w_{s,m}·q_{s,m}(x) (+ w_{prior,m}·prior_m(x)), clamped to
/// [0, 1]: a small ridge regression per model of the model's outcome on the strategies' out-of-fold
/// predictions (level-one data that no strategy fitted on the prompt it predicts). The penalty pulls
/// the weights toward the plain average of the inputs, not toward zero, so with little evidence the
/// stack is the average, and it departs from it only where the strategies disagree in ways the
/// outcomes reward. The penalty is chosen by cross-validation of the stack itself (each fold's stack
/// fitted on the other folds' level-one rows); `auto` takes it only when it beats every single
/// strategy by more than the near-tie margin, since it runs all of them per decision.
public struct EnsembleStrategy: RoutingStrategy {
    public static let strategyName = "ensemble"
    /// After every strategy it stacks.
    public static let decisionCostRank = 6
    public var name: String { Self.strategyName }
    public var models: [String] { stack.models }
    public let stack: Stack
    /// The stacked strategies, in `stack.bases` order, unblended.
    public let bases: [any RoutingStrategy]
    /// The task prior, when the stack reads it.
    public let prior: TaskPrior?
    /// Column of each stacked strategy's (and the prior's) prediction for each of `models`.
    private let columns: [[Int?]]

    public init(stack: Stack, bases: [any RoutingStrategy], prior: TaskPrior?) throws(SwitchyardError) {
        guard bases.map(\.name) == stack.bases, stack.weights.count == stack.models.count,
              stack.weights.allSatisfy({ $0.count == stack.inputs + 1 }), !stack.usesPrior || prior != nil else {
            throw .invalidArgument("ensemble: the stack needs its strategies \(stack.bases.joined(separator: ", "))\(stack.usesPrior ? " and the task prior" : "") and one weight row per model; rebuild the artifact")
        }
        self.stack = stack
        self.bases = bases
        self.prior = stack.usesPrior ? prior : nil
        let sources = bases.map(\.models) + (stack.usesPrior ? [prior?.models ?? []] : [])
        self.columns = sources.map { source in stack.models.map { source.firstIndex(of: $0) } }
    }

    public func predictQuality(_ query: QueryFeatures) -> [Double] {
        var inputs = bases.map { $0.predictQuality(query) }
        if let prior { inputs.append(prior.prior(query)) }
        return combine(inputs)
    }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        let perBase = bases.map { $0.predictQuality(batch: queries) }
        return queries.indices.map { i in
            var inputs = perBase.map { $0[i] }
            if let prior { inputs.append(prior.prior(queries[i])) }
            return combine(inputs)
        }
    }

    public func explain(_ query: QueryFeatures) -> String? {
        let q = predictQuality(query)
        let best = models.indices.max { q[$0] < q[$1] } ?? 0
        let shares = stack.bases.enumerated().map { s, name in "\(name) \(String(format: "%.2f", stack.weights[best][s + 1]))" }
        return "stack weights for \(models[best]): " + shares.joined(separator: ", ")
            + (stack.usesPrior ? ", task prior \(String(format: "%.2f", stack.weights[best][stack.inputs]))" : "")
    }

    /// b + Σ w·input per model, clamped to [0, 1]; `inputs[s]` in the s-th source's model order.
    func combine(_ inputs: [[Double]]) -> [Double] {
        models.indices.map { j in
            let w = stack.weights[j]
            var q = w[0]
            for s in 0..<min(inputs.count, columns.count) {
                if let c = columns[s][j], c < inputs[s].count { q += w[s + 1] * inputs[s][c] }
            }
            return min(1, max(0, q))
        }
    }

    /// The learned stack: what `ensemble.json` holds.
    public struct Stack: Codable, Sendable, Hashable {
        public var models: [String]
        /// Stacked strategies, by name.
        public var bases: [String]
        /// Whether the task prior is the last input.
        public var usesPrior: Bool
        /// Per model: intercept, then one weight per input (bases, then the prior).
        public var weights: [[Double]]
        /// Ridge penalty chosen by cross-validation (per labelled prompt).
        public var penalty: Double

        /// Inputs per model: the stacked strategies and the prior.
        public var inputs: Int { bases.count + (usesPrior ? 1 : 0) }

        static let fileName = "ensemble.json"

        public func save(to directory: URL) throws {
            try ArtifactFiles.writeJSON(self, to: directory.appendingPathComponent(Self.fileName))
        }

        public static func load(from directory: URL) throws -> Stack {
            let url = directory.appendingPathComponent(fileName)
            let stack = try ArtifactFiles.readJSON(Stack.self, from: url)
            try ArtifactFiles.check(
                stack.weights.count == stack.models.count && stack.weights.allSatisfy { $0.count == stack.inputs + 1 } && !stack.bases.isEmpty,
                url, "stack weights do not match its models and inputs")
            return stack
        }
    }

    // MARK: Fitting

    /// Penalties compared (× labelled rows fitted, so one value means the same at any size).
    static let penalties: [Double] = [1000, 100, 30, 10, 3, 1, 0.3, 0.1, 0.01]

    /// Fits the stack on out-of-fold predictions: `bases` (name, labelled rows × models) and the
    /// out-of-fold task prior. The penalty is chosen by cross-validating the stack (each fold's weights
    /// fitted on the other folds' rows), strongest first: a weaker penalty must gain more than
    /// `CrossValidation.minimumGain`. Returns the stack fitted on every row and its out-of-fold
    /// predictions.
    static func crossValidate(
        bases: [(name: String, predictions: [Double])], prior: [Double]?, cv: CrossValidation, logger: Logger
    ) throws -> (stack: Stack, result: CrossValidated) {
        let m = cv.models.count, n = cv.count
        let inputs = bases.map(\.predictions) + (prior.map { [$0] } ?? [])
        let d = inputs.count + 1
        // Level-one design per model: [1, inputs...] for every labelled row.
        func design(_ j: Int, _ i: Int) -> [Double] { [1] + inputs.map { $0[i * m + j] } }
        let target = { (i: Int, j: Int) in Double(cv.labelled.outcomes[i, j]) }
        let anchor = [0] + [Double](repeating: 1 / Double(inputs.count), count: inputs.count)
        func fit(rows: [Int], penalty: Double) -> [[Double]] {
            (0..<m).map { j in
                var gram = [Double](repeating: 0, count: d * d)
                var moment = [Double](repeating: 0, count: d)
                for i in rows {
                    let x = design(j, i)
                    let y = target(i, j)
                    for a in 0..<d {
                        moment[a] += x[a] * y
                        for b in 0..<d { gram[a * d + b] += x[a] * x[b] }
                    }
                }
                let lambda = penalty * Double(rows.count) / 1000
                for a in 1..<d {
                    gram[a * d + a] += lambda
                    moment[a] += lambda * anchor[a]
                }
                return Self.solve(gram, moment, d) ?? anchor
            }
        }
        func predict(_ weights: [[Double]], rows: [Int]) -> [Double] {
            rows.flatMap { i in
                (0..<m).map { j in
                    let x = design(j, i)
                    return min(1, max(0, zip(x, weights[j]).reduce(0) { $0 + $1.0 * $1.1 }))
                }
            }
        }
        var best: (penalty: Double, estimate: CVEstimate, predictions: [Double])? = nil
        for penalty in penalties {
            let perFold = (0..<cv.folds.count).map { f in predict(fit(rows: cv.folds.training(f), penalty: penalty), rows: cv.heldOutRows[f]) }
            let predicted = cv.assemble(perFold)
            let estimate = cv.score(predicted)
            logger.debug("ensemble candidate", metadata: ["penalty": "\(penalty)", "cv_aiq": "\(estimate.formatted)"])
            if best == nil || estimate.mean > best!.estimate.mean + CrossValidation.minimumGain { best = (penalty, estimate, predicted) }
        }
        guard let best else { throw SwitchyardError.invalidArgument("ensemble: nothing to stack") }
        let weights = fit(rows: Array(0..<n), penalty: best.penalty)
        let stack = Stack(models: cv.models, bases: bases.map(\.name), usesPrior: prior != nil, weights: weights, penalty: best.penalty)
        logger.info("ensemble: stacked by cross-validation", metadata: [
            "bases": "\(stack.bases.joined(separator: ","))", "prior": "\(stack.usesPrior)", "penalty": "\(best.penalty)",
            "cv_aiq": "\(best.estimate.formatted)",
        ])
        return (stack, CrossValidated(predictions: best.predictions, estimate: best.estimate, choice: "penalty=\(best.penalty) inputs=\(stack.inputs)"))
    }

    /// Solves the symmetric positive-definite system A·x = b (d × d) by Gaussian elimination with partial
    /// pivoting; nil when it is singular.
    static func solve(_ a: [Double], _ b: [Double], _ d: Int) -> [Double]? {
        var a = a, b = b
        for column in 0..<d {
            var pivot = column
            for r in (column + 1)..<d where abs(a[r * d + column]) > abs(a[pivot * d + column]) { pivot = r }
            guard abs(a[pivot * d + column]) > 1e-12 else { return nil }
            if pivot != column {
                for c in 0..<d { a.swapAt(column * d + c, pivot * d + c) }
                b.swapAt(column, pivot)
            }
            for r in (column + 1)..<d {
                let factor = a[r * d + column] / a[column * d + column]
                guard factor != 0 else { continue }
                for c in column..<d { a[r * d + c] -= factor * a[column * d + c] }
                b[r] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: d)
        for r in stride(from: d - 1, through: 0, by: -1) {
            var total = b[r]
            for c in (r + 1)..<d { total -= a[r * d + c] * x[c] }
            x[r] = total / a[r * d + r]
        }
        return x
    }
}
