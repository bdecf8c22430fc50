import Logging
import ServiceLifecycle
import WorkRuntime
import ZeroMQ

/// Stage workers as one `Service`: one worker in a `switchyard stage` process, every pool's workers in
/// `switchyard run`.
///
/// Graceful shutdown drains them all at once (no new tasks; leased ones finish, then BYE); cancellation
/// shuts the process's ZeroMQ context. `onExit` runs after the last worker left (close the dispatcher,
/// the spend feed, log the budget).
public final class StageWorkerService: Service, Sendable {
    public let workers: [StageWorker]
    private let context: Context
    private let logger: Logger
    private let onExit: @Sendable () async -> Void

    public init(workers: [StageWorker], context: Context, logger: Logger, onExit: @escaping @Sendable () async -> Void = {}) {
        self.workers = workers
        self.context = context
        self.logger = logger
        self.onExit = onExit
    }

    public func run() async throws {
        let workers = self.workers
        let context = self.context
        do {
            try await withTaskCancellationHandler {
                try await withGracefulShutdownHandler {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for worker in workers {
                            group.addTask { try await worker.run() }
                        }
                        try await group.waitForAll()
                    }
                } onGracefulShutdown: {
                    for worker in workers { worker.drain() }
                }
            } onCancel: {
                context.shutdown()
            }
        } catch {
            await onExit()
            throw error
        }
        await onExit()
        let done = workers.reduce(0) { $0 + $1.stats.done }
        logger.info("workers finished", metadata: [
            "stage": "\(Set(workers.map(\.configuration.stage)).sorted().joined(separator: ","))",
            "workers": "\(workers.count)", "tasks_done": "\(done)",
        ])
    }
}
