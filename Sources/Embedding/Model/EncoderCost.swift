/// FLOP accounting for the MiniLM encoder (multiply-add = 2 FLOPs), so benchmarks can state the
/// achieved GFLOP/s as a fraction of the machine's sgemm rate.
public enum EncoderCost {
    /// Linear layers per token: 6 × (4 projections of 384² + 2 FFN matrices of 384 × 1536) × 2.
    public static let linearFLOPsPerToken = 2 * 6 * (4 * 384 * 384 + 2 * 384 * 1536)

    /// FLOPs of one sequence of `length` tokens: linear layers plus attention (Q·Kᵀ and P·V).
    public static func flops(length: Int) -> Double {
        Double(length) * Double(linearFLOPsPerToken) + Double(2 * 6 * 2 * 384) * Double(length) * Double(length)
    }
}

/// Direct access to the BLAS kernel the encoder uses, for measuring the machine's limit.
public enum BLASProbe {
    /// Median GFLOP/s of `C = A·Bᵀ` (m×k · (n×k)ᵀ, row-major, the encoder's layout) over `repetitions`.
    public static func sgemmGFLOPs(m: Int, n: Int, k: Int, repetitions: Int = 5) -> Double {
        var a = [Float](repeating: 0, count: m * k)
        var b = [Float](repeating: 0, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        var state: UInt32 = 12345
        for i in a.indices { state = state &* 1_664_525 &+ 1_013_904_223; a[i] = Float(state >> 8) / 16_777_216 - 0.5 }
        for i in b.indices { state = state &* 1_664_525 &+ 1_013_904_223; b[i] = Float(state >> 8) / 16_777_216 - 0.5 }
        var times: [Double] = []
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    guard let pa = ap.baseAddress, let pb = bp.baseAddress, let pc = cp.baseAddress else { return }
                    for i in 0..<(repetitions + 2) {
                        let start = ContinuousClock.now
                        BLAS.sgemm(m: m, n: n, k: k, a: pa, lda: k, b: pb, ldb: k, transposeB: true, beta: 0, c: pc, ldc: n)
                        let elapsed = ContinuousClock.now - start
                        if i >= 2 {
                            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
                        }
                    }
                }
            }
        }
        times.sort()
        let median = times.isEmpty ? .infinity : times[times.count / 2]
        return 2 * Double(m) * Double(n) * Double(k) / median / 1e9
    }

    /// Sets the process-wide OpenBLAS thread count (through its owner, `OpenBLASThreads`).
    public static func setThreads(_ count: Int) { OpenBLASThreads.set(count) }
    public static var threads: Int { OpenBLASThreads.current }
    public static var configuration: String { BLAS.configuration }
}
