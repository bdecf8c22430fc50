import Foundation
import SwitchyardCore

/// Estimated USD per model for one query, before it runs: input tokens × input price plus the model's
/// typical output length × output price.
///
/// Output length per model is learned from training data (`output_tokens` when present, otherwise
/// inferred from realised cost and price). A model without a price is charged its mean training cost.
/// This is Routing's own small estimate; the batch budget (`Budget`) may use a richer cost model.
public struct CostEstimator: Sendable, Codable, Hashable {
    public var models: [String]
    /// Price per model (same order), nil when unknown.
    public var prices: [ModelPrice?]
    /// Predicted output tokens per model (same order).
    public var outputTokens: [Double]
    /// Mean realised training cost per model (same order): the fallback without a price.
    public var meanCost: [Double]

    public init(models: [String], prices: [ModelPrice?], outputTokens: [Double], meanCost: [Double]) throws(SwitchyardError) {
        guard prices.count == models.count, outputTokens.count == models.count, meanCost.count == models.count else {
            throw .invalidArgument("cost estimator: per-model tables must have \(models.count) entries")
        }
        self.models = models
        self.prices = prices
        self.outputTokens = outputTokens
        self.meanCost = meanCost
    }

    /// Learns output lengths and mean costs from routing records.
    public static func fit(models: [String], prices: [String: ModelPrice], records: [RoutingRecord]) throws(SwitchyardError) -> CostEstimator {
        var outputTokens: [Double] = []
        var meanCost: [Double] = []
        for model in models {
            var costSum = 0.0, costCount = 0.0, outSum = 0.0, outCount = 0.0
            for record in records {
                guard let cost = record.costs[model] else { continue }
                costSum += cost
                costCount += 1
                if let out = record.outputTokens?[model] {
                    outSum += Double(out)
                    outCount += 1
                } else if let price = prices[model], price.outputUSDPerMTok > 0, let input = record.inputTokens {
                    let inferred = (cost * 1_000_000 - Double(input) * price.inputUSDPerMTok) / price.outputUSDPerMTok
                    outSum += max(0, inferred)
                    outCount += 1
                }
            }
            outputTokens.append(outCount > 0 ? outSum / outCount : 0)
            meanCost.append(costCount > 0 ? costSum / costCount : 0)
        }
        return try CostEstimator(models: models, prices: models.map { prices[$0] }, outputTokens: outputTokens, meanCost: meanCost)
    }

    /// Estimated USD per model (same order as `models`) for a prompt of `inputTokens`.
    public func costs(inputTokens: Int) -> [Double] {
        var out = [Double](repeating: 0, count: models.count)
        for j in 0..<models.count {
            if let price = prices[j] {
                out[j] = price.cost(inputTokens: Double(inputTokens), outputTokens: outputTokens[j])
            } else {
                out[j] = meanCost[j]
            }
        }
        return out
    }
}
