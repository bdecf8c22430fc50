import Foundation
import Embedding
import SwitchyardCore

/// Dot products of one query vector with every row of a matrix (centroids, a learned map's θ) and the
/// nearest centroid by squared L2, without allocating per query.
///
/// Why: the decision path runs once per query, and lexical vectors are sparse (tens of non-zeros in
/// 4096 buckets), so the products run over the query's non-zeros only (a few hundred multiply-adds)
/// with the non-zero list on the stack; stacking queries into a dense matrix for one BLAS call costs
/// more than it saves at this sparsity and allocates per batch.
struct CentroidIndex: Sendable, Hashable {
    /// Rows × dimension.
    let rows: FloatMatrix
    /// |row|² / 2 per row (nearest centroid = argmax dot − halfNorm).
    let halfNorms: [Float]
    /// The rows transposed (dimension × `stride`): a sparse query's products then read, per non-zero, one
    /// contiguous run of values (vectorised) instead of `count` scattered ones.
    let columns: [Float]
    /// Rows rounded up to a multiple of eight (zero rows pad the end): every row is then in a vector
    /// register (30 aptitude categories ran 6 of them scalar).
    let stride: Int

    init(_ rows: FloatMatrix) {
        self.rows = rows
        self.halfNorms = (0..<rows.rows).map { r in rows.row(r).reduce(0) { $0 + $1 * $1 } / 2 }
        let stride = (rows.rows + 7) / 8 * 8
        var columns = [Float](repeating: 0, count: stride * rows.cols)
        for r in 0..<rows.rows { for c in 0..<rows.cols { columns[c * stride + r] = rows[r, c] } }
        self.columns = columns
        self.stride = stride
    }

    var count: Int { rows.rows }
    var dimension: Int { rows.cols }

    /// Writes row · vector for every row into `out` (count ≥ `count`); false (nothing written) when the
    /// vector's length differs from the rows'.
    /// `nonZeros`, when given, are the vector's non-zero positions (`QueryFeatures.nonZeros`).
    func dots(_ vector: [Float], nonZeros: [Int32]? = nil, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        let d = rows.cols, k = rows.rows
        guard vector.count == d, out.count >= k else { return false }
        guard k > 0 else { return true }
        guard let nonZeros else { return Self.dots(rows, vector, into: out) }
        guard nonZeros.count * 8 < d else { return Self.dots(rows, vector, into: out) }
        columns.withUnsafeBufferPointer { c in
            vector.withUnsafeBufferPointer { v in
                guard let columnBase = c.baseAddress else { return }
                let raw = UnsafeRawPointer(columnBase)
                // Eight rows at a time in a vector register, over all non-zeros (the compiler does not
                // vectorise the scattered form: it cannot prove `out` and the table apart). Per row the
                // sum runs in the same order as one scalar loop would.
                let stride = self.stride, bytes = MemoryLayout<Float>.stride
                var r0 = 0
                while r0 < k {
                    var sum = SIMD8<Float>(repeating: 0)
                    for i32 in nonZeros {
                        let i = Int(i32)
                        guard i < d else { continue }
                        sum += v[i] * raw.loadUnaligned(fromByteOffset: (i * stride + r0) * bytes, as: SIMD8<Float>.self)
                    }
                    for lane in 0..<min(8, k - r0) { out[r0 + lane] = sum[lane] }
                    r0 += 8
                }
            }
        }
        return true
    }

