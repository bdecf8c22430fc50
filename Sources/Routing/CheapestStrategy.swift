import Foundation
import SwitchyardCore

/// Baseline: always the cheapest model by estimated cost, whatever λ. Its predicted quality is each
/// model's honest mean outcome (as `best-single`); `routesOnCostOnly` tells the `Router` to ignore it
/// for the choice.
public struct CheapestStrategy: TrainableStrategy {
    public static let strategyName = "cheapest"
    public var readsQueryVector: Bool { false }
    public var name: String { Self.strategyName }
    public var models: [String] { single.models }
    public var routesOnCostOnly: Bool { true }
    public static let costOnly = true
    let single: BestSingleStrategy

    public init(models: [String], meanQuality: [Double]) throws(SwitchyardError) {
        single = try BestSingleStrategy(models: models, meanQuality: meanQuality)
    }

    public func predictQuality(_ query: QueryFeatures) -> [Double] { single.meanQuality }

    public static func train(_ context: TrainingContext) throws -> CheapestStrategy {
        try CheapestStrategy(models: context.models, meanQuality: MeanOutcomes.pooled(context))
    }

    /// Scored as it routes: the λ = ∞ point alone.
    public static func crossValidate(_ context: TrainingContext) throws -> CrossValidated {
        let cv = try context.crossValidation()
        let predictions = cv.rowsOfFoldValues(cv.complementMeans(cv.labelled.outcomes))
        return CrossValidated(predictions: predictions, estimate: cv.score(predictions, lambdas: [.infinity]), choice: "")
    }

    public func save(to directory: URL) throws { try single.save(to: directory) }

    public static func load(from directory: URL) throws -> CheapestStrategy {
        let single = try BestSingleStrategy.load(from: directory)
        return try CheapestStrategy(models: single.models, meanQuality: single.meanQuality)
    }
}
