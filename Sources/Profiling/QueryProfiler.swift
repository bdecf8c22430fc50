/// Prompt → `QueryProfile`: feature vector, input token estimate and (when an extractor is given)
/// ranked capabilities and domains. The profile stage's whole job; safe to share between threads.
public struct QueryProfiler: Sendable {
    public let featurizer: Featurizer
    public let tokenCounter: TokenCounter
    public let extractor: (any RequirementExtractor)?

    public init(featurizer: Featurizer, tokenCounter: TokenCounter, extractor: (any RequirementExtractor)? = nil) {
        self.featurizer = featurizer
        self.tokenCounter = tokenCounter
        self.extractor = extractor
    }

    /// Profiles many prompts at once (the featurizer batches the embedder); same order.
    public func profile(_ prompts: [String]) throws -> [QueryProfile] {
        let vectors = try featurizer.vectors(prompts)
        return try zip(prompts, vectors).map { prompt, vector in
            QueryProfile(
                vector: vector,
                requirements: try extractor?.requirements(prompt: prompt, vector: vector) ?? QueryRequirements(),
                inputTokens: tokenCounter.count(prompt)
            )
        }
    }
}
