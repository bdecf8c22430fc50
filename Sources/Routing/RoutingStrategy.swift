import Profiling
import SwitchyardCore

/// What the router knows about one query when it decides: produced by the profile stage
/// (`Profiling`) and carried to the score stage, so routing itself never embeds or tokenizes.
public struct QueryFeatures: Sendable, Codable, Hashable {
    /// Dense features the strategies were trained on (embedding, lexical hash, or both concatenated,
    /// as the artifact's featurizer says).
    public var vector: [Float]
    /// Ranked capabilities the query requires (InferenceDynamics), best first.
    public var capabilities: [Capability]
    /// Ranked knowledge domains (names from the artifact's domain vocabulary), best first.
    public var domains: [String]
    /// Input tokens of the prompt (exact or calibrated proxy).
    public var inputTokens: Int
    /// Positions of `vector`'s non-zeros, when known (`indexingNonZeros()`): lexical vectors are mostly
    /// zero, and a decision multiplies one vector with several tables (cost groups, clusters, task
    /// prior), so the scan is done once per decision. Derived data: not encoded, not compared.
    public var nonZeros: [Int32]? = nil
    /// p(task | prompt) from the profile stage's task classifier (`QueryProfile.taskMix`), nil when the
    /// artifact has none: the task prior then reads `taskVector` or `vector` itself.
    public var taskMix: [Float]? = nil
    /// The task classifier's own features (whole prompt, template kept) while training it, where no
    /// mix exists yet; never sent between stages (the mix is).
    public var taskVector: [Float]? = nil
    /// Positions of `taskVector`'s non-zeros (derived, like `nonZeros`).
    public var taskNonZeros: [Int32]? = nil

    public init(
        vector: [Float], capabilities: [Capability] = [], domains: [String] = [], inputTokens: Int, taskMix: [Float]? = nil,
        taskVector: [Float]? = nil
    ) {
        self.vector = vector
        self.capabilities = capabilities
        self.domains = domains
        self.inputTokens = inputTokens
        self.taskMix = taskMix
        self.taskVector = taskVector
    }

    enum CodingKeys: String, CodingKey { case vector, capabilities, domains, inputTokens, taskMix }

    public static func == (a: QueryFeatures, b: QueryFeatures) -> Bool {
        a.vector == b.vector && a.capabilities == b.capabilities && a.domains == b.domains && a.inputTokens == b.inputTokens
            && a.taskMix == b.taskMix
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(vector)
        hasher.combine(capabilities)
        hasher.combine(domains)
        hasher.combine(inputTokens)
        hasher.combine(taskMix)
    }

    /// Whether the non-zeros are known and few (at most a quarter of the dimension, as lexical vectors
    /// are): products over them then beat a BLAS product of the stacked batch.
    public var isSparse: Bool { nonZeros.map { $0.count * 4 <= vector.count } ?? false }

    /// The same query with `nonZeros` filled in (unchanged when already known).
    public func indexingNonZeros() -> QueryFeatures {
        guard nonZeros == nil || (taskVector != nil && taskNonZeros == nil) else { return self }
        var out = self
        if nonZeros == nil { out.nonZeros = Self.nonZeroIndices(vector) }
        if let taskVector, taskNonZeros == nil { out.taskNonZeros = Self.nonZeroIndices(taskVector) }
        return out
    }

    /// Found in a stack buffer, kept in an array of the exact size (a few hundred bytes, not 4 per dimension).
    static func nonZeroIndices(_ vector: [Float]) -> [Int32] {
        vector.withUnsafeBufferPointer { v in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(1, v.count)) { buffer in
                Array(buffer[0..<CentroidIndex.nonZeroIndices(v, into: buffer)])
            }
        }
    }
}

/// A routing strategy predicts, for one query, how well every model of the pool will answer.
///
/// Cost is not the strategy's business: the `Router` combines predicted quality with the cost model
/// (argmax quality − λ·cost, or the batch budget), so every strategy gets budgets and λ sweeps for free.
public protocol RoutingStrategy: Sendable {
    /// Stable name used on the command line and in decisions (`uniroute-cluster`, `knn`, ...).
    var name: String { get }
    /// The models this strategy scores, in the order of `predictQuality`'s result.
    var models: [String] { get }
    /// Predicted quality in [0, 1] for every model of `models`, same order.
    func predictQuality(_ query: QueryFeatures) -> [Double]
    /// The same for many queries at once (row i answers `queries[i]`). The default loops over
    /// `predictQuality(_:)`; strategies with matrix work (centroids, neighbours) override it with one
    /// BLAS call, which is what makes batch routing fast.
    func predictQuality(batch queries: [QueryFeatures]) -> [[Double]]
    /// True for baselines that route on estimated cost alone (`cheapest`): the `Router` then picks the
    /// cheapest eligible model whatever λ. Default false.
    var routesOnCostOnly: Bool { get }
    /// A short human reason for the prediction (cluster, neighbours, ...) for `route --explain`;
    /// nil when the strategy has nothing to add beyond the numbers. Default nil.
    func explain(_ query: QueryFeatures) -> String?
    /// False for strategies that never read the query's vector (model means, prices, chance): the
    /// router then skips finding its non-zeros. Default true.
    var readsQueryVector: Bool { get }
}

extension RoutingStrategy {
    public var routesOnCostOnly: Bool { false }

    public var readsQueryVector: Bool { true }

    public func explain(_ query: QueryFeatures) -> String? { nil }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        queries.map { predictQuality($0) }
    }
}

extension QueryFeatures {
    /// The features of a profiled query (what the profile stage hands to the score stage), with the
    /// vector's non-zeros found here, once, rather than at every decision.
    public init(_ profile: QueryProfile) {
        self.init(
            vector: profile.vector, capabilities: profile.requirements.capabilities,
            domains: profile.requirements.domains, inputTokens: profile.inputTokens, taskMix: profile.taskMix
        )
        nonZeros = profile.nonZeros
        self = indexingNonZeros()
    }
}
