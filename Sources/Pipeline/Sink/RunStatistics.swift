import Foundation
import Payloads
import SwitchyardCore

/// Running totals of a batch, fed every output record: the progress line and `summary.json` read them.
public struct RunStatistics: Sendable {
    public struct ModelSpend: Codable, Sendable, Hashable {
        public var requests = 0
        public var estimatedUSD = 0.0
        public var actualUSD = 0.0
        public var predictedQualitySum = 0.0
        public var predictedQualityCount = 0

        enum CodingKeys: String, CodingKey {
            case requests, estimatedUSD = "estimated_usd", actualUSD = "actual_usd"
            case predictedQualitySum = "predicted_quality_sum", predictedQualityCount = "predicted_quality_count"
        }
    }

    public private(set) var results = 0
    public private(set) var errors = 0
    public private(set) var errorsByCode: [String: Int] = [:]
    public private(set) var byModel: [String: ModelSpend] = [:]
    public private(set) var latenciesMS: [Double] = []
    /// Records the batch budget routed to a cheaper model than the first choice.
    public private(set) var budgetDowngraded = 0

    public init() {}

    public var completed: Int { results + errors }
    public var estimatedUSD: Double { byModel.values.reduce(0) { $0 + $1.estimatedUSD } }
    public var actualUSD: Double { byModel.values.reduce(0) { $0 + $1.actualUSD } }

    public mutating func add(_ record: OutputRecord) {
        if let error = record.error {
            errors += 1
            errorsByCode[error.code.rawValue, default: 0] += 1
        } else {
            results += 1
        }
        guard let routing = record.routing else { return }
        if routing.budgetDowngraded == true { budgetDowngraded += 1 }
        var spend = byModel[routing.model, default: ModelSpend()]
        spend.requests += 1
        spend.estimatedUSD += routing.estimatedCostUSD
        spend.actualUSD += routing.actualCostUSD ?? 0
        if let quality = routing.predictedQuality, record.error == nil {
            spend.predictedQualitySum += quality
            spend.predictedQualityCount += 1
        }
        byModel[routing.model] = spend
        if let latency = routing.latencyMS { latenciesMS.append(latency) }
    }

    /// The `p`-th percentile (0...100) of dispatch latency, nearest-rank; nil without samples.
    public func latencyPercentile(_ p: Double) -> Double? {
        guard !latenciesMS.isEmpty else { return nil }
        let sorted = latenciesMS.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
