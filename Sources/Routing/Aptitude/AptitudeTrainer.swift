import Foundation
import Profiling
import SwitchyardCore

/// Learns an `AptitudeStrategy`: samples the aptitude set from the labelled prompts, takes each model's
/// outcomes on it, and fits the scorer on every (labelled query, model) pair (the query left out of its
/// own aptitude features). The scorer's number of epochs is chosen by cross-validated log loss: each
/// fold's strategy (its own set, drawn from the other folds) predicts the fold's prompts after every
/// epoch of one training run.
public struct AptitudeTrainer: Sendable {
    public var configuration: AptitudeConfiguration

    public init(configuration: AptitudeConfiguration) { self.configuration = configuration }

    /// The strategy fitted on every labelled prompt with the cross-validated number of epochs.
    public func train(_ context: TrainingContext) throws -> AptitudeStrategy {
        try choose(context).strategy
    }

    /// The saved fit, the chosen epochs and the out-of-fold predictions behind the choice.
    struct Choice: Sendable {
        var strategy: AptitudeStrategy
        var epochs: Int
        var logLoss: CVEstimate
        var estimate: CVEstimate
        var predictions: [Double]
    }

    func choose(_ context: TrainingContext) throws -> Choice {
        let cv = try context.crossValidation()
        let labelled = cv.labelled
        let m = context.models.count
        let epochs = Array(1...max(1, configuration.epochs))
        // Held-out predictions (fold rows × models) after every epoch, by fold: the fold's pairs are
        // featurised once, and every epoch's scorer is applied to them.
        let held: [[[Double]]] = try cv.mapFolds { f in
            let prepared = try prepare(try cv.subset(cv.folds.training(f)), context: context)
            let rows = cv.heldOutRows[f]
            let heldOut = pairs(
                prepared.strategy, vectors: rows.map { RequirementVectorMath.normalized(labelled.vectors.row($0)) },
                outcomes: CrossValidation.gather(labelled.outcomes, rows: rows), excluded: [Int?](repeating: nil, count: rows.count))
            var byEpoch = [[Double]](repeating: [], count: epochs.count)
            _ = trainScorer(prepared.x, prepared.y, epochs: configuration.epochs, seed: context.seed) { epoch, model in
                byEpoch[epoch - 1] = heldOut.x.map { model.probability($0) }
            }
            return byEpoch
        }
        var best: (epoch: Int, loss: CVEstimate)? = nil
        for epoch in epochs {
            let losses = (0..<cv.folds.count).map { f -> Double in
                var total = 0.0
                let rows = cv.heldOutRows[f]
                for (r, i) in rows.enumerated() {
                    for j in 0..<m {
                        let p = min(max(held[f][epoch - 1][r * m + j], 1e-6), 1 - 1e-6)
                        let y = Double(labelled.outcomes[i, j])
                        total -= y * log(p) + (1 - y) * log(1 - p)
                    }
                }
                return total / Double(max(1, rows.count * m))
            }
            let loss = CVEstimate(folds: losses)
            if best == nil || loss.mean < best!.loss.mean - 1e-6 { best = (epoch, loss) }
        }
        let chosen = best ?? (configuration.epochs, CVEstimate(folds: []))
        let predictions = cv.assemble((0..<cv.folds.count).map { held[$0][chosen.epoch - 1] })
        let strategy = try fit(labelled, context: context, epochs: chosen.epoch)
        let estimate = cv.score(predictions)
        context.logger.info("aptitude: trained", metadata: [
            "prompts": "\(strategy.set.count)", "categories": "\(strategy.set.categoryCount)", "epochs": "\(chosen.epoch)",
            "cv_log_loss": "\(chosen.loss.formatted)", "cv_aiq": "\(estimate.formatted)",
        ])
        return Choice(strategy: strategy, epochs: chosen.epoch, logLoss: chosen.loss, estimate: estimate, predictions: predictions)
    }

    /// Draws the set from `split`, takes every model's outcomes on it and trains the scorer on every
    /// (prompt, model) pair of `split` for `epochs` epochs.
    func fit(_ split: TrainingContext.Split, context: TrainingContext, epochs: Int) throws -> AptitudeStrategy {
        let prepared = try prepare(split, context: context)
        var strategy = prepared.strategy
        strategy.scorer = trainScorer(prepared.x, prepared.y, epochs: epochs, seed: context.seed)
        return strategy
    }

