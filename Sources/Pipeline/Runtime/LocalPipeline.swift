import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import SwitchyardCore
import UnixSignals
import WorkProtocol
import WorkRuntime
import ZeroMQ

/// Every stage in one process (`switchyard run`): the coordinator, ingest, the profile, score and
/// dispatch worker pools and the sink, connected by the same work protocol as `switchyard stage`
/// processes, over ZeroMQ `inproc://` in one shared `Context`.
///
/// The stage logic and the protocol are exactly those of the multi-process deployment; only the
/// transport differs. At most `RunOptions.window` requests are between ingest and the sink, so memory
/// stays flat however long the input is. Resumable: records already in the output directory (and IDs
/// in the coordinator's journal) are not redone, so a rerun after a crash finishes the batch without
/// duplicates.
public struct LocalPipeline: Sendable {
    public let configuration: PipelineConfiguration
    public let components: PipelineComponents
    public let options: RunOptions

    public init(configuration: PipelineConfiguration, components: PipelineComponents, options: RunOptions) {
        self.configuration = configuration
        self.components = components
        self.options = options
    }

    /// How a run ended: its summary, and whether a signal stopped it before every line had a record.
    public struct Outcome: Sendable {
        public var summary: RunSummary
        /// True when graceful shutdown (SIGTERM/SIGINT) stopped the run early: the output so far is kept
        /// and a rerun into the same directory resumes.
        public var interrupted: Bool
    }

