import Foundation
import Logging
import NIOCore
import NIOSSL
import SwitchyardCore

/// Sends each request to the model the router chose, within per-backend limits, retrying
/// transient failures and falling back along the router's ranking; never loses a request:
/// `dispatch` always returns an outcome, with a response or with an error.
///
/// One instance serves the whole pool and is safe to call from any number of tasks at once.
/// Call `shutdown()` when done.
public final class Dispatcher: Sendable {
    public let configuration: DispatcherConfiguration
    private let backends: [String: Backend]
    private let client: OpenAIClient
    private let inFlight: AsyncSemaphore
    private let backoff: Backoff
    private let metrics: DispatchMetrics
    private let logger: Logger
    /// Holds every API key read here: whatever leaves the dispatcher (response bodies, error messages,
    /// fallback reasons, log lines) passes through it, so a backend that echoes a key cannot leak it.
    private let redactor: Redactor

    /// Builds the dispatcher and its shared HTTP client. API keys are read here from `environment`
    /// (the process environment by default) or from owner-only files, registered with `redactor` (pass
    /// the one the process's log handler uses) and never logged.
    public init(
        endpoints: [ModelEndpoint],
        configuration: DispatcherConfiguration = DispatcherConfiguration(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        redactor: Redactor = Redactor(),
        logger: Logger
    ) throws(BackendsError) {
        guard !endpoints.isEmpty else { throw .noEndpoints }
        self.configuration = configuration
        self.logger = logger
        self.redactor = redactor
        let metrics = DispatchMetrics(models: endpoints.map(\.name))
        self.metrics = metrics
        let globalLimit = max(1, configuration.maxInFlight)
        let shareLimit = max(1, Int((Double(globalLimit) * configuration.maxBackendShare).rounded(.up)))
        var backends: [String: Backend] = [:]
        var perHost: [String: Int] = [:]
        var connect = Duration.zero
        var read = Duration.zero
        for endpoint in endpoints {
            guard backends[endpoint.name] == nil else { throw .duplicateModel(endpoint.name) }
            guard let url = URL(string: endpoint.baseURL), let scheme = url.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = url.host
            else { throw .invalidURL(model: endpoint.name, url: endpoint.baseURL) }
            guard endpoint.limits.maxConcurrency >= 1 else {
                throw .invalidLimit(model: endpoint.name, reason: "limits.concurrency must be at least 1")
            }
            var apiKey: APIKey?
            if let variable = endpoint.apiKeyEnv, !variable.isEmpty {
                guard let value = environment[variable], !value.isEmpty else {
                    throw .missingAPIKey(model: endpoint.name, variable: variable)
                }
                apiKey = APIKey(value)
            } else if let file = endpoint.apiKeyFile {
                do {
                    apiKey = APIKey(try SecretFile.readLine(file))
                } catch {
                    throw .apiKeyFile(model: endpoint.name, reason: "\(error)")
                }
            }
            if let apiKey { redactor.register(apiKey.value) }
            var tls: TLSConfiguration?
            if let settings = endpoint.tls {
                guard scheme == "https" else { throw .tls(model: endpoint.name, reason: "ca_file and client certificates need an https:// URL") }
                do {
                    tls = try settings.configuration()
                } catch {
                    throw .tls(model: endpoint.name, reason: "\(error)")
                }
            }
            let concurrency = min(endpoint.limits.maxConcurrency, shareLimit)
            let origin = "\(scheme)://\(host):\(url.port ?? (scheme == "https" ? 443 : 80))"
            backends[endpoint.name] = Backend(
                endpoint: endpoint, apiKey: apiKey, tls: tls, origin: origin, concurrency: concurrency,
                breaker: configuration.breaker, metrics: metrics.perModel[endpoint.name] ?? .init(model: endpoint.name)
            )
            perHost["\(scheme)://\(host):\(url.port ?? -1)", default: 0] += concurrency
            connect = max(connect, endpoint.timeouts.connect)
            read = max(read, endpoint.timeouts.firstByte, endpoint.timeouts.total)
        }
        self.backends = backends
        inFlight = AsyncSemaphore(permits: globalLimit)
        backoff = Backoff(policy: configuration.retry, seed: configuration.seed)
        client = OpenAIClient(
            maxConnectionsPerHost: min(globalLimit, perHost.values.max() ?? 1),
            connectTimeout: connect, readTimeout: read, maxResponseBytes: configuration.maxResponseBytes
        )
        for endpoint in endpoints.sorted(by: { $0.name < $1.name }) {
            // Never the headers or the key: only the variable that names it.
            logger.debug("backend configured", metadata: [
                "model": "\(endpoint.name)", "url": "\(endpoint.baseURL)", "served_model": "\(endpoint.servedModel)",
                "api_key_env": "\(endpoint.apiKeyEnv ?? "none")",
            ])
        }
    }

    /// Checks every backend before the first request: each must answer `GET /models` (retried until
    /// `configuration.readiness.timeout`: a server still starting or loading its model is waited for) and
    /// list the model configured for it (`servedModel`, in either response shape: see `ServedModels`).
    /// Backends sharing a URL and TLS settings are checked once. A server without `/models` (404) is taken
    /// as ready, with a warning, since it cannot say what it serves. A certificate that does not verify stops
    /// the start at once, saying what to set.
    public func waitUntilReady() async throws(BackendsError) {
        let policy = configuration.readiness
        let deadline = ContinuousClock.now + policy.timeout
        var byURL: [ReadinessKey: [Backend]] = [:]
        for backend in backends.values {
            byURL[ReadinessKey(url: backend.endpoint.modelsURL, tls: backend.endpoint.tls), default: []].append(backend)
        }
        let client = self.client
        let logger = self.logger
        let checks: [(ReadinessKey, Result<ServedModels?, BackendsError>)] = await withTaskGroup(of: (ReadinessKey, Result<ServedModels?, BackendsError>).self) { group in
            for (key, members) in byURL {
                let headers = members[0].headers
                let tls = members[0].tls
                let models = members.map(\.endpoint.name).sorted()
                group.addTask {
                    (key, await Self.check(url: key.url, models: models, headers: headers, tls: tls, client: client, policy: policy,
                                           deadline: deadline, logger: logger))
                }
            }
            var results: [(ReadinessKey, Result<ServedModels?, BackendsError>)] = []
            for await result in group { results.append(result) }
            return results
        }
        for (key, result) in checks.sorted(by: { $0.0.order < $1.0.order }) {
            let served = try result.get()
            for backend in (byURL[key] ?? []).sorted(by: { $0.endpoint.name < $1.endpoint.name }) {
                if let served, !served.serves(backend.endpoint.servedModel) {
                    backend.metrics.ready.record(0)
                    throw .modelNotServed(model: backend.endpoint.name, servedModel: backend.endpoint.servedModel,
                                          url: backend.endpoint.baseURL, available: Array(served.names))
                }
                backend.metrics.ready.record(1)
            }
        }
        logger.info("backends ready", metadata: ["backends": "\(byURL.count)", "models": "\(backends.count)"])
    }

    /// One backend URL's check, retried until it answers or `deadline`: what it serves (nil: it cannot say).
    private static func check(
        url: String, models: [String], headers: [(String, String)], tls: TLSConfiguration?, client: OpenAIClient, policy: ReadinessPolicy,
        deadline: ContinuousClock.Instant, logger: Logger
    ) async -> Result<ServedModels?, BackendsError> {
        let started = ContinuousClock.now
        var last = "no answer yet"
        var announced = false
        while true {
            let result = await client.get(url: url, headers: headers, deadline: .now() + TimeAmount(policy.requestTimeout), tls: tls, logger: logger)
            switch result {
            case .response(let status, let body, _) where (200..<300).contains(status):
                guard let served = ServedModels.parse(body) else {
                    logger.warning("backend's model list has an unknown shape: not checking which models it serves", metadata: ["url": "\(url)"])
                    return .success(nil)
                }
                return .success(served)
            case .response(let status, _, _) where status == 404 || status == 405:
                logger.warning("backend has no model list (GET /models): not checking which models it serves", metadata: ["url": "\(url)", "status": "\(status)"])
                return .success(nil)
            case .response(let status, _, _) where status == 401 || status == 403:
                return .failure(.unauthorized(url: url, models: models, status: status))
            case .response(let status, let body, _):
                last = "HTTP \(status): \(BackendErrorMessage.extract(from: body))"
            case .timeout(let detail):
                last = "timeout (\(detail))"
            case .connectionError(let detail):
                last = "connection error (\(detail))"
            case .tlsFailure(let detail):
                // A certificate that does not verify will not start to: stop now, saying what to fix.
                return .failure(.tlsHandshake(url: url, models: models, detail: detail))
            }
            let now = ContinuousClock.now
            guard now < deadline, !Task.isCancelled else {
                return .failure(.notReady(url: url, models: models, waited: (now - started).seconds, last: last))
            }
            if !announced {
                logger.info("waiting for backend", metadata: ["url": "\(url)", "last": "\(last)"])
                announced = true
            }
            try? await Task.sleep(for: min(policy.interval, deadline - now))
        }
    }

    /// Closes pooled connections. Call once, after the last `dispatch` returned.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// The configured pool models, sorted.
    public var models: [String] { backends.keys.sorted() }

    /// Models whose circuit breaker is open right now: the score stage should rank around them.
    public func unavailableModels() -> Set<String> {
        let now = ContinuousClock.now
        return Set(backends.filter { $0.value.breaker.isUnavailable(now: now) }.keys)
    }

    /// Sends one request: the first candidate, then the next ones after retries run out or when a
    /// breaker is open. Never throws; every failure is an outcome with an `error`. No API key survives
    /// in the outcome, even when a backend echoed one back.
    public func dispatch(_ request: DispatchRequest) async -> DispatchOutcome {
        var outcome = await dispatchUnredacted(request)
        if !redactor.isEmpty {
            if let message = outcome.error?.message { outcome.error?.message = redactor.redact(message) }
            for index in outcome.fallbacks.indices { outcome.fallbacks[index].reason = redactor.redact(outcome.fallbacks[index].reason) }
        }
        return outcome
    }

    private func dispatchUnredacted(_ request: DispatchRequest) async -> DispatchOutcome {
        var logger = self.logger
        logger[metadataKey: "request_id"] = "\(request.requestID)"
        var outcome = DispatchOutcome(requestID: request.requestID)

        let body: ChatBody
        if let layout = request.layout {
            body = ChatBody(trusted: request.body, layout: layout, defaultCompletionTokens: configuration.defaultCompletionTokens)
        } else {
            do {
                body = try ChatBody(json: request.body, defaultCompletionTokens: configuration.defaultCompletionTokens)
            } catch {
                return fail(&outcome, DispatchError(code: .invalidField, message: "\(error)"))
            }
        }
        guard !request.candidates.isEmpty else {
            return fail(&outcome, DispatchError(code: .noEligibleModel, message: "no candidate model given for this request"))
        }

        var lastError: DispatchError?
        let deadline = ContinuousClock.now + configuration.unavailableWait
        while true {
            var tried = 0
            // True while every model tried was skipped or lost because its backend is unavailable (circuit
            // open): then waiting for a probe can still save the line.
            var onlyUnavailable = true
            for model in request.candidates {
                guard tried < configuration.maxModelsPerRequest else { break }
                guard let backend = backends[model] else {
                    if !outcome.fallbacks.contains(where: { $0.model == model }) {
                        outcome.fallbacks.append(Fallback(model: model, reason: "no backend configured for this model"))
                    }
                    lastError = lastError ?? DispatchError(code: .unknownModel, message: "model \(model) has no backend in the pool configuration")
                    continue
                }
                tried += 1
                switch await attempt(backend, body: body, outcome: &outcome, logger: logger) {
                case .answered:
                    backend.metrics.succeeded.increment()
                    return outcome
                case .failed(let error):
                    return fail(&outcome, error)
                case .gaveUp(let reason, let error):
                    if let last = outcome.fallbacks.last, last.model == model {
                        outcome.fallbacks[outcome.fallbacks.count - 1].reason = reason
                    } else {
                        outcome.fallbacks.append(Fallback(model: model, reason: reason))
                    }
                    backend.metrics.fallbacks.increment()
                    lastError = error
                    if error.code != .backendUnavailable { onlyUnavailable = false }
                    logger.debug("falling back", metadata: ["model": "\(model)", "reason": "\(reason)"])
                }
            }
            guard tried > 0, onlyUnavailable, ContinuousClock.now < deadline else { break }
            guard await waitForAvailableBackend(request, until: deadline, logger: logger) else { break }
        }
        let reasons = outcome.fallbacks.map { "\($0.model): \($0.reason)" }.joined(separator: "; ")
        let error = DispatchError(
            code: lastError?.code ?? .noEligibleModel,
            message: "no candidate model answered (\(reasons))"
        )
        return fail(&outcome, error)
    }

    /// Waits until one of `request`'s backends would let a request through (its circuit's cooldown passed,
    /// so the next attempt is the half-open probe, or another request's probe closed it), calling
    /// `keepAlive` about every second. False when `deadline` came first or the task was cancelled.
    private func waitForAvailableBackend(_ request: DispatchRequest, until deadline: ContinuousClock.Instant, logger: Logger) async -> Bool {
        let candidates = request.candidates.compactMap { backends[$0] }.prefix(configuration.maxModelsPerRequest)
        guard !candidates.isEmpty else { return false }
        logger.debug("every backend of the request is unavailable: waiting for a probe", metadata: [
            "models": "\(candidates.map(\.endpoint.name).joined(separator: ","))",
        ])
        var lastKeepAlive = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let now = ContinuousClock.now
            if candidates.contains(where: { !$0.breaker.isUnavailable(now: now) }) { return true }
            if now - lastKeepAlive >= .seconds(1) {
                request.keepAlive()
                lastKeepAlive = now
            }
            do {
                try await Task.sleep(for: min(.milliseconds(50), deadline - now))
            } catch {
                return false
            }
        }
        return false
    }

