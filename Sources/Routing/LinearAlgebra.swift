import Embedding
import SwitchyardCore

/// The few BLAS products routing needs, on row-major `FloatMatrix`.
enum LinearAlgebra {
    /// a · bᵀ: (a.rows × a.cols) · (b.rows × a.cols)ᵀ = a.rows × b.rows. Similarities of queries to
    /// centroids or training prompts in one call.
    static func multiplyTransposed(_ a: FloatMatrix, _ b: FloatMatrix) -> FloatMatrix {
        precondition(a.cols == b.cols, "inner dimensions differ")
        return product(a, b, transposeA: false, transposeB: true, m: a.rows, n: b.rows, k: a.cols)
    }

    /// a · b: (a.rows × a.cols) · (a.cols × b.cols).
    static func multiply(_ a: FloatMatrix, _ b: FloatMatrix) -> FloatMatrix {
        precondition(a.cols == b.rows, "inner dimensions differ")
        return product(a, b, transposeA: false, transposeB: false, m: a.rows, n: b.cols, k: a.cols)
    }

    /// aᵀ · b: (a.rows × a.cols)ᵀ · (a.rows × b.cols) = a.cols × b.cols.
    static func transposedMultiply(_ a: FloatMatrix, _ b: FloatMatrix) -> FloatMatrix {
        precondition(a.rows == b.rows, "inner dimensions differ")
        return product(a, b, transposeA: true, transposeB: false, m: a.cols, n: b.cols, k: a.rows)
    }

    /// op(a) · op(b) = m × n over the inner dimension k, by one `BLAS.sgemm`; a zero matrix when any dimension
    /// is 0. The leading dimensions are the stored row lengths.
    private static func product(
        _ a: FloatMatrix, _ b: FloatMatrix, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int
    ) -> FloatMatrix {
        var c = FloatMatrix(rows: m, cols: n)
        if m == 0 || n == 0 || k == 0 { return c }
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                c.values.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(
                        m: m, n: n, k: k, a: pa.baseAddress, lda: a.cols, transposeA: transposeA,
                        b: pb.baseAddress, ldb: b.cols, transposeB: transposeB, beta: 0, c: pc.baseAddress, ldc: n)
                }
            }
        }
        return c
    }

    /// Solves the small linear system A·x = b (A: d × d, row-major) by Gaussian elimination with partial
    /// pivoting; nil when A is singular. For the few-parameter fits of the build (stack weights, calibrations).
    static func solve(_ a: [Double], _ b: [Double], _ d: Int) -> [Double]? {
        var a = a, b = b
        for column in 0..<d {
            var pivot = column
            for r in (column + 1)..<d where abs(a[r * d + column]) > abs(a[pivot * d + column]) { pivot = r }
            guard abs(a[pivot * d + column]) > 1e-12 else { return nil }
            if pivot != column {
                for c in 0..<d { a.swapAt(column * d + c, pivot * d + c) }
                b.swapAt(column, pivot)
            }
            for r in (column + 1)..<d {
                let factor = a[r * d + column] / a[column * d + column]
                guard factor != 0 else { continue }
                for c in column..<d { a[r * d + c] -= factor * a[column * d + c] }
                b[r] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: d)
        for r in stride(from: d - 1, through: 0, by: -1) {
            var total = b[r]
            for c in (r + 1)..<d { total -= a[r * d + c] * x[c] }
            x[r] = total / a[r * d + r]
        }
        return x
    }

    /// Stacks the vectors of queries into one matrix (zero rows for vectors of the wrong length, which
    /// the caller has validated against).
    static func stack(_ queries: [QueryFeatures], dimension: Int) -> FloatMatrix {
        var m = FloatMatrix(rows: queries.count, cols: dimension)
        m.values.withUnsafeMutableBufferPointer { out in
            for (i, query) in queries.enumerated() where dimension > 0 && query.vector.count == dimension {
                query.vector.withUnsafeBufferPointer { v in
                    (out.baseAddress! + i * dimension).update(from: v.baseAddress!, count: dimension)
                }
            }
        }
        return m
    }
}

