import Foundation
import Logging
import SwitchyardCore

/// `ensemble`: a stacked model over the other strategies' predicted qualities and the task prior.
///
/// Routing reads only how models compare on a prompt (argmax q − λ·c), not the prompt's overall
/// difficulty, so the stack works on *centred* values: for every input s (a strategy as it routes,
/// blended where blended, and the task prior) and model m, z_{s,m} = q_{s,m} − mean over models of
/// q_s; then q_m = level + b_m + Σ_s w_{s,m}·z_{s,m}, where level is the mean of all inputs over
/// models. b_m and w_{·,m} are a small ridge regression per model of the model's centred outcome
/// (outcome − the prompt's mean outcome) on the inputs' out-of-fold predictions (level-one data that
/// no strategy fitted on the prompt it predicts), with the penalty pulling toward the plain average of
/// the inputs (b = 0, w = 1/S), so the strongest penalty is that average. Why centred: fitted on raw
/// outcomes, the stack spent its parameters on per-model levels and prompt difficulty, which routing
/// ignores, and lost 0.003–0.015 cross-validated AIQ against its own inputs on both data sets.
/// The penalty is chosen by cross-validating the stack itself (each fold's weights fitted on the
/// other folds' level-one rows); `auto` takes it only when it beats every single strategy by more than
/// the near-tie margin, since it runs all of them per decision.
public struct EnsembleStrategy: RoutingStrategy {
    public static let strategyName = "ensemble"
    /// After every strategy it stacks.
    public static let decisionCostRank = 6
    public var name: String { Self.strategyName }
    public var models: [String] { stack.models }
    public let stack: Stack
    /// The stacked strategies, in `stack.bases` order, as they route (blended where blended).
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

    /// level + b + Σ w·(input − its mean over models) per model, clamped to [0, 1]; `inputs[s]` in the
    /// s-th source's model order.
    func combine(_ inputs: [[Double]]) -> [Double] {
        let m = models.count
        var centred = [[Double]](repeating: [Double](repeating: 0, count: m), count: inputs.count)
        var level = 0.0
        for s in 0..<min(inputs.count, columns.count) {
            var mean = 0.0
            for j in 0..<m {
                if let c = columns[s][j], c < inputs[s].count { centred[s][j] = inputs[s][c] }
                mean += centred[s][j]
            }
            mean /= Double(max(1, m))
            level += mean
            for j in 0..<m { centred[s][j] -= mean }
        }
        level /= Double(max(1, inputs.count))
        return (0..<m).map { j in
            let w = stack.weights[j]
            var q = level + w[0]
            for s in 0..<centred.count { q += w[s + 1] * centred[s][j] }
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
        /// Per model: intercept b, then one weight per centred input (bases, then the prior).
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

    /// Penalties compared, strongest first (× labelled rows fitted / 1000, so a value means the same
    /// at any size); the strongest is, in effect, the plain average of the inputs.
    static let penalties: [Double] = [10000, 1000, 300, 100, 30, 10, 3, 1]

    /// Fits the stack on out-of-fold predictions: `bases` (name, labelled rows × models, as each
    /// strategy routes) and the out-of-fold task prior. The penalty is chosen by cross-validating the
    /// stack (each fold's weights fitted on the other folds' rows), strongest first: a weaker penalty
    /// must gain more than `CrossValidation.minimumGain`. Returns the stack fitted on every row and its
    /// out-of-fold predictions.
    static func crossValidate(
        bases: [(name: String, predictions: [Double])], prior: [Double]?, cv: CrossValidation, logger: Logger,
        penalties: [Double] = penalties
    ) throws -> (stack: Stack, result: CrossValidated) {
        let m = cv.models.count, n = cv.count
        let inputs = bases.map(\.predictions) + (prior.map { [$0] } ?? [])
        let s = inputs.count, d = s + 1
        // Centred inputs and targets, and each row's level.
        var centred = [[Double]](repeating: [Double](repeating: 0, count: n * m), count: s)
        var level = [Double](repeating: 0, count: n)
        for (t, input) in inputs.enumerated() {
            for i in 0..<n {
                let mean = input[(i * m)..<((i + 1) * m)].reduce(0, +) / Double(m)
                level[i] += mean / Double(s)
                for j in 0..<m { centred[t][i * m + j] = input[i * m + j] - mean }
            }
        }
        var target = [Double](repeating: 0, count: n * m)
        for i in 0..<n {
            let mean = (0..<m).reduce(0.0) { $0 + Double(cv.labelled.outcomes[i, $1]) } / Double(m)
            for j in 0..<m { target[i * m + j] = Double(cv.labelled.outcomes[i, j]) - mean }
        }
        let anchor = [0] + [Double](repeating: 1 / Double(s), count: s)
        func design(_ i: Int, _ j: Int) -> [Double] { [1] + centred.map { $0[i * m + j] } }
        func fit(rows: [Int], penalty: Double) -> [[Double]] {
            (0..<m).map { j in
                var gram = [Double](repeating: 0, count: d * d)
                var moment = [Double](repeating: 0, count: d)
                for i in rows {
                    let x = design(i, j)
                    let y = target[i * m + j]
                    for a in 0..<d {
                        moment[a] += x[a] * y
                        for b in 0..<d { gram[a * d + b] += x[a] * x[b] }
                    }
                }
                let lambda = penalty * Double(rows.count) / 1000
                for a in 0..<d {
                    gram[a * d + a] += lambda
                    moment[a] += lambda * anchor[a]
                }
                return LinearAlgebra.solve(gram, moment, d) ?? anchor
            }
        }
        func predict(_ weights: [[Double]], rows: [Int]) -> [Double] {
            rows.flatMap { i in
                (0..<m).map { j in min(1, max(0, level[i] + zip(design(i, j), weights[j]).reduce(0) { $0 + $1.0 * $1.1 })) }
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
}
