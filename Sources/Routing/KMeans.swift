import SwitchyardCore

/// K-means with k-means++ seeding on row vectors, distances through one BLAS product per iteration.
/// Deterministic for a given seed.
public struct KMeans: Sendable {
    /// Knobs with their defaults.
    public struct Configuration: Sendable, Hashable {
        /// Number of clusters.
        public var k: Int
        /// Lloyd iterations at most (default 50); stops earlier when no point changes cluster.
        public var maxIterations: Int
        /// Independent restarts, best inertia kept (default 3).
        public var restarts: Int
        public var seed: UInt64

        public init(k: Int, maxIterations: Int = 50, restarts: Int = 3, seed: UInt64 = 0) {
            self.k = k
            self.maxIterations = maxIterations
            self.restarts = restarts
            self.seed = seed
        }
    }

    /// k × dimension.
    public var centroids: FloatMatrix
    /// Cluster of each training row.
    public var assignments: [Int]
    public var inertia: Double

    /// Clusters `points` (rows). `k` is clamped to the number of points. Lexical rows (at most a
    /// quarter non-zero) are clustered over their non-zeros (`SparseRows`): distances and sums then cost
    /// non-zeros × K instead of rows × dimension × K, the same arithmetic in another order.
    public static func fit(_ points: FloatMatrix, configuration: Configuration) -> KMeans {
        let k = max(1, min(configuration.k, points.rows))
        var generator = SplitMix64(seed: configuration.seed)
        var best: KMeans? = nil
        let norms = rowNorms(points)
        let sparse = SparseRows(points)
        let useSparse = sparse.values.count * 4 <= points.rows * points.cols
        for _ in 0..<max(1, configuration.restarts) {
            let initial = plusPlus(points, norms: norms, k: k, generator: &generator, sparse: useSparse ? sparse : nil)
            let run = lloyd(points, norms: norms, initial: initial, maxIterations: configuration.maxIterations, sparse: useSparse ? sparse : nil)
            if best == nil || run.inertia < best!.inertia { best = run }
        }
        return best!
    }

    /// Index of the nearest centroid for each row of `points`.
    public static func assign(_ points: FloatMatrix, centroids: FloatMatrix) -> (assignments: [Int], distances: [Double]) {
        assign(points, norms: rowNorms(points), centroids: centroids)
    }

    /// The same over sparse rows (`sparse` holds `points`' rows).
    static func assign(_ sparse: SparseRows, norms: [Float], centroids: FloatMatrix) -> (assignments: [Int], distances: [Double]) {
        let k = centroids.rows
        var transposed = [Float](repeating: 0, count: centroids.cols * k)
        for r in 0..<k { for c in 0..<centroids.cols { transposed[c * k + r] = centroids[r, c] } }
        let centroidNorms = rowNorms(centroids)
        var assignments = [Int](repeating: 0, count: sparse.count)
        var distances = [Double](repeating: 0, count: sparse.count)
        var dots = [Float](repeating: 0, count: k)
        transposed.withUnsafeBufferPointer { t in
            for i in 0..<sparse.count {
                for c in 0..<k { dots[c] = 0 }
                for position in sparse.rowStart[i]..<sparse.rowStart[i + 1] {
                    let base = Int(sparse.columns[position]) * k
                    let v = sparse.values[position]
                    for c in 0..<k { dots[c] += v * t[base + c] }
                }
                (assignments[i], distances[i]) = nearest(norm: norms[i], centroidNorms: centroidNorms) { dots[$0] }
            }
        }
        return (assignments, distances)
    }

    /// Squared L2 norm of every row.
    static func rowNorms(_ m: FloatMatrix) -> [Float] {
        m.values.withUnsafeBufferPointer { v in
            (0..<m.rows).map { i in
                var total: Float = 0
                for d in (i * m.cols)..<((i + 1) * m.cols) { total += v[d] * v[d] }
                return total
            }
        }
    }

    static func assign(_ points: FloatMatrix, norms: [Float], centroids: FloatMatrix) -> (assignments: [Int], distances: [Double]) {
        let dots = LinearAlgebra.multiplyTransposed(points, centroids)
        let centroidNorms = rowNorms(centroids)
        var assignments = [Int](repeating: 0, count: points.rows)
        var distances = [Double](repeating: 0, count: points.rows)
        for i in 0..<points.rows {
            (assignments[i], distances[i]) = nearest(norm: norms[i], centroidNorms: centroidNorms) { dots[i, $0] }
        }
        return (assignments, distances)
    }

