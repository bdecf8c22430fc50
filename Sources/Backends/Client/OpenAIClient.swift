import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL

/// Posts chat completions to OpenAI-compatible servers over one shared, pooled HTTP/1.1 client.
///
/// One instance serves the whole pool: connections are kept alive and reused per host, and the pool
/// per host is sized to the largest backend concurrency. Call `shutdown()` before dropping it.
public final class OpenAIClient: Sendable {
    let http: HTTPClient
    let maxResponseBytes: Int

    /// Creates the shared client. `connect` and `read` (idle read) timeouts are client-wide.
    public init(
        maxConnectionsPerHost: Int, connectTimeout: Duration, readTimeout: Duration,
        maxResponseBytes: Int = 16 << 20
    ) {
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .init(connectTimeout), read: .init(readTimeout)),
            connectionPool: .init(
                idleTimeout: .seconds(60),
                concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, maxConnectionsPerHost)
            )
        )
        // The dispatcher retries with its own backoff and breaker; the client's internal connect
        // retries would hide a dead backend behind the whole connect timeout on every attempt.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        // A redirect would carry the Authorization header (the API key) to wherever the backend points,
        // possibly another host or plain http: backends answer directly or not at all.
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maxResponseBytes = maxResponseBytes
    }

    /// Shuts the connection pool down; in-flight requests fail.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Sends one attempt. `headDeadline` bounds the wait for the response head (first byte and
    /// total timeout); the body is then bounded by the client's idle read timeout.
    /// `tls`: this backend's TLS settings (nil: the client's defaults, i.e. the system trust store).
    func post(
        url: String, body: Data, headers: [(String, String)], headDeadline: NIODeadline, tls: TLSConfiguration? = nil, logger: Logger
    ) async -> AttemptResult {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.tlsConfiguration = tls
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return await execute(request, deadline: headDeadline, logger: logger) { response in
            RetryAfter.parse(response.headers.first(name: "retry-after"))
        }
    }

    /// Runs `request` and collects its body, sorting every failure into timeout, TLS or connection error.
    private func execute(
        _ request: HTTPClientRequest, deadline: NIODeadline, logger: Logger,
        retryAfter: (HTTPClientResponse) -> Duration? = { _ in nil }
    ) async -> AttemptResult {
        do {
            let response = try await http.execute(request, deadline: deadline, logger: logger)
            let buffer = try await response.body.collect(upTo: maxResponseBytes)
            let data = buffer.withUnsafeReadableBytes { Data($0) }
            return .response(status: Int(response.status.code), body: data, retryAfter: retryAfter(response))
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return .timeout("\(error)")
            default:
                return .connectionError("\(error)")
            }
        } catch let error as NIOSSLError {
            return .tlsFailure("\(error)")
        } catch let error as NIOSSLExtraError {
            return .tlsFailure("\(error)")
        } catch let error as BoringSSLError {
            return .tlsFailure("\(error)")
        } catch is CancellationError {
            return .connectionError("cancelled")
        } catch {
            return .connectionError("\(error)")
        }
    }
}

extension OpenAIClient {
    /// One GET (the readiness check's `/models`): status and body, or why nothing came back.
    /// `tls`: the backend's TLS settings, as for `post`.
    func get(url: String, headers: [(String, String)], deadline: NIODeadline, tls: TLSConfiguration? = nil, logger: Logger) async -> AttemptResult {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.tlsConfiguration = tls
        for (name, value) in headers where name != "Content-Type" { request.headers.add(name: name, value: value) }
        return await execute(request, deadline: deadline, logger: logger)
    }
}

extension OpenAIClient {
    /// One plain POST with no limits, retries, body rewriting or accounting: the baseline the
    /// dispatch benchmark compares the `Dispatcher` against. Returns the status and body.
    public func postDirect(
        url: String, body: Data, headers: [(String, String)] = [("Content-Type", "application/json")],
        timeout: Duration = .seconds(30), logger: Logger
    ) async -> (status: Int?, body: Data?) {
        switch await post(url: url, body: body, headers: headers, headDeadline: .now() + TimeAmount(timeout), logger: logger) {
        case .response(let status, let data, _): return (status, data)
        case .timeout, .connectionError, .tlsFailure: return (nil, nil)
        }
    }
}
