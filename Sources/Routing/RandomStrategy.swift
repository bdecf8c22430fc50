import Foundation
import SwitchyardCore

/// Baseline: a uniformly random model per query, reproducible: the scores are a hash of the seed
/// and the query's features, so the same query with the same seed always goes to the same model.
/// Its "predicted quality" is that random score, not an estimate: use it only as a reference.
public struct RandomStrategy: TrainableStrategy {
    public static let strategyName = "random"
    public var readsQueryVector: Bool { false }
    public var name: String { Self.strategyName }
    public let models: [String]
    public let seed: UInt64

    public init(models: [String], seed: UInt64) {
        self.models = models
        self.seed = seed
    }

    public func predictQuality(_ query: QueryFeatures) -> [Double] {
        var hash = seed ^ 0x5151_5151_5151_5151
        for value in query.vector { hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01b3 }
        hash = (hash ^ UInt64(truncatingIfNeeded: query.inputTokens)) &* 0x0000_0100_0000_01b3
        var generator = SplitMix64(seed: hash)
        return models.map { _ in generator.unit() }
    }

    public static func train(_ context: TrainingContext) throws -> RandomStrategy {
        RandomStrategy(models: context.models, seed: context.seed)
    }

    struct Stored: Codable {
        var models: [String]
        var seed: UInt64
    }

    public func save(to directory: URL) throws {
        try ArtifactFiles.writeJSON(Stored(models: models, seed: seed), to: directory.appendingPathComponent("random.json"))
    }

    public static func load(from directory: URL) throws -> RandomStrategy {
        let stored = try ArtifactFiles.readJSON(Stored.self, from: directory.appendingPathComponent("random.json"))
        return RandomStrategy(models: stored.models, seed: stored.seed)
    }
}
