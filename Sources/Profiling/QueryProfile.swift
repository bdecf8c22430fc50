/// What the profile stage knows about one query: the routing features before the router sees them.
/// `Routing` turns it into `QueryFeatures` (`QueryFeatures(profile)`).
public struct QueryProfile: Sendable, Codable, Hashable {
    public var vector: [Float]
    public var requirements: QueryRequirements
    public var inputTokens: Int

    public init(vector: [Float], requirements: QueryRequirements = QueryRequirements(), inputTokens: Int) {
        self.vector = vector
        self.requirements = requirements
        self.inputTokens = inputTokens
    }
}