    private func fail(_ outcome: inout DispatchOutcome, _ error: DispatchError) -> DispatchOutcome {
        outcome.error = error
        metrics.errors[error.code]?.increment()
        if let model = outcome.model, let backend = backends[model] {
            backend.metrics.failed.increment()
        } else {
            metrics.unroutedFailures.increment()
        }
        return outcome
    }

    private enum ModelResult {
        case answered
        /// The request itself is wrong (non-retryable 4xx, cancelled): no other model would do better.
        case failed(DispatchError)
        /// This model could not answer: try the next one.
        case gaveUp(reason: String, error: DispatchError)
    }

    /// What one attempt tells the backend's breaker. A probe that ends without a verdict (cancelled, 429,
    /// another 4xx, a TLS failure) lets the next request probe instead.
    private enum BreakerVerdict {
        case success, failure, trip, none
    }

    /// How one attempt ended: with this model's result, or with a failure worth another attempt.
    private enum AttemptEnd {
        case finished(ModelResult)
        case retryable(description: String, code: ErrorCode, retryAfter: Duration?)
    }

    /// Tries one backend up to `maxAttemptsPerModel` times: admission by the breaker, one attempt, the
    /// breaker told what the attempt showed, then either this model's result or a backoff and another try.
    private func attempt(
        _ backend: Backend, body: ChatBody, outcome: inout DispatchOutcome, logger: Logger
    ) async -> ModelResult {
        let model = backend.endpoint.name
        let payload = body.encoded(servedModel: backend.endpoint.servedModel)
        let policy = configuration.retry
        let attempts = max(1, policy.maxAttemptsPerModel)
        var lastDescription = ""
        var lastCode = ErrorCode.maxAttemptsExceeded
        for attemptIndex in 0..<attempts {
            let admission = backend.breaker.admit()
            if admission == .rejected {
                let reason = attemptIndex == 0
                    ? "circuit open: \(model) failed repeatedly and is cooling down"
                    : "circuit opened after: \(lastDescription)"
                return .gaveUp(reason: reason, error: DispatchError(code: .backendUnavailable, message: reason))
            }
            let (end, verdict) = await attemptOnce(backend, body: body, payload: payload, outcome: &outcome, logger: logger)
            tell(backend.breaker, verdict, probe: admission == .probe)
            let description: String, code: ErrorCode, retryAfter: Duration?
            switch end {
            case .finished(let result): return result
            case .retryable(let why, let errorCode, let after): (description, code, retryAfter) = (why, errorCode, after)
            }
            lastDescription = description
            lastCode = code
            logger.debug("attempt failed", metadata: ["model": "\(model)", "attempt": "\(attemptIndex + 1)", "cause": "\(description)"])
            guard attemptIndex + 1 < attempts else { break }
            if let retryAfter, retryAfter > policy.maxRetryAfter {
                let reason = "Retry-After \(retryAfter.seconds) s exceeds the \(policy.maxRetryAfter.seconds) s limit (\(description))"
                return .gaveUp(reason: reason, error: DispatchError(code: code, message: reason))
            }
            if backend.breaker.isUnavailable() {
                let reason = "circuit opened after: \(description)"
                return .gaveUp(reason: reason, error: DispatchError(code: .backendUnavailable, message: reason))
            }
            backend.metrics.retries.increment()
            do {
                try await Task.sleep(for: backoff.delay(retry: attemptIndex, retryAfter: retryAfter))
            } catch {
                return .failed(DispatchError(code: .internalError, message: "dispatch cancelled during retry backoff"))
            }
        }
        let reason = "\(attempts) attempt\(attempts == 1 ? "" : "s") failed, last: \(lastDescription)"
        return .gaveUp(reason: reason, error: DispatchError(code: lastCode, message: "\(model): \(reason)"))
    }

