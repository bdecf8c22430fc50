import Foundation
import SwitchyardCore

/// Turns one input line into a `PipelineRequest`, or an error record naming the line, field and reason.
///
/// Pure and deterministic (no I/O): `Ingest` feeds it lines and keeps the duplicate-ID set.
public struct LineParser: Sendable {
    /// Names of the pool's models: a batch line may pin one of them in `body.model`.
    public var poolModels: Set<String>
    /// Longest prompt accepted, in characters.
    public var maxPromptCharacters: Int
    /// Completion token cap given to lines that set none (`ingest.default_max_tokens`): without one a real
    /// server may generate up to its whole context for a single line.
    public var defaultMaxTokens: Int?

    public init(poolModels: Set<String>, maxPromptCharacters: Int = IngestConfiguration().maxPromptCharacters,
                defaultMaxTokens: Int? = nil) {
        self.poolModels = poolModels
        self.maxPromptCharacters = maxPromptCharacters
        self.defaultMaxTokens = defaultMaxTokens
    }

    /// A rejected line: code, field at fault (if any), reason, and the caller's ID when it could be read.
    public struct Rejection: Error, Sendable, Equatable {
        public var code: ErrorCode
        public var field: String?
        public var message: String
        public var customID: String?
        /// The line's `metadata`, when the line was a JSON object that had one (copied into the error record).
        public var metadata: JSONValue?

        public init(code: ErrorCode, field: String?, message: String, customID: String? = nil, metadata: JSONValue? = nil) {
            self.code = code
            self.field = field
            self.message = message
            self.customID = customID
            self.metadata = metadata
        }
    }

    /// Parses one line. `requestID` is already assigned (digest + line number).
    public func parse(_ bytes: Data, requestID: RequestID) -> Result<PipelineRequest, Rejection> {
        do {
            return .success(try parseThrowing(bytes, requestID: requestID))
        } catch {
            return .failure(error)
        }
    }

