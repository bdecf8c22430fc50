import Foundation
import SwitchyardCore

/// Adam for a softmax map's weights θ (K × dimension) and biases, with L2 decay on θ: the one
/// optimiser of the learned maps (`uniroute-learned-map`, `TaskPrior`), kept in one place so both
/// step the same way.
struct AdamOptimizer {
    var learningRate: Float
    var weightDecay: Float
    private var step = 0
    private var mTheta: [Float], vTheta: [Float]
    private var mBias: [Float], vBias: [Float]
    private let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8

    init(rows: Int, cols: Int, learningRate: Float, weightDecay: Float) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        mTheta = [Float](repeating: 0, count: rows * cols)
        vTheta = mTheta
        mBias = [Float](repeating: 0, count: rows)
        vBias = mBias
    }

    /// One step from the gradients of the loss (θ's gradient without the decay, which is added here).
    mutating func update(theta: inout FloatMatrix, bias: inout [Float], gradTheta: FloatMatrix, gradBias: [Float]) {
        step += 1
        let t = Float(step)
        let correction1 = 1 - powf(beta1, t), correction2 = 1 - powf(beta2, t)
        let (b1, b2, eps, rate, decay) = (beta1, beta2, epsilon, learningRate, weightDecay)
        let count = min(theta.values.count, gradTheta.values.count, mTheta.count)
        theta.values.withUnsafeMutableBufferPointer { th in
            gradTheta.values.withUnsafeBufferPointer { g in
                mTheta.withUnsafeMutableBufferPointer { m in
                    vTheta.withUnsafeMutableBufferPointer { v in
                        for index in 0..<count {
                            let grad = g[index] + decay * th[index]
                            m[index] = b1 * m[index] + (1 - b1) * grad
                            v[index] = b2 * v[index] + (1 - b2) * grad * grad
                            th[index] -= rate * (m[index] / correction1) / ((v[index] / correction2).squareRoot() + eps)
                        }
                    }
                }
            }
        }
        for c in 0..<min(bias.count, gradBias.count, mBias.count) {
            mBias[c] = b1 * mBias[c] + (1 - b1) * gradBias[c]
            vBias[c] = b2 * vBias[c] + (1 - b2) * gradBias[c] * gradBias[c]
            bias[c] -= rate * (mBias[c] / correction1) / ((vBias[c] / correction2).squareRoot() + eps)
        }
    }
}
