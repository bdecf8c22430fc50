import Foundation
import Logging
import SwitchyardCore

/// k nearest training prompts by cosine similarity; predicted quality of a model = its mean outcome
/// on those neighbours. k is chosen on dev (by area under the cost–quality curve) among
/// `Configuration.candidates`; the final neighbour pool is train + dev.
public struct KNNStrategy: TrainableStrategy {
    public static let strategyName = "knn"
    public var name: String { Self.strategyName }
    public let models: [String]
    public let k: Int
    /// Neighbour pool: n × dimension, rows L2-normalised.
    public let vectors: FloatMatrix
    /// n × models outcomes of the pool.
    public let outcomes: FloatMatrix

    /// Values of k tried on dev (default 5, 10, 20, 40).
    public static let candidates = [5, 10, 20, 40]

    public init(models: [String], k: Int, vectors: FloatMatrix, outcomes: FloatMatrix) throws(SwitchyardError) {
        guard k >= 1, vectors.rows == outcomes.rows, outcomes.cols == models.count, vectors.rows > 0 else {
            throw .invalidArgument("knn: need k >= 1 and a non-empty pool with one outcome row per vector and one column per model")
        }
        self.models = models
        self.k = k
        self.vectors = vectors
        self.outcomes = outcomes
    }

    public func explain(_ query: QueryFeatures) -> String? {
        let similarities = LinearAlgebra.multiplyTransposed(LinearAlgebra.stack([query], dimension: vectors.cols), vectors)
        let top = Self.topIndices(similarities, row: 0, k: k)
        let mean = top.reduce(Float(0)) { $0 + similarities[0, $1] } / Float(max(1, top.count))
        return "\(top.count) neighbours, mean cosine \(String(format: "%.3f", mean)), nearest pool rows \(top.prefix(3).map(String.init).joined(separator: ", "))"
    }

    public func predictQuality(_ query: QueryFeatures) -> [Double] {
        predictQuality(batch: [query])[0]
    }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        let similarities = LinearAlgebra.multiplyTransposed(LinearAlgebra.stack(queries, dimension: vectors.cols), vectors)
        return (0..<queries.count).map { i in
            Self.neighbourMeans(similarities, row: i, k: k, outcomes: outcomes)
        }
    }

    /// Mean outcomes of the k most similar pool rows (ties to the lower index, as a stable sort).
    static func neighbourMeans(_ similarities: FloatMatrix, row: Int, k: Int, outcomes: FloatMatrix) -> [Double] {
        let top = topIndices(similarities, row: row, k: k)
        var means = [Double](repeating: 0, count: outcomes.cols)
        for index in top {
            for j in 0..<outcomes.cols { means[j] += Double(outcomes[index, j]) }
        }
        let scale = 1 / Double(max(1, top.count))
        return means.map { $0 * scale }
    }

    /// Indices of the k largest values of one row, best first.
    static func topIndices(_ matrix: FloatMatrix, row: Int, k: Int) -> [Int] {
        let kk = min(k, matrix.cols)
        var bestIndex = [Int]()
        var bestValue = [Float]()
        bestIndex.reserveCapacity(kk + 1)
        bestValue.reserveCapacity(kk + 1)
        matrix.values.withUnsafeBufferPointer { values in
            let base = row * matrix.cols
            for c in 0..<matrix.cols {
                let v = values[base + c]
                if bestValue.count == kk, let last = bestValue.last, v <= last { continue }
                var position = bestValue.count
                while position > 0 && bestValue[position - 1] < v { position -= 1 }
                bestValue.insert(v, at: position)
                bestIndex.insert(c, at: position)
                if bestValue.count > kk {
                    bestValue.removeLast()
                    bestIndex.removeLast()
                }
            }
        }
        return bestIndex
    }

    public static func train(_ context: TrainingContext) throws -> KNNStrategy {
        let selection = context.selection
        let pool = context.train
        let similarities = LinearAlgebra.multiplyTransposed(selection.vectors, pool.vectors)
        var bestK = candidates[0]
        var bestAIQ = -Double.infinity
        for k in candidates where k <= pool.count {
            let predicted = (0..<selection.count).flatMap { neighbourMeans(similarities, row: $0, k: k, outcomes: pool.outcomes) }
            let aiq = context.selectionAIQ(predicted: predicted)
            context.logger.debug("knn candidate", metadata: ["k": "\(k)", "dev_aiq": "\(aiq)"])
            if aiq > bestAIQ {
                bestAIQ = aiq
                bestK = k
            }
        }
        context.logger.info("knn: chose k on dev", metadata: ["k": "\(bestK)", "dev_aiq": "\(bestAIQ)"])
        var vectors = context.train.vectors
        var outcomes = context.train.outcomes
        if context.includeDevInFit && context.dev.count > 0 {
            vectors.values += context.dev.vectors.values
            outcomes.values += context.dev.outcomes.values
            vectors = try FloatMatrix(rows: context.train.count + context.dev.count, cols: vectors.cols, values: vectors.values)
            outcomes = try FloatMatrix(rows: context.train.count + context.dev.count, cols: outcomes.cols, values: outcomes.values)
        }
        return try KNNStrategy(models: context.models, k: min(bestK, vectors.rows), vectors: vectors, outcomes: outcomes)
    }

    struct Stored: Codable {
        var models: [String]
        var k: Int
        var rows: Int
        var dimension: Int
    }

    public func save(to directory: URL) throws {
        try ArtifactFiles.writeJSON(
            Stored(models: models, k: k, rows: vectors.rows, dimension: vectors.cols),
            to: directory.appendingPathComponent("knn.json")
        )
        try vectors.write(to: directory.appendingPathComponent("vectors.f32"))
        try outcomes.write(to: directory.appendingPathComponent("outcomes.f32"))
    }

    public static func load(from directory: URL) throws -> KNNStrategy {
        let stored = try ArtifactFiles.readJSON(Stored.self, from: directory.appendingPathComponent("knn.json"))
        let vectors = try FloatMatrix.read(from: directory.appendingPathComponent("vectors.f32"), rows: stored.rows, cols: stored.dimension)
        let outcomes = try FloatMatrix.read(from: directory.appendingPathComponent("outcomes.f32"), rows: stored.rows, cols: stored.models.count)
        return try KNNStrategy(models: stored.models, k: stored.k, vectors: vectors, outcomes: outcomes)
    }
}