    /// The one place an attempt's verdict reaches the breaker.
    private func tell(_ breaker: CircuitBreaker, _ verdict: BreakerVerdict, probe: Bool) {
        switch verdict {
        case .success: breaker.recordSuccess()
        case .failure: breaker.recordFailure()
        case .trip: breaker.trip()
        case .none: if probe { breaker.releaseProbe() }
        }
    }

    /// One attempt: the limits, the request, and what its answer means.
    private func attemptOnce(
        _ backend: Backend, body: ChatBody, payload: Data, outcome: inout DispatchOutcome, logger: Logger
    ) async -> (AttemptEnd, BreakerVerdict) {
        let reserved: Double
        switch await acquireLimits(backend, estimatedTokens: body.estimatedTokens) {
        case .success(let tokens): reserved = tokens
        case .failure(let error): return (.finished(.failed(error)), .none)
        }
        let (result, latency) = await send(payload, to: backend, logger: logger)
        outcome.model = backend.endpoint.name
        return interpret(result, latency: latency, reservedTokens: reserved, backend: backend, outcome: &outcome, logger: logger)
    }

    /// Waits for the rate buckets, then this backend's share, then the global in-flight budget. Returns the
    /// tokens reserved in the token bucket (settled against the usage the answer reports).
    private func acquireLimits(_ backend: Backend, estimatedTokens: Double) async -> Result<Double, DispatchError> {
        let reserved: Double
        do {
            reserved = try await backend.waitForRateLimits(estimatedTokens: estimatedTokens)
            try await backend.concurrency.acquire()
        } catch {
            return .failure(DispatchError(code: .internalError, message: "dispatch cancelled while waiting for \(backend.endpoint.name)'s limits"))
        }
        do {
            try await inFlight.acquire()
        } catch {
            backend.concurrency.release()
            return .failure(DispatchError(code: .internalError, message: "dispatch cancelled while waiting for an in-flight slot"))
        }
        return .success(reserved)
    }

