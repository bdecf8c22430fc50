import Foundation
import SwitchyardCore

/// The requirement extractor of the profile stage: ranked capabilities from small logistic heads on
/// the query vector (trained on the weak labels of `CapabilityRules`), blended with the rules when the
/// prompt text is at hand, and ranked knowledge domains from the learned `DomainVocabulary`.
///
/// A value type holding only weights: safe to share between threads, cheap to call (one dot product
/// per capability and per domain).
public struct EmbeddedRequirementExtractor: RequirementExtractor, Codable, Hashable {
    /// Knobs of extraction and training; stored with the weights.
    public struct Configuration: Sendable, Codable, Hashable {
        /// Most capabilities returned (default 3).
        public var maxCapabilities: Int = 3
        /// Most domains returned (default 2).
        public var maxDomains: Int = 2
        /// A capability is returned when its score reaches this (default 0.5); the best one always is.
        public var capabilityThreshold: Double = 0.5
        /// Weight of the text rules against the learned head when the prompt is given (default 0.5).
        public var ruleWeight: Double = 0.5
        /// Epochs of each capability head (default 12).
        public var headEpochs: Int = 12
        /// Domain clustering (default: 16 clusters, merge at cosine 0.7, < 2 % into `other`).
        public var domainClusters: Int = 16
        public var seed: UInt64 = 7

        public init() {}
    }

    public var name: String { "embedded" }
    public var configuration: Configuration
    /// Vector length the heads and centroids expect.
    public var dimension: Int
    /// One head per capability, keyed by the capability's raw value.
    public var heads: [String: LogisticModel]
    public var vocabulary: DomainVocabulary

    public init(configuration: Configuration, dimension: Int, heads: [String: LogisticModel], vocabulary: DomainVocabulary) {
        self.configuration = configuration
        self.dimension = dimension
        self.heads = heads
        self.vocabulary = vocabulary
    }

    /// Learns heads and domain vocabulary from training prompts and their feature vectors (same order).
    public static func train(
        prompts: [String], vectors: [[Float]], configuration: Configuration = Configuration()
    ) throws(RequirementError) -> EmbeddedRequirementExtractor {
        guard prompts.count == vectors.count, let dimension = vectors.first?.count, dimension > 0 else {
            throw .invalidTrainingData("need one non-empty vector per prompt (got \(prompts.count) prompts, \(vectors.count) vectors)")
        }
        if let bad = vectors.first(where: { $0.count != dimension }) {
            throw .dimensionMismatch(expected: dimension, got: bad.count)
        }
        let labels = prompts.map(CapabilityRules.labels)
        var training = LogisticTrainingConfiguration()
        training.epochs = configuration.headEpochs
        training.seed = configuration.seed
        var heads: [String: LogisticModel] = [:]
        for capability in Capability.allCases {
            let y = labels.map { $0.contains(capability) ? 1.0 : 0.0 }
            heads[capability.rawValue] = LogisticModel.train(x: vectors, y: y, configuration: training)
        }
        var builder = DomainVocabularyBuilder()
        builder.clusters = configuration.domainClusters
        builder.seed = configuration.seed
        let vocabulary = try builder.build(texts: prompts, vectors: vectors)
        return EmbeddedRequirementExtractor(configuration: configuration, dimension: dimension, heads: heads, vocabulary: vocabulary)
    }

    public func requirements(prompt: String, vector: [Float]) throws -> QueryRequirements {
        guard vector.count == dimension else { throw RequirementError.dimensionMismatch(expected: dimension, got: vector.count) }
        return QueryRequirements(
            capabilities: rankedCapabilities(prompt: prompt, vector: vector).map(\.capability),
            domains: vocabulary.rank(vector, limit: configuration.maxDomains).map(\.name)
        )
    }

    /// Every capability with its score in [0, 1], best first; `prompt` nil or empty uses the heads alone.
    public func capabilityScores(prompt: String?, vector: [Float]) -> [(capability: Capability, score: Double)] {
        let rules = prompt.flatMap { $0.isEmpty ? nil : CapabilityRules.scores($0) }
        let w = rules == nil ? 0 : configuration.ruleWeight
        let scored = Capability.allCases.map { capability -> (Capability, Double) in
            let head = heads[capability.rawValue]?.probability(vector) ?? 0
            let rule = rules?[capability] ?? 0
            return (capability, w * rule + (1 - w) * head)
        }
        return scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : Self.order($0.0) < Self.order($1.0) }
    }

    /// The returned capabilities: above the threshold, at least one, at most `maxCapabilities`.
    public func rankedCapabilities(prompt: String?, vector: [Float]) -> [(capability: Capability, score: Double)] {
        let all = capabilityScores(prompt: prompt, vector: vector)
        var kept = all.filter { $0.score >= configuration.capabilityThreshold }
        if kept.isEmpty, let first = all.first { kept = [first] }
        return Array(kept.prefix(max(1, configuration.maxCapabilities)))
    }

    static func order(_ c: Capability) -> Int { Capability.allCases.firstIndex(of: c) ?? 0 }

    // MARK: persistence

    /// Writes the extractor as one JSON file.
    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// Reads what `save(to:)` wrote; a missing or corrupt file is a `SwitchyardError` saying to rebuild.
    public static func load(from url: URL) throws(SwitchyardError) -> EmbeddedRequirementExtractor {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .unreadableFile(file: url.path, reason: "no such file; run `switchyard profile build` again")
        }
        do {
            return try JSONDecoder().decode(EmbeddedRequirementExtractor.self, from: data)
        } catch {
            throw .badFile(file: url.path, reason: "corrupt requirement model (\(DecodingErrorDescription.describe(error))); run `switchyard profile build` again")
        }
    }
}
