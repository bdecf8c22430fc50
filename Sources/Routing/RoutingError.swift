import SwitchyardCore

/// Why a query could not be routed or an artifact not used; `code` is the error record's code.
public enum RoutingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every model was excluded by the allow/deny lists, availability or the quality floor.
    case noEligibleModel(reason: String)
    /// Models were eligible but none fits the query's `max_cost_usd`.
    case overCostCap(maxCostUSD: Double, cheapestUSD: Double)
    /// The query's feature vector does not match what the artifact was trained on.
    case featureDimensionMismatch(expected: Int, got: Int)
    /// The strategy and the cost model disagree on the pool.
    case modelMismatch(String)

    public var code: ErrorCode {
        switch self {
        case .noEligibleModel: return .noEligibleModel
        case .overCostCap: return .overCostCap
        case .featureDimensionMismatch, .modelMismatch: return .internalError
        }
    }

    public var description: String {
        switch self {
        case .noEligibleModel(let reason):
            return "no eligible model: \(reason); relax the allow/deny lists or the quality floor"
        case .overCostCap(let cap, let cheapest):
            return "no eligible model fits max_cost_usd \(cap); the cheapest eligible is estimated at \(cheapest) USD: raise the cap"
        case .featureDimensionMismatch(let expected, let got):
            return "feature vector has \(got) values but the router was trained on \(expected): profile with the artifact's featurizer"
        case .modelMismatch(let message):
            return "model pool mismatch: \(message); rebuild the artifact"
        }
    }
}
