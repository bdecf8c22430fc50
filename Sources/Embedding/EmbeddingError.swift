/// Everything the Embedding module can throw. Each message says what to do next.
public enum EmbeddingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A configuration value is out of range.
    case invalidConfiguration(String)
    /// A model file is missing; the message says how to fetch it.
    case modelFileMissing(path: String)
    /// A model file exists but is unreadable, truncated or not what the model needs.
    case badModelFile(path: String, reason: String)
    /// A remote embedding server failed or answered something unusable.
    case remote(String)
    /// A shared library the computation needs (OpenBLAS) could not be opened.
    case libraryUnavailable(name: String, reason: String)

    /// How to get the model files; repeated in every model-file error.
    public static let fetchHint = "fetch the model with `scripts/setup` or `bash scripts/fetch-minilm.sh` (files go to .models/all-MiniLM-L6-v2)"

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            return message
        case .modelFileMissing(let path):
            return "model file not found at \(path): \(EmbeddingError.fetchHint)"
        case .badModelFile(let path, let reason):
            return "model file \(path) is unusable (\(reason)): \(EmbeddingError.fetchHint) to re-fetch a verified copy"
        case .remote(let message):
            return "remote embedder: \(message)"
        case .libraryUnavailable(let name, let reason):
            return "\(name) could not be opened (\(reason)): install it with `scripts/setup` or `apt-get install libopenblas0-pthread`"
        }
    }
}
