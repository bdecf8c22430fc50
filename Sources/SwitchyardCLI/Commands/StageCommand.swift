import ArgumentParser
import Foundation
import Logging
import Pipeline
import ServiceLifecycle
import ZeroMQ

struct StageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Run one pipeline stage as its own process (coordinator, ingest, profile, score, dispatch, sink).",
        discussion: """
            Every process reads the same pipeline.yaml. The coordinator binds coordinator.endpoint; the others \
            connect to it (a 0.0.0.0 host is reached as 127.0.0.1; use --connect on other hosts). Start them in \
            any order, and run as many profile, score and dispatch processes as you like:

              switchyard stage coordinator --config pipeline.yaml
              switchyard stage sink --config pipeline.yaml --output out/ --input batch.jsonl
              switchyard stage profile --config pipeline.yaml      (as many as you like)
              switchyard stage score --config pipeline.yaml
              switchyard stage dispatch --config pipeline.yaml
              switchyard stage ingest --config pipeline.yaml --input batch.jsonl

            The coordinator, ingest and the sink end with the run; SIGTERM or SIGINT stops any stage \
            gracefully (a worker finishes its leased tasks, then leaves). `switchyard stage ROLE --help` says \
            what each role does.

            Across machines, set security.curve in pipeline.yaml: every tcp link is then authenticated and \
            encrypted with CURVE keys (`switchyard keys generate --out DIR` makes each process's pair; give each \
            process its own with --key-dir). Plain text to a non-loopback address is refused unless \
            security.insecure is true.
            """,
        subcommands: [
            StageCoordinatorCommand.self, StageIngestCommand.self, StageProfileCommand.self,
            StageScoreCommand.self, StageDispatchCommand.self, StageSinkCommand.self,
        ]
    )
}

/// What every stage process takes: the configuration and where the coordinator is.
struct StageConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The pipeline configuration.")
    var config: String = "pipeline.yaml"

    @Option(name: .long, help: "Coordinator endpoint to connect to (default: coordinator.endpoint, a 0.0.0.0 host as 127.0.0.1).")
    var connect: String?

    @Option(name: .customLong("key-dir"), help: "This process's CURVE key pair directory (public.key, secret.key; default security.curve.key_dir).")
    var keyDir: String?
}

/// The body every stage command shares: load the configuration, secure the links (`TransportSecurity`),
/// build the role's service, run it (and the metrics endpoint) in one `ServiceGroup`, and turn failures
/// into the documented exit statuses. `bind`: the coordinator's own endpoint, when it overrides the configuration's.
enum StageRunner {
    static func run(
        _ role: StageRole, options: StageConfigOptions, process: ProcessOptions, checkFiles: Bool = false, bind: String? = nil,
        make: (PipelineConfiguration, _ endpoint: String, Context, TransportSecurity, Logger) async throws -> any Service
    ) async throws {
        let verb = "stage \(role.rawValue)"
        var (logger, _) = process.logging.bootstrap(label: "switchyard.stage.\(role.rawValue)")
        logger[metadataKey: "pid"] = "\(ProcessInfo.processInfo.processIdentifier)"
        let configuration: PipelineConfiguration
        do {
            configuration = try PipelineConfiguration.load(path: options.config, checkFiles: checkFiles)
        } catch {
            throw ExitStatus.exit(verb, "\(error)", status: ExitStatus.badSetup)
        }
        let endpoint = options.connect ?? StageProcess.connectEndpoint(for: configuration.coordinator.endpoint)
        let context = try Context()
        defer { context.shutdown() }
        let security: TransportSecurity
        do {
            let feed = configuration.router.spendFeed.map { role == .dispatch ? StageProcess.connectEndpoint(for: $0) : $0 }
            security = try TransportSecurity.prepare(
                configuration, role: role,
                coordinatorEndpoint: role == .coordinator ? (bind ?? configuration.coordinator.endpoint) : endpoint,
                spendFeedEndpoint: feed, keyDirectory: options.keyDir, context: context, logger: logger)
        } catch {
            var error = error
            error.file = options.config
            throw ExitStatus.exit(verb, "\(error)", status: ExitStatus.badSetup)
        }
        defer { security.stop() }
        // Before the service is made: metrics created from now on (the dispatcher's among them) report.
        let metrics = process.metrics(configuration, logger: logger)
        let service: any Service
        do {
            service = try await make(configuration, endpoint, context, security, logger)
        } catch var error as ConfigurationError {
            error.file = options.config
            throw ExitStatus.exit(verb, "\(error)", status: ExitStatus.badSetup)
        } catch {
            throw ExitStatus.exit(verb, "\(error)", status: ExitStatus.status(for: error))
        }
        do {
            try await StageProcess.run(service, metrics: metrics, logger: logger)
        } catch {
            throw ExitStatus.exit(verb, "\(error)", status: ExitStatus.failed)
        }
    }
}

