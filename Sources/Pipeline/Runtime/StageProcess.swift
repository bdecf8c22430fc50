import Backends
import Foundation
import Logging
import Payloads
import Synchronization
import SwitchyardCore
import Wire
import ZeroMQ

/// One pipeline stage as its own process, on the work protocol over ZeroMQ (`switchyard stage NAME`).
///
/// The coordinator binds `coordinator.endpoint`; every other role connects to it, so processes can
/// start in any order, on any host, and any number of profile, score and dispatch workers may join
/// or leave during a run. The same code runs over `inproc://` when given one shared `Context`.
public enum StageRole: String, CaseIterable, Sendable {
    case coordinator, ingest, profile, score, dispatch, sink
}

public enum StageProcess {
    /// The address other processes connect to: the bind endpoint with a wildcard host made loopback.
    public static func connectEndpoint(for endpoint: String) -> String {
        endpoint.replacingOccurrences(of: "://0.0.0.0:", with: "://127.0.0.1:")
            .replacingOccurrences(of: "://*:", with: "://127.0.0.1:")
    }

    /// The protocol rules derived from `pipeline.yaml`.
    public static func workConfiguration(_ configuration: PipelineConfiguration, window: Int = 1_000) -> WorkCoordinatorConfiguration {
        WorkCoordinatorConfiguration(
            stages: StageHandlers.chain,
            maxAttempts: UInt16(clamping: configuration.coordinator.maxAttempts),
            leaseMillis: UInt32(clamping: Int(configuration.coordinator.leaseSeconds * 1000)),
            window: window)
    }

    /// Creates the folder of `coordinator.journal`, so a first run can write it.
    static func prepareJournalDirectory(_ configuration: PipelineConfiguration) throws {
        guard let journal = configuration.coordinator.journal else { return }
        try FileManager.default.createDirectory(
            atPath: (journal as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    }

    /// Runs the coordinator until the run is finished (every accepted request acknowledged by the sink).
    public static func runCoordinator(
        configuration: PipelineConfiguration, endpoint: String? = nil, context: Context, logger: Logger
    ) async throws -> WorkCoordinatorStats {
        try prepareJournalDirectory(configuration)
        let server = try CoordinatorServer(
            configuration: .init(endpoint: endpoint ?? configuration.coordinator.endpoint,
                                 work: workConfiguration(configuration), journalPath: configuration.coordinator.journal,
                                 // Worker processes a heartbeat or two from noticing: tell every one to leave.
                                 closingGraceMillis: 3 * workConfiguration(configuration).heartbeatIntervalMillis),
            context: context, logger: logger)
        let drain = SignalDrain { server.stop() }
        defer { withExtendedLifetime(drain) {} }
        let (recovery, stats) = try await server.run()
        logger.info("coordinator finished", metadata: ["resumed_completed": "\(recovery.completed.count)", "stats": "\(stats)"])
        return stats
    }

    /// Streams the input into the coordinator (malformed lines go as finished error records).
    public static func runIngest(
        configuration: PipelineConfiguration, input: String, scanned: Ingest? = nil, endpoint: String, context: Context, logger: Logger
    ) async throws -> WorkProducer.Stats {
        let parser = LineParser(poolModels: Set(configuration.models.map(\.name)),
                                maxPromptCharacters: configuration.ingest.maxPromptCharacters,
                                defaultMaxTokens: configuration.ingest.defaultMaxTokens)
        let ingest = try scanned.flatMap { $0.path == input ? $0.reparsed(with: parser) : nil } ?? Ingest(path: input, parser: parser)
        logger.info("ingest starting", metadata: ["input": "\(input)", "lines": "\(ingest.lineCount)", "digest": "\(ingest.fileDigest)"])
        let producer = WorkProducer(configuration: .init(endpoint: endpoint), context: context, logger: logger)
        let drain = SignalDrain { producer.stop() }
        defer { withExtendedLifetime(drain) {} }
        let stats = try await producer.run { IngestWorkItems(inner: ingest.makeIterator()) }
        logger.info("ingest finished", metadata: ["submitted": "\(stats.submitted)", "already_done": "\(stats.alreadyDone)"])
        return stats
    }

    /// What one middle-stage process runs, and what it must close when it leaves.
    public struct WorkerParts: Sendable {
        public var handler: StageWork
        public var credit: Int
        public var dispatcher: Dispatcher?
        /// Score: the process's share of the batch budget (logged when it leaves).
        public var budget: ScoreBudget?
        public var spendSubscriber: SpendFeedSubscriber?
        public var spendPublisher: SpendFeedPublisher?

        /// Stops the spend feed and the dispatcher, off the cooperative pool (closing sockets may wait
        /// for their linger), and logs the budget's end state.
        public func shutdown(logger: Logger) async {
            let subscriber = spendSubscriber
            let publisher = spendPublisher
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    subscriber?.stop()
                    publisher?.close()
                    done.resume()
                }
            }
            try? await dispatcher?.shutdown()
            if let budget {
                logger.info("score budget at exit: \(budget.report().logLine)")
            }
            if let publisher, publisher.droppedCount > 0 {
                logger.warning("spend records dropped (their estimates stay reserved)", metadata: ["dropped": "\(publisher.droppedCount)"])
            }
        }
    }

