import SwitchyardCore

/// A matrix by column (compressed sparse columns), built only when at most a quarter of its entries
/// are non-zero: one query's products with every row then touch only the entries that share a
/// non-zero with the query (kNN's pool, the aptitude prompts), instead of rows × dimension.
struct SparsePostings: Sendable, Hashable {
    var columnStart: [Int32]
    var rows: [Int32]
    var values: [Float]

    init?(_ pool: FloatMatrix) {
        let n = pool.rows, d = pool.cols
        var nonZero = 0
        for v in pool.values where v != 0 { nonZero += 1 }
        guard n > 0, d > 0, nonZero * 4 <= n * d, n < Int(Int32.max) else { return nil }
        var counts = [Int32](repeating: 0, count: d + 1)
        pool.values.withUnsafeBufferPointer { x in
            for r in 0..<n { for c in 0..<d where x[r * d + c] != 0 { counts[c + 1] += 1 } }
        }
        for c in 0..<d { counts[c + 1] += counts[c] }
        var next = counts
        var rows = [Int32](repeating: 0, count: nonZero)
        var values = [Float](repeating: 0, count: nonZero)
        pool.values.withUnsafeBufferPointer { x in
            for r in 0..<n {
                for c in 0..<d where x[r * d + c] != 0 {
                    let at = Int(next[c])
                    rows[at] = Int32(r)
                    values[at] = x[r * d + c]
                    next[c] += 1
                }
            }
        }
        self.columnStart = counts
        self.rows = rows
        self.values = values
    }

    /// out[r] = row r · vector, over the vector's non-zeros (`nonZeros` when known, else found here).
    func similarities(_ vector: [Float], nonZeros: [Int32]? = nil, into out: UnsafeMutableBufferPointer<Float>) {
        for r in out.indices { out[r] = 0 }
        let d = min(vector.count, columnStart.count - 1)
        columnStart.withUnsafeBufferPointer { start in
            rows.withUnsafeBufferPointer { rows in
                values.withUnsafeBufferPointer { values in
                    vector.withUnsafeBufferPointer { v in
                        func accumulate(_ c: Int) {
                            let q = v[c]
                            for p in Int(start[c])..<Int(start[c + 1]) { out[Int(rows[p])] += q * values[p] }
                        }
                        if let nonZeros {
                            for c in nonZeros where Int(c) < d { accumulate(Int(c)) }
                        } else {
                            withUnsafeTemporaryAllocation(of: Int32.self, capacity: max(1, d)) { found in
                                let n = CentroidIndex.nonZeroIndices(UnsafeBufferPointer(rebasing: v[0..<d]), into: found)
                                for t in 0..<n { accumulate(Int(found[t])) }
                            }
                        }
                    }
                }
            }
        }
    }
}