struct StageCoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Broker the work: hand tasks to stage workers under leases, journal progress, end with the run.",
        discussion: """
            Binds coordinator.endpoint (or --bind). Ingest submits requests; each goes to a profile, a score and \
            a dispatch worker in turn, under a lease (a worker silent past it has its tasks requeued), and its \
            record goes to the sink, which acknowledges it once written. The journal (coordinator.journal) \
            remembers completed requests, so a restarted coordinator resumes. Ends once every submitted line \
            is acknowledged; SIGTERM drains every worker and stops.
            """
    )

    @OptionGroup var options: StageConfigOptions

    @Option(name: .long, help: "Endpoint to bind (default: coordinator.endpoint), e.g. tcp://0.0.0.0:5555.")
    var bind: String?

    @OptionGroup var process: ProcessOptions

    func run() async throws {
        let bind = self.bind
        try await StageRunner.run(.coordinator, options: options, process: process, bind: bind) { configuration, _, context, security, logger in
            try StageProcess.coordinator(configuration: configuration, endpoint: bind, context: context, logger: logger,
                                         security: security.coordinator)
        }
    }
}

struct StageIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Read the batch file and submit every line to the coordinator; returns when the run is finished.",
        discussion: """
            Parses and validates each line (a malformed one goes straight to the sink as an error record naming \
            the line and field), gives each a stable request ID (input digest and line number) and submits it \
            within the credit the coordinator grants, so a slow stage slows reading instead of growing memory. \
            Lines an earlier run finished are answered `already done` and not sent again.
            """
    )

    @OptionGroup var options: StageConfigOptions

    @Option(name: .long, help: "Input batch file (JSON Lines).")
    var input: String

    @OptionGroup var process: ProcessOptions

    func run() async throws {
        let input = self.input
        try await StageRunner.run(.ingest, options: options, process: process) { configuration, endpoint, context, security, logger in
            try StageProcess.ingest(configuration: configuration, input: input, endpoint: endpoint, context: context, logger: logger,
                                    security: security.coordinator)
        }
    }
}

/// The body of the three middle stages: build the worker's parts, serve until drained.
enum StageWorkerRunner {
    static func run(
        _ role: StageRole, options: StageConfigOptions, process: ProcessOptions, dryRun: Bool = false, budgetUSD: Double? = nil,
        expectedLines: Int? = nil
    ) async throws {
        try await StageRunner.run(role, options: options, process: process, checkFiles: role == .profile || role == .score) { configuration, endpoint, context, security, logger in
            let parts = try StageProcess.makeWorker(
                role: role, configuration: configuration, dryRun: dryRun, budgetUSD: budgetUSD, expectedLines: expectedLines,
                context: context, logger: logger, security: security)
            // Dispatch takes no work before every backend answers and serves its model.
            do {
                try await parts.dispatcher?.waitUntilReady()
            } catch {
                await parts.shutdown(logger: logger)
                throw error
            }
            return try StageProcess.worker(role: role, parts: parts, endpoint: endpoint, context: context, logger: logger,
                                           security: security.coordinator)
        }
    }
}

struct StageProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Work out what each request needs (embedding, capabilities, domains, tokens): run as many as you like.",
        discussion: """
            Loads the profiler of router.profiles (or profiler: from pipeline.yaml for price-only strategies) \
            and turns each request into the features the score stage routes on. CPU-bound: add processes, on \
            any host, while the run goes. MiniLM uses every core of the host unless profiler.threads says \
            otherwise: with several profile processes on one host, set profiler.threads: 1 so each keeps one \
            core busy. SIGTERM finishes the leased tasks, then leaves.
            """
    )

    @OptionGroup var options: StageConfigOptions
    @OptionGroup var process: ProcessOptions

    func run() async throws {
        try await StageWorkerRunner.run(.profile, options: options, process: process)
    }
}

struct StageScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Choose each request's model (and its fallbacks) with the router, within the batch budget.",
        discussion: """
            Loads router.profiles and router.strategy. With a budget (router.budget_usd or --budget-usd), each \
            score process spends at most budget_usd / stages.score.workers: it reserves each request's estimate \
            and routes cheaper, or writes budget_exhausted, when the budget would break. Give --expected-lines \
            (the batch's line count) to recalibrate λ as the batch streams, and set router.spend_feed so dispatch \
            sends actual costs back (without it the budget counts estimates only). SIGTERM finishes the leased \
            tasks, then leaves.
            """
    )

    @OptionGroup var options: StageConfigOptions

    @Option(name: .customLong("budget-usd"), help: "Batch budget in USD (overrides router.budget_usd).")
    var budgetUSD: Double?

    @Option(name: .customLong("expected-lines"), help: "Lines in the batch, to recalibrate λ from the spend so far and the lines left (default: fixed λ).")
    var expectedLines: Int?

    @OptionGroup var process: ProcessOptions

    func validate() throws {
        if let budgetUSD, budgetUSD < 0 || !budgetUSD.isFinite { throw ValidationError("--budget-usd must be 0 or more") }
        if let expectedLines, expectedLines < 1 { throw ValidationError("--expected-lines must be 1 or more") }
    }

    func run() async throws {
        try await StageWorkerRunner.run(.score, options: options, process: process, budgetUSD: budgetUSD, expectedLines: expectedLines)
    }
}

