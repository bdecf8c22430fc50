import ArgumentParser
import Backends
import Collecting
import Foundation
import Grading
import Logging
import Pipeline
import ServiceLifecycle
import Synchronization
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
            Costs are the responses' real usage x the configured price. Before the first prompt every \
            chosen backend must answer GET /models and serve its model (waited for up to \
            stages.dispatch.ready_timeout_seconds), as for `run`.

            A rerun into the same OUT continues: pairs with a reply are never sent again, failed \
            ones are retried. SIGTERM or SIGINT stops gracefully: no new pair is sent, the ones in \
            flight finish and are written, then the summary.

            Graders: \(GraderSpec.known).

            \(CollectExit.help)
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

    @Option(name: .customLong("max-error-rate"), help: "Exit 3 when more than this share (0-1) of the pairs has no outcome (default: only when no pair has one).")
    var maxErrorRate: Double?

    @Option(help: "Gold answers by prompt id ({\"id\", \"answer\", \"grader\"} lines) for prompt lines without them.")
    var answers: String?

    @Option(help: "Grader for lines that name none.")
    var grader: String?

    @OptionGroup var requests: CollectRequestOptions

    @OptionGroup var process: ProcessOptions

    func validate() throws {
        if let budgetUSD, !(budgetUSD >= 0) || !budgetUSD.isFinite { throw ValidationError("--budget-usd must be 0 or more") }
        if let maxErrorRate, !(0...1).contains(maxErrorRate) { throw ValidationError("--max-error-rate must be between 0 and 1") }
    }

    func run() async throws {
        let (logger, console) = process.logging.bootstrap(label: "switchyard.collect")
        let pool: CollectPool
        let labelled: [LabelledPrompt]
        let judges: Set<String>
        do {
            pool = try CollectPool.load(config: config, models: models)
            let gold = try answers.map { path throws(SwitchyardError) in try LabelledPrompts.loadAnswers(path: path) } ?? [:]
            labelled = try LabelledPrompts.load(path: prompts, answers: gold, defaultGrader: grader)
            judges = try pool.judges(for: Set(labelled.map(\.grader)))
        } catch {
            throw ExitStatus.exit("collect", "\(error)", status: ExitStatus.badSetup)
        }
        let reporter = ProgressReporter(logger: logger, console: console, showBar: !requests.noProgress, budgetUSD: budgetUSD)
        let tokens = requests.maxTokens(pool.configuration)
        let (out, temperature, budgetUSD) = (self.out, requests.temperature, self.budgetUSD)
        let result = CollectResult()
        try await CollectProcess.run(verb: "collect", pool: pool, metrics: process.metrics(pool.configuration, logger: logger), logger: logger) { stopper in
            let (summary, _) = try await pool.collect(
                prompts: labelled, out: out, maxTokens: tokens, temperature: temperature, budgetUSD: budgetUSD,
                judges: judges, stopper: stopper, reporter: reporter, logger: logger)
            result.set(summary)
        }
        guard let summary = result.get() else { return }
        print(summary.table)
        print("wrote \(out)/routing.jsonl, models.json, replies.jsonl, errors.jsonl, summary.json")
        try CollectExit.check(summary, verb: "collect", maxErrorRate: maxErrorRate, output: out)
    }
}

/// What every request of `collect` and `models onboard` carries, and how progress shows.
struct CollectRequestOptions: ParsableArguments {
    @Option(name: .customLong("max-tokens"), help: "max_tokens of every request (default: ingest.default_max_tokens of the configuration, else 1024).")
    var maxTokens: Int?

    @Option(help: "Sampling temperature sent with every request.")
    var temperature: Double = 0

    @Flag(name: .customLong("no-progress"), help: "Never draw the progress bar, even on a terminal.")
    var noProgress = false

    func validate() throws {
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if !(temperature >= 0) { throw ValidationError("--temperature must be 0 or more") }
    }

    func maxTokens(_ configuration: PipelineConfiguration) -> Int {
        maxTokens ?? configuration.ingest.defaultMaxTokens ?? 1024
    }
}

