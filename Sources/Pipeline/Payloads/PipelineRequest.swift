import SwitchyardCore

/// One valid input line, as ingest hands it to the profile stage (JSON on the wire).
public struct PipelineRequest: Codable, Sendable, Hashable {
    /// Which input format the line used: the result keeps the caller's ID either way.
    public enum Format: String, Codable, Sendable {
        case openAIBatch = "openai_batch"
        case plain
    }

    public var requestID: RequestID
    public var format: Format
    /// `custom_id` (OpenAI Batch) or `id` (plain): echoed as `custom_id` in the result.
    public var customID: String
    /// All message text joined, what the profiler reads.
    public var prompt: String
    /// The chat-completion request body as sent (OpenAI Batch); `nil` for plain lines, whose body is built from `prompt`.
    public var body: JSONValue?
    /// A pool model the line names in `body.model`: routing is skipped for it.
    public var pinnedModel: String?
    /// Per-request cost cap in USD (plain `max_cost_usd`).
    public var maxCostUSD: Double?
    /// Completion token cap for a plain line (its `max_tokens`, else `ingest.default_max_tokens`); batch lines carry theirs in `body`.
    public var maxTokens: Int?
    public var metadata: JSONValue?

    public init(requestID: RequestID, format: Format, customID: String, prompt: String, body: JSONValue? = nil,
                pinnedModel: String? = nil, maxCostUSD: Double? = nil, maxTokens: Int? = nil, metadata: JSONValue? = nil) {
        self.requestID = requestID
        self.format = format
        self.customID = customID
        self.prompt = prompt
        self.body = body
        self.pinnedModel = pinnedModel
        self.maxCostUSD = maxCostUSD
        self.maxTokens = maxTokens
        self.metadata = metadata
    }

    /// 1-based input line.
    public var line: Int { requestID.line }

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id", format, customID = "custom_id", prompt, body
        case pinnedModel = "pinned_model", maxCostUSD = "max_cost_usd", maxTokens = "max_tokens", metadata
    }
}
