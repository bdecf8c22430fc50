import Foundation
import SwitchyardCore

/// Rows of a matrix by their non-zeros (compressed sparse rows): the training inputs of the softmax
/// maps, whose lexical rows hold a few hundred non-zeros in thousands of buckets. Products then cost
/// non-zeros × K instead of rows × dimension × K (the dense BLAS form did 30–100 × the work).
struct SparseRows: Sendable {
    let rowStart: [Int]
    let columns: [Int32]
    let values: [Float]
    /// Dimension of the rows.
    let cols: Int

    var count: Int { rowStart.count - 1 }

    /// The rows `rows` of `matrix` (default all).
    init(_ matrix: FloatMatrix, rows: [Int]? = nil) {
        var start = [0]
        var columns: [Int32] = []
        var values: [Float] = []
        matrix.values.withUnsafeBufferPointer { x in
            for r in rows ?? Array(0..<matrix.rows) {
                for c in 0..<matrix.cols where x[r * matrix.cols + c] != 0 {
                    columns.append(Int32(c))
                    values.append(x[r * matrix.cols + c])
                }
                start.append(columns.count)
            }
        }
        self.rowStart = start
        self.columns = columns
        self.values = values
        self.cols = matrix.cols
    }

    /// softmax(X·Wᵀ + b) row by row (rows × K, flattened), with `weights` the map (`thetaT`: cols ×
    /// `stride`, K real columns). Eight classes at a time in a vector register per non-zero.
    func probabilities(_ weights: SoftmaxMapWeights) -> [Float] {
        let k = weights.bias.count, stride = weights.stride
        var out = [Float](repeating: 0, count: count * k)
        var logits = [Float](repeating: 0, count: stride)
        weights.thetaT.values.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBufferPointer { p in
                logits.withUnsafeMutableBufferPointer { l in
                    guard let base = w.baseAddress, let lanes = l.baseAddress else { return }
                    let raw = UnsafeRawPointer(base)
                    let bytes = MemoryLayout<Float>.stride
                    for i in 0..<count {
                        var c0 = 0
                        while c0 < stride {
                            var sum = SIMD8<Float>(repeating: 0)
                            for position in rowStart[i]..<rowStart[i + 1] {
                                sum += values[position]
                                    * raw.loadUnaligned(fromByteOffset: (Int(columns[position]) * stride + c0) * bytes, as: SIMD8<Float>.self)
                            }
                            UnsafeMutableRawPointer(lanes + c0).storeBytes(of: sum, as: SIMD8<Float>.self)
                            c0 += 8
                        }
                        let row = i * k
                        var maximum = -Float.infinity
                        for c in 0..<k {
                            p[row + c] = l[c] + weights.bias[c]
                            maximum = max(maximum, p[row + c])
                        }
                        var total: Float = 0
                        for c in 0..<k {
                            let e = expf(p[row + c] - maximum)
                            p[row + c] = e
                            total += e
                        }
                        for c in 0..<k { p[row + c] /= total }
                    }
                }
            }
        }
        return out
    }

    /// Xᵀ·G (cols × `stride`, the classes padded with zero columns) for G rows × K (flattened).
    func transposedProduct(_ g: [Float], k: Int, stride: Int) -> FloatMatrix {
        var out = FloatMatrix(rows: cols, cols: stride)
        var padded = [Float](repeating: 0, count: stride)
        out.values.withUnsafeMutableBufferPointer { o in
            g.withUnsafeBufferPointer { g in
                padded.withUnsafeMutableBufferPointer { lane in
                    guard let base = o.baseAddress, let laneBase = lane.baseAddress else { return }
                    let raw = UnsafeMutableRawPointer(base)
                    let bytes = MemoryLayout<Float>.stride
                    for i in 0..<count {
                        for c in 0..<k { lane[c] = g[i * k + c] }
                        var c0 = 0
                        while c0 < stride {
                            let gradient = UnsafeRawPointer(laneBase + c0).loadUnaligned(as: SIMD8<Float>.self)
                            for position in rowStart[i]..<rowStart[i + 1] {
                                let offset = (Int(columns[position]) * stride + c0) * bytes
                                let current = raw.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                                raw.storeBytes(of: current + values[position] * gradient, toByteOffset: offset, as: SIMD8<Float>.self)
                            }
                            c0 += 8
                        }
                    }
                }
            }
        }
        return out
    }
}

/// The weights of a softmax map p(c | x) = softmax(θ_cᵀx + b_c), held transposed while training
/// (`thetaT`, dimension × `stride`, the K classes padded with zero columns to a multiple of eight) so a
/// sparse row's products read contiguous vector registers.
struct SoftmaxMapWeights: Sendable {
    var thetaT: FloatMatrix
    var bias: [Float]
    /// K rounded up to a multiple of eight.
    var stride: Int { thetaT.cols }

    /// From θ (K × dimension).
    init(theta: FloatMatrix, bias: [Float]) {
        let stride = (theta.rows + 7) / 8 * 8
        var t = FloatMatrix(rows: theta.cols, cols: stride)
        for r in 0..<theta.rows { for c in 0..<theta.cols { t[c, r] = theta[r, c] } }
        self.thetaT = t
        self.bias = bias
    }

    /// θ (K × dimension), as the strategies store it.
    var theta: FloatMatrix {
        var out = FloatMatrix(rows: bias.count, cols: thetaT.rows)
        for r in 0..<thetaT.rows { for c in 0..<bias.count { out[c, r] = thetaT[r, c] } }
        return out
    }
}

/// Full-batch Adam on a softmax map over sparse rows, with L2 decay on θ: the one training loop of the
/// learned maps (`uniroute-learned-map`'s squared error, the task prior's cross-entropy), which differ
/// only in the gradient of their loss with respect to the map's probabilities.
struct SoftmaxMapTrainer: Sendable {
    var epochs: Int
    var learningRate: Float
    var weightDecay: Float

    /// Trains from `start`; `logitGradient(P)` returns dLoss/dlogits (rows × K, already divided by the
    /// row count) for the current probabilities. `checkpoint(epoch, weights)` is called at epoch 0 and
    /// after every epoch in `checkpoints`. Returns the weights after the last epoch.
    func train(
        _ x: SparseRows, from start: SoftmaxMapWeights, checkpoints: Set<Int> = [],
        logitGradient: ([Float]) -> [Float], checkpoint: (Int, SoftmaxMapWeights) -> Void = { _, _ in }
    ) -> SoftmaxMapWeights {
        var weights = start
        let k = start.bias.count
        var adam = AdamOptimizer(rows: x.cols, cols: weights.stride, learningRate: learningRate, weightDecay: weightDecay)
        if checkpoints.contains(0) { checkpoint(0, weights) }
        for epoch in stride(from: 1, through: epochs, by: 1) {
            let gradient = logitGradient(x.probabilities(weights))
            let gradTheta = x.transposedProduct(gradient, k: k, stride: weights.stride)
            var gradBias = [Float](repeating: 0, count: k)
            for i in 0..<x.count { for c in 0..<k { gradBias[c] += gradient[i * k + c] } }
            adam.update(theta: &weights.thetaT, bias: &weights.bias, gradTheta: gradTheta, gradBias: gradBias)
            if checkpoints.contains(epoch) { checkpoint(epoch, weights) }
        }
        return weights
    }
}
