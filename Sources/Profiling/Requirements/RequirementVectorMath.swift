import Foundation

/// Dense vector helpers used by requirement extraction and the capability strategies.
///
/// Plain loops over buffers: the vectors are short (hundreds to a few thousand floats) and these run
/// per query, so avoiding allocation matters more than BLAS.
public enum RequirementVectorMath {
    /// Dot product of two vectors of the same length (extra elements of the longer one are ignored).
    @inlinable
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        let n = min(a.count, b.count)
        return a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                var s: Float = 0
                for i in 0..<n { s += pa[i] * pb[i] }
                return s
            }
        }
    }

    /// Dot product of a Float vector with a Double weight vector, in Double.
    @inlinable
    public static func dot(_ a: [Float], _ w: [Double]) -> Double {
        let n = min(a.count, w.count)
        return a.withUnsafeBufferPointer { pa in
            w.withUnsafeBufferPointer { pw in
                var s = 0.0
                for i in 0..<n { s += Double(pa[i]) * pw[i] }
                return s
            }
        }
    }

    /// The vector scaled to unit L2 norm (a zero vector stays zero).
    public static func normalized(_ v: [Float]) -> [Float] {
        let norm = dot(v, v).squareRoot()
        guard norm > 0 else { return v }
        return v.map { $0 / norm }
    }

    /// Numerically safe logistic function.
    @inlinable
    public static func sigmoid(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
        let e = Foundation.exp(x)
        return e / (1 + e)
    }

    /// log(p / (1 − p)) with p clamped away from 0 and 1.
    @inlinable
    public static func logit(_ p: Double, epsilon: Double = 1e-3) -> Double {
        let q = min(max(p, epsilon), 1 - epsilon)
        return Foundation.log(q / (1 - q))
    }
}
