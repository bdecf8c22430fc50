import ArgumentParser
import Foundation
import Logging
import Pipeline
import SwitchyardCore
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every stage in one process over a batch file and write results, errors and a summary.",
        discussion: """
            Reads INPUT (JSON Lines: OpenAI Batch lines or {"id", "prompt"}), routes and sends every request, \
            and writes OUTPUT/results.jsonl, OUTPUT/errors.jsonl (one record per input line in total) and \
            OUTPUT/summary.json. Rerunning into the same OUTPUT resumes: finished lines are not redone, whether \
            `run` or `stage` processes wrote them. --retry-errors sends the lines that failed for a reason that \
            may pass (a backend down, timeouts) again and replaces their error records.

            SIGTERM or SIGINT stops gracefully: ingest stops, in-flight requests finish and are written, \
            then the summary; a rerun resumes.

            \(ExitStatus.help)
            """
    )

    @Argument(help: "The pipeline configuration (see pipeline.yaml at the repository root).")
    var config: String = "pipeline.yaml"

    @Option(name: .long, help: "Input batch file (JSON Lines).")
    var input: String

    @Option(name: .long, help: "Output directory (default: output.dir of the configuration).")
    var output: String?

    @Option(name: .customLong("budget-usd"), help: "Batch budget in USD (overrides router.budget_usd): actual spend stays within it, up to the requests in flight.")
    var budgetUSD: Double?

    @Option(name: .customLong("max-error-rate"), help: "Exit 3 when more than this share (0-1) of the lines failed, input errors not counted (default: only when no line succeeded).")
    var maxErrorRate: Double?

    @Flag(name: .customLong("retry-errors"), help: "Send again the lines that failed for a reason that may pass (backend_unavailable, timeout, max_attempts_exceeded, internal_error; budget_exhausted under a larger budget) and replace their error records.")
    var retryErrors = false

    @Flag(name: .long, help: "Write records in input-line order.")
    var ordered = false

    @Flag(name: .customLong("dry-run"), help: "Decide only: write the routing decisions, call no backend (into an output directory of its own).")
    var dryRun = false

    @OptionGroup var process: ProcessOptions

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar, even on a terminal.")
    var noProgress = false

    func validate() throws {
        if let budgetUSD, budgetUSD < 0 || !budgetUSD.isFinite { throw ValidationError("--budget-usd must be 0 or more") }
        if let maxErrorRate, !(0...1).contains(maxErrorRate) { throw ValidationError("--max-error-rate must be between 0 and 1") }
    }

    func run() async throws {
        let (logger, console) = process.logging.bootstrap(label: "switchyard.run")
        let configuration: PipelineConfiguration
        do {
            configuration = try PipelineConfiguration.load(path: config)
        } catch {
            throw ExitStatus.exit("run", "\(error)", status: ExitStatus.badSetup)
        }
        // One pass over the input (digest + line count), before anything is created: a missing input
        // leaves no output directory behind, and the budget needs the line count before the stages start.
        let scanned: Ingest
        do {
            scanned = try Ingest(path: input, parser: LineParser(poolModels: []))
        } catch {
            throw ExitStatus.exit("run", "\(error)", status: ExitStatus.badSetup)
        }
        let outputDirectory = output ?? configuration.output.directory
        // Before the components: the metrics they create (the dispatcher's among them) report from the start.
        let metrics = process.metrics(configuration, logger: logger)
        let components: PipelineComponents
        do {
            // The batch's line count lets the score stage stream λ over the whole batch.
            let lines = (budgetUSD ?? configuration.router.budgetUSD) == nil ? nil : scanned.lineCount
            components = try PipelineComponents.make(
                configuration: configuration, dryRun: dryRun, budgetUSD: budgetUSD, expectedLines: lines, logger: logger)
        } catch var error as ConfigurationError {
            error.file = config
            throw ExitStatus.exit("run", "\(error)", status: ExitStatus.badSetup)
        }
        // Every backend must answer and serve its model before any line is taken: a backend still starting
        // is waited for (stages.dispatch.ready_timeout_seconds), a wrong one stops here with nothing written.
        do {
            try await components.dispatcher?.waitUntilReady()
        } catch {
            try? await components.dispatcher?.shutdown()
            throw ExitStatus.exit("run", "\(error)", status: ExitStatus.badSetup)
        }
        var options = RunOptions(
            input: input, outputDirectory: outputDirectory,
            ordered: ordered || configuration.output.ordered, dryRun: dryRun, budgetUSD: budgetUSD)
        options.scannedInput = scanned
        options.retryErrors = retryErrors
        let reporter = ProgressReporter(logger: logger, console: console, showBar: !noProgress,
                                        budgetUSD: budgetUSD ?? configuration.router.budgetUSD)
        let outcome: LocalPipeline.Outcome
        do {
            outcome = try await LocalPipeline(configuration: configuration, components: components, options: options)
                .run(logger: logger, services: metrics.map { [$0] } ?? [], signals: [.sigterm, .sigint]) { reporter.update($0) }
        } catch {
            reporter.finish()
            try? await components.dispatcher?.shutdown()
            throw ExitStatus.exit("run", "\(error)", status: ExitStatus.status(for: error))
        }
        reporter.finish()
        let summary = outcome.summary
        let spend = String(format: "%.4f", summary.spend.actualUSD)
        let estimated = String(format: "%.4f", summary.spend.estimatedUSD)
        print("\(summary.results) results, \(summary.errors) errors in \(String(format: "%.1f", summary.wallSeconds)) s; spend $\(spend) (estimated $\(estimated)); wrote \(outputDirectory)")
        if let budget = summary.budget { print(budget.logLine) }
        if outcome.interrupted {
            throw ExitStatus.exit("run", "stopped by a signal before every line had a record: rerun the same command to resume", status: ExitStatus.interrupted)
        }
        if let reason = ExitStatus.errorBudgetReason(summary, maxErrorRate: maxErrorRate, output: outputDirectory) {
            throw ExitStatus.exit("run", reason, status: ExitStatus.tooManyErrors)
        }
    }
}