    /// Builds the handler of one middle stage from the configuration (only what that stage needs:
    /// a dispatch worker loads no router, a profile worker opens no backend).
    ///
    /// In stage mode each score process spends at most its share, `budgetUSD / stages.score.workers`, and
    /// streams λ over its share of `expectedLines` when given. With `router.spend_feed` set, the score
    /// process binds the spend feed and settles its reservations from it, and dispatch publishes there.
    public static func makeWorker(
        role: StageRole, configuration: PipelineConfiguration, dryRun: Bool, budgetUSD: Double?, expectedLines: Int? = nil,
        context: Context, logger: Logger
    ) throws -> WorkerParts {
        switch role {
        case .profile:
            let (extractor, _, _) = try makeRoutingParts(configuration, logger)
            return WorkerParts(handler: StageHandlers.profile(ProfileStage(extractor: extractor)), credit: max(2, configuration.stages.profile.batch))
        case .score:
            let (extractor, router, lambda) = try makeRoutingParts(configuration, logger)
            let workers = max(1, configuration.stages.score.workers)
            let budget = (budgetUSD ?? configuration.router.budgetUSD).map { total in
                ScoreBudget(configuration: .init(
                    budgetUSD: total / Double(workers), expectedLines: expectedLines.map { ($0 + workers - 1) / workers },
                    fixedLambda: lambda,
                    // Pacing waits for settles: only when they can come back.
                    inFlightShare: configuration.router.spendFeed == nil ? nil : 0.25), models: router.models)
            }
            var subscriber: SpendFeedSubscriber?
            if let budget, let feed = configuration.router.spendFeed {
                subscriber = try SpendFeedSubscriber(endpoint: feed, budget: budget, context: context, logger: logger)
                subscriber?.start()
            } else if budget != nil {
                logger.warning("no router.spend_feed: actual costs never come back, so the budget counts estimates only (set spend_feed to settle real spend)")
            }
            let stage = ScoreStage(router: router, budget: budget, poolModels: Set(configuration.models.map(\.name)))
            return WorkerParts(handler: StageHandlers.score(stage, domains: extractor.domainCodes), credit: max(2, configuration.stages.score.batch),
                               budget: budget, spendSubscriber: subscriber)
        case .dispatch:
            var dispatcher: Dispatcher?
            if !dryRun {
                try configuration.checkBackends()
                dispatcher = try Dispatcher(endpoints: PipelineComponents.endpoints(configuration), logger: logger)
            }
            let publisher = try configuration.router.spendFeed.map { feed in
                try SpendFeedPublisher(endpoint: connectEndpoint(for: feed), context: context, logger: logger)
            }
            return WorkerParts(handler: StageHandlers.dispatch(DispatchStage(sender: dispatcher, settler: publisher)),
                               credit: configuration.stages.dispatch.concurrency, dispatcher: dispatcher, spendPublisher: publisher)
        case .coordinator, .ingest, .sink:
            throw ConfigurationError(keyPath: "", reason: "\(role.rawValue) is not a worker stage: use profile, score or dispatch")
        }
    }

