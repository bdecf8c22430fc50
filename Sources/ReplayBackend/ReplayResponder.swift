import Foundation
import SwitchyardCore
import Synchronization

/// The replay backend's logic, apart from HTTP: a request body in, a reply (status, headers, body,
/// delay) out. Deterministic for a given seed and order of requests.
public final class ReplayResponder: Sendable {
    /// What to send back, and how long to wait first.
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: Data
        public var delay: Duration
    }

    public let catalog: ReplayCatalog
    public let configuration: ReplayConfiguration
    private let generator: Mutex<SplitMix64>
    private let counts: Mutex<[String: Int]>
    private let sigma: Double

    public init(catalog: ReplayCatalog, configuration: ReplayConfiguration) {
        self.catalog = catalog
        self.configuration = configuration
        generator = Mutex(SplitMix64(seed: configuration.seed))
        counts = Mutex([:])
        if let p99 = configuration.latencyP99Ms, configuration.latencyP50Ms > 0, p99 > configuration.latencyP50Ms {
            sigma = log(p99 / configuration.latencyP50Ms) / 2.326_347_9
        } else {
            sigma = 0
        }
    }

    /// Chat requests received per requested model (including failed ones), for tests and logs.
    public func requestCounts() -> [String: Int] { counts.withLock { $0 } }

    /// `GET /v1/models`.
    public func modelsList() -> Data {
        switch configuration.modelsListShape {
        case .openAI:
            let entries = catalog.models.map {
                "{\"id\":\(JSONText.quote($0)),\"object\":\"model\",\"created\":0,\"owned_by\":\"switchyard-replay\"}"
            }
            return Data("{\"object\":\"list\",\"data\":[\(entries.joined(separator: ","))]}".utf8)
        case .llamaCpp:
            // As llama-server answers: the models again under `models`, and one `data` entry with the others as aliases.
            let models = catalog.models.map { "{\"name\":\(JSONText.quote($0)),\"model\":\(JSONText.quote($0)),\"type\":\"model\"}" }
            let first = catalog.models.first ?? ""
            let aliases = catalog.models.dropFirst().map(JSONText.quote).joined(separator: ",")
            return Data(("{\"models\":[\(models.joined(separator: ","))],\"object\":\"list\",\"data\":[{\"id\":\(JSONText.quote(first)),"
                + "\"aliases\":[\(aliases)],\"object\":\"model\",\"owned_by\":\"llamacpp\"}]}").utf8)
        }
    }

    /// `POST /v1/chat/completions`.
    public func chatCompletion(body: Data) -> Reply {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            return error(400, type: "invalid_request_error", code: "invalid_json", message: "request body is not a JSON object")
        }
        guard let model = object["model"] as? String else {
            return error(400, type: "invalid_request_error", code: "missing_model", message: "'model' is required")
        }
        counts.withLock { $0[model, default: 0] += 1 }
        guard catalog.serves(model), !configuration.unloadedModels.contains(model) else {
            return error(404, type: "invalid_request_error", code: "model_not_found", message: "The model '\(model)' does not exist on this replay backend")
        }
        guard let messages = object["messages"] as? [[String: Any]] else {
            return error(400, type: "invalid_request_error", code: "missing_messages", message: "'messages' must be an array of messages")
        }
        if configuration.downModels.contains(model) {
            return error(503, type: "server_error", code: "model_down", message: "model \(model) is down (replay-backend --down)")
        }
        let (failDraw, latencyDraw) = generator.withLock { g in (g.unit(), g.nextGaussian()) }
        let latency = latencyMs(gaussian: latencyDraw)
        if failDraw < configuration.errorRate {
            switch configuration.errorKind {
            case .rateLimited:
                var reply = error(429, type: "rate_limit_error", code: "rate_limit_exceeded", message: "injected rate limit (replay-backend --error-kind 429)")
                reply.headers.append(("Retry-After", "\(configuration.retryAfterSeconds)"))
                return reply
            case .serverError:
                var reply = error(500, type: "server_error", code: "internal_error", message: "injected server error (replay-backend --error-kind 500)")
                reply.delay = .milliseconds(latency)
                return reply
            case .timeout:
                var reply = error(504, type: "server_error", code: "timeout", message: "injected timeout (replay-backend --error-kind timeout)")
                reply.delay = .seconds(configuration.hangSeconds)
                return reply
            }
        }
        let prompt = Self.lastUserText(messages)
        guard var answer = catalog.answer(model: model, prompt: prompt) else {
            return error(404, type: "invalid_request_error", code: "model_not_found", message: "The model '\(model)' does not exist on this replay backend")
        }
        if configuration.costMultiplier != 1 {
            let k = configuration.costMultiplier
            answer.promptTokens = Int((Double(answer.promptTokens) * k).rounded())
            answer.completionTokens = Int((Double(answer.completionTokens) * k).rounded())
            answer.costUSD *= k
        }
        return Reply(
            status: 200, headers: [("Content-Type", "application/json")],
            body: completionJSON(model: model, answer: answer), delay: .milliseconds(latency)
        )
    }

    /// The exact text of the last user message (string content, or its text parts joined).
    static func lastUserText(_ messages: [[String: Any]]) -> String {
        for message in messages.reversed() where (message["role"] as? String) == "user" {
            if let text = message["content"] as? String { return text }
            if let parts = message["content"] as? [[String: Any]] {
                return parts.compactMap { $0["text"] as? String }.joined()
            }
        }
        return ""
    }

    private func latencyMs(gaussian: Double) -> Double {
        let p50 = configuration.latencyP50Ms
        guard p50 > 0 else { return 0 }
        return sigma > 0 ? p50 * exp(sigma * gaussian) : p50
    }

    private func completionJSON(model: String, answer: ReplayCatalog.Answer) -> Data {
        let verdict = answer.score >= 0.5 ? "correct" : "incorrect"
        let score = String(format: "%.2f", answer.score)
        let content: String
        if let id = answer.recordID, let scripted = catalog.scriptedReply(recordID: id, correct: answer.score >= 0.5) {
            content = scripted
        } else if let id = answer.recordID {
            content = "[replay] \(model) on prompt \(id): recorded outcome \(verdict) (score \(score))"
        } else {
            content = "[replay] \(model) on an unknown prompt: pseudo outcome \(verdict) (score \(score))"
        }
        var hash = FNV1a()
        hash.add(model)
        hash.add(answer.recordID ?? content)
        let total = answer.promptTokens + answer.completionTokens
        let json = """
            {"id":"chatcmpl-replay-\(String(hash.value, radix: 16))","object":"chat.completion","created":0,\
            "model":\(JSONText.quote(model)),"choices":[{"index":0,"message":{"role":"assistant","content":\(JSONText.quote(content))},\
            "finish_reason":"stop"}],"usage":{"prompt_tokens":\(answer.promptTokens),"completion_tokens":\(answer.completionTokens),\
            "total_tokens":\(total)},"replay":{"record_id":\(answer.recordID.map(JSONText.quote) ?? "null"),\
            "known":\(answer.known),"score":\(answer.score),"correct":\(answer.score >= 0.5),"cost_usd":\(answer.costUSD)}}
            """
        return Data(json.utf8)
    }

    private func error(_ status: Int, type: String, code: String, message: String) -> Reply {
        let json = "{\"error\":{\"message\":\(JSONText.quote(message)),\"type\":\"\(type)\",\"param\":null,\"code\":\"\(code)\"}}"
        return Reply(status: status, headers: [("Content-Type", "application/json")], body: Data(json.utf8), delay: .zero)
    }
}

extension SplitMix64 {
    /// Standard normal (Box–Muller).
    mutating func nextGaussian() -> Double {
        let u1 = max(unit(), 1e-300)
        let u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
