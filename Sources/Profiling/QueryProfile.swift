/// What the profile stage knows about one query: the routing features before the router sees them.
/// `Routing` turns it into `QueryFeatures` (`QueryFeatures(profile)`).
public struct QueryProfile: Sendable, Codable, Hashable {
    public var vector: [Float]
    /// Positions of `vector`'s non-zeros when the featurizer knows them (lexical features), in increasing
    /// order; nil when it does not (then `QueryFeatures` finds them).
    public var nonZeros: [Int32]?
    public var requirements: QueryRequirements
    public var inputTokens: Int
    /// p(task | prompt) over the training data's tasks (`TaskClassifier`), nil when the artifact has no
    /// task classifier of its own.
    public var taskMix: [Float]?

    public init(
        vector: [Float], nonZeros: [Int32]? = nil, requirements: QueryRequirements = QueryRequirements(), inputTokens: Int,
        taskMix: [Float]? = nil
    ) {
        self.vector = vector
        self.nonZeros = nonZeros
        self.requirements = requirements
        self.inputTokens = inputTokens
        self.taskMix = taskMix
    }
}