/// The exit statuses of `collect` and `models onboard`: those of `run` (`ExitStatus`), counted over pairs.
enum CollectExit {
    static let help = """
        Exit status: 0 finished and failures stayed within --max-error-rate; 1 the run failed (what is \
        written is kept: rerun to resume); 2 bad configuration, prompts or answers, or a backend not \
        ready or not serving its model (nothing sent); 3 finished, but the share of pairs without an \
        outcome exceeded --max-error-rate, or no pair has one; 4 stopped by SIGTERM or SIGINT before \
        every pair was sent (rerun to resume); 64 bad command-line usage.
        """

    /// Throws the exit for a finished collect: 4 when it was stopped, 3 past the error budget.
    static func check(_ summary: CollectSummary, verb: String, maxErrorRate: Double?, output: String) throws {
        if summary.stopped {
            throw ExitStatus.exit(verb, "stopped by a signal with \(summary.notSent) pairs not sent: rerun the same command to continue",
                                  status: ExitStatus.interrupted)
        }
        if let reason = ExitStatus.errorBudgetReason(
            succeeded: summary.answered + summary.resumed, errorsByCode: summary.errors, unit: "pairs",
            maxErrorRate: maxErrorRate, output: output, retry: "rerun the same command once the cause is fixed (failed pairs are sent again)")
        {
            throw ExitStatus.exit(verb, reason, status: ExitStatus.tooManyErrors)
        }
    }
}

/// The summary a collect service leaves for its command to print.
final class CollectResult: Sendable {
    private let value = Mutex<CollectSummary?>(nil)

    func set(_ summary: CollectSummary) { value.withLock { $0 = summary } }
    func get() -> CollectSummary? { value.withLock { $0 } }
}

/// Stops every collector of the process (now and later ones) once SIGTERM or SIGINT arrived.
final class CollectStopper: Sendable {
    private let state = Mutex<(stopped: Bool, collectors: [Collector])>((false, []))

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Registers `collector`; stops it at once when the process is already stopping.
    func track(_ collector: Collector) {
        let stopNow = state.withLock { state -> Bool in
            state.collectors.append(collector)
            return state.stopped
        }
        if stopNow { collector.stop() }
    }

    func stop() {
        let collectors = state.withLock { state -> [Collector] in
            state.stopped = true
            return state.collectors
        }
        for collector in collectors { collector.stop() }
    }
}

/// `collect` and `models onboard` as one process: the body and the metrics endpoint in one
/// `ServiceGroup` (as `run` and every stage), so SIGTERM or SIGINT drains the collectors instead of
/// killing requests in flight; errors become the documented exit statuses.
enum CollectProcess {
    private struct Body: Service {
        let stopper: CollectStopper
        let body: @Sendable (CollectStopper) async throws -> Void

        func run() async throws {
            let stopper = self.stopper
            try await withGracefulShutdownHandler {
                try await body(stopper)
            } onGracefulShutdown: {
                stopper.stop()
            }
        }
    }

    static func run(
        verb: String, pool: CollectPool, metrics: MetricsEndpoint?, logger: Logger,
        body: @escaping @Sendable (CollectStopper) async throws -> Void
    ) async throws {
        do {
            try await StageProcess.run(Body(stopper: CollectStopper(), body: body), metrics: metrics, logger: logger)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw ExitStatus.exit(verb, "\(error)", status: ExitStatus.status(for: error))
        }
    }
}

/// The models of a pipeline.yaml that collect (and onboard) talk to, and the dispatcher over them.
struct CollectPool: Sendable {
    struct Failure: Error, CustomStringConvertible, Sendable {
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
        judges: Set<String>, stopper: CollectStopper, reporter: ProgressReporter, logger: Logger
    ) async throws -> (CollectSummary, [ReplyRecord]) {
        // Only the models this run calls: an API key another model needs is not required here.
        let used = Set(chosen.map(\.name)).union(judges)
        let dispatcher = try PipelineComponents.makeDispatcher(configuration, only: used, logger: logger)
        // As `run`: every backend answers and serves its model before the first pair, or nothing is sent.
        do {
            try await dispatcher.waitUntilReady()
        } catch {
            try? await dispatcher.shutdown()
            throw error
        }
        let collector = Collector(
            sender: DispatcherSender(dispatcher: dispatcher),
            configuration: .init(models: chosen, maxTokens: maxTokens, temperature: temperature, budgetUSD: budgetUSD),
            output: URL(fileURLWithPath: out), logger: logger)
        stopper.track(collector)
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