    /// The centroid nearest a row (squared distance ‖x‖² + ‖c‖² − 2 x·c, first on ties) and that distance
    /// (clamped at 0 against rounding), given the row's dot product with centroid c.
    @inline(__always)
    static func nearest(norm: Float, centroidNorms: [Float], dot: (Int) -> Float) -> (Int, Double) {
        var bestDistance = Float.infinity, bestIndex = 0
        for c in 0..<centroidNorms.count {
            let d = norm + centroidNorms[c] - 2 * dot(c)
            if d < bestDistance {
                bestDistance = d
                bestIndex = c
            }
        }
        return (bestIndex, Double(max(0, bestDistance)))
    }

    static func plusPlus(_ points: FloatMatrix, norms: [Float], k: Int, generator: inout SplitMix64, sparse: SparseRows? = nil) -> FloatMatrix {
        var centroids = FloatMatrix(rows: 0, cols: points.cols)
        let first = Int(generator.next() % UInt64(points.rows))
        try? centroids.appendRow(points.row(first))
        var nearest = [Double](repeating: .infinity, count: points.rows)
        while centroids.rows < k {
            let last = FloatMatrix(unsafeRow: centroids.row(centroids.rows - 1))
            let (_, distances) = sparse.map { assign($0, norms: norms, centroids: last) } ?? assign(points, norms: norms, centroids: last)
            var total = 0.0
            for i in 0..<points.rows {
                nearest[i] = min(nearest[i], distances[i])
                total += nearest[i]
            }
            var chosen = Int(generator.next() % UInt64(points.rows))
            if total > 0 {
                var target = generator.unit() * total
                for i in 0..<points.rows {
                    target -= nearest[i]
                    if target <= 0 {
                        chosen = i
                        break
                    }
                }
            }
            try? centroids.appendRow(points.row(chosen))
        }
        return centroids
    }

    static func lloyd(_ points: FloatMatrix, norms: [Float], initial: FloatMatrix, maxIterations: Int, sparse: SparseRows? = nil) -> KMeans {
        var centroids = initial
        var assignments = [Int](repeating: -1, count: points.rows)
        var inertia = 0.0
        for _ in 0..<max(1, maxIterations) {
            let (next, distances) = sparse.map { assign($0, norms: norms, centroids: centroids) }
                ?? assign(points, norms: norms, centroids: centroids)
            inertia = distances.reduce(0, +)
            if next == assignments { break }
            assignments = next
            if let sparse {
                // Cluster sums over the rows' non-zeros.
                var sums = [Float](repeating: 0, count: centroids.rows * points.cols)
                var counts = [Int](repeating: 0, count: centroids.rows)
                for i in 0..<sparse.count {
                    let base = assignments[i] * points.cols
                    counts[assignments[i]] += 1
                    for position in sparse.rowStart[i]..<sparse.rowStart[i + 1] {
                        sums[base + Int(sparse.columns[position])] += sparse.values[position]
                    }
                }
                for c in 0..<centroids.rows where counts[c] > 0 {
                    let scale = 1 / Float(counts[c])
                    for d in 0..<points.cols { centroids[c, d] = sums[c * points.cols + d] * scale }
                }
                continue
            }
            // Cluster sums as one product: (one-hot n × K)ᵀ · points.
            var oneHot = FloatMatrix(rows: points.rows, cols: centroids.rows)
            var counts = [Int](repeating: 0, count: centroids.rows)
            for i in 0..<points.rows {
                oneHot[i, assignments[i]] = 1
                counts[assignments[i]] += 1
            }
            let sums = LinearAlgebra.transposedMultiply(oneHot, points)
            centroids.values.withUnsafeMutableBufferPointer { c in
                sums.values.withUnsafeBufferPointer { s in
                    for k in 0..<centroids.rows where counts[k] > 0 {
                        let scale = 1 / Float(counts[k])
                        for d in (k * points.cols)..<((k + 1) * points.cols) { c[d] = s[d] * scale }
                    }
                }
            }
        }
        return KMeans(centroids: centroids, assignments: assignments, inertia: inertia)
    }
}

extension FloatMatrix {
    /// A 1 × n matrix of one row.
    init(unsafeRow row: [Float]) {
        self.init(rows: 1, cols: row.count)
        values = row
    }
}
