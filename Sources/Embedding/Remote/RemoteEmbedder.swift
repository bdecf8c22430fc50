import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

/// Embeddings from an OpenAI-compatible `POST {baseURL}/embeddings` server (OpenAI, vLLM, TEI,
/// llama.cpp, Ollama...), for when a bigger or shared embedding model should drive routing.
///
/// `embed` is synchronous (the `Embedder` protocol is) and blocks the calling thread for the HTTP
/// round trips; call it off the cooperative pool for long batches. The API key is read once from
/// the environment variable named in the configuration and is never logged or put in an error.
/// Vectors are L2-normalised here, whatever the server returns.
public final class RemoteEmbedder: Embedder, @unchecked Sendable {
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
    private let session: URLSession
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
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = configuration.timeoutSeconds
        session = URLSession(configuration: sessionConfiguration)
        self.logger = logger
    }

    deinit { session.finishTasksAndInvalidate() }

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
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONEncoder().encode(RequestBody(model: configuration.model, input: texts))
        logger?.debug("remote embeddings request", metadata: ["url": "\(url)", "texts": "\(texts.count)"])

        let (data, status) = try send(request, url: url)
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

    /// Blocking round trip; the thread waits on a semaphore while URLSession works on its own queue.
    private func send(_ request: URLRequest, url: URL) throws -> (Data, Int) {
        final class Box: @unchecked Sendable {
            var result: Result<(Data, Int), any Error> = .failure(EmbeddingError.remote("no response"))
        }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { data, response, error in
            if let error {
                box.result = .failure(EmbeddingError.remote("request to \(url) failed: \(error.localizedDescription); is the server running?"))
            } else if let http = response as? HTTPURLResponse {
                box.result = .success((data ?? Data(), http.statusCode))
            } else {
                box.result = .failure(EmbeddingError.remote("\(url) gave no HTTP response"))
            }
            done.signal()
        }.resume()
        done.wait()
        return try box.result.get()
    }

    static func normalised(_ v: [Float]) -> [Float] {
        var norm: Float = 0
        for x in v { norm += x * x }
        guard norm > 0 else { return v }
        let inv = 1 / norm.squareRoot()
        return v.map { $0 * inv }
    }
}
