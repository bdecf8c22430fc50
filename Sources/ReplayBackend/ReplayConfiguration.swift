import Foundation

/// Knobs of the replay backend: where it listens, how slow it is and how it fails.
public struct ReplayConfiguration: Sendable, Hashable {
    public enum ErrorKind: String, Sendable, Hashable, CaseIterable {
        /// 429 with a `Retry-After` header.
        case rateLimited = "429"
        /// 500 with an OpenAI-style error body.
        case serverError = "500"
        /// Hangs for `hangSeconds`, then answers 504 (clients should time out first).
        case timeout
    }

    /// Default 127.0.0.1.
    public var host: String
    /// 0 picks a free port (see `ReplayServer`'s `onRunning`).
    public var port: Int
    /// Median added latency in milliseconds. Default 0.
    public var latencyP50Ms: Double
    /// 99th percentile added latency (log-normal between p50 and p99); nil means always p50.
    public var latencyP99Ms: Double?
    /// Fraction of chat requests that fail with `errorKind`. Default 0.
    public var errorRate: Double
    public var errorKind: ErrorKind
    /// Models that answer 503 to everything.
    public var downModels: Set<String>
    /// Models `GET /v1/models` still lists but that answer 404 `model_not_found` (unloaded after start).
    public var unloadedModels: Set<String>
    /// The shape of `GET /v1/models`: OpenAI's (`data[].id`) or llama.cpp's (one `data[]` entry whose
    /// `aliases` name the others, and `models[]`). Default OpenAI.
    public var modelsListShape: ModelsListShape

    /// How `GET /v1/models` lists the models.
    public enum ModelsListShape: String, Sendable, Hashable, CaseIterable {
        case openAI = "openai"
        case llamaCpp = "llama-cpp"
    }
    /// Seed of the latency and error draws. Default 1.
    public var seed: UInt64
    /// `Retry-After` sent with injected 429s. Default 1 s.
    public var retryAfterSeconds: Int
    /// How long an injected timeout hangs. Default 30 s.
    public var hangSeconds: Double
    /// Scales the token counts in `usage` (and so the billed cost): 1.3 bills 30 % more than the data
    /// recorded, to test budgets against a cost model that is too optimistic. Default 1.
    public var costMultiplier: Double

    public init(
        host: String = "127.0.0.1", port: Int = 0, latencyP50Ms: Double = 0, latencyP99Ms: Double? = nil,
        errorRate: Double = 0, errorKind: ErrorKind = .serverError, downModels: Set<String> = [], seed: UInt64 = 1,
        retryAfterSeconds: Int = 1, hangSeconds: Double = 30, costMultiplier: Double = 1,
        unloadedModels: Set<String> = [], modelsListShape: ModelsListShape = .openAI
    ) {
        self.host = host
        self.port = port
        self.latencyP50Ms = latencyP50Ms
        self.latencyP99Ms = latencyP99Ms
        self.errorRate = errorRate
        self.errorKind = errorKind
        self.downModels = downModels
        self.seed = seed
        self.retryAfterSeconds = retryAfterSeconds
        self.hangSeconds = hangSeconds
        self.costMultiplier = costMultiplier
        self.unloadedModels = unloadedModels
        self.modelsListShape = modelsListShape
    }
}
