import Foundation

/// What one HTTP attempt produced, before the dispatcher decides to accept, retry or fall back.
enum AttemptResult: Sendable {
    /// The server answered (any status).
    case response(status: Int, body: Data, retryAfter: Duration?)
    /// No answer within the first-byte or total timeout, or the connection stalled.
    case timeout(String)
    /// Could not connect, or the connection broke.
    case connectionError(String)
    /// The TLS handshake failed (untrusted or mismatched certificate, no client certificate where one is
    /// required): a configuration problem that no retry fixes.
    case tlsFailure(String)
}
