import Foundation

/// The request body of one chat completion, parsed once per dispatch and re-encoded per model.
///
/// Only `model` is rewritten; every other field the caller sent goes to the backend unchanged.
struct ChatBody {
    private var object: [String: Any]
    /// Rough token estimate (4 characters a token for the messages, plus `max_tokens` or a default),
    /// used only to reserve tokens/min before the backend reports the real usage.
    let estimatedTokens: Double

    enum ParseError: Error, CustomStringConvertible {
        case notAnObject
        case invalidJSON(String)

        var description: String {
            switch self {
            case .notAnObject: return "request body must be a JSON object with 'messages'"
            case .invalidJSON(let reason): return "request body is not valid JSON: \(reason)"
            }
        }
    }

    init(json: Data, defaultCompletionTokens: Int) throws(ParseError) {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw .invalidJSON("\(error.localizedDescription)")
        }
        guard let object = parsed as? [String: Any] else { throw .notAnObject }
        self.object = object
        var characters = 0
        if let messages = object["messages"] as? [[String: Any]] {
            for message in messages {
                if let text = message["content"] as? String {
                    characters += text.utf8.count
                } else if let parts = message["content"] as? [[String: Any]] {
                    for part in parts { characters += (part["text"] as? String)?.utf8.count ?? 0 }
                }
            }
        }
        let completion = (object["max_completion_tokens"] as? Int) ?? (object["max_tokens"] as? Int)
            ?? defaultCompletionTokens
        estimatedTokens = Double(characters) / 4 + Double(completion)
    }

    /// The body with `model` set to what this backend serves.
    func encoded(servedModel: String) -> Data? {
        var copy = object
        copy["model"] = servedModel
        return try? JSONSerialization.data(withJSONObject: copy)
    }
}

/// The part of a chat completion response the dispatcher reads.
struct CompletionUsage: Decodable, Sendable {
    struct Usage: Decodable, Sendable {
        var promptTokens: Int?
        var completionTokens: Int?
        var totalTokens: Int?

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }
    }

    var usage: Usage?

    static func parse(_ body: Data) -> Usage? {
        try? JSONDecoder().decode(CompletionUsage.self, from: body).usage
    }
}

/// Pulls the human message out of an OpenAI-style error body (`{"error": {"message": ...}}`),
/// falling back to the raw text, cut to 500 characters.
enum BackendErrorMessage {
    static func extract(from body: Data) -> String {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            if let error = object["error"] as? [String: Any], let message = error["message"] as? String {
                return message
            }
            if let message = object["error"] as? String { return message }
            if let detail = object["detail"] as? String { return detail }
            if let message = object["message"] as? String { return message }
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self)
        return text.isEmpty ? "(empty body)" : text
    }
}
