import Dispatch
import Logging

/// How a producer, consumer or stage worker runs: its synchronous ZeroMQ loop on its own queue (never
/// on the cooperative pool), its stats handed back to the awaiting caller.
enum ClientLoop {
    /// Runs `loop` on `queue` and returns the stats it gathered.
    ///
    /// A ZeroMQ `.timeout` means there is no peer to send to: the coordinator has closed (it ended the
    /// run, or is gone for good). A blocking send would wait forever there and keep the process from
    /// exiting, so the client leaves with what it has, logging `leaving` with `metadata(stats)`.
    static func run<Stats: Sendable>(
        on queue: DispatchQueue, stats initial: Stats, logger: Logger,
        leavingMetadata: @escaping @Sendable (Stats) -> Logger.Metadata = { _ in [:] },
        _ loop: @escaping @Sendable (inout Stats) throws(WorkRuntimeError) -> Void
    ) async throws(WorkRuntimeError) -> Stats {
        let result: Result<Stats, WorkRuntimeError> = await withCheckedContinuation { continuation in
            queue.async {
                var stats = initial
                do throws(WorkRuntimeError) {
                    try loop(&stats)
                    continuation.resume(returning: .success(stats))
                } catch .zeroMQ(_, .timeout) {
                    logger.info("coordinator unreachable (no peer to send to); leaving", metadata: leavingMetadata(stats))
                    continuation.resume(returning: .success(stats))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
