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
    /// A backend did not answer `GET /v1/models` in time (`waited`: seconds; `last`: what the last try got).
    case notReady(url: String, models: [String], waited: Double, last: String)
    /// A backend answered but does not serve the model configured for it.
    case modelNotServed(model: String, servedModel: String, url: String, available: [String])
    /// The TLS handshake with a backend failed when checked (its certificate does not verify).
    case tlsHandshake(url: String, models: [String], detail: String)
    /// A backend refused the API key (or the lack of one) when checked.
    case unauthorized(url: String, models: [String], status: Int)

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
        case .notReady(let url, let models, let waited, let last):
            return "backend \(url) (models \(models.joined(separator: ", "))) did not answer GET /models within \(String(format: "%.0f", waited)) s (last: \(last)): start it, check backend.url, or raise stages.dispatch.ready_timeout_seconds"
        case .modelNotServed(let model, let servedModel, let url, let available):
            let list = available.isEmpty ? "none" : available.sorted().prefix(20).joined(separator: ", ")
            return "model \(model): the backend at \(url) does not serve '\(servedModel)' (it serves: \(list)): load the model there, or fix backend.model in pipeline.yaml"
        case .tlsHandshake(let url, let models, let detail):
            return "backend \(url) (models \(models.joined(separator: ", "))): TLS handshake failed (\(detail)): set backend.ca_file to the CA that signed its certificate (the system trust store is used without it), check the URL's host name, or set backend.client_cert/client_key if it asks for a client certificate"
        case .unauthorized(let url, let models, let status):
            return "backend \(url) (models \(models.joined(separator: ", "))) refused the API key with HTTP \(status): check api_key_env and the key it names"
        }
    }
}