    /// Posts one request with the slots `acquireLimits` took, then gives them back.
    private func send(_ payload: Data, to backend: Backend, logger: Logger) async -> (AttemptResult, Duration) {
        metrics.inFlight.increment()
        let headTimeout = min(backend.endpoint.timeouts.firstByte, backend.endpoint.timeouts.total)
        let started = ContinuousClock.now
        let result = await client.post(
            url: backend.url, body: payload, headers: backend.headers,
            headDeadline: .now() + TimeAmount(headTimeout), tls: backend.tls, logger: logger
        )
        let latency = ContinuousClock.now - started
        inFlight.release()
        backend.concurrency.release()
        metrics.inFlight.decrement()
        backend.metrics.attempts.increment()
        backend.metrics.latency.recordNanoseconds(latency.nanoseconds)
        return (result, latency)
    }

    /// What an attempt's result means for this request and for the backend's breaker.
    private func interpret(
        _ result: AttemptResult, latency: Duration, reservedTokens reserved: Double, backend: Backend,
        outcome: inout DispatchOutcome, logger: Logger
    ) -> (AttemptEnd, BreakerVerdict) {
        let model = backend.endpoint.name
        switch result {
        case .response(let status, let data, _) where (200..<300).contains(status):
            outcome.attempts.append(AttemptRecord(model: model, statusCode: status, latencySeconds: latency.seconds, result: "ok"))
            recordAnswer(status: status, data: data, reservedTokens: reserved, backend: backend, outcome: &outcome, logger: logger)
            return (.finished(.answered), .success)

        case .response(let status, let data, let retryAfter):
            outcome.attempts.append(AttemptRecord(model: model, statusCode: status, latencySeconds: latency.seconds, result: "http_\(status)"))
            outcome.statusCode = status
            let message = redactor.redact(BackendErrorMessage.extract(from: data))
            let description = "HTTP \(status): \(message)"
            switch status {
            case 429:
                return (.retryable(description: description, code: .maxAttemptsExceeded, retryAfter: retryAfter), .none)
            case 408, 500...599:
                return (.retryable(description: description, code: .maxAttemptsExceeded, retryAfter: retryAfter), .failure)
            case 404:
                // The backend does not serve this model (unloaded, or never there): another model may
                // answer; until the cooldown passes and a probe checks again, skip this one.
                let error = DispatchError(code: .backendUnavailable, message: "\(model) answered HTTP 404: \(message)")
                return (.finished(.gaveUp(reason: description, error: error)), .trip)
            case 401, 403:
                // The backend is misconfigured for this model (key, permissions): retrying will not
                // help, another model may.
                let error = DispatchError(code: .backendError, message: "\(model) answered HTTP \(status): \(message)")
                return (.finished(.gaveUp(reason: description, error: error)), .none)
            default:
                outcome.responseBody = redactor.redact(data)
                let error = DispatchError(code: .backendError, message: "\(model) rejected the request with HTTP \(status): \(message)")
                return (.finished(.failed(error)), .none)
            }

        case .timeout(let detail):
            outcome.attempts.append(AttemptRecord(model: model, statusCode: nil, latencySeconds: latency.seconds, result: "timeout"))
            let description = "timeout after \(String(format: "%.3f", latency.seconds)) s (\(detail))"
            return (.retryable(description: description, code: .timeout, retryAfter: nil), .failure)

        case .tlsFailure(let detail):
            // The certificate will not become trusted on a retry: on to the next model at once.
            backend.settleTokens(reserved: reserved, actual: 0)
            outcome.attempts.append(AttemptRecord(model: model, statusCode: nil, latencySeconds: latency.seconds, result: "tls_error"))
            let reason = "TLS handshake with \(backend.origin) failed (\(detail)): "
                + (backend.endpoint.tls?.caFile == nil
                    ? "its certificate is not trusted by the system trust store: set backend.ca_file to the CA that signed it, or check the URL's host name"
                    : "its certificate is not signed by the CA in backend.ca_file, its name does not match the URL's host, or it wants a client certificate (backend.client_cert)")
            logger.warning("TLS handshake failed", metadata: ["model": "\(model)", "origin": "\(backend.origin)", "detail": "\(detail)"])
            let error = DispatchError(code: .backendUnavailable, message: "\(model): \(reason)")
            return (.finished(.gaveUp(reason: reason, error: error)), .none)

        case .connectionError(let detail):
            if Task.isCancelled {
                return (.finished(.failed(DispatchError(code: .internalError, message: "dispatch cancelled"))), .none)
            }
            backend.settleTokens(reserved: reserved, actual: 0)
            outcome.attempts.append(AttemptRecord(model: model, statusCode: nil, latencySeconds: latency.seconds, result: "connection_error"))
            return (.retryable(description: "connection error: \(detail)", code: .backendUnavailable, retryAfter: nil), .failure)
        }
    }

