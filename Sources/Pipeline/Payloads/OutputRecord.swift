import Foundation
import SwitchyardCore

/// One line of `results.jsonl` or `errors.jsonl` (**contract**, DESIGN.md "Results"):
/// OpenAI Batch output plus the routing that produced it.
public struct OutputRecord: Codable, Sendable, Hashable {
    /// `digest:line`, the stable request ID.
    public var id: String
    public var customID: String?
    public var response: Response?
    public var error: ErrorBody?
    public var routing: Routing?
    /// The input line's `metadata`, copied through (as the OpenAI Batch API does); absent when it had none.
    public var metadata: JSONValue?

    public struct Response: Codable, Sendable, Hashable {
        public var statusCode: Int
        public var body: JSONValue

        public init(statusCode: Int, body: JSONValue) {
            self.statusCode = statusCode
            self.body = body
        }

        enum CodingKeys: String, CodingKey { case statusCode = "status_code", body }
    }

    public struct ErrorBody: Codable, Sendable, Hashable {
        public var code: ErrorCode
        public var message: String
        public var line: Int
        /// The input field at fault, when there is one (`body.messages[0].content`).
        public var field: String?

        public init(code: ErrorCode, message: String, line: Int, field: String? = nil) {
            self.code = code
            self.message = message
            self.line = line
            self.field = field
        }
    }

    public struct Routing: Codable, Sendable, Hashable {
        public var model: String
        public var strategy: String
        public var predictedQuality: Double?
        public var estimatedCostUSD: Double
        public var actualCostUSD: Double?
        public var attempts: Int
        /// Models tried before `model`, in order, because they failed.
        public var fallbacks: [String]
        public var line: Int
        /// Milliseconds from ingest to the backend's answer (nil for dry runs).
        public var latencyMS: Double?
        /// True when the batch budget made the score stage pick a cheaper model than its first choice
        /// (absent otherwise).
        public var budgetDowngraded: Bool?

        public init(model: String, strategy: String, predictedQuality: Double?, estimatedCostUSD: Double,
                    actualCostUSD: Double?, attempts: Int, fallbacks: [String], line: Int, latencyMS: Double? = nil) {
            self.model = model
            self.strategy = strategy
            self.predictedQuality = predictedQuality
            self.estimatedCostUSD = estimatedCostUSD
            self.actualCostUSD = actualCostUSD
            self.attempts = attempts
            self.fallbacks = fallbacks
            self.line = line
            self.latencyMS = latencyMS
        }

        enum CodingKeys: String, CodingKey {
            case model, strategy, attempts, fallbacks, line
            case predictedQuality = "predicted_quality"
            case estimatedCostUSD = "estimated_cost_usd"
            case actualCostUSD = "actual_cost_usd"
            case latencyMS = "latency_ms"
            case budgetDowngraded = "budget_downgraded"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(model, forKey: .model)
            try c.encode(strategy, forKey: .strategy)
            try c.encode(predictedQuality, forKey: .predictedQuality)
            try c.encode(estimatedCostUSD, forKey: .estimatedCostUSD)
            try c.encode(actualCostUSD, forKey: .actualCostUSD)
            try c.encode(attempts, forKey: .attempts)
            try c.encode(fallbacks, forKey: .fallbacks)
            try c.encode(line, forKey: .line)
            try c.encodeIfPresent(latencyMS, forKey: .latencyMS)
            try c.encodeIfPresent(budgetDowngraded, forKey: .budgetDowngraded)
        }
    }

    public init(id: String, customID: String?, response: Response?, error: ErrorBody?, routing: Routing?, metadata: JSONValue? = nil) {
        self.id = id
        self.customID = customID
        self.response = response
        self.error = error
        self.routing = routing
        self.metadata = metadata
    }

    /// This record with the input line's `metadata` (kept when the record already has one).
    public func carrying(_ metadata: JSONValue?) -> OutputRecord {
        guard self.metadata == nil, let metadata else { return self }
        var record = self
        record.metadata = metadata
        return record
    }

    /// An error record for `request` (or for a line that never became a request).
    public static func failure(
        requestID: RequestID, customID: String?, code: ErrorCode, message: String,
        field: String? = nil, routing: Routing? = nil, metadata: JSONValue? = nil
    ) -> OutputRecord {
        OutputRecord(
            id: requestID.description, customID: customID, response: nil,
            error: ErrorBody(code: code, message: message, line: requestID.line, field: field), routing: routing, metadata: metadata)
    }

    /// True for records that belong in `errors.jsonl`.
    public var isError: Bool { error != nil }

    /// The input line this record answers.
    public var line: Int { error?.line ?? routing?.line ?? RequestID(id)?.line ?? 0 }

    enum CodingKeys: String, CodingKey {
        case id, customID = "custom_id", response, error, routing, metadata
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(customID, forKey: .customID)
        try c.encode(response, forKey: .response)
        try c.encode(error, forKey: .error)
        try c.encode(routing, forKey: .routing)
        try c.encodeIfPresent(metadata, forKey: .metadata)
    }
}
