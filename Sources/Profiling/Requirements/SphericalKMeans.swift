import SwitchyardCore
/// Spherical K-means (cosine similarity, unit-norm centroids) with seeded k-means++ initialisation.
///
/// Used to learn the knowledge-domain vocabulary and the aptitude categories from training vectors.
/// Deterministic for a given seed and input order.
public struct SphericalKMeans: Sendable {
    /// How many clusters to look for (fewer come back when there are fewer distinct points).
    public var k: Int
    /// Lloyd iterations at most; stops earlier when no assignment changes.
    public var maxIterations: Int
    public var seed: UInt64

    public init(k: Int, maxIterations: Int = 25, seed: UInt64 = 7) {
        self.k = k
        self.maxIterations = maxIterations
        self.seed = seed
    }

    public struct Result: Sendable {
        /// Unit-norm centroids.
        public var centroids: [[Float]]
        /// Cluster index of every input vector.
        public var assignments: [Int]
    }

    /// Clusters `vectors` (normalised here; they need not be unit-norm on input). Lexical vectors (at
    /// most a quarter non-zero) are read over their non-zeros: the same sums in the same order (a zero
    /// term adds nothing), at non-zeros × K instead of dimension × K per vector.
    public func fit(_ input: [[Float]]) -> Result {
        let vectors = input.map(RequirementVectorMath.normalized)
        guard !vectors.isEmpty, k > 0 else { return Result(centroids: [], assignments: []) }
        let dim = vectors[0].count
        let nonZeros: [[Int32]] = vectors.map { v in v.indices.filter { v[$0] != 0 }.map { Int32($0) } }
        let sparse = nonZeros.reduce(0) { $0 + $1.count } * 4 <= vectors.count * dim
        func dot(_ i: Int, _ b: [Float]) -> Float {
            guard sparse else { return RequirementVectorMath.dot(vectors[i], b) }
            return vectors[i].withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    var s: Float = 0
                    for d32 in nonZeros[i] {
                        let d = Int(d32)
                        if d < b.count { s += a[d] * b[d] }
                    }
                    return s
                }
            }
        }
        var rng = SplitMix64(seed: seed, discarding: 1)
        let kk = min(k, vectors.count)
        // k-means++: first centre uniform, then proportional to (1 − best cosine)².
        var centroids: [[Float]] = [vectors[Int(rng.next() % UInt64(vectors.count))]]
        var best = vectors.indices.map { Double(dot($0, centroids[0])) }
        while centroids.count < kk {
            let weights = best.map { max(0, 1 - $0) * max(0, 1 - $0) }
            let total = weights.reduce(0, +)
            guard total > 1e-12 else { break }
            var target = rng.unit() * total
            var chosen = weights.count - 1
            for (i, w) in weights.enumerated() {
                target -= w
                if target <= 0 { chosen = i; break }
            }
            centroids.append(vectors[chosen])
            for i in vectors.indices {
                best[i] = max(best[i], Double(dot(i, vectors[chosen])))
            }
        }
        var assignments = [Int](repeating: -1, count: vectors.count)
        for _ in 0..<maxIterations {
            var changed = false
            for i in vectors.indices {
                var bestIndex = 0
                var bestCos = -Float.infinity
                for (c, centroid) in centroids.enumerated() {
                    let s = dot(i, centroid)
                    if s > bestCos { bestCos = s; bestIndex = c }
                }
                if bestIndex != assignments[i] { assignments[i] = bestIndex; changed = true }
            }
            if !changed { break }
            var sums = [[Float]](repeating: [Float](repeating: 0, count: dim), count: centroids.count)
            var counts = [Int](repeating: 0, count: centroids.count)
            for i in vectors.indices {
                let a = assignments[i]
                counts[a] += 1
                vectors[i].withUnsafeBufferPointer { v in
                    sums[a].withUnsafeMutableBufferPointer { s in
                        if sparse {
                            for d32 in nonZeros[i] where Int(d32) < dim { s[Int(d32)] += v[Int(d32)] }
                        } else {
                            for d in 0..<min(dim, v.count) { s[d] += v[d] }
                        }
                    }
                }
            }
            for c in centroids.indices where counts[c] > 0 {
                centroids[c] = RequirementVectorMath.normalized(sums[c])
            }
        }
        return Result(centroids: centroids, assignments: assignments)
    }

    /// Index and cosine of the centroid nearest to a unit vector.
    public static func nearest(_ v: [Float], _ centroids: [[Float]]) -> (index: Int, cosine: Float) {
        var bestIndex = 0
        var bestCos = -Float.infinity
        for (c, centroid) in centroids.enumerated() {
            let s = RequirementVectorMath.dot(v, centroid)
            if s > bestCos { bestCos = s; bestIndex = c }
        }
        return (bestIndex, bestCos)
    }
}
