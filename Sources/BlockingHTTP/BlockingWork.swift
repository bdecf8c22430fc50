import NIOPosix

/// Runs synchronous, blocking work (a `BlockingHTTPClient` call, a MiniLM batch) from async code
/// without parking a thread of Swift's cooperative pool: the work runs on NIO's shared thread pool
/// (`NIOThreadPool.singleton`) and the caller's task is suspended, not blocked, until it ends.
public enum BlockingWork {
    /// `body`'s result or error; cancelling the calling task before the work starts skips it.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
