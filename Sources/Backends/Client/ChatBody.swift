import Foundation
import SwitchyardCore

/// The request body of one chat completion, re-addressed per model without re-encoding it.
///
/// Only the top-level `model` is replaced (and `max_tokens` added when the layout says so); every other
/// byte the caller sent goes to the backend unchanged.
public struct ChatBody: Sendable {
    private let bytes: Data
    private let layout: Layout
    /// Where to insert members when `model` is absent: just after the opening brace.
    private let openBrace: Int
    private let isEmptyObject: Bool
    /// Rough token estimate (4 bytes a token for the whole body, plus the completion cap or a default),
    /// used only to reserve tokens/min before the backend reports the real usage.
    let estimatedTokens: Double

    public typealias Layout = ChatBodyLayout

    /// Scans and validates a body from an untrusted caller.
    init(json: Data, defaultCompletionTokens: Int) throws(ChatBodyError) {
        let scanned = json.withUnsafeBytes { raw -> Result<(Layout, Int, Bool), ChatBodyError> in
            let b = raw.bindMemory(to: UInt8.self)
            let tape: JSONTape
            do throws(JSONSyntaxError) {
                tape = try JSONTape(b)
            } catch {
                return .failure(.invalidJSON(error))
            }
            guard tape.kind(tape.root) == .object else { return .failure(.notAnObject) }
            var layout = Layout(modelValue: nil, completionTokens: nil)
            let members = tape.members(tape.root)
            for member in members {
                if tape.stringEquals(member.key, "model", in: b) {
                    layout.modelValue = tape.range(member.value)
                } else if tape.stringEquals(member.key, "max_tokens", in: b) || tape.stringEquals(member.key, "max_completion_tokens", in: b) {
                    layout.completionTokens = tape.integer(member.value, in: b) ?? layout.completionTokens
                }
            }
            return .success((layout, tape.range(tape.root).lowerBound, members.isEmpty))
        }
        let (layout, brace, empty) = try scanned.get()
        self.init(bytes: json, layout: layout, openBrace: brace, isEmptyObject: empty, defaultCompletionTokens: defaultCompletionTokens)
    }

    /// A body validated upstream, starting with its opening brace and holding at least one member.
    init(trusted json: Data, layout: Layout, defaultCompletionTokens: Int) {
        self.init(bytes: json, layout: layout, openBrace: 0, isEmptyObject: false, defaultCompletionTokens: defaultCompletionTokens)
    }

    private init(bytes: Data, layout: Layout, openBrace: Int, isEmptyObject: Bool, defaultCompletionTokens: Int) {
        self.bytes = bytes
        self.layout = layout
        self.openBrace = openBrace
        self.isEmptyObject = isEmptyObject
        estimatedTokens = Double(bytes.count) / 4 + Double(layout.completionTokens ?? layout.insertMaxTokens ?? defaultCompletionTokens)
    }

    /// What a backend serving `servedModel` receives for a body validated upstream (the dispatcher's
    /// splice, for tests and tools).
    public static func readdressed(_ json: Data, layout: Layout, servedModel: String) -> Data {
        ChatBody(trusted: json, layout: layout, defaultCompletionTokens: 0).encoded(servedModel: servedModel)
    }

    /// The body with `model` set to what this backend serves.
    func encoded(servedModel: String) -> Data {
        var quoted = JSONWriter(capacity: servedModel.utf8.count + 2)
        quoted.string(servedModel)
        var inserted = JSONWriter(capacity: 48)
        if let maxTokens = layout.insertMaxTokens {
            inserted.raw("\"max_tokens\":")
            inserted.integer(maxTokens)
            inserted.raw(",")
        }
        var out = Data()
        out.reserveCapacity(bytes.count + quoted.bytes.count + inserted.bytes.count + 10)
        let base = bytes.startIndex
        let cut = base + openBrace + 1
        if let range = layout.modelValue {
            out.append(bytes[base..<cut])
            out.append(contentsOf: inserted.bytes)
            out.append(bytes[cut..<(base + range.lowerBound)])
            out.append(contentsOf: quoted.bytes)
            out.append(bytes[(base + range.upperBound)...])
        } else {
            out.append(bytes[base..<cut])
            out.append(contentsOf: inserted.bytes)
            out.append(contentsOf: Array("\"model\":".utf8))
            out.append(contentsOf: quoted.bytes)
            if !isEmptyObject { out.append(UInt8(ascii: ",")) }
            out.append(bytes[cut...])
        }
        return out
    }
}

/// Why a request body cannot be sent.
enum ChatBodyError: Error, CustomStringConvertible {
    case notAnObject
    case invalidJSON(JSONSyntaxError)

    var description: String {
        switch self {
        case .notAnObject: return "request body must be a JSON object"
        case .invalidJSON(let error): return "request body is \(error)"
        }
    }
}

/// The `usage` of a chat completion response, read without decoding the rest.
enum CompletionUsage {
    /// The usage, and whether the body is one valid JSON value (checked on the way, so the pipeline
    /// can pass the body on as it came without checking it again).
    static func parse(_ body: Data) -> (usage: TokenUsage?, isJSON: Bool) {
        body.withUnsafeBytes { raw -> (TokenUsage?, Bool) in
            let b = raw.bindMemory(to: UInt8.self)
            guard let tape = try? JSONTape(b) else { return (nil, false) }
            guard let usage = tape.member("usage", of: tape.root, in: b) else { return (nil, true) }
            var prompt: Int?
            var completion: Int?
            for field in tape.members(usage) {
                if tape.stringEquals(field.key, "prompt_tokens", in: b) { prompt = tape.integer(field.value, in: b) }
                if tape.stringEquals(field.key, "completion_tokens", in: b) { completion = tape.integer(field.value, in: b) }
            }
            guard prompt != nil || completion != nil else { return (nil, true) }
            return (TokenUsage(promptTokens: prompt ?? 0, completionTokens: completion ?? 0), true)
        }
    }
}

/// Pulls the human message out of an OpenAI-style error body (`{"error": {"message": ...}}`),
/// falling back to the raw text, cut to 500 characters.
///
/// The machine-readable kind (`code`, else `type`) is kept after the message, so users can tell a
/// context overflow (`context_length_exceeded`, llama.cpp's `exceed_context_size_error`) from other
/// 400s; llama.cpp's token counts (`n_prompt_tokens`, `n_ctx`) say by how much when the message does not.
enum BackendErrorMessage {
    static func extract(from body: Data) -> String {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            if let error = object["error"] as? [String: Any], let message = error["message"] as? String {
                var details: [String] = []
                if let kind = (error["code"] as? String) ?? (error["type"] as? String), !kind.isEmpty { details.append(kind) }
                if let prompt = error["n_prompt_tokens"] as? Int, let context = error["n_ctx"] as? Int,
                   !message.contains("\(prompt)") {
                    details.append("\(prompt) prompt tokens, context \(context)")
                }
                return details.isEmpty ? message : "\(message) (\(details.joined(separator: "; ")))"
            }
            if let message = object["error"] as? String { return message }
            if let detail = object["detail"] as? String { return detail }
            if let message = object["message"] as? String { return message }
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self)
        return text.isEmpty ? "(empty body)" : text
    }
}