    /// A 2xx: the (redacted) body, its usage, what it cost, and the token bucket settled.
    private func recordAnswer(
        status: Int, data: Data, reservedTokens reserved: Double, backend: Backend, outcome: inout DispatchOutcome, logger: Logger
    ) {
        outcome.statusCode = status
        // A body a secret was cut out of is checked again downstream (it is no longer what was read).
        let redacted = redactor.redact(data)
        outcome.responseBody = redacted
        let (usage, isJSON) = CompletionUsage.parse(data)
        outcome.responseIsJSON = isJSON && redacted == data
        guard let tokens = usage else {
            logger.warning("backend response has no usage: cost recorded as 0", metadata: ["model": "\(backend.endpoint.name)"])
            return
        }
        outcome.usage = tokens
        outcome.actualCostUSD = backend.endpoint.price.cost(
            inputTokens: Double(tokens.promptTokens), outputTokens: Double(tokens.completionTokens)
        )
        backend.settleTokens(reserved: reserved, actual: Double(tokens.totalTokens))
        backend.metrics.spend.increment(by: outcome.actualCostUSD)
        backend.metrics.promptTokens.increment(by: tokens.promptTokens)
        backend.metrics.completionTokens.increment(by: tokens.completionTokens)
    }
}

/// Backends checked together at start: one URL, one set of TLS settings.
private struct ReadinessKey: Hashable, Sendable {
    var url: String
    var tls: BackendTLS?
    /// Checks are reported in this order, so the first failure named is the same on every run.
    var order: String { url + " " + (tls?.description ?? "") }
}
