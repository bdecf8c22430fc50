import Embedding
import Profiling
import Routing

/// Prompts in, routing features out: what the profile stage needs from `Profiling`.
///
/// Implementations must be safe to call from several workers at once.
public protocol FeatureExtractor: Sendable {
    /// One `QueryFeatures` per prompt, same order.
    func features(_ prompts: [String]) throws -> [QueryFeatures]
}

extension QueryProfiler: FeatureExtractor {
    public func features(_ prompts: [String]) throws -> [QueryFeatures] {
        try profile(prompts).map { profile in
            QueryFeatures(
                vector: profile.vector, capabilities: profile.requirements.capabilities,
                domains: profile.requirements.domains, inputTokens: profile.inputTokens)
        }
    }
}

/// Features from a plain `Embedder` and a token estimate, for pipelines that route without trained
/// profiles (strategies `cheapest` and `first` read only `inputTokens`).
public struct EmbedderFeatureExtractor: FeatureExtractor {
    public let embedder: any Embedder
    public let tokenCounter: TokenCounter

    public init(embedder: any Embedder, tokenCounter: TokenCounter = TokenCounter()) {
        self.embedder = embedder
        self.tokenCounter = tokenCounter
    }

    public func features(_ prompts: [String]) throws -> [QueryFeatures] {
        let vectors = try embedder.embed(prompts)
        return zip(prompts, vectors).map { prompt, vector in
            QueryFeatures(vector: vector, inputTokens: tokenCounter.count(prompt))
        }
    }
}
