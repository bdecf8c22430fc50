import Foundation
import Logging
import ServiceLifecycle
import SwitchyardCore
import Synchronization
import WorkRuntime
import ZeroMQ

/// The sink as a `Service`: receives every request's record from the coordinator, writes it once
/// (`ResultSink`), and writes `summary.json` when the run ends.
///
/// The output directory is opened (and earlier records read back) when the service is made, so a bad
/// directory fails before anything starts. Graceful shutdown keeps taking what is still arriving, then
/// writes the summary of what was done (`interrupted`); a rerun resumes. Cancellation shuts the context.
public final class SinkService: Service, Sendable {
    public struct Configuration: Sendable {
        public var endpoint: String
        /// Sort the files by input line at the end.
        public var ordered: Bool
        /// The input (for the summary and the totals).
        public var input: String?
        /// Lines in the input, when known (the progress total).
        public var inputLines: Int?
        public var dryRun: Bool
        public var budgetUSD: Double?
        /// CURVE (client role) or plain for the link to the coordinator.
        public var security: LinkSecurity

        public init(endpoint: String, ordered: Bool = false, input: String? = nil, inputLines: Int? = nil,
                    dryRun: Bool = false, budgetUSD: Double? = nil, security: LinkSecurity = .plain) {
            self.endpoint = endpoint
            self.ordered = ordered
            self.input = input
            self.inputLines = inputLines
            self.dryRun = dryRun
            self.budgetUSD = budgetUSD
            self.security = security
        }
    }

    public let configuration: Configuration
    private let sink: LockedResultSink
    private let resumed: Int
    private let consumer: WorkConsumer
    private let context: Context
    private let logger: Logger
    private let onProgress: @Sendable (RunProgress) -> Void
    private let budgetReport: @Sendable () -> BudgetReport?
    private let state = Mutex<(summary: RunSummary?, interrupted: Bool)>((nil, false))

    /// - Parameters:
    ///   - sink: the opened output directory (`ResultSink`), owned by this service from now on.
    ///   - onProgress: called after records are written (at most every 100 ms) and once at the end.
    ///   - budgetReport: the score stage's ledger when it runs in this process.
    public init(sink: sending ResultSink, configuration: Configuration, context: Context, logger: Logger,
                onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in },
                budgetReport: @escaping @Sendable () -> BudgetReport? = { nil }) {
        self.resumed = sink.resumedRecords
        let sink = LockedResultSink(sink)
        self.sink = sink
        self.configuration = configuration
        // Before joining, the consumer tells the coordinator what the output already holds: those lines are
        // never sent again, whichever process wrote them, and reopened failures are.
        self.consumer = WorkConsumer(
            configuration: .init(endpoint: configuration.endpoint, security: configuration.security, announce: { sink.withLock { $0.announcement } }),
            context: context, logger: logger)
        self.context = context
        self.logger = logger
        self.onProgress = onProgress
        self.budgetReport = budgetReport
    }

    /// The run's summary, once `run` returned.
    public var summary: RunSummary? { state.withLock { $0.summary } }
    /// True when graceful shutdown stopped the sink before the run finished.
    public var interrupted: Bool { state.withLock { $0.interrupted } }

    public func run() async throws {
        let started = ContinuousClock.now
        let total = configuration.inputLines
        let sink = self.sink
        let resumed = self.resumed
        let consumer = self.consumer
        let context = self.context
        let onProgress = self.onProgress
        let lastReport = Mutex(ContinuousClock.now)
        let stopped = Atomic<Bool>(false)
        let metrics = StageMetrics()
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                _ = try await consumer.run(
                    write: { result in
                        let progress: RunProgress? = try StageCPU.measure(.sink) { () throws -> RunProgress? in
                            let record = StageHandlers.record(for: result)
                            return try sink.withLock { sink in
                                if try sink.write(record), record.error != nil, result.status != .completed {
                                    metrics.count(record)
                                }
                                let now = ContinuousClock.now
                                let due = lastReport.withLock { last in
                                    guard now - last >= .milliseconds(100) else { return false }
                                    last = now
                                    return true
                                }
                                return due ? LocalPipeline.progress(sink, total: total ?? 0, since: started, resumed: resumed) : nil
                            }
                        }
                        if let progress { onProgress(progress) }
                    },
                    flush: { sink.withLock { $0.sync() } })
            } onGracefulShutdown: {
                stopped.store(true, ordering: .releasing)
                consumer.stopWhenQuiet()
            }
        } onCancel: {
            context.shutdown()
        }
        let summary = try sink.withLock { sink in
            onProgress(LocalPipeline.progress(sink, total: total ?? sink.completedCount, since: started, resumed: resumed))
            let summary = try sink.finish(
                input: configuration.input, inputLines: total, budgetUSD: configuration.budgetUSD,
                wallSeconds: (ContinuousClock.now - started).seconds, dryRun: configuration.dryRun,
                ledger: budgetReport())
            if configuration.ordered { try sink.sortFilesByLine() }
            if sink.duplicatesDropped > 0 {
                logger.info("duplicate records dropped (redelivered after a retry or restart)", metadata: ["duplicates": "\(sink.duplicatesDropped)"])
            }
            return summary
        }
        // Stopped by graceful shutdown with lines still missing (a signal at the very end changes nothing).
        let interrupted = stopped.load(ordering: .acquiring) && summary.results + summary.errors < (total ?? .max)
        state.withLock { $0 = (summary, interrupted) }
    }
}

/// A `ResultSink` under a lock, shared by the consumer's callbacks (its queue) and the service.
final class LockedResultSink: Sendable {
    private let mutex: Mutex<ResultSink>

    init(_ sink: sending ResultSink) { mutex = Mutex(sink) }

    func withLock<T: Sendable, E: Error>(_ body: (ResultSink) throws(E) -> T) throws(E) -> T {
        try mutex.withLock { (sink: inout sending ResultSink) throws(E) -> sending T in try body(sink) }
    }
}