    /// The set drawn from `split`, the strategy around it (scorer not trained) and the scorer's training
    /// pairs (every prompt of `split` with every model, the prompt left out of its own aptitude features).
    func prepare(_ split: TrainingContext.Split, context: TrainingContext) throws -> (strategy: AptitudeStrategy, x: [[Float]], y: [Double]) {
        let dimension = split.vectors.cols
        guard split.count > 0, dimension > 0, !context.models.isEmpty else {
            throw AptitudeError.noTrainingData("need training records with feature vectors and at least one model")
        }
        let unitRows = (0..<split.count).map { RequirementVectorMath.normalized(split.vectors.row($0)) }
        let (set, rows) = AptitudeSet.sample(
            ids: split.records.map(\.id), prompts: split.records.map(\.prompt), vectors: unitRows, categories: configuration.categories,
            perCategory: configuration.promptsPerCategory, seed: context.seed
        )
        let aptitude = context.models.indices.map { j in rows.map { split.outcomes[$0, j] } }
        let placeholder = LogisticModel(weights: [Double](repeating: 0, count: 8 + set.categoryCount), bias: 0)
        let strategy = try AptitudeStrategy(models: context.models, configuration: configuration, set: set, aptitude: aptitude, scorer: placeholder)
        var position: [Int: Int] = [:]
        for (k, r) in rows.enumerated() { position[r] = k }
        let training = pairs(strategy, vectors: unitRows, outcomes: split.outcomes, excluded: (0..<split.count).map { position[$0] })
        return (strategy, training.x, training.y)
    }

    /// The scorer: Adam on the pairs for `epochs` epochs; `onEpoch` sees it after each.
    func trainScorer(_ x: [[Float]], _ y: [Double], epochs: Int, seed: UInt64, onEpoch: ((Int, LogisticModel) -> Void)? = nil) -> LogisticModel {
        var fit = LogisticTrainingConfiguration()
        fit.epochs = epochs
        fit.learningRate = configuration.learningRate
        fit.l2 = 1e-5
        fit.batchSize = 256
        fit.seed = seed
        return LogisticModel.train(x: x, y: y, configuration: fit, onEpoch: onEpoch)
    }

    /// Feature rows and outcomes for every (query, model) pair.
    func pairs(_ strategy: AptitudeStrategy, vectors: [[Float]], outcomes: FloatMatrix, excluded: [Int?]) -> (x: [[Float]], y: [Double]) {
        let f = strategy.features
        let set = strategy.set
        let summaries = strategy.aptitude.map(f.summary)
        var x: [[Float]] = []
        var y: [Double] = []
        x.reserveCapacity(vectors.count * strategy.models.count)
        y.reserveCapacity(vectors.count * strategy.models.count)
        // Lexical queries: each one's similarities over its non-zeros (the set by column), as a decision
        // computes them; dense ones: in blocks of one BLAS product, so the matrices stay small.
        let setPostings = SparsePostings(set.vectorMatrix)
        let centroids = CentroidIndex(set.centroidMatrix)
        func add(_ i: Int, items: UnsafeBufferPointer<Float>, cents: UnsafeBufferPointer<Float>) {
            let context = f.context(itemSims: items, centroidSims: cents, excluded: excluded[i])
            for j in strategy.models.indices {
                var row = [Float](repeating: 0, count: f.width)
                f.fill(&row, context: context, outcomes: strategy.aptitude[j], summary: summaries[j])
                x.append(row)
                y.append(Double(outcomes[i, j]))
            }
        }
        if let setPostings, vectors.allSatisfy({ vector in vector.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } * 4 <= vector.count }) {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, set.count)) { items in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, set.categoryCount)) { cents in
                    for (i, vector) in vectors.enumerated() {
                        let nonZeros = QueryFeatures.nonZeroIndices(vector)
                        setPostings.similarities(vector, nonZeros: nonZeros, into: UnsafeMutableBufferPointer(rebasing: items[0..<set.count]))
                        _ = centroids.dots(vector, nonZeros: nonZeros, into: cents)
                        add(i, items: UnsafeBufferPointer(rebasing: items[0..<set.count]), cents: UnsafeBufferPointer(rebasing: cents[0..<set.categoryCount]))
                    }
                }
            }
            return (x, y)
        }
        let block = 512
        var start = 0
        while start < vectors.count {
            let end = min(start + block, vectors.count)
            guard let q = try? FloatMatrix(stacking: Array(vectors[start..<end]), cols: set.dimension) else { break }
            let itemSims = LinearAlgebra.multiplyTransposed(q, set.vectorMatrix)
            let centroidSims = LinearAlgebra.multiplyTransposed(q, set.centroidMatrix)
            itemSims.values.withUnsafeBufferPointer { items in
                centroidSims.values.withUnsafeBufferPointer { cents in
                    for i in 0..<(end - start) {
                        add(
                            start + i, items: UnsafeBufferPointer(rebasing: items[(i * set.count)..<((i + 1) * set.count)]),
                            cents: UnsafeBufferPointer(rebasing: cents[(i * set.categoryCount)..<((i + 1) * set.categoryCount)]))
                    }
                }
            }
            start = end
        }
        return (x, y)
    }
}
