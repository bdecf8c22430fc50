import Foundation
import SwitchyardCore

/// Everything the sink needs to write one result or error record for a dispatched request.
public struct DispatchOutcome: Sendable {
    public var requestID: String
    /// The model that answered; on error, the last model tried (nil when none was).
    public var model: String?
    /// HTTP status of the final response (nil when no response came back).
    public var statusCode: Int?
    /// The backend's raw response JSON (the `response.body` of the result record).
    public var responseBody: Data?
    /// True when `responseBody` was checked to be one valid JSON value (it was read for `usage`).
    public var responseIsJSON = false
    /// Token usage the backend reported.
    public var usage: TokenUsage?
    /// Cost of the successful call from `usage` and the model's price (failed attempts cost nothing).
    public var actualCostUSD: Double
    /// Every HTTP attempt, in order, over all models tried.
    public var attempts: [AttemptRecord]
    /// Models abandoned before the final one, with why (the result's `routing.fallbacks`).
    public var fallbacks: [Fallback]
    /// Set when no model produced an answer.
    public var error: DispatchError?

    public init(requestID: String) {
        self.requestID = requestID
        actualCostUSD = 0
        attempts = []
        fallbacks = []
    }

    public var isSuccess: Bool { error == nil }
    /// Number of HTTP attempts (the result's `routing.attempts`).
    public var attemptCount: Int { attempts.count }
}

/// Tokens a backend reported in `usage`.
public struct TokenUsage: Sendable, Codable, Hashable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
    }
}

/// One HTTP attempt: which model, what came back and how long it took.
public struct AttemptRecord: Sendable, Codable, Hashable {
    public var model: String
    /// HTTP status, nil for a timeout or connection error.
    public var statusCode: Int?
    public var latencySeconds: Double
    /// `ok`, `http_<status>`, `timeout` or `connection_error`.
    public var result: String

    public init(model: String, statusCode: Int?, latencySeconds: Double, result: String) {
        self.model = model
        self.statusCode = statusCode
        self.latencySeconds = latencySeconds
        self.result = result
    }

    enum CodingKeys: String, CodingKey {
        case model, result
        case statusCode = "status_code"
        case latencySeconds = "latency_s"
    }
}

/// A model the dispatcher gave up on for this request, and why.
public struct Fallback: Sendable, Codable, Hashable {
    public var model: String
    public var reason: String

    public init(model: String, reason: String) {
        self.model = model
        self.reason = reason
    }
}

/// Why a request got no answer: a stable code for `errors.jsonl` and a message that says what happened.
public struct DispatchError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
