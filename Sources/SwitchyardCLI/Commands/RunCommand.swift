import ArgumentParser
import Foundation
import Logging
import Pipeline

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every stage in one process over a batch file and write results, errors and a summary.",
        discussion: """
            Reads INPUT (JSON Lines: OpenAI Batch lines or {"id", "prompt"}), routes and sends every request,
            and writes OUTPUT/results.jsonl, OUTPUT/errors.jsonl (one record per input line in total) and
            OUTPUT/summary.json. Rerunning into the same OUTPUT resumes: finished lines are not redone.
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

    @Flag(name: .long, help: "Write records in input-line order.")
    var ordered = false

    @Flag(name: .customLong("dry-run"), help: "Decide only: write the routing decisions, call no backend.")
    var dryRun = false


    @OptionGroup var process: ProcessOptions

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar, even on a terminal.")
    var noProgress = false

    func validate() throws {
        if let budgetUSD, budgetUSD < 0 || !budgetUSD.isFinite { throw ValidationError("--budget-usd must be 0 or more") }
    }

    func run() async throws {
        let logger = ProcessLogging.bootstrap(label: "switchyard.run", level: process.logLevel)
        let configuration: PipelineConfiguration
        do {
            configuration = try PipelineConfiguration.load(path: config)
        } catch {
            FileHandle.standardError.write(Data("switchyard run: \(error)\n".utf8))
            throw ExitCode(2)
        }
        // One pass over the input (digest + line count), handed to the stages: the budget needs the line
        // count before they start. An unreadable input is reported by the ingest stage.
        let scanned = try? Ingest(path: input, parser: LineParser(poolModels: []))
        let components: PipelineComponents
        do {
            // The batch's line count lets the score stage stream λ over the whole batch (one cheap pass).
            let lines = (budgetUSD ?? configuration.router.budgetUSD) == nil ? nil : scanned?.lineCount
            components = try PipelineComponents.make(
                configuration: configuration, dryRun: dryRun, budgetUSD: budgetUSD, expectedLines: lines, logger: logger)
        } catch var error as ConfigurationError {
            error.file = config
            FileHandle.standardError.write(Data("switchyard run: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let metricsTask = process.startMetrics(configuration, logger: logger)
        defer { metricsTask?.cancel() }
        var options = RunOptions(
            input: input, outputDirectory: output ?? configuration.output.directory,
            ordered: ordered || configuration.output.ordered, dryRun: dryRun, budgetUSD: budgetUSD)
        options.scannedInput = scanned
        let reporter = ProgressReporter(logger: logger, isTerminal: !noProgress && isatty(STDERR_FILENO) == 1)
        let summary: RunSummary
        do {
            summary = try await LocalPipeline(configuration: configuration, components: components, options: options)
                .run(logger: logger) { reporter.update($0) }
        } catch {
            reporter.finish()
            FileHandle.standardError.write(Data("switchyard run: \(error)\n".utf8))
            throw ExitCode(1)
        }
        reporter.finish()
        let spend = String(format: "%.4f", summary.spend.actualUSD)
        let estimated = String(format: "%.4f", summary.spend.estimatedUSD)
        print("\(summary.results) results, \(summary.errors) errors in \(String(format: "%.1f", summary.wallSeconds)) s; spend $\(spend) (estimated $\(estimated)); wrote \(options.outputDirectory)")
        if let budget = summary.budget { print(budget.logLine) }
    }
}