    /// row · vector for every row of `rows`, over the vector's non-zeros when it is sparse (one BLAS
    /// matrix-vector product when it is not); false (nothing written) on a length mismatch.
    static func dots(_ rows: FloatMatrix, _ vector: [Float], into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        let d = rows.cols, k = rows.rows
        guard vector.count == d, out.count >= k else { return false }
        guard k > 0 else { return true }
        rows.values.withUnsafeBufferPointer { c in
            vector.withUnsafeBufferPointer { v in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(1, d)) { nonZero in
                    let n = nonZeroIndices(v, into: nonZero)
                    if n * 8 < d {
                        for r in 0..<k {
                            let base = r * d
                            var dot: Float = 0
                            for t in 0..<n {
                                let i = Int(nonZero[t])
                                dot += c[base + i] * v[i]
                            }
                            out[r] = dot
                        }
                    } else {
                        // Dense enough that gathers lose to one vectorised BLAS matrix-vector product.
                        BLAS.sgemv(rows: k, cols: d, a: c.baseAddress, x: v.baseAddress, y: out.baseAddress)
                    }
                }
            }
        }
        return true
    }

    /// Index of the nearest row by squared L2 (ties to the lower index); nil when there are no rows or
    /// the vector's length differs.
    func nearest(_ vector: [Float], nonZeros: [Int32]? = nil) -> Int? {
        guard count > 0 else { return nil }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { dots -> Int? in
            guard self.dots(vector, nonZeros: nonZeros, into: dots) else { return nil }
            var best = 0
            var bestScore = -Float.infinity
            for r in 0..<count {
                let score = dots[r] - halfNorms[r]
                if score > bestScore {
                    bestScore = score
                    best = r
                }
            }
            return best
        }
    }

    /// softmax(rows·x + bias) of one query into `p` (`count` values); a vector of another length gets
    /// the uniform distribution.
    func softmax(_ vector: [Float], nonZeros: [Int32]? = nil, bias: [Float], into p: UnsafeMutableBufferPointer<Float>) {
        let k = count
        guard k > 0 else { return }
        if dots(vector, nonZeros: nonZeros, into: p) {
            var maximum = -Float.infinity
            for c in 0..<k {
                p[c] += c < bias.count ? bias[c] : 0
                maximum = max(maximum, p[c])
            }
            var sum: Float = 0
            for c in 0..<k {
                p[c] = expf(p[c] - maximum)
                sum += p[c]
            }
            for c in 0..<k { p[c] /= sum }
        } else {
            for c in 0..<k { p[c] = 1 / Float(k) }
        }
    }

    /// Σₖ pₖ · quality[k, ·]: a distribution over the rows mixed into per-model values.
    static func mix(_ p: UnsafeBufferPointer<Float>, quality: FloatMatrix) -> [Double] {
        let k = min(p.count, quality.rows), m = quality.cols
        return quality.values.withUnsafeBufferPointer { q in
            [Double](unsafeUninitializedCapacity: m) { out, initialized in
                for j in 0..<m {
                    var total: Float = 0
                    for c in 0..<k { total += p[c] * q[c * m + j] }
                    out[j] = Double(total)
                }
                initialized = m
            }
        }
    }

    /// Σₖ softmax(rows·x + bias)ₖ · quality[k, ·] for one query, in stack buffers (the soft maps of
    /// `uniroute-learned-map` and `TaskPrior`); a vector of another length gets the uniform mix.
    func softMix(_ vector: [Float], nonZeros: [Int32]? = nil, bias: [Float], quality: FloatMatrix) -> [Double] {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, count)) { p in
            softmax(vector, nonZeros: nonZeros, bias: bias, into: p)
            return Self.mix(UnsafeBufferPointer(rebasing: p[0..<count]), quality: quality)
        }
    }

    /// Positions of the non-zeros of `v` (written to `out`, which holds v.count), and their number.
    /// Scans 16 lanes at a time: lexical vectors are mostly zero, so most blocks are skipped whole.
    static func nonZeroIndices(_ v: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Int32>) -> Int {
        var n = 0
        let d = v.count
        var i = 0
        if let base = v.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 16 <= d {
                let block = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Float>.stride, as: SIMD16<Float>.self)
                if any(block .!= 0) {
                    for j in 0..<16 where block[j] != 0 {
                        out[n] = Int32(truncatingIfNeeded: i + j)
                        n += 1
                    }
                }
                i += 16
            }
        }
        while i < d {
            if v[i] != 0 {
                out[n] = Int32(truncatingIfNeeded: i)
                n += 1
            }
            i += 1
        }
        return n
    }
}
