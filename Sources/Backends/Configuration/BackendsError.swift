/// Configuration errors found when the dispatcher starts; each says what to fix.
public enum BackendsError: Error, Sendable, Equatable, CustomStringConvertible {
    case noEndpoints
    case duplicateModel(String)
    case invalidURL(model: String, url: String)
    case missingAPIKey(model: String, variable: String)
    case invalidLimit(model: String, reason: String)
    /// The key file cannot be used (missing, readable by others, empty).
    case apiKeyFile(model: String, reason: String)
    /// The TLS files of an https backend cannot be loaded.
    case tls(model: String, reason: String)

    public var description: String {
        switch self {
        case .noEndpoints:
            return "no model backends configured: add at least one entry under `models:` with a `backend.url`"
        case .duplicateModel(let model):
            return "model \(model) is configured twice: give each pool model one backend"
        case .invalidURL(let model, let url):
            return "model \(model): backend URL '\(url)' is not an http(s) URL like http://127.0.0.1:8001/v1"
        case .missingAPIKey(let model, let variable):
            return "model \(model): environment variable \(variable) is not set: export it, or remove api_key_env for a server without authentication"
        case .invalidLimit(let model, let reason):
            return "model \(model): \(reason)"
        case .apiKeyFile(let model, let reason):
            return "model \(model): API key file: \(reason)"
        case .tls(let model, let reason):
            return "model \(model): TLS: \(reason)"
        }
    }
}
