import SwitchyardCore

/// What a query requires beyond its vector: ranked capabilities and knowledge domains
/// (InferenceDynamics). Produced by a `RequirementExtractor`.
public struct QueryRequirements: Sendable, Codable, Hashable {
    /// Capabilities the query needs, most needed first.
    public var capabilities: [Capability]
    /// Knowledge domains (names from the extractor's learned vocabulary), most relevant first.
    public var domains: [String]

    public init(capabilities: [Capability] = [], domains: [String] = []) {
        self.capabilities = capabilities
        self.domains = domains
    }
}

/// Turns a prompt (and its feature vector, already computed) into ranked requirements.
///
/// Implemented in `Profiling/Requirements/` (embedded prototype extractor, optional LLM extractor);
/// `QueryProfiler` calls it through this protocol so the profiler never depends on which one runs.
/// Must be safe to call from several threads at once. A failure for one prompt is thrown, not
/// swallowed: the profile stage turns it into an error record for that line.
public protocol RequirementExtractor: Sendable {
    /// Short name recorded in artifacts and logs.
    var name: String { get }
    func requirements(prompt: String, vector: [Float]) throws -> QueryRequirements
}