    /// Runs the batch to the end and writes `summary.json`. `onProgress` is called after records are
    /// written (at most every 100 ms) and once at the end, from the sink.
    public func run(logger: Logger, onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }) async throws -> RunSummary {
        try await run(logger: logger, services: [], signals: [UnixSignal](), onProgress: onProgress).summary
    }

    /// Runs the batch as one `ServiceGroup`: the coordinator, the sink, every stage's workers and ingest,
    /// each a service over ZeroMQ `inproc://`, with `services` (e.g. the metrics endpoint) beside them.
    ///
    /// The group ends when the sink has written the last record; `signals` (SIGTERM, SIGINT in the CLI; none
    /// in tests) shut it down gracefully in reverse order: ingest stops submitting, workers finish their
    /// leases, the sink writes what arrived and the summary, then the coordinator stops.
    public func run(
        logger: Logger, services extra: [any Service], signals: [UnixSignal],
        onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }
    ) async throws -> Outcome {
        let configuration = self.configuration
        let options = self.options
        // Everything that can fail on a file happens before the first socket: a missing input or an
        // output directory that cannot be made leaves nothing behind.
        let scanned = try options.scannedInput ?? Ingest(path: options.input, parser: LineParser(poolModels: []))
        let context = try Context()
        defer { context.shutdown() }
        let endpoint = "inproc://switchyard-run-\(UUID().uuidString)"
        let sink = try StageProcess.sink(
            configuration: configuration, outputDirectory: options.outputDirectory, ordered: options.ordered,
            input: options.input, inputLines: scanned.lineCount, dryRun: options.dryRun, budgetUSD: options.budgetUSD,
            retryErrors: options.retryErrors, endpoint: endpoint, context: context, logger: logger, onProgress: onProgress,
            budgetReport: { [budget = components.score.budget] in budget?.report() })
        // The journal lives with the output it describes: a new output directory is a new run, and
        // rerunning into the same one resumes (the sink's files and the journal agree).
        let journal = (options.outputDirectory as NSString).appendingPathComponent("journal")
        let server = try CoordinatorServer(
            configuration: .init(endpoint: endpoint, work: StageProcess.workConfiguration(configuration, window: options.window),
                                 journalPath: journal),
            context: context, logger: logger)
        let coordinator = CoordinatorService(server: server, context: context, logger: logger)
        let pools: [(role: StageRole, handler: StageWork, credit: Int, workers: Int)] = [
            (.profile, StageHandlers.profile(components.profile), max(2, configuration.stages.profile.batch), configuration.stages.profile.workers),
            (.score, StageHandlers.score(components.score, domains: components.profile.extractor.domainCodes),
             max(2, configuration.stages.score.batch), configuration.stages.score.workers),
            (.dispatch, StageHandlers.dispatch(components.dispatch), configuration.stages.dispatch.concurrency, configuration.stages.dispatch.workers),
        ]
        var workers: [StageWorker] = []
        for pool in pools {
            for index in 0..<max(1, pool.workers) {
                workers.append(try StageWorker(
                    configuration: .init(endpoint: endpoint, stage: pool.role.rawValue, credit: UInt32(clamping: max(1, pool.credit))),
                    context: context, logger: Self.logger(logger, stage: pool.role.rawValue, worker: index), work: pool.handler))
            }
        }
        let ingest = try StageProcess.ingest(configuration: configuration, input: options.input, scanned: scanned, endpoint: endpoint,
                                             context: context, logger: logger)
        logger.info("run starting", metadata: [
            "input": "\(options.input)", "output": "\(options.outputDirectory)", "lines": "\(scanned.lineCount)",
            "dry_run": "\(options.dryRun)",
        ])

        // inproc needs the bind before any connect: every service but the coordinator waits for it.
        let afterBind: @Sendable (any Service) -> any Service = { service in
            AfterCoordinatorBound(server: server, service: service)
        }
        let shutdown = GroupShutdownTrigger()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = extra.map { .init(service: $0) }
        services += [
            .init(service: UntilShutdown(service: coordinator)),
            .init(service: UntilShutdown(service: afterBind(sink), whenDone: { await shutdown.trigger() })),
            .init(service: UntilShutdown(service: afterBind(StageWorkerService(workers: workers, context: context, logger: logger)))),
            .init(service: UntilShutdown(service: afterBind(ingest))),
        ]
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.gracefulShutdownSignals = signals
        let group = ServiceGroup(configuration: groupConfiguration)
        shutdown.attach(group)
        try await group.run()
        try? await components.dispatcher?.shutdown()
        guard let summary = sink.summary else { throw LocalPipelineError.endedWithoutSummary }
        if let recovery = coordinator.result?.recovery, !recovery.completed.isEmpty {
            logger.debug("coordinator resumed from its journal", metadata: ["completed": "\(recovery.completed.count)"])
        }
        var finished: Logger.Metadata = [
            "results": "\(summary.results)", "errors": "\(summary.errors)", "resumed": "\(summary.resumedRecords)",
            "wall_seconds": "\(String(format: "%.2f", summary.wallSeconds))",
            "estimated_usd": "\(String(format: "%.6f", summary.spend.estimatedUSD))",
            "actual_usd": "\(String(format: "%.6f", summary.spend.actualUSD))",
            "interrupted": "\(sink.interrupted)",
        ]
        if let budget = summary.budget { finished.merge(budget.logMetadata) { current, _ in current } }
        logger.info("run finished", metadata: finished)
        return Outcome(summary: summary, interrupted: sink.interrupted)
    }

    static func progress(_ sink: ResultSink, total: Int, since start: ContinuousClock.Instant, resumed: Int) -> RunProgress {
        let elapsed = ContinuousClock.now - start
        let statistics = sink.statistics
        return RunProgress(
            done: statistics.completed, total: total, errors: statistics.errors,
            estimatedSpendUSD: statistics.estimatedUSD, actualSpendUSD: statistics.actualUSD,
            elapsedSeconds: elapsed.seconds, resumed: resumed)
    }

    static func logger(_ base: Logger, stage: String, worker: Int) -> Logger {
        var logger = base
        logger[metadataKey: "stage"] = "\(stage)"
        logger[metadataKey: "worker"] = "\(worker)"
        return logger
    }
}

/// Why a one-process run stopped without a summary.
public enum LocalPipelineError: Error, CustomStringConvertible {
    /// Every stage ended but the sink never finished: a bug, since the protocol turns every request into
    /// a record. The output so far is kept; rerunning into the same directory resumes.
    case endedWithoutSummary

    public var description: String {
        "the run ended before the sink wrote its summary; rerun into the same output directory to resume"
    }
}
