/// all-MiniLM-L6-v2's BertModel weights, read from `model.safetensors`. Matrices are views into the
/// memory-mapped file except the fused Q/K/V projection, which is copied once into one [1152, 384]
/// matrix so each layer needs a single sgemm for all three. Immutable; shared by all encoders.
final class MiniLMWeights: @unchecked Sendable {
    static let hidden = 384
    static let layers = 6
    static let heads = 12
    static let headSize = 32
    static let intermediate = 1536
    static let vocabulary = 30522
    static let maxPositions = 512
    static let layerNormEpsilon: Float = 1e-12

    struct Layer {
        /// [3·384, 384]: query, key, value weights stacked (owned copy).
        let qkvWeight: UnsafeMutablePointer<Float>
        let qkvBias: UnsafeMutablePointer<Float>
        let outputWeight: UnsafePointer<Float>        // [384, 384]
        let outputBias: UnsafePointer<Float>
        let attentionNormGamma: UnsafePointer<Float>
        let attentionNormBeta: UnsafePointer<Float>
        let upWeight: UnsafePointer<Float>            // [1536, 384]
        let upBias: UnsafePointer<Float>
        let downWeight: UnsafePointer<Float>          // [384, 1536]
        let downBias: UnsafePointer<Float>
        let outputNormGamma: UnsafePointer<Float>
        let outputNormBeta: UnsafePointer<Float>
    }

    let file: SafetensorsFile
    let wordEmbeddings: UnsafePointer<Float>          // [30522, 384]
    let positionEmbeddings: UnsafePointer<Float>      // [512, 384]
    let tokenTypeEmbeddings: UnsafePointer<Float>     // [2, 384]
    let embeddingNormGamma: UnsafePointer<Float>
    let embeddingNormBeta: UnsafePointer<Float>
    let layers: [Layer]

    /// - Throws: `EmbeddingError` naming the file and tensor when anything is missing or malformed.
    init(file: SafetensorsFile) throws {
        self.file = file
        let h = Self.hidden, i = Self.intermediate
        // Checkpoints exported from BertForMaskedLM and friends prefix names with "bert.".
        let prefix = file.tensors["embeddings.word_embeddings.weight"] == nil
            && file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func t(_ name: String, _ shape: [Int]) throws -> UnsafePointer<Float> {
            // Force-unwrap-free: a zero-element tensor never occurs for these shapes.
            guard let base = try file.floats(prefix + name, shape: shape).baseAddress else {
                throw EmbeddingError.badModelFile(path: file.path, reason: "tensor \(name) is empty")
            }
            return base
        }
        wordEmbeddings = try t("embeddings.word_embeddings.weight", [Self.vocabulary, h])
        positionEmbeddings = try t("embeddings.position_embeddings.weight", [Self.maxPositions, h])
        tokenTypeEmbeddings = try t("embeddings.token_type_embeddings.weight", [2, h])
        embeddingNormGamma = try t("embeddings.LayerNorm.weight", [h])
        embeddingNormBeta = try t("embeddings.LayerNorm.bias", [h])
        var layers: [Layer] = []
        for l in 0..<Self.layers {
            let p = "encoder.layer.\(l)."
            let qkvWeight = UnsafeMutablePointer<Float>.allocate(capacity: 3 * h * h)
            let qkvBias = UnsafeMutablePointer<Float>.allocate(capacity: 3 * h)
            do {
                for (k, part) in ["query", "key", "value"].enumerated() {
                    (qkvWeight + k * h * h).update(from: try t(p + "attention.self.\(part).weight", [h, h]), count: h * h)
                    (qkvBias + k * h).update(from: try t(p + "attention.self.\(part).bias", [h]), count: h)
                }
                layers.append(Layer(
                    qkvWeight: qkvWeight, qkvBias: qkvBias,
                    outputWeight: try t(p + "attention.output.dense.weight", [h, h]),
                    outputBias: try t(p + "attention.output.dense.bias", [h]),
                    attentionNormGamma: try t(p + "attention.output.LayerNorm.weight", [h]),
                    attentionNormBeta: try t(p + "attention.output.LayerNorm.bias", [h]),
                    upWeight: try t(p + "intermediate.dense.weight", [i, h]),
                    upBias: try t(p + "intermediate.dense.bias", [i]),
                    downWeight: try t(p + "output.dense.weight", [h, i]),
                    downBias: try t(p + "output.dense.bias", [h]),
                    outputNormGamma: try t(p + "output.LayerNorm.weight", [h]),
                    outputNormBeta: try t(p + "output.LayerNorm.bias", [h])))
            } catch {
                qkvWeight.deallocate(); qkvBias.deallocate()
                for layer in layers { layer.qkvWeight.deallocate(); layer.qkvBias.deallocate() }
                throw error
            }
        }
        self.layers = layers
    }

    deinit {
        for layer in layers {
            layer.qkvWeight.deallocate()
            layer.qkvBias.deallocate()
        }
    }
}
