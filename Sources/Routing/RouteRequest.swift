import Foundation
import SwitchyardCore

/// One line of a batch to route, in any of the accepted input forms: routing data
/// (`{"id", "prompt", ...}`), plain (`{"id", "prompt", "max_cost_usd"?}`) or OpenAI Batch
/// (`{"custom_id", "body": {"model", "messages"}}`: `model` other than `auto` pins the model).
public struct RouteRequest: Sendable, Hashable {
    public var id: String
    public var prompt: String
    public var maxCostUSD: Double?
    /// The model the line asks for explicitly (not routed), or nil.
    public var pinnedModel: String?

    public init(id: String, prompt: String, maxCostUSD: Double? = nil, pinnedModel: String? = nil) {
        self.id = id
        self.prompt = prompt
        self.maxCostUSD = maxCostUSD
        self.pinnedModel = pinnedModel
    }

    /// A line that cannot be routed: the code and message of its error record.
    public struct LineError: Error, Sendable, Hashable {
        public var id: String?
        public var code: ErrorCode
        public var message: String

        public init(id: String?, code: ErrorCode, message: String) {
            self.id = id
            self.code = code
            self.message = message
        }
    }

    /// Parses one JSON line; `line` names the request when the line has no id.
    public static func parse(_ bytes: Data, line: Int) -> Result<RouteRequest, LineError> {
        guard let object = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] else {
            return .failure(LineError(id: nil, code: .invalidJSON, message: "line \(line) is not a JSON object"))
        }
        if let body = object["body"] as? [String: Any] {
            let id = object["custom_id"] as? String ?? "line-\(line)"
            if let url = object["url"] as? String, url != "/v1/chat/completions" {
                return .failure(LineError(id: id, code: .unsupportedEndpoint, message: "url \(url) is not /v1/chat/completions"))
            }
            guard let messages = body["messages"] as? [[String: Any]], !messages.isEmpty else {
                return .failure(LineError(id: id, code: .missingField, message: "missing field 'body.messages'"))
            }
            let prompt = messages.compactMap { message -> String? in
                if let text = message["content"] as? String { return text }
                if let parts = message["content"] as? [[String: Any]] {
                    return parts.compactMap { $0["text"] as? String }.joined(separator: "\n")
                }
                return nil
            }.joined(separator: "\n")
            guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                return .failure(LineError(id: id, code: .emptyPrompt, message: "the messages hold no text"))
            }
            let model = body["model"] as? String
            return .success(RouteRequest(
                id: id, prompt: prompt, maxCostUSD: number(object["max_cost_usd"]),
                pinnedModel: (model == nil || model == "auto") ? nil : model
            ))
        }
        let id = (object["id"] as? String) ?? (object["id"] as? Int).map(String.init) ?? "line-\(line)"
        guard let prompt = object["prompt"] as? String else {
            return .failure(LineError(id: id, code: .missingField, message: "missing field 'prompt' (or 'body.messages')"))
        }
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .failure(LineError(id: id, code: .emptyPrompt, message: "the prompt is empty"))
        }
        if let cap = object["max_cost_usd"], number(cap) == nil, !(cap is NSNull) {
            return .failure(LineError(id: id, code: .invalidField, message: "field 'max_cost_usd' must be a number"))
        }
        return .success(RouteRequest(id: id, prompt: prompt, maxCostUSD: number(object["max_cost_usd"])))
    }

    private static func number(_ value: Any?) -> Double? {
        if let d = value as? Double { return d }
        return (value as? NSNumber)?.doubleValue
    }
}
