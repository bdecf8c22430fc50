import SwitchyardCore

/// One valid input line, as ingest hands it to the profile stage.
public struct PipelineRequest: Sendable, Hashable {
    /// Which input format the line used: the result keeps the caller's ID either way.
    public enum Format: UInt8, Sendable {
        case openAIBatch = 1
        case plain = 2
    }

    public var requestID: RequestID
    public var format: Format
    /// `custom_id` (OpenAI Batch) or `id` (plain): echoed as `custom_id` in the result.
    public var customID: String
    /// All message text joined, what the profiler reads.
    public var prompt: String
    /// The chat-completion request body as the caller wrote it (OpenAI Batch, its `model` included);
    /// `nil` for plain lines, whose body is built from `prompt`.
    public var body: RawJSON?
    /// Where `model` and the completion cap sit in `body` (found at ingest): dispatch splices, never scans.
    public var bodyLayout: ChatBodyLayout?
    /// A pool model the line names (`body.model` or plain `model`): routing is restricted to it.
    public var pinnedModel: String?
    /// Per-request cost cap in USD (plain `max_cost_usd`).
    public var maxCostUSD: Double?
    /// Completion token cap of a plain line (its `max_tokens`, else `ingest.default_max_tokens`); a batch
    /// line's own cap stays in its body, and a default it gets is `bodyLayout.insertMaxTokens`.
    public var maxTokens: Int?
    /// The plain line's `metadata`, as written.
    public var metadata: RawJSON?

    public init(requestID: RequestID, format: Format, customID: String, prompt: String, body: RawJSON? = nil,
                bodyLayout: ChatBodyLayout? = nil, pinnedModel: String? = nil, maxCostUSD: Double? = nil,
                maxTokens: Int? = nil, metadata: RawJSON? = nil) {
        self.requestID = requestID
        self.format = format
        self.customID = customID
        self.prompt = prompt
        self.body = body
        self.bodyLayout = bodyLayout
        self.pinnedModel = pinnedModel
        self.maxCostUSD = maxCostUSD
        self.maxTokens = maxTokens
        self.metadata = metadata
    }

    /// 1-based input line.
    public var line: Int { requestID.line }
}
