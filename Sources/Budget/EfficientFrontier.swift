/// Per query, the models that can win `argmax quality − λ·cost` for some λ ≥ 0: the upper concave hull
/// of the (cost, quality) points of its eligible models, cheapest first.
///
/// Built once per batch in O(queries · models²) worst case (insertion sort of one row, tiny in practice);
/// afterwards the choice at any λ costs a scan of a few hull points per query instead of every model,
/// which is what makes a bisection over a million queries fast.
public struct EfficientFrontier: Sendable {
    public let queries: Int
    /// Hull of query `i` is `start[i] ..< start[i + 1]` in the arrays below; empty when no model is eligible.
    public private(set) var start: [Int32]
    public private(set) var model: [Int32]
    public private(set) var cost: [Float]
    public private(set) var quality: [Float]
    /// Slope (quality per USD) from each hull point to the next one; −1 on a query's last point.
    public private(set) var slopeToNext: [Float]

    public init(_ problem: BudgetProblem) {
        let n = problem.queries
        let m = problem.models
        queries = n
        var start = [Int32](repeating: 0, count: n + 1)
        var model: [Int32] = []
        var cost: [Float] = []
        var quality: [Float] = []
        var slope: [Float] = []
        let reserve = n * min(m, 4)
        model.reserveCapacity(reserve)
        cost.reserveCapacity(reserve)
        quality.reserveCapacity(reserve)
        slope.reserveCapacity(reserve)
        var order = [Int](repeating: 0, count: m)
        var hull = [Int](repeating: 0, count: m)
        problem.quality.withUnsafeBufferPointer { q in
            problem.cost.withUnsafeBufferPointer { c in
                for i in 0..<n {
                    let base = i * m
                    var count = 0
                    for j in 0..<m where problem.isEligible(i, j) {
                        // insertion sort by cost ascending, quality descending, index ascending
                        let cj = c[base + j], qj = q[base + j]
                        var k = count
                        while k > 0 {
                            let o = order[k - 1]
                            let co = c[base + o], qo = q[base + o]
                            if co > cj || (co == cj && qo < qj) { order[k] = o; k -= 1 } else { break }
                        }
                        order[k] = j
                        count += 1
                    }
                    var h = 0
                    for k in 0..<count {
                        let j = order[k]
                        let cj = c[base + j], qj = q[base + j]
                        if h > 0 && qj <= q[base + hull[h - 1]] { continue }  // dominated: costs no less, no better
                        while h >= 2 {
                            let a = hull[h - 2], b = hull[h - 1]
                            // drop b when slope(a→b) <= slope(b→j): b never strictly wins
                            let lhs = Double(q[base + b] - q[base + a]) * Double(cj - c[base + b])
                            let rhs = Double(qj - q[base + b]) * Double(c[base + b] - c[base + a])
                            if lhs <= rhs { h -= 1 } else { break }
                        }
                        hull[h] = j
                        h += 1
                    }
                    for k in 0..<h {
                        let j = hull[k]
                        model.append(Int32(j))
                        cost.append(c[base + j])
                        quality.append(q[base + j])
                        if k + 1 < h {
                            let next = hull[k + 1]
                            let dc = c[base + next] - c[base + j]
                            slope.append(dc > 0 ? (q[base + next] - q[base + j]) / dc : .greatestFiniteMagnitude)
                        } else {
                            slope.append(-1)
                        }
                    }
                    start[i + 1] = Int32(model.count)
                }
            }
        }
        self.start = start
        self.model = model
        self.cost = cost
        self.quality = quality
        self.slopeToNext = slope
    }

    /// Number of eligible hull points of query `i` (0: no eligible model).
    @inlinable public func count(_ i: Int) -> Int { Int(start[i + 1] - start[i]) }

    /// Total estimated cost when every query takes its `argmax q − λc` (ties to the cheaper model).
    /// This is the bisection's inner loop: a tight scan over flat arrays.
    public func totalCost(lambda: Double) -> Double {
        let lam = Float(lambda)
        var total = 0.0
        start.withUnsafeBufferPointer { s in
            slopeToNext.withUnsafeBufferPointer { sl in
                cost.withUnsafeBufferPointer { c in
                    for i in 0..<queries {
                        var k = Int(s[i])
                        let end = Int(s[i + 1])
                        if k == end { continue }
                        while sl[k] > lam { k += 1 }  // the last point's slope is −1, so this stops in range
                        total += Double(c[k])
                    }
                }
            }
        }
        return total
    }

    /// Hull position (index into the flat arrays) each query takes at λ; −1 for a query with no eligible model.
    public func positions(lambda: Double) -> [Int] {
        let lam = Float(lambda)
        var result = [Int](repeating: -1, count: queries)
        for i in 0..<queries {
            var k = Int(start[i])
            let end = Int(start[i + 1])
            if k == end { continue }
            while slopeToNext[k] > lam { k += 1 }
            result[i] = k
        }
        return result
    }

    /// Sum over queries of `max (q − λc)`; with `+ λ·B` it bounds the best total quality within budget B.
    public func dualValue(lambda: Double) -> Double {
        var total = 0.0
        for (i, k) in positions(lambda: lambda).enumerated() where k >= 0 && count(i) > 0 {
            total += Double(quality[k]) - lambda * Double(cost[k])
        }
        return total
    }

    /// Total cost when every query takes its cheapest eligible model.
    public var cheapestTotal: Double {
        var total = 0.0
        for i in 0..<queries where count(i) > 0 { total += Double(cost[Int(start[i])]) }
        return total
    }

    /// Largest hull slope of the batch: at any λ above it, every query takes its cheapest model.
    public var maxSlope: Double { Double(slopeToNext.max() ?? 0) }

    /// Smallest positive hull slope of the batch: at any λ below it, every query takes its best model.
    public var minPositiveSlope: Double { Double(slopeToNext.filter { $0 > 0 }.min() ?? 0) }
}
