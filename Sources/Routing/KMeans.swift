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

    /// Clusters `points` (rows). `k` is clamped to the number of points.
    public static func fit(_ points: FloatMatrix, configuration: Configuration) -> KMeans {
        let k = max(1, min(configuration.k, points.rows))
        var generator = SeededGenerator(seed: configuration.seed)
        var best: KMeans? = nil
        for _ in 0..<max(1, configuration.restarts) {
            let run = lloyd(points, initial: plusPlus(points, k: k, generator: &generator), maxIterations: configuration.maxIterations)
            if best == nil || run.inertia < best!.inertia { best = run }
        }
        return best!
    }

    /// Index of the nearest centroid for each row of `points`.
    public static func assign(_ points: FloatMatrix, centroids: FloatMatrix) -> (assignments: [Int], distances: [Double]) {
        let dots = LinearAlgebra.multiplyTransposed(points, centroids)
        let centroidNorms = (0..<centroids.rows).map { c in
            centroids.values[(c * centroids.cols)..<((c + 1) * centroids.cols)].reduce(Float(0)) { $0 + $1 * $1 }
        }
        var assignments = [Int](repeating: 0, count: points.rows)
        var distances = [Double](repeating: 0, count: points.rows)
        for i in 0..<points.rows {
            let norm = points.values[(i * points.cols)..<((i + 1) * points.cols)].reduce(Float(0)) { $0 + $1 * $1 }
            var bestDistance = Float.infinity, bestIndex = 0
            for c in 0..<centroids.rows {
                let d = norm + centroidNorms[c] - 2 * dots[i, c]
                if d < bestDistance {
                    bestDistance = d
                    bestIndex = c
                }
            }
            assignments[i] = bestIndex
            distances[i] = Double(max(0, bestDistance))
        }
        return (assignments, distances)
    }

    static func plusPlus(_ points: FloatMatrix, k: Int, generator: inout SeededGenerator) -> FloatMatrix {
        var centroids = FloatMatrix(rows: 0, cols: points.cols)
        let first = Int(generator.next() % UInt64(points.rows))
        try? centroids.appendRow(points.row(first))
        var nearest = [Double](repeating: .infinity, count: points.rows)
        while centroids.rows < k {
            let last = FloatMatrix(unsafeRow: centroids.row(centroids.rows - 1))
            let (_, distances) = assign(points, centroids: last)
            var total = 0.0
            for i in 0..<points.rows {
                nearest[i] = min(nearest[i], distances[i])
                total += nearest[i]
            }
            var chosen = Int(generator.next() % UInt64(points.rows))
            if total > 0 {
                var target = generator.nextUnit() * total
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

    static func lloyd(_ points: FloatMatrix, initial: FloatMatrix, maxIterations: Int) -> KMeans {
        var centroids = initial
        var assignments = [Int](repeating: -1, count: points.rows)
        var inertia = 0.0
        for _ in 0..<max(1, maxIterations) {
            let (next, distances) = assign(points, centroids: centroids)
            inertia = distances.reduce(0, +)
            if next == assignments { break }
            assignments = next
            var sums = FloatMatrix(rows: centroids.rows, cols: points.cols)
            var counts = [Int](repeating: 0, count: centroids.rows)
            points.values.withUnsafeBufferPointer { p in
                sums.values.withUnsafeMutableBufferPointer { s in
                    for i in 0..<points.rows {
                        let c = assignments[i]
                        counts[c] += 1
                        let src = i * points.cols, dst = c * points.cols
                        for d in 0..<points.cols { s[dst + d] += p[src + d] }
                    }
                }
            }
            for c in 0..<centroids.rows where counts[c] > 0 {
                let scale = 1 / Float(counts[c])
                for d in 0..<points.cols { centroids[c, d] = sums[c, d] * scale }
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
