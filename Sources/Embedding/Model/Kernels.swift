#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The element-wise loops of the encoder, written as plain counted loops over raw pointers with no
/// calls into libm, so `-O` turns them into SIMD code. Everything with FLOPs that matter goes
/// through `cblas_sgemm` instead.
enum Kernels {
    /// erf for Float: Eigen's/XLA's rational approximation on [-4, 4] (±1 outside), a few ulp from
    /// the true erf; unlike libm's `erff` it vectorises. This keeps GELU exact-erf, not tanh.
    @inline(__always)
    static func erf(_ value: Float) -> Float {
        let x = min(max(value, -4), 4)
        let x2 = x * x
        var p: Float = -2.72614225801306e-10
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 + -2.10102402082508e-06
        p = p * x2 + -5.69250639462346e-05
        p = p * x2 + -7.34990630326855e-04
        p = p * x2 + -2.95459980854025e-03
        p = p * x2 + -1.60960333262415e-02
        p = p * x
        var q: Float = -1.45660718464996e-05
        q = q * x2 + -2.13374055278905e-04
        q = q * x2 + -1.68282697438203e-03
        q = q * x2 + -7.37332916720468e-03
        q = q * x2 + -1.42647390514189e-02
        return p / q
    }

    /// exp for Float on (-∞, 0] (softmax after subtracting the row max): Cephes' range reduction and
    /// degree-6 polynomial, ~1 ulp; exact 0 below -87 where the true value is under 1.7e-38.
    @inline(__always)
    static func expNonPositive(_ value: Float) -> Float {
        let x = max(value, -87)
        let n = (x * 1.44269504088896341 + 0.5).rounded(.down)
        var r = x - n * 0.693359375
        r = r - n * -2.12194440e-4
        var y: Float = 1.9875691500e-4
        y = y * r + 1.3981999507e-3
        y = y * r + 8.3334519073e-3
        y = y * r + 4.1665795894e-2
        y = y * r + 1.6666665459e-1
        y = y * r + 5.0000001201e-1
        y = y * (r * r) + r + 1
        let scale = Float(bitPattern: UInt32(bitPattern: Int32(n) + 127) << 23)
        return y * scale
    }

    /// x[i, j] = GELU(x[i, j] + bias[j]) with exact (erf) GELU, in place over `rows` × `cols`.
    static func biasGELU(_ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let row = x + r * cols
            for j in 0..<cols {
                let v = row[j] + bias[j]
                row[j] = 0.5 * v * (1 + erf(v * 0.70710678118654752))
            }
        }
    }

    /// hidden[i, :] = LayerNorm(x[i, :] + bias + hidden[i, :]) · gamma + beta (`bias` optional),
    /// the residual add fused with the normalisation; statistics in Float like PyTorch's.
    static func residualLayerNorm(
        _ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, hidden: UnsafeMutablePointer<Float>,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, rows: Int, cols: Int, epsilon: Float
    ) {
        let invCols = 1 / Float(cols)
        for r in 0..<rows {
            let h = hidden + r * cols
            let xr = x + r * cols
            var sum: Float = 0
            if let bias {
                for j in 0..<cols { let v = xr[j] + bias[j] + h[j]; h[j] = v; sum += v }
            } else {
                for j in 0..<cols { let v = xr[j] + h[j]; h[j] = v; sum += v }
            }
            let mean = sum * invCols
            var variance: Float = 0
            for j in 0..<cols { let d = h[j] - mean; variance += d * d }
            let inv = 1 / (variance * invCols + epsilon).squareRoot()
            for j in 0..<cols { h[j] = (h[j] - mean) * inv * gamma[j] + beta[j] }
        }
    }

    /// In-place row softmax of a `rows` × `cols` block with leading dimension `ld`.
    static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int) {
        for r in 0..<rows {
            let row = x + r * ld
            var m = -Float.greatestFiniteMagnitude
            for j in 0..<cols { m = max(m, row[j]) }
            var sum: Float = 0
            for j in 0..<cols { let e = expNonPositive(row[j] - m); row[j] = e; sum += e }
            let inv = 1 / sum
            for j in 0..<cols { row[j] *= inv }
        }
    }

    /// Fills each of `rows` rows of `x` (width `cols`) with `bias`, for sgemm with beta = 1.
    static func broadcastRows(_ x: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows { (x + r * cols).update(from: bias, count: cols) }
    }
}
