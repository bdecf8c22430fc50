import Foundation

/// One request for the dispatcher: the chat completion body and the models to try, best first.
public struct DispatchRequest: Sendable {
    /// Stable request ID (for logs and metrics; the dispatcher does not deduplicate).
    public var requestID: String
    /// The chat completion body as JSON (an OpenAI Batch line's `body`); its `model` is replaced
    /// by each backend's served model name.
    public var body: Data
    /// Where `model` sits in `body` when the caller validated it already (the pipeline's ingest): the
    /// dispatcher then trusts the layout and scans nothing. Nil: the body is scanned and validated.
    public var layout: ChatBody.Layout?
    /// Candidate pool models, best first: the first is the router's choice, the rest are fallbacks.
    public var candidates: [String]
    /// Called about every second while the request waits for an unavailable backend (extend the work
    /// protocol lease of the task that holds it).
    public var keepAlive: @Sendable () -> Void

    public init(requestID: String, body: Data, layout: ChatBody.Layout? = nil, candidates: [String],
                keepAlive: @escaping @Sendable () -> Void = {}) {
        self.requestID = requestID
        self.body = body
        self.layout = layout
        self.candidates = candidates
        self.keepAlive = keepAlive
    }
}
