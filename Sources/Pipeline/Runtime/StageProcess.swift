import Backends
import Foundation
import Logging
import Payloads
import ServiceLifecycle
import Synchronization
import SwitchyardCore
import UnixSignals
import Wire
import WorkProtocol
import WorkRuntime
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
            // The sink says what its output already holds before ingest may submit: a line an earlier
            // run wrote (in either mode) is never sent again.
            window: window, maxWorkerCredit: configuration.coordinator.maxWorkerCredit, inputWaitsForConsumer: true)
    }

    /// Creates the folder of `coordinator.journal`, so a first run can write it.
    static func prepareJournalDirectory(_ configuration: PipelineConfiguration) throws {
        guard let journal = configuration.coordinator.journal else { return }
        let folder = (journal as NSString).deletingLastPathComponent
        guard !folder.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw SwitchyardError.unwritableFile(
                file: folder, reason: "cannot create the folder of coordinator.journal (\(FileErrors.reason(error, path: folder))): point coordinator.journal at a writable place")
        }
    }

    /// The coordinator process: serves until the run is finished (every accepted request acknowledged by the sink).
    /// `security`: the server role (CURVE with the process's ZAP handler) or plain (see `TransportSecurity`).
    public static func coordinator(
        configuration: PipelineConfiguration, endpoint: String? = nil, context: Context, logger: Logger,
        security: LinkSecurity = .plain
    ) throws -> CoordinatorService {
        try prepareJournalDirectory(configuration)
        let server = try CoordinatorServer(
            configuration: .init(endpoint: endpoint ?? configuration.coordinator.endpoint,
                                 work: workConfiguration(configuration), journalPath: configuration.coordinator.journal,
                                 // Worker processes a heartbeat or two from noticing: tell every one to leave.
                                 closingGraceMillis: 3 * workConfiguration(configuration).heartbeatIntervalMillis,
                                 security: security),
            context: context, logger: logger)
        return CoordinatorService(server: server, context: context, logger: logger)
    }

    /// The line parser of `configuration` (pool models pin lines; prompt and token limits).
    static func parser(_ configuration: PipelineConfiguration) -> LineParser {
        LineParser(poolModels: Set(configuration.models.map(\.name)),
                   maxPromptCharacters: configuration.ingest.maxPromptCharacters,
                   defaultMaxTokens: configuration.ingest.defaultMaxTokens)
    }

    /// The ingest process: streams `input` into the coordinator. The file is opened (digest, line count)
    /// here, so a missing input fails before anything starts; `scanned` reuses a pass already made.
    public static func ingest(
        configuration: PipelineConfiguration, input: String, scanned: Ingest? = nil, endpoint: String, context: Context, logger: Logger,
        security: LinkSecurity = .plain
    ) throws -> IngestService {
        let parser = parser(configuration)
        let ingest = try scanned.flatMap { $0.path == input ? $0.reparsed(with: parser) : nil } ?? Ingest(path: input, parser: parser)
        return IngestService(ingest: ingest, endpoint: endpoint, context: context, logger: logger, security: security)
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
                logger.info("score budget at exit", metadata: budget.report().logMetadata)
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
        context: Context, logger: Logger, security: TransportSecurity = .plain
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
                subscriber = try SpendFeedSubscriber(endpoint: feed, budget: budget, context: context, logger: logger,
                                                     security: security.spendFeed ?? .plain)
                subscriber?.start()
            } else if budget != nil {
                logger.warning("no router.spend_feed: actual costs never come back, so the budget counts estimates only (set spend_feed to settle real spend)")
            }
            let stage = ScoreStage(router: router, budget: budget, poolModels: Set(configuration.models.map(\.name)))
            return WorkerParts(handler: StageHandlers.score(stage, domains: extractor.domainCodes), credit: max(2, configuration.stages.score.batch),
                               budget: budget, spendSubscriber: subscriber)
        case .dispatch:
            let dispatcher = dryRun ? nil : try PipelineComponents.makeDispatcher(configuration, logger: logger)
            let publisher = try configuration.router.spendFeed.map { feed in
                try SpendFeedPublisher(endpoint: connectEndpoint(for: feed), context: context, logger: logger,
                                       security: security.spendFeed ?? .plain)
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

    /// A middle-stage process's worker, which serves until drained (SIGTERM/SIGINT, or the coordinator at
    /// the end of the run) and then closes what `parts` opened.
    public static func worker(
        role: StageRole, parts: WorkerParts, endpoint: String, context: Context, logger: Logger,
        security: LinkSecurity = .plain
    ) throws -> StageWorkerService {
        let worker = try StageWorker(
            configuration: .init(endpoint: endpoint, stage: role.rawValue, credit: UInt32(clamping: max(1, parts.credit)), security: security),
            context: context, logger: logger, work: parts.handler)
        return StageWorkerService(workers: [worker], context: context, logger: logger, onExit: { await parts.shutdown(logger: logger) })
    }

    /// The sink process: opens the output directory now (reading back earlier records, so a rerun resumes),
    /// then writes each request's record once and `summary.json` when the run ends. `input` (or `inputLines`)
    /// gives the totals. With `retryErrors`, error records that may pass on a new try (`retryRule`) are
    /// reopened: their lines run again and the new records replace them.
    public static func sink(
        configuration: PipelineConfiguration, outputDirectory: String, ordered: Bool, input: String?, inputLines: Int? = nil,
        dryRun: Bool, budgetUSD: Double?, retryErrors: Bool = false, endpoint: String, context: Context, logger: Logger,
        security: LinkSecurity = .plain,
        onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in },
        budgetReport: @escaping @Sendable () -> BudgetReport? = { nil }
    ) throws -> SinkService {
        let total = try inputLines ?? input.map { try Ingest(path: $0, parser: LineParser(poolModels: [])).lineCount }
        let budget = budgetUSD ?? configuration.router.budgetUSD
        let sink = try ResultSink(directory: outputDirectory, ordered: false, dryRun: dryRun,
                                  retry: retryErrors ? retryRule(outputDirectory: outputDirectory, budgetUSD: budget) : nil)
        if let reopened = sink.reopenedAtStart {
            logger.info("retrying failed lines", metadata: ["lines": "\(reopened)", "output": "\(outputDirectory)"])
        }
        return SinkService(
            sink: sink,
            configuration: .init(endpoint: endpoint, ordered: ordered, input: input, inputLines: total, dryRun: dryRun,
                                 budgetUSD: budgetUSD ?? configuration.router.budgetUSD, security: security),
            context: context, logger: logger, onProgress: onProgress, budgetReport: budgetReport)
    }

    /// The error records `--retry-errors` sends again: codes that may pass on a new try (`ErrorCode.isRetryable`),
    /// and `budget_exhausted` when this run's budget is larger than the one the lines ran out of (or there is
    /// none now, or the earlier one is unknown).
    public static func retryRule(outputDirectory: String, budgetUSD: Double?) -> ResultSink.RetryRule {
        let summary = (outputDirectory as NSString).appendingPathComponent("summary.json")
        let previous = (try? Data(contentsOf: URL(fileURLWithPath: summary)))
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            .flatMap { ($0["spend"] as? [String: Any])?["budget_usd"] as? Double }
        let largerBudget = budgetUSD.map { budget in previous.map { budget > $0 } ?? true } ?? true
        return { error in error.code.isRetryable || (largerBudget && error.code == .budgetExhausted) }
    }

    /// Runs one stage process: `main` (its role) and, when it serves one, the metrics endpoint, in one
    /// `ServiceGroup`. SIGTERM or SIGINT shuts down gracefully, main first (a worker finishes its leases, the
    /// sink writes its summary), then the metrics endpoint; main returning (the run ended) does the same.
    public static func run(_ main: any Service, metrics: MetricsEndpoint?, logger: Logger) async throws {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let metrics { services.append(.init(service: metrics)) }
        services.append(.init(service: main, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .cancelGroup))
        var group = ServiceGroupConfiguration(services: services, logger: logger)
        group.gracefulShutdownSignals = [.sigterm, .sigint]
        try await ServiceGroup(configuration: group).run()
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
