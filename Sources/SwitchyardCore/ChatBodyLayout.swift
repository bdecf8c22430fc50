/// Where the fields the dispatcher rewrites sit in a chat completion body the pipeline already
/// validated (at ingest), so dispatch can re-address the caller's bytes without scanning them again.
public struct ChatBodyLayout: Sendable, Hashable {
    /// Byte range of the top-level `model` value, relative to the body's first byte; nil when absent.
    public var modelValue: Range<Int>?
    /// The body's own completion cap (`max_tokens` or `max_completion_tokens`), if any.
    public var completionTokens: Int?
    /// A `max_tokens` to add because the body sets none (`ingest.default_max_tokens`).
    public var insertMaxTokens: Int?

    public init(modelValue: Range<Int>?, completionTokens: Int?, insertMaxTokens: Int? = nil) {
        self.modelValue = modelValue
        self.completionTokens = completionTokens
        self.insertMaxTokens = insertMaxTokens
    }
}
