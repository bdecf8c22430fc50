import Budget
import Dispatch
import Foundation
import SwitchyardCore

/// K-fold cross-validation over every labelled prompt of a build (train + dev): what every
/// hyper-parameter, the featurizer, the blends, the stack and `auto` are chosen by.
///
/// A strategy's out-of-fold predictions hold, for every labelled prompt, what a fit that never saw
/// the prompt's fold predicts for it; `score` turns them into one AIQ per fold (each fold its own
/// cost–quality curve over its own single-model cost range) and their mean ± standard error.
/// Each prompt's estimated costs come from a cost model fitted without its fold too, so nothing of a
/// held-out prompt but its text reaches the numbers it is scored with. Unsupervised parts (the
/// featurizer's idf and template, K-means centroids) are fitted once on every labelled prompt's text:
/// they see no outcome.
///
/// Why not one dev split: a few hundred dev prompts separate strategies by ~0.005 AIQ of chance, and
/// choices made on them (K, κ, k, blend weights, `auto`) followed the noise; every labelled prompt
/// scored once is 5–7 × the evidence, and the folds' spread says how far apart two scores must be.
public struct CrossValidation: Sendable {
    public let folds: CrossValidationFolds
    /// The labelled prompts, row for row with `folds.fold`.
    public let labelled: TrainingContext.Split
    public let models: [String]
    /// Estimated USD per labelled row and model (rows × models, flattened), each row priced by the cost
    /// model of the other folds.
    public let estimated: [Double]
    /// Cost model fitted on every fold but `f`, by fold.
    public let foldCostModels: [CostModel]
    /// Rows of each fold, ascending.
    public let heldOutRows: [[Int]]
    private let foldOutcomes: [FloatMatrix]
    private let foldCosts: [FloatMatrix]
    private let foldEstimated: [[Double]]

    /// Folds of `context`'s fitted rows (train + dev, or train alone when the context does not pool
    /// dev), stratified by task with the context's seed; costs estimated with its cost groups.
    public init(context: TrainingContext) throws {
        let labelled = try context.labelled()
        let folds = CrossValidationFolds(tasks: labelled.records.map(\.task), count: context.crossValidationFolds, seed: context.seed)
        let m = context.models.count
        let groups = context.costGroups?.groups(of: labelled.features) ?? labelled.features.map { _ in nil }
        var groupOf: [String: String] = [:]
        for (record, group) in zip(labelled.records, groups) { groupOf[record.prompt] = group }
        var costModels: [CostModel] = []
        var heldOut: [[Int]] = []
        for f in 0..<folds.count {
            let training = folds.training(f)
            heldOut.append(folds.heldOut(f))
            costModels.append(
                training.isEmpty
                    ? context.costModel
                    : try CostModel.fit(
                        records: training.map { labelled.records[$0] }, prices: context.prices, models: context.models,
                        group: { groupOf[$0.prompt] }))
        }
        var estimated = [Double](repeating: 0, count: labelled.count * m)
        for i in 0..<labelled.count {
            let row = costModels[folds.fold[i]].estimate(inputTokens: labelled.features[i].inputTokens, group: groups[i])
            for j in 0..<m { estimated[i * m + j] = row[j] }
        }
        self.folds = folds
        self.labelled = labelled
        self.models = context.models
        self.estimated = estimated
        self.foldCostModels = costModels
        self.heldOutRows = heldOut
        self.foldOutcomes = heldOut.map { Self.gather(labelled.outcomes, rows: $0) }
        self.foldCosts = heldOut.map { Self.gather(labelled.costs, rows: $0) }
        self.foldEstimated = heldOut.map { Self.gather(estimated, width: m, rows: $0) }
    }

    public var count: Int { labelled.count }

    /// Fold of labelled row `i`.
    public func fold(of i: Int) -> Int { folds.fold[i] }

    /// AIQ of out-of-fold predictions (labelled rows × models, flattened) on every fold, and their
    /// mean ± standard error. `lambdas`: the sweep (default `CostQualitySweep.lambdas`; [∞] for a
    /// strategy that routes on cost alone).
    public func score(_ predicted: [Double], lambdas: [Double] = CostQualitySweep.lambdas) -> CVEstimate {
        precondition(predicted.count == estimated.count, "out-of-fold predictions must be labelled rows × models")
        let scores = (try? Self.concurrentMap(folds.count) { foldScore(predicted, fold: $0, lambdas: lambdas) })
            ?? (0..<folds.count).map { foldScore(predicted, fold: $0, lambdas: lambdas) }
        return CVEstimate(folds: scores)
    }

    /// AIQ of the predictions on fold `f` alone, over the fold's own single-model cost range.
    public func foldScore(_ predicted: [Double], fold f: Int, lambdas: [Double] = CostQualitySweep.lambdas) -> Double {
        let points = CostQualitySweep.sweep(
            predicted: Self.gather(predicted, width: models.count, rows: heldOutRows[f]), estimated: foldEstimated[f],
            outcomes: foldOutcomes[f], costs: foldCosts[f], lambdas: lambdas)
        let singles = CostQualitySweep.singleModels(outcomes: foldOutcomes[f], costs: foldCosts[f])
        let aiq = CostQualitySweep.aiq(points, lo: singles.cost.min() ?? 0, hi: singles.cost.max() ?? 0)
        return aiq.isFinite ? aiq : 0
    }

