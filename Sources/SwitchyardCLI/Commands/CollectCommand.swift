import ArgumentParser
import Backends
import Collecting
import Foundation
import Grading
import Logging
import Pipeline
import SwitchyardCore

struct CollectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Measure your own pool: send labelled prompts to every model, grade the replies, write routing data.",
        discussion: """
            Sends every labelled prompt ({"id", "prompt", "task"?, "answer", "grader"} lines) to every \
            chosen model of pipeline.yaml through the same dispatcher `run` uses (limits, retries, \
            breakers; no fallback: each outcome must be that model's), grades each reply, and writes \
            into OUT:
              routing.jsonl, models.json  routing data for `profile build --train`
              replies.jsonl               raw replies with grades, tokens and costs
              errors.jsonl                pairs this run left without an outcome
              summary.json                accuracy and spend per model
            Costs are the responses' real usage x the configured price.

            A rerun into the same OUT continues: pairs with a reply are never sent again, failed \
            ones are retried.

            Graders: \(GraderSpec.known).
            """
    )

    @Option(help: "The pipeline configuration whose models (backends, prices, limits) answer.")
    var config: String = "pipeline.yaml"

    @Option(help: "Labelled prompts (JSON Lines: id, prompt, task?, answer, grader).")
    var prompts: String

    @Option(help: "Output directory (created; a rerun into it resumes).")
    var out: String

    @Option(help: "Models to collect (comma-separated); default every model of the configuration.")
    var models: String?

    @Option(name: .customLong("budget-usd"), help: "Most this run may spend (models and judges); pairs that would exceed it are not sent.")
    var budgetUSD: Double?

    @Option(help: "Gold answers by prompt id ({\"id\", \"answer\", \"grader\"} lines) for prompt lines without them.")
    var answers: String?

    @Option(help: "Grader for lines that name none.")
    var grader: String?

    @Option(name: .customLong("max-tokens"), help: "max_tokens of every request (default: ingest.default_max_tokens of the configuration, else 1024).")
    var maxTokens: Int?

    @Option(help: "Sampling temperature sent with every request.")
    var temperature: Double = 0

    @OptionGroup var process: ProcessOptions

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar, even on a terminal.")
    var noProgress = false

    func validate() throws {
        if let budgetUSD, !(budgetUSD >= 0) { throw ValidationError("--budget-usd must be 0 or more") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if !(temperature >= 0) { throw ValidationError("--temperature must be 0 or more") }
    }

    func run() async throws {
        let logger = ProcessLogging.bootstrap(label: "switchyard.collect", level: process.logLevel)
        do {
            let pool = try CollectPool.load(config: config, models: models)
            let metricsTask = process.startMetrics(pool.configuration, logger: logger)
            defer { metricsTask?.cancel() }
            let gold = try answers.map { path throws(SwitchyardError) in try LabelledPrompts.loadAnswers(path: path) } ?? [:]
            let labelled = try LabelledPrompts.load(path: prompts, answers: gold, defaultGrader: grader)
            let judges = try pool.judges(for: Set(labelled.map(\.grader)))
            let reporter = ProgressReporter(logger: logger, isTerminal: !noProgress && isatty(STDERR_FILENO) == 1)
            let (summary, _) = try await pool.collect(
                prompts: labelled, out: out, maxTokens: maxTokens ?? pool.configuration.ingest.defaultMaxTokens ?? 1024,
                temperature: temperature, budgetUSD: budgetUSD, judges: judges, reporter: reporter, logger: logger)
            print(summary.table)
            print("wrote \(out)/routing.jsonl, models.json, replies.jsonl, errors.jsonl, summary.json")
            if summary.answered == 0 && summary.resumed == 0 { throw ExitCode(1) }
        } catch let error as CollectPool.Failure {
            FileHandle.standardError.write(Data("switchyard collect: \(error)\n".utf8))
            throw ExitCode(2)
        } catch let error as SwitchyardError {
            FileHandle.standardError.write(Data("switchyard collect: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

/// The models of a pipeline.yaml that collect (and onboard) talk to, and the dispatcher over them.
struct CollectPool {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let configuration: PipelineConfiguration
    let chosen: [CollectModel]
    let endpoints: [ModelEndpoint]

    /// Reads `config` (its profiles need not exist yet) and picks `models` (comma-separated; nil: all).
    static func load(config: String, models: String?) throws -> CollectPool {
        let configuration: PipelineConfiguration
        do {
            configuration = try PipelineConfiguration.load(path: config, checkFiles: false)
        } catch {
            throw Failure(description: "\(error)")
        }
        let endpoints = PipelineComponents.endpoints(configuration)
        let names = models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            ?? endpoints.map(\.name)
        var chosen: [CollectModel] = []
        for name in names {
            guard let endpoint = endpoints.first(where: { $0.name == name }) else {
                let known = endpoints.map(\.name).joined(separator: ", ")
                throw Failure(description: "model '\(name)' has no backend in \(config) (models with one: \(known))")
            }
            guard !chosen.contains(where: { $0.name == name }) else { continue }
            chosen.append(CollectModel(name: name, price: endpoint.price, concurrency: endpoint.limits.maxConcurrency))
        }
        guard !chosen.isEmpty else { throw Failure(description: "no model to collect: \(config) lists no model with a backend") }
        return CollectPool(configuration: configuration, chosen: chosen, endpoints: endpoints)
    }

    /// The judging models of `judge:MODEL` graders, each of which must be in the pool.
    func judges(for specs: Set<String>) throws -> Set<String> {
        var judges: Set<String> = []
        for spec in specs.sorted() {
            guard let judge = GraderSpec.judgeModel(spec) else { continue }
            guard endpoints.contains(where: { $0.name == judge }) else {
                throw Failure(description: "grader '\(spec)': \(judge) has no backend in the configuration; add it under models:")
            }
            judges.insert(judge)
        }
        return judges
    }

    func collect(
        prompts: [LabelledPrompt], out: String, maxTokens: Int, temperature: Double?, budgetUSD: Double?,
        judges: Set<String>, reporter: ProgressReporter, logger: Logger
    ) async throws -> (CollectSummary, [ReplyRecord]) {
        // Only the models this run calls: an API key another model needs is not required here.
        let used = Set(chosen.map(\.name)).union(judges)
        let dispatcher: Dispatcher
        do {
            dispatcher = try Dispatcher(endpoints: endpoints.filter { used.contains($0.name) }, logger: logger)
        } catch {
            throw Failure(description: "\(error)")
        }
        let collector = Collector(
            sender: DispatcherSender(dispatcher: dispatcher),
            configuration: .init(models: chosen, maxTokens: maxTokens, temperature: temperature, budgetUSD: budgetUSD),
            output: URL(fileURLWithPath: out), logger: logger)
        let summary: CollectSummary
        do {
            summary = try await collector.run(prompts: prompts) { p in
                reporter.update(RunProgress(
                    done: p.done, total: p.total, errors: p.errors, estimatedSpendUSD: p.spendUSD, actualSpendUSD: p.spendUSD,
                    elapsedSeconds: p.elapsedSeconds, resumed: p.resumed))
            }
        } catch {
            reporter.finish()
            try? await dispatcher.shutdown()
            throw error
        }
        reporter.finish()
        try? await dispatcher.shutdown()
        return (summary, try collector.replies())
    }
}
