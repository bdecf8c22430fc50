import Foundation
import NIOSSL
import SwitchyardCore

/// Runtime state of one configured backend: its limits, breaker and prepared request headers.
final class Backend: Sendable {
    let endpoint: ModelEndpoint
    let url: String
    /// Headers of every request, the Authorization header included (never log these).
    let headers: [(String, String)]
    /// TLS settings of an https backend with its own CA or client certificate (nil: the client's defaults).
    let tls: TLSConfiguration?
    /// `scheme://host:port` for messages.
    let origin: String
    let concurrency: AsyncSemaphore
    let requestBucket: TokenBucket?
    let tokenBucket: TokenBucket?
    let breaker: CircuitBreaker
    let metrics: DispatchMetrics.PerModel

    init(
        endpoint: ModelEndpoint, apiKey: APIKey?, tls: TLSConfiguration?, origin: String, concurrency: Int,
        breaker: CircuitBreakerConfiguration, metrics: DispatchMetrics.PerModel
    ) {
        self.endpoint = endpoint
        self.tls = tls
        self.origin = origin
        url = endpoint.chatCompletionsURL
        var headers: [(String, String)] = [("Content-Type", "application/json"), ("Accept", "application/json")]
        for (name, value) in endpoint.headers.sorted(by: { $0.key < $1.key }) { headers.append((name, value)) }
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey.value)")) }
        self.headers = headers
        self.concurrency = AsyncSemaphore(permits: concurrency)
        requestBucket = endpoint.limits.requestsPerMinute.map {
            TokenBucket(perMinute: $0, burstSeconds: endpoint.limits.burstSeconds)
        }
        tokenBucket = endpoint.limits.tokensPerMinute.map {
            TokenBucket(perMinute: $0, burstSeconds: endpoint.limits.burstSeconds)
        }
        self.breaker = CircuitBreaker(configuration: breaker)
        self.metrics = metrics
    }

    /// Waits for the rate limits (requests/min and estimated tokens/min), then returns the tokens reserved.
    func waitForRateLimits(estimatedTokens: Double) async throws -> Double {
        var wait = requestBucket?.reserve(1) ?? .zero
        var reserved = 0.0
        if let tokenBucket {
            reserved = min(estimatedTokens, tokenBucket.capacity)
            wait = max(wait, tokenBucket.reserve(reserved))
        }
        if wait > .zero { try await Task.sleep(for: wait) }
        return reserved
    }

    /// Corrects the tokens/min bucket once the actual usage is known.
    func settleTokens(reserved: Double, actual: Double) {
        guard let tokenBucket, reserved != actual else { return }
        tokenBucket.adjust(by: reserved - actual)
    }
}

extension BackendTLS {
    /// The client TLS configuration: the CA file (instead of the system trust store) and the client
    /// certificate and key, all loaded now so a bad file fails at start. The key file must be owner-only.
    func configuration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            let roots = try NIOSSLCertificate.fromPEMFile(caFile)
            guard !roots.isEmpty else { throw TLSFileError("\(caFile) holds no PEM certificate") }
            tls.trustRoots = .certificates(roots)
        }
        if let certificateFile, let privateKeyFile {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            guard !chain.isEmpty else { throw TLSFileError("\(certificateFile) holds no PEM certificate") }
            tls.certificateChain = chain.map { .certificate($0) }
            let keyBytes = try SecretFile.read(privateKeyFile)
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyBytes), format: .pem))
        }
        return tls
    }
}

struct TLSFileError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
