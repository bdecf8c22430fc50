import ArgumentParser
import Backends
import Foundation
import Logging
import Pipeline
import ZeroMQ

struct StageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Run one pipeline stage as its own process (coordinator, ingest, profile, score, dispatch, sink).",
        discussion: """
            Every process reads the same pipeline.yaml. The coordinator binds coordinator.endpoint; the
            others connect to it (a 0.0.0.0 host is reached as 127.0.0.1; use --connect on other hosts).
            Start them in any order; run as many profile, score and dispatch processes as you like:
              switchyard stage coordinator --config pipeline.yaml
              switchyard stage sink        --config pipeline.yaml --output out/ [--input batch.jsonl]
              switchyard stage profile     --config pipeline.yaml        # x N
              switchyard stage score       --config pipeline.yaml
              switchyard stage dispatch    --config pipeline.yaml
              switchyard stage ingest      --config pipeline.yaml --input batch.jsonl
            SIGTERM or SIGINT drains a worker: it finishes its leased tasks, then leaves.
            In stage mode each score process spends at most budget_usd / stages.score.workers. Give score
            --expected-lines N (the batch's line count) to stream λ over the batch, and set router.spend_feed
            so dispatch sends actual costs back to score (without it the budget counts estimates only).
            Across machines, set security.curve in pipeline.yaml: every tcp link is then authenticated and
            encrypted with CURVE keys (`switchyard keys generate --out DIR` makes each process's pair; give
            each process its own with --key-dir). Plain text to a non-loopback address is refused unless
            security.insecure is true.
            """
    )

    @Argument(help: "coordinator, ingest, profile, score, dispatch or sink.")
    var role: String

    @Option(name: .long, help: "The pipeline configuration.")
    var config: String = "pipeline.yaml"

    @Option(name: .long, help: "Input batch file (ingest; the sink uses it for totals).")
    var input: String?

    @Option(name: .long, help: "Output directory (sink; default output.dir of the configuration).")
    var output: String?

    @Option(name: .long, help: "Coordinator endpoint to connect to (default: coordinator.endpoint).")
    var connect: String?

    @Option(name: .long, help: "Endpoint the coordinator binds (default: coordinator.endpoint).")
    var bind: String?

    @Option(name: .customLong("budget-usd"), help: "Batch budget in USD (overrides router.budget_usd).")
    var budgetUSD: Double?

    @Option(name: .customLong("expected-lines"), help: "Score: lines in the batch, to recalibrate λ from the spend so far and the lines left (default: fixed λ).")
    var expectedLines: Int?

    @Flag(name: .long, help: "Sink: sort the output files by input line at the end.")
    var ordered = false

    @Flag(name: .customLong("dry-run"), help: "Dispatch: call no backend, pass decisions through.")
    var dryRun = false

    @Option(name: .customLong("key-dir"), help: "This process's CURVE key pair directory (public.key, secret.key; default security.curve.key_dir).")
    var keyDir: String?

    @OptionGroup var process: ProcessOptions


    func validate() throws {
        guard let role = StageRole(rawValue: role) else {
            throw ValidationError("unknown stage '\(self.role)': use \(StageRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if role == .ingest && input == nil { throw ValidationError("stage ingest needs --input FILE") }
        if let budgetUSD, budgetUSD < 0 || !budgetUSD.isFinite { throw ValidationError("--budget-usd must be 0 or more") }
        if let expectedLines, expectedLines < 1 { throw ValidationError("--expected-lines must be 1 or more") }
    }

    func run() async throws {
        guard let role = StageRole(rawValue: role) else { throw ExitCode(2) }
        var logger = ProcessLogging.bootstrap(label: "switchyard.stage.\(role.rawValue)", level: process.logLevel)
        logger[metadataKey: "pid"] = "\(ProcessInfo.processInfo.processIdentifier)"
        let configuration: PipelineConfiguration
        do {
            configuration = try PipelineConfiguration.load(path: config, checkFiles: role == .profile || role == .score)
        } catch {
            FileHandle.standardError.write(Data("switchyard stage \(role.rawValue): \(error)\n".utf8))
            throw ExitCode(2)
        }
        let metricsTask = process.startMetrics(configuration, logger: logger)
        defer { metricsTask?.cancel() }
        let endpoint = connect ?? StageProcess.connectEndpoint(for: configuration.coordinator.endpoint)
        let context = try Context()
        defer { context.shutdown() }
        let security: TransportSecurity
        do {
            let feed = configuration.router.spendFeed.map { role == .dispatch ? StageProcess.connectEndpoint(for: $0) : $0 }
            security = try TransportSecurity.prepare(
                configuration, role: role, coordinatorEndpoint: role == .coordinator ? (bind ?? configuration.coordinator.endpoint) : endpoint,
                spendFeedEndpoint: feed, keyDirectory: keyDir, context: context, logger: logger)
        } catch {
            var error = error
            error.file = config
            FileHandle.standardError.write(Data("switchyard stage \(role.rawValue): \(error)\n".utf8))
            throw ExitCode(2)
        }
        defer { security.stop() }
        do {
            switch role {
            case .coordinator:
                _ = try await StageProcess.runCoordinator(configuration: configuration, endpoint: bind, context: context, logger: logger,
                                                          security: security.coordinator)
            case .ingest:
                _ = try await StageProcess.runIngest(
                    configuration: configuration, input: input ?? "", endpoint: endpoint, context: context, logger: logger,
                    security: security.coordinator)
            case .profile, .score, .dispatch:
                let worker: StageProcess.WorkerParts
                do {
                    worker = try StageProcess.makeWorker(
                        role: role, configuration: configuration, dryRun: dryRun, budgetUSD: budgetUSD,
                        expectedLines: expectedLines, context: context, logger: logger, security: security)
                } catch var error as ConfigurationError {
                    error.file = config
                    FileHandle.standardError.write(Data("switchyard stage \(role.rawValue): \(error)\n".utf8))
                    throw ExitCode(2)
                }
                do {
                    try await StageProcess.runWorker(
                        role: role, handler: worker.handler, credit: worker.credit, endpoint: endpoint,
                        context: context, logger: logger, security: security.coordinator)
                } catch {
                    await worker.shutdown(logger: logger)
                    throw error
                }
                await worker.shutdown(logger: logger)
            case .sink:
                let reporter = ProgressReporter(logger: logger)
                let summary = try await StageProcess.runSink(
                    configuration: configuration, outputDirectory: output ?? configuration.output.directory,
                    ordered: ordered || configuration.output.ordered, input: input, dryRun: dryRun,
                    budgetUSD: budgetUSD, endpoint: endpoint, context: context, logger: logger,
                    security: security.coordinator) { reporter.update($0) }
                reporter.finish()
                print("\(summary.results) results, \(summary.errors) errors in \(String(format: "%.1f", summary.wallSeconds)) s")
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("switchyard stage \(role.rawValue): \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
