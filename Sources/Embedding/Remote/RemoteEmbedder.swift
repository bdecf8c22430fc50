import BlockingHTTP
import Foundation
import Logging

/// Embeddings from an OpenAI-compatible `POST {baseURL}/embeddings` server (OpenAI, vLLM, TEI,
/// llama.cpp, Ollama...), for when a bigger or shared embedding model should drive routing.
///
/// `embed` is synchronous (the `Embedder` protocol is): it waits on the calling thread for the HTTP
/// round trips, which AsyncHTTPClient runs on its event loop (`BlockingHTTPClient`). Call it from a
/// thread of its own (the profile stage's worker thread), or from async code through
/// `BlockingWork.run`, never directly on the cooperative pool. The API key is read once from
/// the environment variable named in the configuration and is never logged or put in an error.
/// Vectors are L2-normalised here, whatever the server returns.
public final class RemoteEmbedder: Embedder, Sendable {
    public struct Configuration: Sendable {
        /// API root including the version, e.g. `http://127.0.0.1:8080/v1`; `/embeddings` is appended.
        public var baseURL: URL
        /// `model` sent in each request.
        public var model: String
        /// Length of the vectors the model returns; responses of another length are an error.
        public var dimension: Int
        /// Name of the environment variable that holds the API key (nil: send no Authorization header).
        public var apiKeyEnvironmentVariable: String?
        /// Texts per request (default 128; OpenAI accepts up to 2,048).
        public var maxBatchSize: Int
        /// Per-request timeout in seconds (default 60).
        public var timeoutSeconds: Double

        public init(
            baseURL: URL, model: String, dimension: Int, apiKeyEnvironmentVariable: String? = nil,
            maxBatchSize: Int = 128, timeoutSeconds: Double = 60
        ) {
            self.baseURL = baseURL
            self.model = model
            self.dimension = dimension
            self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
            self.maxBatchSize = maxBatchSize
            self.timeoutSeconds = timeoutSeconds
        }
    }

    public let configuration: Configuration
    public var name: String { "remote-\(configuration.model)" }
    public var dimension: Int { configuration.dimension }

    private let apiKey: String?
    private let http: BlockingHTTPClient
    private let logger: Logger?

    /// - Parameter environment: where the API key is looked up (default: this process's environment).
    /// - Throws: `EmbeddingError.invalidConfiguration` when the key variable is named but unset, or
    ///   a size is not positive.
    public init(
        configuration: Configuration,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger? = nil
    ) throws {
        guard configuration.dimension > 0, configuration.maxBatchSize > 0 else {
            throw EmbeddingError.invalidConfiguration("remote embedder: dimension and maxBatchSize must be > 0")
        }
        if let variable = configuration.apiKeyEnvironmentVariable {
            guard let key = environment[variable], !key.isEmpty else {
                throw EmbeddingError.invalidConfiguration(
                    "remote embedder: environment variable \(variable) (the API key) is not set; export it or drop api_key_env")
            }
            apiKey = key
        } else {
            apiKey = nil
        }
        self.configuration = configuration
        guard configuration.timeoutSeconds > 0, configuration.timeoutSeconds.isFinite else {
            throw EmbeddingError.invalidConfiguration("remote embedder: timeoutSeconds must be > 0")
        }
        http = BlockingHTTPClient()
        self.logger = logger
    }

    /// Closes the HTTP connection pool now (dropping the embedder closes it too, without waiting).
    public func shutdown() async throws {
        try await http.shutdown()
    }

    public func embed(_ texts: [String]) throws -> [[Float]] {
        var result: [[Float]] = []
        result.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let end = min(start + configuration.maxBatchSize, texts.count)
            result.append(contentsOf: try request(Array(texts[start..<end])))
            start = end
        }
        return result
    }

    private struct RequestBody: Encodable {
        let model: String
        let input: [String]
    }

    private struct ResponseBody: Decodable {
        struct Item: Decodable {
            let embedding: [Float]
            let index: Int
        }
        let data: [Item]
    }

    private func request(_ texts: [String]) throws -> [[Float]] {
        let url = configuration.baseURL.appendingPathComponent("embeddings")
        var headers = [("Content-Type", "application/json")]
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
        let payload = try JSONEncoder().encode(RequestBody(model: configuration.model, input: texts))
        logger?.debug("remote embeddings request", metadata: ["url": "\(url)", "texts": "\(texts.count)"])

        let response: BlockingHTTPClient.Response
        do {
            response = try http.post(url: url, headers: headers, body: payload, timeout: .seconds(configuration.timeoutSeconds))
        } catch {
            throw EmbeddingError.remote("\(error)")
        }
        let (data, status) = (response.body, response.status)
        guard (200..<300).contains(status) else {
            let snippet = String(decoding: data.prefix(300), as: UTF8.self)
            let hint = status == 401 || status == 403
                ? " (check the API key in $\(configuration.apiKeyEnvironmentVariable ?? "<none configured>"))" : ""
            throw EmbeddingError.remote("HTTP \(status) from \(url)\(hint): \(snippet)")
        }
        let body: ResponseBody
        do {
            body = try JSONDecoder().decode(ResponseBody.self, from: data)
        } catch {
            throw EmbeddingError.remote("\(url) answered something that is not an embeddings response: \(error)")
        }
        guard body.data.count == texts.count else {
            throw EmbeddingError.remote("\(url) returned \(body.data.count) embeddings for \(texts.count) inputs")
        }
        var vectors = [[Float]](repeating: [], count: texts.count)
        for item in body.data {
            guard vectors.indices.contains(item.index), vectors[item.index].isEmpty else {
                throw EmbeddingError.remote("\(url) returned a missing or repeated index \(item.index)")
            }
            guard item.embedding.count == configuration.dimension else {
                throw EmbeddingError.remote(
                    "\(url) returned \(item.embedding.count)-d vectors, configured dimension is \(configuration.dimension)")
            }
            vectors[item.index] = Self.normalised(item.embedding)
        }
        return vectors
    }

    static func normalised(_ v: [Float]) -> [Float] {
        var norm: Float = 0
        for x in v { norm += x * x }
        guard norm > 0 else { return v }
        let inv = 1 / norm.squareRoot()
        return v.map { $0 * inv }
    }
}
