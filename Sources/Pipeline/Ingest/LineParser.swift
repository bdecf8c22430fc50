import Foundation
import Payloads
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
        public var metadata: RawJSON?

        public init(code: ErrorCode, field: String?, message: String, customID: String? = nil, metadata: RawJSON? = nil) {
            self.code = code
            self.field = field
            self.message = message
            self.customID = customID
            self.metadata = metadata
        }
    }

    /// Parses one line. `requestID` is already assigned (digest + line number).
    ///
    /// The line is validated as JSON once, here, and indexed without building a tree (`JSONTape`); a batch
    /// line's body then travels as the caller's bytes, with where its `model` sits (`bodyLayout`).
    public func parse(_ bytes: Data, requestID: RequestID) -> Result<PipelineRequest, Rejection> {
        bytes.withUnsafeBytes { raw -> Result<PipelineRequest, Rejection> in
            let line = raw.bindMemory(to: UInt8.self)
            do throws(Rejection) {
                return .success(try parseThrowing(line, requestID: requestID))
            } catch {
                return .failure(error)
            }
        }
    }

    private func parseThrowing(_ line: UnsafeBufferPointer<UInt8>, requestID: RequestID) throws(Rejection) -> PipelineRequest {
        let tape: JSONTape
        do throws(JSONSyntaxError) {
            tape = try JSONTape(line)
        } catch {
            // UTF-8 first: a line that is not text is reported as such whatever else is wrong with it.
            if error.reason == .invalidUTF8 || String(validating: line, as: UTF8.self) == nil {
                throw Rejection(code: .invalidUTF8, field: nil, message: "the line is not valid UTF-8: re-encode the file as UTF-8")
            }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                throw Rejection(code: .invalidJSON, field: nil, message: "empty line: every line must be one JSON object")
            }
            throw Rejection(code: .invalidJSON, field: nil, message: error.description)
        }
        guard tape.kind(tape.root) == .object else {
            throw Rejection(code: .invalidJSON, field: nil, message: "expected a JSON object per line, found another JSON value")
        }
        let object = Fields(tape: tape, node: tape.root, line: line)
        // `metadata` travels with the line into its record, whichever format, answered or rejected.
        let metadata = object.value("metadata").map { RawJSON(validated: object.bytes($0)) }
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

    /// An object's members by key (the last of duplicates, as a dictionary keeps them).
    struct Fields {
        let tape: JSONTape
        let line: UnsafeBufferPointer<UInt8>
        let members: [JSONTape.Member]

        init(tape: JSONTape, node: JSONTape.Node, line: UnsafeBufferPointer<UInt8>) {
            self.tape = tape
            self.line = line
            members = tape.members(node)
        }

        subscript(key: StaticString) -> JSONTape.Node? {
            var found: JSONTape.Node?
            for member in members where tape.stringEquals(member.key, key, in: line) { found = member.value }
            return found
        }

        func kind(_ node: JSONTape.Node) -> JSONTape.Kind { tape.kind(node) }
        func string(_ node: JSONTape.Node) -> String? { tape.string(node, in: line) }
        func double(_ node: JSONTape.Node) -> Double? { tape.double(node, in: line) }
        func fields(_ node: JSONTape.Node) -> Fields { Fields(tape: tape, node: node, line: line) }
        func bytes(_ node: JSONTape.Node) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: line[tape.range(node)]) }
        /// Present and not `null`.
        func value(_ key: StaticString) -> JSONTape.Node? { self[key].flatMap { kind($0) == .null ? nil : $0 } }
    }

    // MARK: OpenAI Batch

    private func parseBatch(_ object: Fields, requestID: RequestID) throws(Rejection) -> PipelineRequest {
        let customID = try requiredString(object, "custom_id", customID: nil)
        guard let method = object["method"] else {
            throw Rejection(code: .missingField, field: "method", message: "missing field 'method' (expected \"POST\")", customID: customID)
        }
        guard object.string(method)?.uppercased() == "POST" else {
            throw Rejection(code: .unsupportedEndpoint, field: "method", message: "method must be POST", customID: customID)
        }
        guard let url = object["url"] else {
            throw Rejection(code: .missingField, field: "url", message: "missing field 'url' (expected \"/v1/chat/completions\")", customID: customID)
        }
        guard let urlText = object.string(url) else {
            throw Rejection(code: .invalidField, field: "url", message: "field 'url' must be a string", customID: customID)
        }
        guard urlText == "/v1/chat/completions" else {
            throw Rejection(code: .unsupportedEndpoint, field: "url", message: "unsupported url '\(urlText.prefix(80))': only /v1/chat/completions is routed", customID: customID)
        }
        guard let bodyNode = object["body"] else {
            throw Rejection(code: .missingField, field: "body", message: "missing field 'body' (the chat completion request)", customID: customID)
        }
        guard object.kind(bodyNode) == .object else {
            throw Rejection(code: .invalidField, field: "body", message: "field 'body' must be an object", customID: customID)
        }
        let body = object.fields(bodyNode)
        var pinned: String?
        let modelNode = body["model"]
        if let model = body.value("model") {
            guard let name = body.string(model) else {
                throw Rejection(code: .invalidField, field: "body.model", message: "field 'body.model' must be a string (\"auto\" or a pool model)", customID: customID)
            }
            if name != "auto" {
                guard poolModels.contains(name) else {
                    throw Rejection(code: .unknownModel, field: "body.model", message: "model '\(name.prefix(80))' is not in the pool: use \"auto\" or one of \(poolModels.sorted().joined(separator: ", "))", customID: customID)
                }
                pinned = name
            }
        }
        guard let messagesNode = body["messages"] else {
            throw Rejection(code: .missingField, field: "body.messages", message: "missing field 'body.messages'", customID: customID)
        }
        let messages = object.tape.elements(messagesNode)
        guard object.kind(messagesNode) == .array, !messages.isEmpty else {
            throw Rejection(code: .invalidField, field: "body.messages", message: "field 'body.messages' must be a non-empty array", customID: customID)
        }
        var texts: [String] = []
        texts.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            let field = "body.messages[\(index)]"
            guard object.kind(message) == .object else {
                throw Rejection(code: .invalidField, field: field, message: "each message must be an object with role and content", customID: customID)
            }
            let fields = object.fields(message)
            guard let role = fields["role"] else {
                throw Rejection(code: .missingField, field: field + ".role", message: "missing field '\(field).role'", customID: customID)
            }
            guard fields.kind(role) == .string else {
                throw Rejection(code: .invalidField, field: field + ".role", message: "field '\(field).role' must be a string", customID: customID)
            }
            guard let content = fields["content"] else {
                throw Rejection(code: .missingField, field: field + ".content", message: "missing field '\(field).content'", customID: customID)
            }
            texts.append(try contentText(content, in: fields, field: field + ".content", customID: customID))
        }
        let prompt = texts.count == 1 ? texts[0] : texts.filter { !$0.isEmpty }.joined(separator: "\n")
        try checkPrompt(prompt, field: "body.messages", customID: customID)
        let bodyStart = object.tape.range(bodyNode).lowerBound
        var completionTokens: Int?
        var hasCap = false
        for key: StaticString in ["max_tokens", "max_completion_tokens"] {
            guard let cap = body[key] else { continue }
            hasCap = true
            completionTokens = object.tape.integer(cap, in: object.line) ?? completionTokens
        }
        let layout = ChatBodyLayout(
            modelValue: modelNode.map { object.tape.range($0).lowerBound - bodyStart..<object.tape.range($0).upperBound - bodyStart },
            completionTokens: completionTokens, insertMaxTokens: hasCap ? nil : defaultMaxTokens)
        return PipelineRequest(requestID: requestID, format: .openAIBatch, customID: customID, prompt: prompt,
                               body: RawJSON(trusted: Array(object.bytes(bodyNode))), bodyLayout: layout, pinnedModel: pinned)
    }

    private func contentText(_ content: JSONTape.Node, in fields: Fields, field: String, customID: String) throws(Rejection) -> String {
        switch fields.kind(content) {
        case .string: return fields.string(content) ?? ""
        case .null: return ""
        case .array:
            var texts: [String] = []
            for (index, part) in fields.tape.elements(content).enumerated() {
                let partFields = fields.fields(part)
                if let text = partFields["text"], let value = partFields.string(text) { texts.append(value); continue }
                if let type = partFields["type"], partFields.kind(type) == .string { continue }  // images and other parts carry no text to profile
                throw Rejection(code: .invalidField, field: "\(field)[\(index)]", message: "content parts must be objects with a type", customID: customID)
            }
            return texts.joined(separator: "\n")
        default:
            throw Rejection(code: .invalidField, field: field, message: "field '\(field)' must be a string or an array of parts", customID: customID)
        }
    }

    // MARK: plain

    private func parsePlain(_ object: Fields, requestID: RequestID) throws(Rejection) -> PipelineRequest {
        let id = try requiredString(object, "id", customID: nil)
        guard let promptNode = object["prompt"] else {
            throw Rejection(code: .missingField, field: "prompt", message: "missing field 'prompt'", customID: id)
        }
        guard let prompt = object.string(promptNode) else {
            throw Rejection(code: .invalidField, field: "prompt", message: "field 'prompt' must be a string", customID: id)
        }
        try checkPrompt(prompt, field: "prompt", customID: id)
        var maxCost: Double?
        if let value = object.value("max_cost_usd") {
            guard let cost = object.double(value), cost >= 0, cost.isFinite else {
                throw Rejection(code: .invalidField, field: "max_cost_usd", message: "field 'max_cost_usd' must be a number >= 0", customID: id)
            }
            maxCost = cost
        }
        var maxTokens = defaultMaxTokens
        if let value = object.value("max_tokens") {
            guard let number = object.double(value), number >= 1, number <= 10_000_000, number.rounded() == number else {
                throw Rejection(code: .invalidField, field: "max_tokens", message: "field 'max_tokens' must be a whole number >= 1", customID: id)
            }
            maxTokens = Int(number)
        }
        var pinned: String?
        if let model = object.value("model") {
            guard let name = object.string(model) else {
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

    private func requiredString(_ object: Fields, _ key: StaticString, customID: String?) throws(Rejection) -> String {
        guard let value = object[key] else {
            throw Rejection(code: .missingField, field: "\(key)", message: "missing field '\(key)'", customID: customID)
        }
        guard let text = object.string(value) else {
            throw Rejection(code: .invalidField, field: "\(key)", message: "field '\(key)' must be a string", customID: customID)
        }
        guard !text.isEmpty else {
            throw Rejection(code: .invalidField, field: "\(key)", message: "field '\(key)' must not be empty", customID: customID)
        }
        return text
    }

    private func checkPrompt(_ prompt: String, field: String, customID: String) throws(Rejection) {
        if prompt.allSatisfy(\.isWhitespace) {
            throw Rejection(code: .emptyPrompt, field: field, message: "the prompt is empty", customID: customID)
        }
        // UTF-8 bytes bound the characters from above: count them only when the bound is over the limit.
        guard prompt.utf8.count > maxPromptCharacters else { return }
        let count = prompt.unicodeScalars.count
        if count > maxPromptCharacters {
            throw Rejection(code: .promptTooLong, field: field, message: "the prompt has \(count) characters, more than the limit of \(maxPromptCharacters) (ingest.max_prompt_chars)", customID: customID)
        }
    }
}