struct StageDispatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dispatch",
        abstract: "Send each request to its model's backend, with limits, retries, fallback and circuit breakers.",
        discussion: """
            At start, checks every backend of models: (GET /v1/models) and waits for it to be ready; a model the \
            backend does not serve stops the process. Then sends up to stages.dispatch.concurrency requests at \
            once within each backend's limits, retries transient failures, falls back along the router's \
            ranking, and publishes actual costs on router.spend_feed. --dry-run calls no backend and passes the \
            decisions through. SIGTERM finishes the requests in flight, then leaves.
            """
    )

    @OptionGroup var options: StageConfigOptions

    @Flag(name: .customLong("dry-run"), help: "Call no backend: pass the routing decisions through.")
    var dryRun = false

    @OptionGroup var process: ProcessOptions

    func run() async throws {
        try await StageWorkerRunner.run(.dispatch, options: options, process: process, dryRun: dryRun)
    }
}

struct StageSinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink",
        abstract: "Write every request's record once (results.jsonl, errors.jsonl), then summary.json.",
        discussion: """
            Receives each finished request from the coordinator, writes it once (redeliveries are dropped), \
            makes it durable and acknowledges it. An output directory an earlier run wrote, in either mode, \
            resumes: its lines are not sent again. Ends with the run (SIGTERM: writes what arrived and the \
            summary). Exit statuses as for `switchyard run`.
            """
    )

    @OptionGroup var options: StageConfigOptions

    @Option(name: .long, help: "Output directory (default: output.dir of the configuration).")
    var output: String?

    @Option(name: .long, help: "The batch file, for totals and the summary.")
    var input: String?

    @Flag(name: .long, help: "Sort the output files by input line at the end.")
    var ordered = false

    @Flag(name: .customLong("dry-run"), help: "The run is a dry run (dispatch --dry-run): say so in the summary.")
    var dryRun = false

    @Option(name: .customLong("budget-usd"), help: "The batch budget, for the summary (overrides router.budget_usd).")
    var budgetUSD: Double?

    @Option(name: .customLong("max-error-rate"), help: "Exit 3 when more than this share (0-1) of the lines failed, input errors not counted (default: only when no line succeeded).")
    var maxErrorRate: Double?

    @Flag(name: .customLong("retry-errors"), help: "Have the lines that failed for a reason that may pass sent again (as for `switchyard run --retry-errors`) and replace their error records.")
    var retryErrors = false

    @OptionGroup var process: ProcessOptions

    func validate() throws {
        if let budgetUSD, budgetUSD < 0 || !budgetUSD.isFinite { throw ValidationError("--budget-usd must be 0 or more") }
        if let maxErrorRate, !(0...1).contains(maxErrorRate) { throw ValidationError("--max-error-rate must be between 0 and 1") }
    }

    func run() async throws {
        let (output, input, ordered, dryRun, budgetUSD, retryErrors) = (self.output, self.input, self.ordered, self.dryRun, self.budgetUSD, self.retryErrors)
        var made: (service: SinkService, directory: String)?
        try await StageRunner.run(.sink, options: options, process: process) { configuration, endpoint, context, security, logger in
            let directory = output ?? configuration.output.directory
            let reporter = ProgressReporter(logger: logger, console: Console(isTerminal: false))
            let service = try StageProcess.sink(
                configuration: configuration, outputDirectory: directory,
                ordered: ordered || configuration.output.ordered, input: input, dryRun: dryRun, budgetUSD: budgetUSD,
                retryErrors: retryErrors, endpoint: endpoint, context: context, logger: logger,
                security: security.coordinator) { reporter.update($0) }
            made = (service, directory)
            return service
        }
        guard let (service, directory) = made, let summary = service.summary else { return }
        print("\(summary.results) results, \(summary.errors) errors in \(String(format: "%.1f", summary.wallSeconds)) s; wrote \(directory)")
        if service.interrupted {
            throw ExitStatus.exit("stage sink", "stopped by a signal before every line had a record: start the stages again to resume", status: ExitStatus.interrupted)
        }
        if let reason = ExitStatus.errorBudgetReason(summary, maxErrorRate: maxErrorRate, output: directory) {
            throw ExitStatus.exit("stage sink", reason, status: ExitStatus.tooManyErrors)
        }
    }
}
