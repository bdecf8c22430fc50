import Profiling

/// Knobs of the `inference-dynamics` strategy (InferenceDynamics, arXiv 2505.16303).
public struct InferenceDynamicsConfiguration: Sendable, Codable, Hashable {
    /// Rank decay α: the element at rank r weighs α^(r−1) / Σ α^(m−1) (default 0.5).
    public var alpha: Double = 0.5
    /// Cost penalty β inside proficiency: score − β·cost (default 0: cost is the Router's business).
    public var beta: Double = 0
    /// Pseudo-count pulling a rarely seen element's proficiency toward the model's overall mean
    /// (default 5 queries), so a domain seen twice does not decide routes alone.
    public var shrinkage: Double = 5
    /// When set, `shrinkage` is chosen among these on dev, and so is a final blend of the calibrated
    /// prediction toward the model's mean outcome (`PriorShrinkage`); nil: `shrinkage` as given, no
    /// blend. `InferenceDynamicsStrategy.train(_:)` sets `defaultShrinkageCandidates`.
    public var shrinkageCandidates: [Double]? = nil

    /// Element pseudo-counts compared on dev by default.
    public static let defaultShrinkageCandidates: [Double] = [2, 5, 10, 20, 50, 100]
    /// Requirement extraction used when queries carry no capabilities/domains (see
    /// `EmbeddedRequirementExtractor.Configuration`; default there).
    public var extractor: EmbeddedRequirementExtractor.Configuration = .init()

    public init(alpha: Double = 0.5, beta: Double = 0) {
        self.alpha = alpha
        self.beta = beta
    }

    /// Rank weights α^(r−1) / Σ_{j=1..count} α^(j−1) for ranks 1...count.
    public func rankWeights(count: Int) -> [Double] {
        guard count > 0 else { return [] }
        var raw: [Double] = []
        var w = 1.0
        for _ in 0..<count { raw.append(w); w *= alpha }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }
}
