import Foundation

/// How the dispatcher retries, falls back and shares capacity between backends.
public struct DispatcherConfiguration: Sendable, Hashable {
    /// Requests in flight over all backends together. Default 256.
    public var maxInFlight: Int
    /// Largest share of `maxInFlight` one backend may hold, so a slow backend cannot starve the
    /// others. Default 0.5.
    public var maxBackendShare: Double
    public var retry: RetryPolicy
    public var breaker: CircuitBreakerConfiguration
    /// Most candidates tried for one request (the chosen model plus fallbacks). Default 4.
    public var maxModelsPerRequest: Int
    /// Completion tokens assumed when a request sets no `max_tokens`, for the tokens/min estimate. Default 256.
    public var defaultCompletionTokens: Int
    /// Largest response body accepted. Default 16 MiB.
    public var maxResponseBytes: Int
    /// Seed of the jitter generator; nil seeds from the system (tests pass one to be deterministic).
    public var seed: UInt64?
    /// How long a request whose candidates are all unavailable (circuits open) waits for one to let a
    /// probe through before it fails as `backend_unavailable`: a backend that restarts costs time, not
    /// lines. Zero (the default) fails at once; pipelines set `stages.dispatch.unavailable_wait_seconds`.
    public var unavailableWait: Duration
    /// The start-up check of every backend (`waitUntilReady`).
    public var readiness: ReadinessPolicy

    public init(
        maxInFlight: Int = 256, maxBackendShare: Double = 0.5, retry: RetryPolicy = RetryPolicy(),
        breaker: CircuitBreakerConfiguration = CircuitBreakerConfiguration(), maxModelsPerRequest: Int = 4,
        defaultCompletionTokens: Int = 256, maxResponseBytes: Int = 16 << 20, seed: UInt64? = nil,
        unavailableWait: Duration = .zero, readiness: ReadinessPolicy = ReadinessPolicy()
    ) {
        self.maxInFlight = maxInFlight
        self.maxBackendShare = maxBackendShare
        self.retry = retry
        self.breaker = breaker
        self.maxModelsPerRequest = maxModelsPerRequest
        self.defaultCompletionTokens = defaultCompletionTokens
        self.maxResponseBytes = maxResponseBytes
        self.seed = seed
        self.unavailableWait = unavailableWait
        self.readiness = readiness
    }
}

/// Exponential backoff with full jitter (AWS architecture blog): sleep a uniform random time in
/// `[0, min(maxDelay, baseDelay * 2^retry)]`, or at least what the server's `Retry-After` asks.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts on one backend before falling back to the next model. Default 3.
    public var maxAttemptsPerModel: Int
    /// Default 100 ms.
    public var baseDelay: Duration
    /// Default 5 s.
    public var maxDelay: Duration
    /// A `Retry-After` longer than this makes the dispatcher fall back at once instead of waiting. Default 30 s.
    public var maxRetryAfter: Duration

    public init(
        maxAttemptsPerModel: Int = 3, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5),
        maxRetryAfter: Duration = .seconds(30)
    ) {
        self.maxAttemptsPerModel = maxAttemptsPerModel
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }
}

/// Per-backend circuit breaker: after `failureThreshold` consecutive failures (5xx, timeouts,
/// connection errors; not 429) the backend is skipped for `cooldown`, then one probe request decides.
public struct CircuitBreakerConfiguration: Sendable, Hashable {
    /// Default 5.
    public var failureThreshold: Int
    /// Default 10 s.
    public var cooldown: Duration

    public init(failureThreshold: Int = 5, cooldown: Duration = .seconds(10)) {
        self.failureThreshold = failureThreshold
        self.cooldown = cooldown
    }
}
