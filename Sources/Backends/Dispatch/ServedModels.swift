import Foundation

/// The model names a backend answers to, read from its `GET /v1/models`.
///
/// Two shapes are in use: OpenAI's (and vLLM's, Ollama's) `{"data": [{"id": "m"}, ...]}`, and llama.cpp's
/// `llama-server`, which lists one `data[].id` with its other names under `data[].aliases` and the same
/// models again as `{"models": [{"name", "model"}]}`. Every name found in either counts.
public struct ServedModels: Sendable, Equatable {
    public var names: Set<String>

    public init(names: Set<String>) { self.names = names }

    /// The names in a `/v1/models` body; nil when the body is not one of the known shapes.
    public static func parse(_ body: Data) -> ServedModels? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
        var names: Set<String> = []
        var recognised = false
        if let data = object["data"] as? [[String: Any]] {
            recognised = true
            for entry in data {
                if let id = entry["id"] as? String { names.insert(id) }
                if let aliases = entry["aliases"] as? [String] { names.formUnion(aliases) }
            }
        }
        if let models = object["models"] as? [[String: Any]] {
            recognised = true
            for entry in models {
                for key in ["name", "model", "id"] {
                    if let name = entry[key] as? String { names.insert(name) }
                }
            }
        }
        return recognised ? ServedModels(names: names) : nil
    }

    public func serves(_ model: String) -> Bool { names.contains(model) }
}

/// How the dispatcher checks its backends before the first request (`Dispatcher.waitUntilReady`).
public struct ReadinessPolicy: Sendable, Hashable {
    /// How long to wait for every backend to answer `GET /v1/models`. Default 60 s.
    public var timeout: Duration
    /// Pause between two checks of a backend that is not up yet. Default 250 ms.
    public var interval: Duration
    /// Timeout of one check. Default 5 s.
    public var requestTimeout: Duration

    public init(timeout: Duration = .seconds(60), interval: Duration = .milliseconds(250), requestTimeout: Duration = .seconds(5)) {
        self.timeout = timeout
        self.interval = interval
        self.requestTimeout = requestTimeout
    }
}
