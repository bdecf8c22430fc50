import Embedding
import Payloads
import Profiling
import Routing

/// Prompts in, routing features out: what the profile stage needs from `Profiling`.
///
/// Features are always made from a `QueryProfile` by `QueryFeatures(_:)`, the one conversion `route` and
/// `eval` use too, so the task mix and every other field reach the score stage as they reach `route`.
/// Implementations must be safe to call from several workers at once.
public protocol FeatureExtractor: Sendable {
    /// One `QueryFeatures` per prompt, same order.
    func features(_ prompts: [String]) throws -> [QueryFeatures]
    /// The knowledge domains the profiles name, so profiled payloads code them as small integers (nil: none).
    var domainCodes: DomainCodes? { get }
}

extension FeatureExtractor {
    public var domainCodes: DomainCodes? { nil }
}

extension QueryProfiler: FeatureExtractor {
    public func features(_ prompts: [String]) throws -> [QueryFeatures] {
        try profile(prompts).map(QueryFeatures.init)
    }

    public var domainCodes: DomainCodes? {
        (extractor as? EmbeddedRequirementExtractor).map { DomainCodes(names: $0.vocabulary.names) }
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
            QueryFeatures(QueryProfile(vector: vector, inputTokens: tokenCounter.count(prompt)))
        }
    }
}