    private static func makeRoutingParts(_ configuration: PipelineConfiguration, _ logger: Logger) throws -> (any FeatureExtractor, any RequestRouter, Double) {
        try PipelineComponents.makeRouting(configuration: configuration, logger: logger)
    }

    /// Serves one middle stage until drained (SIGTERM/SIGINT, or the coordinator at the end of the run).
    public static func runWorker(
        role: StageRole, handler: StageWork, credit: Int, endpoint: String, context: Context, logger: Logger
    ) async throws {
        let worker = try StageWorker(
            configuration: .init(endpoint: endpoint, stage: role.rawValue, credit: UInt32(clamping: max(1, credit))),
            context: context, logger: logger, work: handler)
        let drain = SignalDrain { worker.drain() }
        defer { withExtendedLifetime(drain) {} }
        try await worker.run()
        logger.info("\(role.rawValue) worker finished")
    }

    /// Receives every request's record, writes it once, and writes `summary.json` when the run ends.
    public static func runSink(
        configuration: PipelineConfiguration, outputDirectory: String, ordered: Bool, input: String?, inputLines: Int? = nil, dryRun: Bool,
        budgetUSD: Double?, endpoint: String, context: Context, logger: Logger,
        onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in },
        budgetReport: @escaping @Sendable () -> BudgetReport? = { nil }
    ) async throws -> RunSummary {
        let started = ContinuousClock.now
        let total = try inputLines ?? input.map { try Ingest(path: $0, parser: LineParser(poolModels: [])).lineCount }
        let sink = Mutex(try ResultSink(directory: outputDirectory, ordered: false))
        let resumed = sink.withLock { $0.resumedRecords }
        let consumer = WorkConsumer(configuration: .init(endpoint: endpoint), context: context, logger: logger)
        let drain = SignalDrain { consumer.stop() }
        defer { withExtendedLifetime(drain) {} }
        let metricsLastReport = Mutex(ContinuousClock.now)
        _ = try await consumer.run(
            write: { result in
                let progress: RunProgress? = try StageCPU.measure(.sink) { () throws -> RunProgress? in try sink.withLock { sink in
                    let record = StageHandlers.record(for: result)
                    if try sink.write(record), record.error != nil, result.status != .completed {
                        StageMetrics().count(record)
                    }
                    let now = ContinuousClock.now
                    let due = metricsLastReport.withLock { last in
                        guard now - last >= .milliseconds(100) else { return false }
                        last = now
                        return true
                    }
                    return due ? LocalPipeline.progress(sink, total: total ?? 0, since: started, resumed: resumed) : nil
                } }
                if let progress { onProgress(progress) }
            },
            flush: { sink.withLock { $0.sync() } })
        return try sink.withLock { sink in
            onProgress(LocalPipeline.progress(sink, total: total ?? sink.completedCount, since: started, resumed: resumed))
            let summary = try sink.finish(
                input: input, inputLines: total, budgetUSD: budgetUSD ?? configuration.router.budgetUSD,
                wallSeconds: LocalPipeline.seconds(ContinuousClock.now - started), dryRun: dryRun, ledger: budgetReport())
            if ordered { try sink.sortFilesByLine() }
            logger.info("sink finished", metadata: ["results": "\(summary.results)", "errors": "\(summary.errors)",
                                                    "duplicates_dropped": "\(sink.duplicatesDropped)",
                                                    "budget": "\(summary.budget?.logLine ?? "none")"])
            return summary
        }
    }
}

/// Ingest's lines as work items: each line's envelope (request or finished error record) under its request ID.
struct IngestWorkItems: IteratorProtocol {
    var inner: Ingest.Iterator

    mutating func next() -> WorkItem? {
        StageCPU.measure(.ingest) { nextItem() }
    }

    private mutating func nextItem() -> WorkItem? {
        guard let item = inner.next() else { return nil }
        let envelope: StageEnvelope
        let id: String
        switch item {
        case .request(let request):
            envelope = .request(request)
            id = request.requestID.description
        case .rejected(let record):
            envelope = .finished(record)
            id = record.id
        }
        return WorkItem(requestID: id, payload: envelope.encoded())
    }
}
