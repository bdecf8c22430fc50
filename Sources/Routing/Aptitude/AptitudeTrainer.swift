import Foundation
import Profiling
import SwitchyardCore

/// Learns an `AptitudeStrategy`: samples the aptitude set from train, takes each model's outcomes on it,
/// and fits the scorer on every (train query, model) pair (the query left out of its own aptitude
/// features), early-stopped on the dev pairs.
public struct AptitudeTrainer: Sendable {
    public var configuration: AptitudeConfiguration

    public init(configuration: AptitudeConfiguration) { self.configuration = configuration }

    public func train(_ context: TrainingContext) throws -> AptitudeStrategy {
        let train = context.train
        let dimension = train.vectors.cols
        guard train.count > 0, dimension > 0, !context.models.isEmpty else {
            throw AptitudeError.noTrainingData("need training records with feature vectors and at least one model")
        }
        let unitRows = (0..<train.count).map { RequirementVectorMath.normalized(train.vectors.row($0)) }
        let (set, rows) = AptitudeSet.sample(
            ids: train.records.map(\.id), prompts: train.records.map(\.prompt), vectors: unitRows, categories: configuration.categories,
            perCategory: configuration.promptsPerCategory, seed: context.seed
        )
        let aptitude = context.models.indices.map { j in rows.map { train.outcomes[$0, j] } }
        let placeholder = LogisticModel(weights: [Double](repeating: 0, count: 8 + set.categoryCount), bias: 0)
        var strategy = try AptitudeStrategy(models: context.models, configuration: configuration, set: set, aptitude: aptitude, scorer: placeholder)
        var position: [Int: Int] = [:]
        for (k, r) in rows.enumerated() { position[r] = k }
        let trainRows = pairs(strategy, vectors: unitRows, outcomes: train.outcomes, excluded: (0..<train.count).map { position[$0] })
        var validation: (x: [[Float]], y: [Double])? = nil
        if context.dev.count > 0 {
            let devRows = (0..<context.dev.count).map { RequirementVectorMath.normalized(context.dev.vectors.row($0)) }
            validation = pairs(strategy, vectors: devRows, outcomes: context.dev.outcomes, excluded: [Int?](repeating: nil, count: devRows.count))
        } else {
            context.logger.info("aptitude: no dev split, training the scorer without early stopping")
        }
        var fit = LogisticTrainingConfiguration()
        fit.epochs = configuration.epochs
        fit.learningRate = configuration.learningRate
        fit.l2 = 1e-5
        fit.batchSize = 256
        fit.seed = context.seed
        strategy.scorer = LogisticModel.train(x: trainRows.x, y: trainRows.y, validation: validation, configuration: fit)
        context.logger.info("aptitude: trained", metadata: [
            "prompts": "\(set.count)", "categories": "\(set.categoryCount)", "pairs": "\(trainRows.x.count)",
        ])
        return strategy
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
        // In blocks of queries so the similarity matrices stay small.
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
                        let context = f.context(
                            itemSims: UnsafeBufferPointer(rebasing: items[(i * set.count)..<((i + 1) * set.count)]),
                            centroidSims: UnsafeBufferPointer(rebasing: cents[(i * set.categoryCount)..<((i + 1) * set.categoryCount)]),
                            excluded: excluded[start + i]
                        )
                        for j in strategy.models.indices {
                            var row = [Float](repeating: 0, count: f.width)
                            f.fill(&row, context: context, outcomes: strategy.aptitude[j], summary: summaries[j])
                            x.append(row)
                            y.append(Double(outcomes[start + i, j]))
                        }
                    }
                }
            }
            start = end
        }
        return (x, y)
    }
}
