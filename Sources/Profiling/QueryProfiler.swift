/// Prompt → `QueryProfile`: feature vector, input token estimate and (when an extractor is given)
/// ranked capabilities and domains. The profile stage's whole job; safe to share between threads.
public struct QueryProfiler: Sendable {
    public let featurizer: Featurizer
    public let tokenCounter: TokenCounter
    public let extractor: (any RequirementExtractor)?
    /// Which training task each prompt resembles, when the artifact has a classifier of its own.
    public let taskClassifier: (any TaskClassifier)?

    public init(
        featurizer: Featurizer, tokenCounter: TokenCounter, extractor: (any RequirementExtractor)? = nil, taskClassifier: (any TaskClassifier)? = nil
    ) {
        self.featurizer = featurizer
        self.tokenCounter = tokenCounter
        self.extractor = extractor
        self.taskClassifier = taskClassifier
    }

    /// Profiles many prompts at once (the featurizer batches the embedder); same order.
    public func profile(_ prompts: [String]) throws -> [QueryProfile] {
        let vectors = try featurizer.featureVectors(prompts)
        let taskMixes = try taskClassifier?.taskMixes(prompts)
        return try zip(prompts, vectors).enumerated().map { i, pair in
            QueryProfile(
                vector: pair.1.values, nonZeros: pair.1.nonZeros,
                requirements: try extractor?.requirements(prompt: pair.0, vector: pair.1.values) ?? QueryRequirements(),
                inputTokens: tokenCounter.count(pair.0),
                taskMix: taskMixes?[i]
            )
        }
    }
}

/// Prompts → p(task | prompt) over the tasks of the routing data (benchmarks such as gsm8k or mmlu).
///
/// Why the profile stage computes it: the classifier reads the whole prompt, instruction template
/// included (the template is what tells tasks apart, and the routing features strip it), so the score
/// stage gets a few probabilities instead of a second feature vector. Implemented by `Routing`, which
/// trains it; safe to call from several workers at once.
public protocol TaskClassifier: Sendable {
    /// One distribution over `tasks` per prompt, same order.
    func taskMixes(_ prompts: [String]) throws -> [[Float]]
}
