import Logging
import ServiceLifecycle
import Synchronization
import WorkProtocol
import WorkRuntime
import ZeroMQ

/// The coordinator as a `Service`: binds, replays its journal and serves until the run is finished.
///
/// Graceful shutdown (SIGTERM or SIGINT through the process's `ServiceGroup`) tells every worker to drain
/// and stops; cancellation (a sibling service failed) shuts the process's ZeroMQ context so every socket
/// loop of the process ends at once.
public final class CoordinatorService: Service, Sendable {
    public let server: CoordinatorServer
    private let context: Context
    private let logger: Logger
    private let outcome = Mutex<(JournalRecovery, WorkCoordinatorStats)?>(nil)

    public init(server: CoordinatorServer, context: Context, logger: Logger) {
        self.server = server
        self.context = context
        self.logger = logger
    }

    /// The journal's recovery report and the final counters, once `run` returned.
    public var result: (recovery: JournalRecovery, stats: WorkCoordinatorStats)? { outcome.withLock { $0 } }

    public func run() async throws {
        let server = self.server
        let context = self.context
        let (recovery, stats) = try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await server.run()
            } onGracefulShutdown: {
                server.stop()
            }
        } onCancel: {
            context.shutdown()
        }
        outcome.withLock { $0 = (recovery, stats) }
        logger.info("coordinator finished", metadata: [
            "resumed_completed": "\(recovery.completed.count)", "accepted": "\(stats.accepted)",
            "completed": "\(stats.completed)", "already_done": "\(stats.alreadyDone)", "requeued": "\(stats.requeued)",
            "exhausted": "\(stats.exhausted)", "failed": "\(stats.failed)", "workers_lost": "\(stats.workersLost)",
        ])
    }
}
