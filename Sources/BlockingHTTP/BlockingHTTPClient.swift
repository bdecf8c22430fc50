import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// AsyncHTTPClient for callers that must answer synchronously (the `Embedder` and
/// `RequirementExtractor` protocols are synchronous; the profile stage runs them on its worker's
/// own DispatchQueue thread). This is the one place where a thread waits for an HTTP call.
///
/// How it waits: `post` starts the request on AsyncHTTPClient's event loop and blocks only the
/// calling thread on the returned future (`EventLoopFuture.wait()`). No Swift task is involved, so
/// nothing on the cooperative pool is needed for the call to finish, and `post` is `noasync`: async
/// code cannot call it by mistake; it runs synchronous work through `BlockingWork.run` instead.
///
/// Owns its `HTTPClient`: call `shutdown()` when done; if the owner is dropped without it, `deinit`
/// starts the shutdown without waiting (AsyncHTTPClient keeps itself alive until its pool has closed).
public final class BlockingHTTPClient: Sendable {
    /// Status and body of a finished call.
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
    }

    private let http: HTTPClient

    /// - Parameter connectTimeout: bound on opening a connection (the request `timeout` bounds the whole call).
    public init(connectTimeout: Duration = .seconds(10)) {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .init(connectTimeout)))
        // A server that is not there should fail now, not after retrying until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        // A redirect would carry the Authorization header (an API key) wherever the server points.
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit {
        http.shutdown(queue: .global()) { _ in }
    }

    /// Closes the connection pool; later calls fail with a `BlockingHTTPError` of kind `shutDown`.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// POSTs `body` to `url` and waits, on this thread, at most `timeout` for the whole answer.
    /// Header values (API keys) go on the wire only: never into errors or logs.
    @available(*, noasync, message: "blocks the calling thread: call it from synchronous code on a thread of its own (BlockingWork.run)")
    public func post(
        url: URL, headers: [(String, String)], body: Data, timeout: Duration
    ) throws(BlockingHTTPError) -> Response {
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(
                url: url.absoluteString, method: .POST, headers: HTTPHeaders(headers), body: .data(body))
        } catch {
            throw BlockingHTTPError(kind: .badURL, url: url.absoluteString, reason: "\(error)")
        }
        do {
            let response = try http.execute(request: request, deadline: .now() + TimeAmount(timeout)).wait()
            let bytes = response.body.map { Data($0.readableBytesView) } ?? Data()
            return Response(status: Int(response.status.code), body: bytes)
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            throw BlockingHTTPError(kind: .timedOut, url: url.absoluteString, reason: "no answer within \(timeout)")
        } catch let error as HTTPClientError where error == .alreadyShutdown {
            throw BlockingHTTPError(kind: .shutDown, url: url.absoluteString, reason: "the HTTP client was shut down")
        } catch {
            throw BlockingHTTPError(kind: .unreachable, url: url.absoluteString, reason: "\(error)")
        }
    }
}

/// Why a `BlockingHTTPClient` call gave no HTTP answer; callers wrap it in their own error.
public struct BlockingHTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The URL cannot be sent (no host, unsupported scheme).
        case badURL
        /// No connection, or the connection broke before a full answer.
        case unreachable
        /// No full answer within the call's timeout.
        case timedOut
        /// The client was shut down before the call.
        case shutDown
    }

    public var kind: Kind
    public var url: String
    /// The cause alone, without the URL or advice, for callers whose own error names both.
    public var reason: String

    public var description: String { "request to \(url) failed (\(reason)): \(advice)" }

    private var advice: String {
        switch kind {
        case .badURL: "use an http:// or https:// URL with a host"
        case .unreachable: "is the server running?"
        case .timedOut: "is the server overloaded? else raise the timeout"
        case .shutDown: "the caller shut its HTTP client down too early (a bug)"
        }
    }
}
