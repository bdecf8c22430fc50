/// The reference points every router is judged against, with `baselines.py`'s exact definitions:
/// single models, the best single (highest quality, then cheapest), the cheapest single, the oracle
/// (best outcome per prompt, cheapest among ties) and random (uniform over models, expected).
public struct ReferenceRouters: Sendable, Codable, Hashable {
    public struct Single: Sendable, Codable, Hashable {
        public var model: String
        public var quality: Double
        public var cost: Double
    }

    public var singles: [Single]
    public var bestSingle: Single
    public var cheapestSingle: Single
    public var oracle: CurvePoint
    public var random: CurvePoint
    /// The oracle's choice per prompt (model index).
    public var oracleChoices: [Int]
    /// Column of the best single model.
    public var bestIndex: Int

    public init(_ t: EvaluationTables) {
        let n = t.count, m = t.models.count
        var q = [Double](repeating: 0, count: m)
        var c = [Double](repeating: 0, count: m)
        for i in 0..<n {
            for j in 0..<m {
                q[j] += t.outcome(i, j)
                c[j] += t.cost(i, j)
            }
        }
        let denominator = Double(max(1, n))
        q = q.map { $0 / denominator }
        c = c.map { $0 / denominator }
        singles = (0..<m).map { Single(model: t.models[$0], quality: q[$0], cost: c[$0]) }
        var best = 0, cheapest = 0
        for j in 1..<max(1, m) {
            if q[j] > q[best] || (q[j] == q[best] && c[j] < c[best]) { best = j }
            if c[j] < c[cheapest] { cheapest = j }
        }
        bestIndex = best
        bestSingle = singles[best]
        cheapestSingle = singles[cheapest]
        var choices = [Int](repeating: 0, count: n)
        for i in 0..<n {
            var top = -Double.infinity
            for j in 0..<m { top = max(top, t.outcome(i, j)) }
            var pick = 0, pickCost = Double.infinity
            for j in 0..<m where t.outcome(i, j) >= top - 1e-12 && t.cost(i, j) < pickCost {
                pick = j
                pickCost = t.cost(i, j)
            }
            choices[i] = pick
        }
        oracleChoices = choices
        let realised = t.realised(choices.map { Optional($0) })
        oracle = CurvePoint(cost: realised.cost, quality: realised.quality)
        random = CurvePoint(cost: c.reduce(0, +) / Double(max(1, m)), quality: q.reduce(0, +) / Double(max(1, m)))
    }

    /// Single models as a curve (its envelope is "single models only" in the report).
    public var singleCurve: CostQualityCurve {
        CostQualityCurve(points: singles.map { CurvePoint(cost: $0.cost, quality: $0.quality) })
    }

    /// The cost range of AIQ: lowest and highest single-model mean cost.
    public var costRange: (lo: Double, hi: Double) {
        (singles.map(\.cost).min() ?? 0, singles.map(\.cost).max() ?? 0)
    }
}
