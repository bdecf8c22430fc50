/// The BERT forward pass of all-MiniLM-L6-v2 plus mean pooling and L2 normalisation, on a *packed*
/// batch: the token rows of all sequences are concatenated with no padding. Every per-token step
/// (projections, FFN, LayerNorm, GELU) runs over all rows at once as one sgemm; attention runs per
/// sequence and head (two sgemms each), which is exactly what padding plus an attention mask
/// computes for the real tokens, minus the wasted padded rows.
///
/// Owns its scratch buffers, so it is not thread-safe: `MiniLMEmbedder` serialises access.
final class MiniLMEncoder {
    let weights: MiniLMWeights
    private let hiddenBuffer = ScratchBuffer()
    private let qkvBuffer = ScratchBuffer()
    private let contextBuffer = ScratchBuffer()
    private let projectionBuffer = ScratchBuffer()
    private let intermediateBuffer = ScratchBuffer()
    private let scoresBuffer = ScratchBuffer()

    /// Rows per feed-forward block: big enough for full-speed sgemm, small enough for a 3 MB buffer.
    static let ffnBlockRows = 512

    init(weights: MiniLMWeights) {
        self.weights = weights
    }

    /// Embeds a batch of token-id sequences (each already `[CLS] … [SEP]`, at most 512 ids, ids
    /// valid for the vocabulary). Returns one L2-normalised 384-vector per sequence, written to `out`.
    func encode(_ sequences: [[Int32]], into out: inout [[Float]]) {
        let h = MiniLMWeights.hidden
        let h3 = 3 * h
        let ffn = MiniLMWeights.intermediate
        let headSize = MiniLMWeights.headSize
        let eps = MiniLMWeights.layerNormEpsilon
        var offsets: [Int] = []
        offsets.reserveCapacity(sequences.count)
        var total = 0
        var longest = 0
        for s in sequences { offsets.append(total); total += s.count; longest = max(longest, s.count) }
        guard total > 0 else { return }

        let hidden = hiddenBuffer.reserve(total * h)
        let qkv = qkvBuffer.reserve(total * h3)
        let context = contextBuffer.reserve(total * h)
        let projection = projectionBuffer.reserve(total * h)
        let intermediate = intermediateBuffer.reserve(min(total, Self.ffnBlockRows) * ffn)
        let scores = scoresBuffer.reserve(longest * longest)

        // Embeddings: word + token type 0 + position, then LayerNorm.
        for (s, ids) in sequences.enumerated() {
            for (p, id) in ids.enumerated() {
                let row = offsets[s] + p
                (hidden + row * h).update(from: weights.wordEmbeddings + Int(id) * h, count: h)
                let x = projection + row * h
                let type0 = weights.tokenTypeEmbeddings
                let position = weights.positionEmbeddings + p * h
                for j in 0..<h { x[j] = type0[j] + position[j] }
            }
        }
        Kernels.residualLayerNorm(
            projection, bias: nil, hidden: hidden, gamma: weights.embeddingNormGamma,
            beta: weights.embeddingNormBeta, rows: total, cols: h, epsilon: eps)

        let scale = 1 / Float(headSize).squareRoot()
        for layer in weights.layers {
            // Q, K, V for every token in one sgemm: qkv = hidden · Wqkvᵀ + b.
            Kernels.broadcastRows(qkv, bias: layer.qkvBias, rows: total, cols: h3)
            BLAS.sgemm(m: total, n: h3, k: h, a: hidden, lda: h, b: layer.qkvWeight, ldb: h,
                       transposeB: true, beta: 1, c: qkv, ldc: h3)

            // Attention per sequence and head: softmax(Q Kᵀ / √d) V.
            for (s, ids) in sequences.enumerated() {
                let n = ids.count
                let base = qkv + offsets[s] * h3
                for head in 0..<MiniLMWeights.heads {
                    let q = base + head * headSize
                    BLAS.sgemm(m: n, n: n, k: headSize, alpha: scale, a: q, lda: h3, b: q + h, ldb: h3,
                               transposeB: true, beta: 0, c: scores, ldc: n)
                    Kernels.softmaxRows(scores, rows: n, cols: n, ld: n)
                    BLAS.sgemm(m: n, n: headSize, k: n, a: scores, lda: n, b: q + 2 * h, ldb: h3,
                               transposeB: false, beta: 0, c: context + offsets[s] * h + head * headSize, ldc: h)
                }
            }

            // Output projection, then residual + LayerNorm (bias fused into the norm pass).
            BLAS.sgemm(m: total, n: h, k: h, a: context, lda: h, b: layer.outputWeight, ldb: h,
                       transposeB: true, beta: 0, c: projection, ldc: h)
            Kernels.residualLayerNorm(
                projection, bias: layer.outputBias, hidden: hidden, gamma: layer.attentionNormGamma,
                beta: layer.attentionNormBeta, rows: total, cols: h, epsilon: eps)

            // Feed-forward: GELU(hidden · W1ᵀ + b1) · W2ᵀ + b2, then residual + LayerNorm, in blocks
            // of rows so the 1536-wide intermediate stays small (memory) and hot in cache.
            var row = 0
            while row < total {
                let rows = min(Self.ffnBlockRows, total - row)
                BLAS.sgemm(m: rows, n: ffn, k: h, a: hidden + row * h, lda: h, b: layer.upWeight, ldb: h,
                           transposeB: true, beta: 0, c: intermediate, ldc: ffn)
                Kernels.biasGELU(intermediate, bias: layer.upBias, rows: rows, cols: ffn)
                BLAS.sgemm(m: rows, n: h, k: ffn, a: intermediate, lda: ffn, b: layer.downWeight, ldb: ffn,
                           transposeB: true, beta: 0, c: projection + row * h, ldc: h)
                row += rows
            }
            Kernels.residualLayerNorm(
                projection, bias: layer.downBias, hidden: hidden, gamma: layer.outputNormGamma,
                beta: layer.outputNormBeta, rows: total, cols: h, epsilon: eps)
        }

        // Mean pooling over each sequence's tokens, then L2 normalisation.
        for (s, ids) in sequences.enumerated() {
            var pooled = [Float](repeating: 0, count: h)
            let start = hidden + offsets[s] * h
            pooled.withUnsafeMutableBufferPointer { acc in
                guard let a = acc.baseAddress else { return }
                for r in 0..<ids.count {
                    let row = start + r * h
                    for j in 0..<h { a[j] += row[j] }
                }
                let invCount = 1 / Float(max(ids.count, 1))
                var norm: Float = 0
                for j in 0..<h { a[j] *= invCount; norm += a[j] * a[j] }
                let inv = 1 / max(norm.squareRoot(), 1e-12)
                for j in 0..<h { a[j] *= inv }
            }
            out.append(pooled)
        }
    }
}
