import Foundation

/// A stable identity for one input line: the input file's digest and the line number.
///
/// Stable across restarts, so a resumed run recognises work it already finished.
public struct RequestID: Hashable, Codable, Sendable, CustomStringConvertible, Comparable {
    public var fileDigest: String
    public var line: Int

    public init(fileDigest: String, line: Int) {
        self.fileDigest = fileDigest
        self.line = line
    }

    public var description: String { "\(fileDigest):\(line)" }

    public static func < (lhs: RequestID, rhs: RequestID) -> Bool {
        (lhs.fileDigest, lhs.line) < (rhs.fileDigest, rhs.line)
    }

    /// Parses the `digest:line` form of `description`.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]) else {
            return nil
        }
        self.init(fileDigest: String(text[..<colon]), line: line)
    }
}

/// One candidate model with what the router predicts for it.
public struct RoutingAlternative: Codable, Sendable, Hashable {
    public var model: String
    public var predictedQuality: Double
    public var estimatedCostUSD: Double

    public init(model: String, predictedQuality: Double, estimatedCostUSD: Double) {
        self.model = model
        self.predictedQuality = predictedQuality
        self.estimatedCostUSD = estimatedCostUSD
    }

    enum CodingKeys: String, CodingKey {
        case model
        case predictedQuality = "predicted_quality"
        case estimatedCostUSD = "estimated_cost_usd"
    }
}

/// What `switchyard route` writes for each input line (**contract**).
public struct RoutingDecision: Codable, Sendable, Hashable {
    public var id: String
    public var model: String
    public var strategy: String
    public var predictedQuality: Double
    public var estimatedCostUSD: Double
    /// The other candidates, best first: the dispatcher falls back along this list.
    public var alternatives: [RoutingAlternative]

    public init(
        id: String, model: String, strategy: String, predictedQuality: Double,
        estimatedCostUSD: Double, alternatives: [RoutingAlternative]
    ) {
        self.id = id
        self.model = model
        self.strategy = strategy
        self.predictedQuality = predictedQuality
        self.estimatedCostUSD = estimatedCostUSD
        self.alternatives = alternatives
    }

    enum CodingKeys: String, CodingKey {
        case id, model, strategy, alternatives
        case predictedQuality = "predicted_quality"
        case estimatedCostUSD = "estimated_cost_usd"
    }
}

/// Stable error codes of error records, so users can filter `errors.jsonl` by cause.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    case invalidJSON = "invalid_json"
    case invalidUTF8 = "invalid_utf8"
    case missingField = "missing_field"
    case invalidField = "invalid_field"
    case unsupportedEndpoint = "unsupported_endpoint"
    case emptyPrompt = "empty_prompt"
    case promptTooLong = "prompt_too_long"
    case duplicateID = "duplicate_id"
    case unknownModel = "unknown_model"
    case budgetExhausted = "budget_exhausted"
    case overCostCap = "over_cost_cap"
    case noEligibleModel = "no_eligible_model"
    case backendError = "backend_error"
    case backendUnavailable = "backend_unavailable"
    case timeout = "timeout"
    case maxAttemptsExceeded = "max_attempts_exceeded"
    case internalError = "internal_error"
}

extension ErrorCode {
    /// True when the input line itself is at fault (fix the line): such errors are never retried and do not
    /// count against `--max-error-rate`.
    public var isInputError: Bool {
        switch self {
        case .invalidJSON, .invalidUTF8, .missingField, .invalidField, .unsupportedEndpoint, .emptyPrompt,
             .promptTooLong, .duplicateID, .unknownModel, .overCostCap:
            return true
        case .budgetExhausted, .noEligibleModel, .backendError, .backendUnavailable, .timeout, .maxAttemptsExceeded, .internalError:
            return false
        }
    }

    /// True when the same line may succeed on a later try without changing it: backends down or overloaded,
    /// timeouts, a stage that gave up. `switchyard run --retry-errors` sends these lines again
    /// (`budget_exhausted` too, but only under a larger budget). A backend's 4xx (`backend_error`) is not:
    /// the request itself was refused.
    public var isRetryable: Bool {
        switch self {
        case .backendUnavailable, .timeout, .maxAttemptsExceeded, .internalError: return true
        default: return false
        }
    }
}