    /// The labelled rows `rows` as a split of their own.
    public func subset(_ rows: [Int]) throws(SwitchyardError) -> TrainingContext.Split {
        try TrainingContext.Split(
            records: rows.map { labelled.records[$0] }, features: rows.map { labelled.features[$0] }, models: models)
    }

    /// A context to fit on every fold but `f` (no dev: nothing left to select on), priced by that
    /// fold's cost model; what a strategy without its own cross-validation is fitted on per fold.
    public func foldContext(_ base: TrainingContext, fold f: Int) throws -> TrainingContext {
        var context = TrainingContext(
            models: base.models, prices: base.prices, costModel: foldCostModels[f], train: try subset(folds.training(f)),
            dev: try TrainingContext.Split(records: [], features: [], models: base.models), seed: base.seed, logger: base.logger)
        context.costGroups = base.costGroups
        context.taskPriorReadsTaskVector = base.taskPriorReadsTaskVector
        context.crossValidationFolds = base.crossValidationFolds
        return context
    }

    /// Column means of `matrix` (labelled rows) over every fold's complement, by fold: a global prior
    /// as each fold's model sees it.
    public func complementMeans(_ matrix: FloatMatrix) -> [[Double]] {
        var totals = [Double](repeating: 0, count: matrix.cols)
        var foldTotals = [[Double]](repeating: [Double](repeating: 0, count: matrix.cols), count: folds.count)
        for i in 0..<matrix.rows {
            for j in 0..<matrix.cols {
                totals[j] += Double(matrix[i, j])
                foldTotals[folds.fold[i]][j] += Double(matrix[i, j])
            }
        }
        return (0..<folds.count).map { f in
            let n = Double(matrix.rows - heldOutRows[f].count)
            return (0..<matrix.cols).map { n > 0 ? (totals[$0] - foldTotals[f][$0]) / n : 0 }
        }
    }

    /// Per-fold rows (one row of values per fold) spread to every labelled row (rows × width, flattened):
    /// row i gets its fold's values.
    public func rowsOfFoldValues(_ values: [[Double]]) -> [Double] {
        (0..<count).flatMap { values[folds.fold[$0]] }
    }

    /// Out-of-fold predictions assembled from per-fold predictions: `perFold[f]` holds fold `f`'s rows
    /// (in `heldOutRows[f]` order) × models.
    public func assemble(_ perFold: [[Double]]) -> [Double] {
        let m = models.count
        var out = [Double](repeating: 0, count: count * m)
        for (f, rows) in heldOutRows.enumerated() {
            for (position, i) in rows.enumerated() {
                for j in 0..<m { out[i * m + j] = perFold[f][position * m + j] }
            }
        }
        return out
    }

    /// `body(f)` for every fold, two at a time (the folds are independent fits); results in fold order.
    public func mapFolds<T>(_ body: (Int) throws -> T) throws -> [T] {
        try Self.concurrentMap(folds.count, body)
    }

    /// `body(i)` for i in 0..<n on the machine's cores (Dispatch's concurrent perform); the first error
    /// thrown is rethrown after all have run.
    public static func concurrentMap<T>(_ n: Int, _ body: (Int) throws -> T) throws -> [T] {
        let results = ResultSlots<T>(count: n)
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: n) { i in
                results.set(i, Result { try box.value(i) })
            }
        }
        return try results.values()
    }

    static func gather(_ matrix: FloatMatrix, rows: [Int]) -> FloatMatrix {
        var out = FloatMatrix(rows: rows.count, cols: matrix.cols)
        for (r, source) in rows.enumerated() {
            for c in 0..<matrix.cols { out[r, c] = matrix[source, c] }
        }
        return out
    }

    static func gather(_ flat: [Double], width: Int, rows: [Int]) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(rows.count * width)
        for i in rows { out.append(contentsOf: flat[(i * width)..<((i + 1) * width)]) }
        return out
    }
}

/// Results of concurrent work, one slot each, behind a lock.
private final class ResultSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ value: Result<T, any Error>) {
        lock.lock()
        slots[i] = value
        lock.unlock()
    }

    func values() throws -> [T] {
        try slots.map { slot in
            guard let slot else { throw SwitchyardError.invalidArgument("a concurrent fold produced no result") }
            return try slot.get()
        }
    }
}

/// A closure handed to Dispatch's worker threads: the callers only pass closures over value types
/// and locked state.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension CrossValidation {
    /// AIQ a richer candidate (larger K, more smoothing, ...) must gain over a simpler one before it is
    /// chosen; candidate grids are walked simplest first, so near-ties go to the simpler choice.
    public static let minimumGain = 1e-4
}