    private func parseThrowing(_ bytes: Data, requestID: RequestID) throws(Rejection) -> PipelineRequest {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw Rejection(code: .invalidUTF8, field: nil, message: "the line is not valid UTF-8: re-encode the file as UTF-8")
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            throw Rejection(code: .invalidJSON, field: nil, message: "empty line: every line must be one JSON object")
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: bytes)
        } catch {
            throw Rejection(code: .invalidJSON, field: nil, message: DecodingErrorDescription.describe(error))
        }
        guard case .object(let object) = value else {
            throw Rejection(code: .invalidJSON, field: nil, message: "expected a JSON object per line, found another JSON value")
        }
        // `metadata` travels with the line into its record, whichever format, answered or rejected.
        let metadata = object["metadata"].flatMap { $0 == .null ? nil : $0 }
        do throws(Rejection) {
            var request: PipelineRequest
            if object["custom_id"] != nil || object["body"] != nil || object["method"] != nil || object["url"] != nil {
                request = try parseBatch(object, requestID: requestID)
            } else if object["id"] != nil || object["prompt"] != nil {
                request = try parsePlain(object, requestID: requestID)
            } else {
                throw Rejection(code: .missingField, field: "custom_id", message: "neither an OpenAI Batch line (custom_id, method, url, body) nor a plain line (id, prompt)")
            }
            request.metadata = metadata
            return request
        } catch {
            var rejection = error
            rejection.metadata = metadata
            throw rejection
        }
    }

    // MARK: OpenAI Batch

    private func parseBatch(_ object: [String: JSONValue], requestID: RequestID) throws(Rejection) -> PipelineRequest {
        let customID = try requiredString(object, "custom_id", customID: nil)
        guard let method = object["method"] else {
            throw Rejection(code: .missingField, field: "method", message: "missing field 'method' (expected \"POST\")", customID: customID)
        }
        guard method.stringValue?.uppercased() == "POST" else {
            throw Rejection(code: .unsupportedEndpoint, field: "method", message: "method must be POST", customID: customID)
        }
        guard let url = object["url"] else {
            throw Rejection(code: .missingField, field: "url", message: "missing field 'url' (expected \"/v1/chat/completions\")", customID: customID)
        }
        guard let urlText = url.stringValue else {
            throw Rejection(code: .invalidField, field: "url", message: "field 'url' must be a string", customID: customID)
        }
        guard urlText == "/v1/chat/completions" else {
            throw Rejection(code: .unsupportedEndpoint, field: "url", message: "unsupported url '\(urlText.prefix(80))': only /v1/chat/completions is routed", customID: customID)
        }
        guard let bodyValue = object["body"] else {
            throw Rejection(code: .missingField, field: "body", message: "missing field 'body' (the chat completion request)", customID: customID)
        }
        guard case .object(let body) = bodyValue else {
            throw Rejection(code: .invalidField, field: "body", message: "field 'body' must be an object", customID: customID)
        }
        var pinned: String?
        if let model = body["model"], model != .null {
            guard let name = model.stringValue else {
                throw Rejection(code: .invalidField, field: "body.model", message: "field 'body.model' must be a string (\"auto\" or a pool model)", customID: customID)
            }
            if name != "auto" {
                guard poolModels.contains(name) else {
                    throw Rejection(code: .unknownModel, field: "body.model", message: "model '\(name.prefix(80))' is not in the pool: use \"auto\" or one of \(poolModels.sorted().joined(separator: ", "))", customID: customID)
                }
                pinned = name
            }
        }
        guard let messagesValue = body["messages"] else {
            throw Rejection(code: .missingField, field: "body.messages", message: "missing field 'body.messages'", customID: customID)
        }
        guard case .array(let messages) = messagesValue, !messages.isEmpty else {
            throw Rejection(code: .invalidField, field: "body.messages", message: "field 'body.messages' must be a non-empty array", customID: customID)
        }
        var texts: [String] = []
        for (index, message) in messages.enumerated() {
            let field = "body.messages[\(index)]"
            guard case .object(let fields) = message else {
                throw Rejection(code: .invalidField, field: field, message: "each message must be an object with role and content", customID: customID)
            }
            guard let role = fields["role"] else {
                throw Rejection(code: .missingField, field: field + ".role", message: "missing field '\(field).role'", customID: customID)
            }
            guard role.stringValue != nil else {
                throw Rejection(code: .invalidField, field: field + ".role", message: "field '\(field).role' must be a string", customID: customID)
            }
            guard let content = fields["content"] else {
                throw Rejection(code: .missingField, field: field + ".content", message: "missing field '\(field).content'", customID: customID)
            }
            texts.append(try contentText(content, field: field + ".content", customID: customID))
        }
        let prompt = texts.filter { !$0.isEmpty }.joined(separator: "\n")
        try checkPrompt(prompt, field: "body.messages", customID: customID)
        var forwarded = body
        forwarded["model"] = nil
        if let defaultMaxTokens, body["max_tokens"] == nil, body["max_completion_tokens"] == nil {
            forwarded["max_tokens"] = .number(Double(defaultMaxTokens))
        }
        return PipelineRequest(requestID: requestID, format: .openAIBatch, customID: customID, prompt: prompt,
                               body: .object(forwarded), pinnedModel: pinned)
    }

    private func contentText(_ content: JSONValue, field: String, customID: String) throws(Rejection) -> String {
        switch content {
        case .string(let text): return text
        case .null: return ""
        case .array(let parts):
            var texts: [String] = []
            for (index, part) in parts.enumerated() {
                if let text = part["text"]?.stringValue { texts.append(text); continue }
                if part["type"]?.stringValue != nil { continue }  // images and other parts carry no text to profile
                throw Rejection(code: .invalidField, field: "\(field)[\(index)]", message: "content parts must be objects with a type", customID: customID)
            }
            return texts.joined(separator: "\n")
        default:
            throw Rejection(code: .invalidField, field: field, message: "field '\(field)' must be a string or an array of parts", customID: customID)
        }
    }

    // MARK: plain

    private func parsePlain(_ object: [String: JSONValue], requestID: RequestID) throws(Rejection) -> PipelineRequest {
        let id = try requiredString(object, "id", customID: nil)
        guard let promptValue = object["prompt"] else {
            throw Rejection(code: .missingField, field: "prompt", message: "missing field 'prompt'", customID: id)
        }
        guard let prompt = promptValue.stringValue else {
            throw Rejection(code: .invalidField, field: "prompt", message: "field 'prompt' must be a string", customID: id)
        }
        try checkPrompt(prompt, field: "prompt", customID: id)
        var maxCost: Double?
        if let value = object["max_cost_usd"], value != .null {
            guard let cost = value.doubleValue, cost >= 0, cost.isFinite else {
                throw Rejection(code: .invalidField, field: "max_cost_usd", message: "field 'max_cost_usd' must be a number >= 0", customID: id)
            }
            maxCost = cost
        }
        var maxTokens = defaultMaxTokens
        if let value = object["max_tokens"], value != .null {
            guard let number = value.doubleValue, number >= 1, number <= 10_000_000, number.rounded() == number else {
                throw Rejection(code: .invalidField, field: "max_tokens", message: "field 'max_tokens' must be a whole number >= 1", customID: id)
            }
            maxTokens = Int(number)
        }
        var pinned: String?
        if let model = object["model"], model != .null {
            guard let name = model.stringValue else {
                throw Rejection(code: .invalidField, field: "model", message: "field 'model' must be a string (\"auto\" or a pool model)", customID: id)
            }
            if name != "auto" {
                guard poolModels.contains(name) else {
                    throw Rejection(code: .unknownModel, field: "model", message: "model '\(name.prefix(80))' is not in the pool", customID: id)
                }
                pinned = name
            }
        }
        return PipelineRequest(requestID: requestID, format: .plain, customID: id, prompt: prompt,
                               pinnedModel: pinned, maxCostUSD: maxCost, maxTokens: maxTokens)
    }

    // MARK: shared checks

    private func requiredString(_ object: [String: JSONValue], _ key: String, customID: String?) throws(Rejection) -> String {
        guard let value = object[key] else {
            throw Rejection(code: .missingField, field: key, message: "missing field '\(key)'", customID: customID)
        }
        guard let text = value.stringValue else {
            throw Rejection(code: .invalidField, field: key, message: "field '\(key)' must be a string", customID: customID)
        }
        guard !text.isEmpty else {
            throw Rejection(code: .invalidField, field: key, message: "field '\(key)' must not be empty", customID: customID)
        }
        return text
    }

    private func checkPrompt(_ prompt: String, field: String, customID: String) throws(Rejection) {
        if prompt.allSatisfy(\.isWhitespace) {
            throw Rejection(code: .emptyPrompt, field: field, message: "the prompt is empty", customID: customID)
        }
        let count = prompt.unicodeScalars.count
        if count > maxPromptCharacters {
            throw Rejection(code: .promptTooLong, field: field, message: "the prompt has \(count) characters, more than the limit of \(maxPromptCharacters) (ingest.max_prompt_chars)", customID: customID)
        }
    }
}
