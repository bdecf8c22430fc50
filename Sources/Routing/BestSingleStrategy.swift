import Foundation
import SwitchyardCore

/// Baseline: every query gets each model's mean outcome on the training data (train + dev), so at
/// λ = 0 the router always picks the best single model and a λ sweep traces the single-model envelope.
public struct BestSingleStrategy: TrainableStrategy {
    public static let strategyName = "best-single"
    public var readsQueryVector: Bool { false }
    public var name: String { Self.strategyName }
    public let models: [String]
    /// Mean outcome per model, same order as `models`.
    public let meanQuality: [Double]

    public init(models: [String], meanQuality: [Double]) throws(SwitchyardError) {
        guard models.count == meanQuality.count else {
            throw .invalidArgument("best-single: \(models.count) models but \(meanQuality.count) qualities")
        }
        self.models = models
        self.meanQuality = meanQuality
    }

    public func predictQuality(_ query: QueryFeatures) -> [Double] { meanQuality }

    public static func train(_ context: TrainingContext) throws -> BestSingleStrategy {
        try BestSingleStrategy(models: context.models, meanQuality: MeanOutcomes.pooled(context))
    }

    struct Stored: Codable {
        var models: [String]
        var meanQuality: [Double]
    }

    public func save(to directory: URL) throws {
        try ArtifactFiles.writeJSON(Stored(models: models, meanQuality: meanQuality), to: directory.appendingPathComponent("quality.json"))
    }

    public static func load(from directory: URL) throws -> BestSingleStrategy {
        let stored = try ArtifactFiles.readJSON(Stored.self, from: directory.appendingPathComponent("quality.json"))
        return try BestSingleStrategy(models: stored.models, meanQuality: stored.meanQuality)
    }
}

/// Per-model mean outcomes, shared by the baselines.
enum MeanOutcomes {
    /// Mean outcome per model over train and dev together.
    static func pooled(_ context: TrainingContext) -> [Double] {
        var sums = [Double](repeating: 0, count: context.models.count)
        var n = 0
        for split in context.includeDevInFit ? [context.train, context.dev] : [context.train] {
            for i in 0..<split.count {
                for j in 0..<context.models.count { sums[j] += Double(split.outcomes[i, j]) }
            }
            n += split.count
        }
        return sums.map { n > 0 ? $0 / Double(n) : 0 }
    }
}
