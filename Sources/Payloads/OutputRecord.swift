import Foundation
import SwitchyardCore

/// One line of `results.jsonl` or `errors.jsonl` (**contract**, README "Formats (contract)"):
/// OpenAI Batch output plus the routing that produced it.
///
/// The sink writes it with `jsonLine()` (hand-written, the response body copied in as bytes); `Codable`
/// is for reading records back (resume, tools, tests).
public struct OutputRecord: Codable, Sendable, Hashable {
    /// `digest:line`, the stable request ID.
    public var id: String
    public var customID: String?
    public var response: Response?
    public var error: ErrorBody?
    public var routing: Routing?
    /// The input line's `metadata`, copied through (as the OpenAI Batch API does); absent when it had none.
    public var metadata: RawJSON?

    public struct Response: Codable, Sendable, Hashable {
        public var statusCode: Int
        /// The backend's response body as it sent it (a JSON string of its text when it was not JSON).
        public var body: RawJSON

        public init(statusCode: Int, body: RawJSON) {
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

    public init(id: String, customID: String?, response: Response?, error: ErrorBody?, routing: Routing?, metadata: RawJSON? = nil) {
        self.id = id
        self.customID = customID
        self.response = response
        self.error = error
        self.routing = routing
        self.metadata = metadata
    }

    /// This record with the input line's `metadata` (kept when the record already has one).
    public func carrying(_ metadata: RawJSON?) -> OutputRecord {
        guard self.metadata == nil, let metadata else { return self }
        var record = self
        record.metadata = metadata
        return record
    }

    /// An error record for `request` (or for a line that never became a request).
    public static func failure(
        requestID: RequestID, customID: String?, code: ErrorCode, message: String,
        field: String? = nil, routing: Routing? = nil, metadata: RawJSON? = nil
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

extension OutputRecord {
    /// The record as one JSON Lines line (newline included), keys sorted as `JSONEncoder` with
    /// `.sortedKeys` would write them; the response body is copied in as the backend sent it.
    public func jsonLine(into writer: inout JSONWriter) {
        writer.raw("{\"custom_id\":")
        writer.optional(customID) { $0.string($1) }
        writer.raw(",\"error\":")
        writer.optional(error) { w, error in
            w.raw("{\"code\":")
            w.string(error.code.rawValue)
            if let field = error.field {
                w.raw(",\"field\":")
                w.string(field)
            }
            w.raw(",\"line\":")
            w.integer(error.line)
            w.raw(",\"message\":")
            w.string(error.message)
            w.raw("}")
        }
        writer.raw(",\"id\":")
        writer.string(id)
        if let metadata {
            writer.raw(",\"metadata\":")
            writer.raw(metadata.bytes)
        }
        writer.raw(",\"response\":")
        writer.optional(response) { w, response in
            w.raw("{\"body\":")
            w.raw(response.body.bytes)
            w.raw(",\"status_code\":")
            w.integer(response.statusCode)
            w.raw("}")
        }
        writer.raw(",\"routing\":")
        writer.optional(routing) { w, routing in
            w.raw("{\"actual_cost_usd\":")
            w.optional(routing.actualCostUSD) { $0.number($1) }
            w.raw(",\"attempts\":")
            w.integer(routing.attempts)
            if let downgraded = routing.budgetDowngraded {
                w.raw(",\"budget_downgraded\":")
                w.bool(downgraded)
            }
            w.raw(",\"estimated_cost_usd\":")
            w.number(routing.estimatedCostUSD)
            w.raw(",\"fallbacks\":[")
            for (i, model) in routing.fallbacks.enumerated() {
                if i > 0 { w.raw(",") }
                w.string(model)
            }
            w.raw("]")
            if let latency = routing.latencyMS {
                w.raw(",\"latency_ms\":")
                w.number(latency)
            }
            w.raw(",\"line\":")
            w.integer(routing.line)
            w.raw(",\"model\":")
            w.string(routing.model)
            w.raw(",\"predicted_quality\":")
            w.optional(routing.predictedQuality) { $0.number($1) }
            w.raw(",\"strategy\":")
            w.string(routing.strategy)
            w.raw("}")
        }
        writer.raw("}\n")
    }
}
