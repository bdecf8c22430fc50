/// The standard numbers of one cost–quality curve (formulas and sources in METRICS.md).
public struct RouterMetrics: Sendable, Codable, Hashable {
    /// Q(cost of the cheapest single model); nil = n/a (no point that cheap).
    public var qualityAtCheapestCost: Double?
    /// Q(50 % of the best single model's cost).
    public var qualityAtHalfBestCost: Double?
    /// Q(the best single model's cost).
    public var qualityAtBestCost: Double?
    /// Smallest cost of a point reaching the best single model's quality; nil = never.
    public var costToMatchBest: Double?
    /// The best point of the curve (cheapest among equals).
    public var maxQuality: Double
    public var maxQualityCost: Double
    /// Area under Q(c) over the single models' cost range, divided by its width (RouterBench). nil if the range is empty.
    public var aiq: Double?
    /// Average performance gap recovered between the cheapest and the best single model (RouteLLM).
    public var apgr: Double?
    /// Call-performance thresholds (RouteLLM) at 50, 80 and 95 % of the gap.
    public var cpt: [CPT]

    public struct CPT: Sendable, Codable, Hashable {
        /// Fraction of the cheapest→best quality gap to recover (0.5, 0.8, 0.95).
        public var gapFraction: Double
        /// Smallest mean cost per prompt that recovers it; nil = never.
        public var costUSD: Double?
        /// The same as a percentage of the cheapest→best single cost span (0 % = cheapest's cost).
        public var percentOfSpan: Double?
    }

    public init(curve: CostQualityCurve, references r: ReferenceRouters) {
        let weak = r.cheapestSingle, strong = r.bestSingle
        qualityAtCheapestCost = curve.quality(at: weak.cost)
        qualityAtHalfBestCost = curve.quality(at: 0.5 * strong.cost)
        qualityAtBestCost = curve.quality(at: strong.cost)
        costToMatchBest = curve.costToReach(strong.quality)
        let top = curve.maxPoint
        maxQuality = top?.quality ?? 0
        maxQualityCost = top?.cost ?? 0
        let range = r.costRange
        aiq = curve.aiq(lo: range.lo, hi: range.hi)
        // RouteLLM's curve always holds the all-weak and all-strong points: add them.
        let augmented = CostQualityCurve(points: curve.points + [
            CurvePoint(cost: weak.cost, quality: weak.quality), CurvePoint(cost: strong.cost, quality: strong.quality),
        ])
        let gap = strong.quality - weak.quality
        let span = strong.cost - weak.cost
        if gap > 0, span > 0 {
            var xs = Set([weak.cost, strong.cost])
            for p in augmented.points where p.cost > weak.cost && p.cost < strong.cost { xs.insert(p.cost) }
            let sorted = xs.sorted()
            var area = 0.0
            for k in 0..<(sorted.count - 1) {
                let q = augmented.quality(at: sorted[k]) ?? weak.quality
                area += (q - weak.quality) / gap * (sorted[k + 1] - sorted[k])
            }
            apgr = area / span
            cpt = [0.5, 0.8, 0.95].map { fraction in
                let cost = augmented.costToReach(weak.quality + fraction * gap)
                return CPT(gapFraction: fraction, costUSD: cost, percentOfSpan: cost.map { max(0, ($0 - weak.cost) / span * 100) })
            }
        } else {
            apgr = nil
            cpt = [0.5, 0.8, 0.95].map { CPT(gapFraction: $0, costUSD: nil, percentOfSpan: nil) }
        }
    }
}
