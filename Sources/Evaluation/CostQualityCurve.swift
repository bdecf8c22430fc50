/// One operating point: mean realised cost and quality per prompt of a whole split.
public struct CurvePoint: Sendable, Codable, Hashable {
    /// Mean realised USD per prompt.
    public var cost: Double
    /// Mean realised outcome.
    public var quality: Double
    /// The λ that produced it (quality per USD); nil for λ = ∞ (cheapest predicted) or a non-λ point.
    public var lambda: Double?

    public init(cost: Double, quality: Double, lambda: Double? = nil) {
        self.cost = cost
        self.quality = quality
        self.lambda = lambda
    }
}

/// The cost–quality curve of a router: Q(c) = the best quality among its points costing at most c
/// (a non-decreasing step function), exactly as `data/routing/baselines.py` defines it.
public struct CostQualityCurve: Sendable, Codable, Hashable {
    public var points: [CurvePoint]

    public init(points: [CurvePoint]) { self.points = points }

    /// Q(x); nil ("n/a") when no point is that cheap. Same 1e-15 tolerance as baselines.py.
    public func quality(at x: Double) -> Double? {
        var best: Double? = nil
        for p in points where p.cost <= x + 1e-15 { best = max(best ?? p.quality, p.quality) }
        return best
    }

    /// The cheapest point reaching `target` (1e-12 tolerance), or nil ("never").
    public func costToReach(_ target: Double) -> Double? {
        points.filter { $0.quality >= target - 1e-12 }.map(\.cost).min()
    }

    /// The best point, cheapest among equals.
    public var maxPoint: CurvePoint? {
        points.max { a, b in a.quality != b.quality ? a.quality < b.quality : a.cost > b.cost }
    }

    /// AIQ (RouterBench): (1 / (hi − lo)) ∫_lo^hi Q(c) dc, exact for the step function, n/a counted as 0.
    public func aiq(lo: Double, hi: Double) -> Double? {
        guard hi > lo else { return nil }
        var xs = Set([lo, hi])
        for p in points where p.cost > lo && p.cost < hi { xs.insert(p.cost) }
        let sorted = xs.sorted()
        var area = 0.0
        for k in 0..<(sorted.count - 1) { area += (quality(at: sorted[k]) ?? 0) * (sorted[k + 1] - sorted[k]) }
        return area / (hi - lo)
    }

    /// The non-decreasing staircase of Q(c) from `lo` to `hi`, as (cost, quality) corners, for plotting.
    public func staircase(lo: Double, hi: Double) -> [CurvePoint] {
        let frontier = points.filter { $0.cost <= hi }.sorted { $0.cost < $1.cost }
        var out: [CurvePoint] = []
        var best = -Double.infinity
        for p in frontier where p.quality > best {
            if let last = out.last { out.append(CurvePoint(cost: p.cost, quality: last.quality)) }
            out.append(CurvePoint(cost: max(p.cost, lo), quality: p.quality))
            best = p.quality
        }
        if let last = out.last, last.cost < hi { out.append(CurvePoint(cost: hi, quality: last.quality)) }
        return out
    }
}
