import Backends
import Foundation
import SwitchyardCore

/// What came back for one prompt sent to one model: the reply text and its real usage and cost, or why
/// there is none.
public struct SentReply: Sendable, Hashable {
    /// The assistant message's text (nil when the call failed).
    public var text: String?
    /// `stop`, `length`, ... as the backend said.
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// `usage` × the model's price (0 when the backend reported no usage).
    public var costUSD: Double
    public var attempts: Int
    public var latencySeconds: Double
    /// Set when no usable reply came back: a stable code and a message that says what happened.
    public var error: CollectFailure?

    public init(
        text: String?, finishReason: String? = nil, promptTokens: Int? = nil, completionTokens: Int? = nil,
        costUSD: Double = 0, attempts: Int = 1, latencySeconds: Double = 0, error: CollectFailure? = nil
    ) {
        self.text = text
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
        self.attempts = attempts
        self.latencySeconds = latencySeconds
        self.error = error
    }
}

/// Why a (prompt, model) pair has no outcome.
public struct CollectFailure: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `ErrorCode` raw values of the pipeline (`backend_error`, `budget_exhausted`, ...) plus
    /// `grading_failed` and `no_reply_text`.
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// Sends one user prompt to one pool model. `DispatcherSender` is the real one; collect uses nothing
/// else, so every call goes through the dispatcher's limits, retries and breakers.
public protocol ChatSender: Sendable {
    /// `requestID` names the call in logs (`<prompt id>@<model>`).
    func send(model: String, prompt: String, maxTokens: Int, temperature: Double?, requestID: String) async -> SentReply
}

/// `ChatSender` over the pipeline's `Dispatcher`: one candidate (the pair's own model, never a
/// fallback, since the outcome must be that model's), a plain chat body.
public struct DispatcherSender: ChatSender {
    public let dispatcher: Dispatcher

    public init(dispatcher: Dispatcher) {
        self.dispatcher = dispatcher
    }

    public func send(model: String, prompt: String, maxTokens: Int, temperature: Double?, requestID: String) async -> SentReply {
        var body: [String: Any] = [
            "model": model, "max_tokens": maxTokens,
            "messages": [["role": "user", "content": prompt]],
        ]
        if let temperature { body["temperature"] = temperature }
        guard let data = try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]) else {
            return SentReply(text: nil, attempts: 0, error: CollectFailure(code: ErrorCode.internalError.rawValue, message: "cannot encode the request body"))
        }
        let outcome = await dispatcher.dispatch(DispatchRequest(requestID: requestID, body: data, candidates: [model]))
        let latency = outcome.attempts.map(\.latencySeconds).reduce(0, +)
        if let error = outcome.error {
            return SentReply(text: nil, costUSD: outcome.actualCostUSD, attempts: outcome.attemptCount, latencySeconds: latency,
                             error: CollectFailure(code: error.code.rawValue, message: error.message))
        }
        guard let responseBody = outcome.responseBody else {
            return SentReply(text: nil, attempts: outcome.attemptCount, latencySeconds: latency,
                             error: CollectFailure(code: ErrorCode.backendError.rawValue, message: "\(model) answered with no body"))
        }
        var reply = ChatCompletionReply.parse(responseBody)
        reply.costUSD = outcome.actualCostUSD
        reply.attempts = outcome.attemptCount
        reply.latencySeconds = latency
        if let usage = outcome.usage {
            reply.promptTokens = usage.promptTokens
            reply.completionTokens = usage.completionTokens
        }
        if reply.text == nil, reply.error == nil {
            reply.error = CollectFailure(code: "no_reply_text", message: "\(model) answered 200 without choices[0].message.content")
        }
        return reply
    }
}

/// Reads the parts of an OpenAI chat completion that collect needs.
public enum ChatCompletionReply {
    /// Text of `choices[0].message.content` (a string, or its text parts joined), `finish_reason` and
    /// `usage`; a body that is not a completion gives a reply without text.
    public static func parse(_ body: Data) -> SentReply {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            return SentReply(text: nil, error: CollectFailure(code: ErrorCode.backendError.rawValue, message: "the response is not a JSON object"))
        }
        let choice = (object["choices"] as? [[String: Any]])?.first
        let message = choice?["message"] as? [String: Any]
        var text: String?
        if let content = message?["content"] as? String {
            text = content
        } else if let parts = message?["content"] as? [[String: Any]] {
            text = parts.compactMap { $0["text"] as? String }.joined()
        }
        let usage = object["usage"] as? [String: Any]
        return SentReply(
            text: text, finishReason: choice?["finish_reason"] as? String,
            promptTokens: (usage?["prompt_tokens"] as? NSNumber)?.intValue,
            completionTokens: (usage?["completion_tokens"] as? NSNumber)?.intValue)
    }
}
