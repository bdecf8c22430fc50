import Foundation
import SwitchyardCore

/// The request body of one chat completion, scanned once per dispatch and re-addressed per model.
///
/// Only the top-level `model` is replaced; every other byte the caller sent goes to the backend
/// unchanged.
struct ChatBody: Sendable {
    private let bytes: Data
    /// Byte range of the `model` value, or nil when absent (then it is inserted).
    private let modelRange: Range<Int>?
    /// Where to insert `"model":…,` when absent: just after the opening brace.
    private let openBrace: Int
    private let isEmptyObject: Bool
    /// Rough token estimate (4 bytes a token for the whole body, plus `max_tokens` or a default),
    /// used only to reserve tokens/min before the backend reports the real usage.
    let estimatedTokens: Double

    init(json: Data, defaultCompletionTokens: Int) throws(JSONObjectScanner.ScanError) {
        bytes = json
        let result = json.withUnsafeBytes { raw -> Result<(Range<Int>?, Int, Int?, Bool), JSONObjectScanner.ScanError> in
            let b = raw.bindMemory(to: UInt8.self)
            let members: [JSONObjectScanner.Member]
            do throws(JSONObjectScanner.ScanError) {
                members = try JSONObjectScanner.members(b, in: 0..<b.count)
            } catch {
                return .failure(error)
            }
            var model: Range<Int>?
            var maxTokens: Int?
            for member in members {
                switch member.key {
                case "model": model = member.value
                case "max_tokens", "max_completion_tokens":
                    maxTokens = JSONObjectScanner.integer(b, member.value) ?? maxTokens
                default: break
                }
            }
            let brace = b.firstIndex(of: UInt8(ascii: "{")) ?? 0
            return .success((model, brace, maxTokens, members.isEmpty))
        }
        let scanned = try result.get()
        modelRange = scanned.0
        openBrace = scanned.1
        isEmptyObject = scanned.3
        estimatedTokens = Double(json.count) / 4 + Double(scanned.2 ?? defaultCompletionTokens)
    }

    /// The body with `model` set to what this backend serves.
    func encoded(servedModel: String) -> Data {
        let quoted = Data(JSONText.quote(servedModel).utf8)
        var out = Data()
        out.reserveCapacity(bytes.count + quoted.count + 10)
        if let range = modelRange {
            out.append(bytes[bytes.startIndex..<(bytes.startIndex + range.lowerBound)])
            out.append(quoted)
            out.append(bytes[(bytes.startIndex + range.upperBound)...])
        } else {
            let cut = bytes.startIndex + openBrace + 1
            out.append(bytes[bytes.startIndex..<cut])
            out.append(Data("\"model\":".utf8))
            out.append(quoted)
            if !isEmptyObject { out.append(UInt8(ascii: ",")) }
            out.append(bytes[cut...])
        }
        return out
    }
}

/// The `usage` of a chat completion response, read without decoding the rest.
enum CompletionUsage {
    static func parse(_ body: Data) -> TokenUsage? {
        body.withUnsafeBytes { raw -> TokenUsage? in
            let b = raw.bindMemory(to: UInt8.self)
            guard let members = try? JSONObjectScanner.members(b, in: 0..<b.count),
                let usage = members.first(where: { $0.key == "usage" }),
                let fields = try? JSONObjectScanner.members(b, in: usage.value)
            else { return nil }
            var prompt: Int?
            var completion: Int?
            for field in fields {
                if field.key == "prompt_tokens" { prompt = JSONObjectScanner.integer(b, field.value) }
                if field.key == "completion_tokens" { completion = JSONObjectScanner.integer(b, field.value) }
            }
            guard prompt != nil || completion != nil else { return nil }
            return TokenUsage(promptTokens: prompt ?? 0, completionTokens: completion ?? 0)
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
