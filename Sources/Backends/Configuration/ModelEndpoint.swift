import Foundation
import SwitchyardCore

/// One model of the pool and the OpenAI-compatible server that answers for it.
///
/// The pipeline maps each `models:` entry of pipeline.yaml onto one of these. The API key itself is
/// never stored here: only the name of the environment variable that holds it, read once when the
/// `Dispatcher` starts, so a configuration can be printed or logged safely.
public struct ModelEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Name of the model in the pool (what the router ranks and the result records).
    public var name: String
    /// Base URL of the OpenAI-compatible API, up to and including `/v1` (`http://127.0.0.1:8001/v1`).
    public var baseURL: String
    /// Model name the server expects in the request body; defaults to `name`.
    public var servedModel: String
    /// Extra HTTP headers sent with every request (never put secrets here: use `apiKeyEnv`).
    public var headers: [String: String]
    /// Environment variable holding the bearer token, or nil for servers without authentication.
    public var apiKeyEnv: String?
    /// Or a file holding it, readable by its owner alone (group- or world-readable files are refused).
    public var apiKeyFile: String?
    /// https: trust and client identity beyond the system defaults (nil: the system trust store, no client certificate).
    public var tls: BackendTLS?
    /// Price used to turn the backend's `usage` into the actual cost.
    public var price: ModelPrice
    public var limits: BackendLimits
    public var timeouts: BackendTimeouts

    public init(
        name: String,
        baseURL: String,
        servedModel: String? = nil,
        headers: [String: String] = [:],
        apiKeyEnv: String? = nil,
        apiKeyFile: String? = nil,
        tls: BackendTLS? = nil,
        price: ModelPrice,
        limits: BackendLimits = BackendLimits(),
        timeouts: BackendTimeouts = BackendTimeouts()
    ) {
        self.name = name
        self.baseURL = baseURL
        self.servedModel = servedModel ?? name
        self.headers = headers
        self.apiKeyEnv = apiKeyEnv
        self.apiKeyFile = apiKeyFile
        self.tls = tls
        self.price = price
        self.limits = limits
        self.timeouts = timeouts
    }

    /// The chat completions URL: `baseURL` + `/chat/completions`.
    public var chatCompletionsURL: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/chat/completions"
    }

    /// The model list URL: `baseURL` + `/models` (the readiness check).
    public var modelsURL: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/models"
    }

    /// Safe to log: header values are redacted and the key appears only by its variable name.
    public var description: String {
        let headerNames = headers.keys.sorted().map { "\($0): <redacted>" }.joined(separator: ", ")
        let key = apiKeyEnv.map { "$\($0)" } ?? apiKeyFile.map { "file \($0)" } ?? "none"
        return "ModelEndpoint(\(name) -> \(baseURL) as \(servedModel), key: \(key), headers: [\(headerNames)]\(tls.map { ", \($0)" } ?? ""))"
    }
}

/// Per-backend limits; `nil` means unlimited.
public struct BackendLimits: Sendable, Hashable {
    /// Requests in flight at once to this backend (also the connection pool size). Default 64.
    public var maxConcurrency: Int
    /// Requests started per minute. Default nil (unlimited).
    public var requestsPerMinute: Double?
    /// Tokens (prompt + completion, estimated before and corrected after) per minute. Default nil.
    public var tokensPerMinute: Double?
    /// How many seconds of the per-minute rates may be spent in one burst. Default 1 s, so an rpm of
    /// 6000 allows 100 requests at once and then 100 a second: any window of T seconds sees at most
    /// `rate * (T + burstSeconds)`.
    public var burstSeconds: Double

    public init(
        maxConcurrency: Int = 64, requestsPerMinute: Double? = nil, tokensPerMinute: Double? = nil,
        burstSeconds: Double = 1
    ) {
        self.maxConcurrency = maxConcurrency
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.burstSeconds = burstSeconds
    }
}

/// Timeouts of one backend.
///
/// `firstByte` and `total` are enforced per request. `connect` and the idle `read` timeout of the
/// response body belong to the shared HTTP client, which uses the largest values over all backends.
public struct BackendTimeouts: Sendable, Hashable {
    /// TCP connect. Default 5 s.
    public var connect: Duration
    /// From sending the request to the response head (LLMs think before they answer). Default 60 s.
    public var firstByte: Duration
    /// The whole attempt, head and body. Default 120 s.
    public var total: Duration

    public init(connect: Duration = .seconds(5), firstByte: Duration = .seconds(60), total: Duration = .seconds(120)) {
        self.connect = connect
        self.firstByte = firstByte
        self.total = total
    }
}

/// TLS settings of one https backend: a private CA and, for mutual TLS, a client certificate. Paths to
/// PEM files; the private key file must be readable by its owner alone.
public struct BackendTLS: Sendable, Hashable, CustomStringConvertible {
    /// CA certificate(s) trusted instead of the system trust store; nil keeps the system store.
    public var caFile: String?
    /// Client certificate (chain) presented when the server asks for one.
    public var certificateFile: String?
    /// The client certificate's private key.
    public var privateKeyFile: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, privateKeyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
    }

    public var description: String {
        "tls: ca \(caFile ?? "system"), client certificate \(certificateFile ?? "none")"
    }
}
