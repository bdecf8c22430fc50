import Logging
import ServiceLifecycle
import Synchronization
import WorkRuntime
import ZeroMQ

/// Ingest as a `Service`: streams the input into the coordinator (malformed lines go as finished error
/// records) until the coordinator reports the run finished.
///
/// The input is opened (digested and counted) when the service is made, so a missing or unreadable file
/// fails before anything starts. Graceful shutdown stops submitting; cancellation shuts the context.
public final class IngestService: Service, Sendable {
    public let ingest: Ingest
    private let producer: WorkProducer
    private let context: Context
    private let logger: Logger
    private let finalStats = Mutex<WorkProducer.Stats?>(nil)

    /// `security`: CURVE (client role) or plain for the link to the coordinator.
    public init(ingest: Ingest, endpoint: String, context: Context, logger: Logger, security: LinkSecurity = .plain) {
        self.ingest = ingest
        self.producer = WorkProducer(configuration: .init(endpoint: endpoint, security: security), context: context, logger: logger)
        self.context = context
        self.logger = logger
    }

    /// The producer's counters once `run` returned.
    public var stats: WorkProducer.Stats? { finalStats.withLock { $0 } }

    public func run() async throws {
        logger.info("ingest starting", metadata: [
            "input": "\(ingest.path)", "lines": "\(ingest.lineCount)", "digest": "\(ingest.fileDigest)",
        ])
        let producer = self.producer
        let context = self.context
        let ingest = self.ingest
        let stats = try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await producer.run { IngestWorkItems(inner: ingest.makeIterator()) }
            } onGracefulShutdown: {
                producer.stop()
            }
        } onCancel: {
            context.shutdown()
        }
        finalStats.withLock { $0 = stats }
        logger.info("ingest finished", metadata: ["submitted": "\(stats.submitted)", "already_done": "\(stats.alreadyDone)"])
    }
}
