import Budget
import Foundation
import Grading
import Logging
import Synchronization
import SwitchyardCore

/// `switchyard collect`: sends every labelled prompt to every chosen model, grades each reply, and
/// writes routing data with real outcomes and costs (see `CollectStore` for the files).
///
/// Every (prompt, model) pair is sent at most once per run and ends as exactly one reply record or
/// one error record; a rerun into the same directory skips the pairs that already have a reply, so an
/// interrupted run continues and a failed pair is retried. Each model has its own lane of
/// `concurrency` workers, so a slow local server never holds back a fast API. With a budget, each pair
/// reserves its estimated cost in a `SpendLedger` before it is sent (and settles the real cost after);
/// a pair that does not fit is a `budget_exhausted` error record, never sent. `stop()` (SIGTERM or
/// SIGINT in the CLI) ends the run early: no new pair is sent, the ones in flight finish and are written.
public final class Collector: Sendable {
    public struct Configuration: Sendable {
        public var models: [CollectModel]
        /// `max_tokens` of every request. Default 1024.
        public var maxTokens: Int
        /// Default 0 (greedy, as the routing data were recorded); nil leaves it to the backend.
        public var temperature: Double?
        /// USD this run may spend (models and judges); nil: no limit.
        public var budgetUSD: Double?
        /// `max_tokens` of a judge's call. Default 128.
        public var judgeMaxTokens: Int

        public init(models: [CollectModel], maxTokens: Int = 1024, temperature: Double? = 0, budgetUSD: Double? = nil, judgeMaxTokens: Int = 128) {
            self.models = models
            self.maxTokens = maxTokens
            self.temperature = temperature
            self.budgetUSD = budgetUSD
            self.judgeMaxTokens = judgeMaxTokens
        }
    }

    public let configuration: Configuration
    public let sender: any ChatSender
    public let output: URL
    private let logger: Logger
    private let stopRequested = Atomic<Bool>(false)

    public init(sender: any ChatSender, configuration: Configuration, output: URL, logger: Logger) {
        self.sender = sender
        self.configuration = configuration
        self.output = output
        self.logger = logger
    }

    /// Sends no new pair from now on; the pairs in flight finish and are written, then `run` returns
    /// (its summary counts the pairs left as `notSent`; a rerun sends them). Safe from any task.
    public func stop() {
        stopRequested.store(true, ordering: .relaxed)
    }

    /// `stop()` was called.
    public var isStopping: Bool { stopRequested.load(ordering: .relaxed) }

    /// Every graded pair in the output directory (this run's and earlier runs').
    public func replies() throws -> [ReplyRecord] {
        try CollectStore(directory: output).loadReplies(logger: logger)
    }

    /// Runs every missing pair of `prompts` × the configured models; `progress` is called after each
    /// pair (from any task). Throws only for what stops the whole run (unwritable output, a bad
    /// replies file, an unknown grader); a pair's failure is an error record.
    public func run(prompts: [LabelledPrompt], progress: @escaping @Sendable (CollectProgress) -> Void = { _ in }) async throws -> CollectSummary {
        let started = ContinuousClock.now
        let store = try CollectStore(directory: output)
        let earlier = try store.loadReplies(logger: logger)
        let models = configuration.models.map(\.name)
        let ledger = SpendLedger(budgetUSD: configuration.budgetUSD ?? .infinity)
        let judge = LedgerJudge(sender: sender, maxTokens: configuration.judgeMaxTokens)
        var graders: [String: any Grader] = [:]
        for spec in Set(prompts.map(\.grader)) {
            do {
                graders[spec] = try GraderSpec.make(spec, judge: judge)
            } catch {
                throw SwitchyardError.invalidArgument("\(error)")
            }
        }
        let done = Set(earlier.map(\.key))
        var lanes: [(model: CollectModel, prompts: [LabelledPrompt])] = []
        var resumed = 0
        for model in configuration.models {
            let todo = prompts.filter { !done.contains(PairKey(id: $0.id, model: model.name)) }
            resumed += prompts.count - todo.count
            lanes.append((model, todo))
        }
        let total = prompts.count * models.count
        let state = RunTracker(RunState(resumed: resumed))
        try store.open()
        logger.info("collect starting", metadata: [
            "prompts": "\(prompts.count)", "models": "\(models.count)", "pairs": "\(total)", "already_done": "\(resumed)",
            "budget_usd": "\(configuration.budgetUSD.map { String($0) } ?? "none")", "out": "\(output.path)",
        ])
        progress(CollectProgress(done: resumed, total: total, resumed: resumed))

        let context = PairContext(
            sender: sender, graders: graders, ledger: ledger, store: store, state: state, configuration: configuration,
            judge: judge, started: started, total: total, progress: progress, logger: logger)
        var writeError: (any Error)?
        await withTaskGroup(of: (any Error)?.self) { group in
            for lane in lanes where !lane.prompts.isEmpty {
                let queue = LaneQueue()
                let workers = max(1, min(lane.model.concurrency, lane.prompts.count, 256))
                for _ in 0..<workers {
                    group.addTask {
                        while true {
                            let index = queue.take()
                            guard index < lane.prompts.count, !Task.isCancelled, !self.isStopping else { return nil }
                            do {
                                try await context.collect(lane.prompts[index], model: lane.model)
                            } catch {
                                return error
                            }
                        }
                    }
                }
            }
            for await error in group {
                if let error, writeError == nil {
                    writeError = error
                    group.cancelAll()
                }
            }
        }
        store.close()
        if let writeError { throw writeError }

        let replies = try store.loadReplies(logger: logger)
        let ids = Set(prompts.map(\.id))
        let tableModels = Array(Set(models).union(replies.filter { ids.contains($0.id) }.map(\.model))).sorted()
        var prices: [String: ModelPrice] = [:]
        for model in configuration.models { prices[model.name] = model.price }
        let routing = try store.writeRoutingData(prompts: prompts, replies: replies, models: tableModels, prices: prices)
        let final = state.withLock { $0 }
        let stopped = isStopping
        if stopped {
            logger.notice("collect stopped before every pair was sent: rerun the same command to continue", metadata: [
                "not_sent": "\(total - final.resumed - final.answered - final.errors.values.reduce(0, +))",
            ])
        }
        let summary = CollectSummary.make(
            prompts: prompts, models: models, replies: replies, run: final, ledger: ledger.snapshot(),
            budgetUSD: configuration.budgetUSD, routing: routing, tableModels: tableModels,
            seconds: (ContinuousClock.now - started).seconds, stopped: stopped)
        try store.writeSummary(summary)
        return summary
    }
}

/// The next prompt of one model's lane, shared by its workers.
final class LaneQueue: Sendable {
    private let next = Mutex(0)

    func take() -> Int {
        next.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}

/// The run's tallies behind a lock, shared by every lane worker.
final class RunTracker: Sendable {
    private let state: Mutex<RunState>

    init(_ initial: RunState) { state = Mutex(initial) }

    func withLock<T: Sendable>(_ body: (inout RunState) -> T) -> T { state.withLock { body(&$0) } }
}

/// What one run did so far (this run only; resumed pairs are counted apart).
struct RunState: Sendable {
    var resumed: Int
    var answered = 0
    var errors: [String: Int] = [:]
    var perModel: [String: ModelTally] = [:]

    struct ModelTally: Sendable {
        var replies = 0
        var outcomeSum = 0.0
        var promptTokens = 0
        var promptBytes = 0
        var completionTokens = 0
        var costUSD = 0.0
    }
}

/// Everything a lane worker needs for one pair.
private struct PairContext: Sendable {
    let sender: any ChatSender
    let graders: [String: any Grader]
    let ledger: SpendLedger
    let store: CollectStore
    let state: RunTracker
    let configuration: Collector.Configuration
    let judge: LedgerJudge
    let started: ContinuousClock.Instant
    let total: Int
    let progress: @Sendable (CollectProgress) -> Void
    let logger: Logger

    /// Estimated USD of one call: the prompt's bytes at the model's observed bytes-per-token (4 until
    /// it has answered), and its mean completion so far (half of `max_tokens` until then).
    func estimate(_ prompt: LabelledPrompt, model: CollectModel) -> Double {
        let tally = state.withLock { $0.perModel[model.name] }
        let bytes = Double(prompt.prompt.utf8.count)
        var input = bytes / 4
        var output = Double(configuration.maxTokens) / 2
        if let tally, tally.replies >= 3 {
            if tally.promptBytes > 0, tally.promptTokens > 0 { input = bytes * Double(tally.promptTokens) / Double(tally.promptBytes) }
            output = Double(tally.completionTokens) / Double(tally.replies)
        }
        return model.price.cost(inputTokens: input, outputTokens: output)
    }

    func collect(_ prompt: LabelledPrompt, model: CollectModel) async throws {
        guard let reservation = ledger.reserve(estimate(prompt, model: model)) else {
            let snapshot = ledger.snapshot()
            try fail(prompt, model: model, CollectFailure(
                code: ErrorCode.budgetExhausted.rawValue,
                message: String(format: "not sent: the budget of $%.4f has $%.4f left (spent $%.4f, $%.4f reserved in flight); rerun with a larger --budget-usd to continue",
                                snapshot.budgetUSD, snapshot.availableUSD, snapshot.actualUSD, snapshot.reservedUSD)), cost: 0)
            return
        }
        let requestID = "\(prompt.id)@\(model.name)"
        let sent = await sender.send(
            model: model.name, prompt: prompt.prompt, maxTokens: configuration.maxTokens,
            temperature: configuration.temperature, requestID: requestID)
        if let error = sent.error {
            ledger.settle(reservation, actualUSD: sent.costUSD)
            try fail(prompt, model: model, error, cost: sent.costUSD)
            return
        }
        let text = sent.text ?? ""
        let grade: Grade
        do {
            guard let grader = graders[prompt.grader] else {
                throw GradingError.unknownGrader(spec: prompt.grader, reason: "not prepared")
            }
            grade = try await grader.grade(reply: text, answer: prompt.answer, prompt: prompt.prompt)
        } catch {
            ledger.settle(reservation, actualUSD: sent.costUSD)
            try fail(prompt, model: model, CollectFailure(code: "grading_failed", message: "\(error)"), cost: sent.costUSD)
            return
        }
        ledger.settle(reservation, actualUSD: sent.costUSD + grade.costUSD)
        let record = ReplyRecord(
            id: prompt.id, model: model.name, task: prompt.task, grader: prompt.grader, outcome: grade.score,
            extracted: grade.extracted, note: grade.note, reply: text, finishReason: sent.finishReason,
            promptTokens: sent.promptTokens, completionTokens: sent.completionTokens, costUSD: sent.costUSD,
            gradingCostUSD: grade.costUSD, attempts: sent.attempts, latencySeconds: sent.latencySeconds)
        try store.append(record)
        let snapshot = state.withLock { state -> RunState in
            state.answered += 1
            var tally = state.perModel[model.name] ?? .init()
            tally.replies += 1
            tally.outcomeSum += grade.score
            if let p = sent.promptTokens {
                tally.promptTokens += p
                tally.promptBytes += prompt.prompt.utf8.count
            }
            tally.completionTokens += sent.completionTokens ?? 0
            tally.costUSD += sent.costUSD
            state.perModel[model.name] = tally
            return state
        }
        report(snapshot)
    }

    func fail(_ prompt: LabelledPrompt, model: CollectModel, _ failure: CollectFailure, cost: Double) throws {
        try store.append(PairErrorRecord(id: prompt.id, model: model.name, error: failure, costUSD: cost))
        logger.debug("pair failed", metadata: ["id": "\(prompt.id)", "model": "\(model.name)", "error": "\(failure)"])
        let snapshot = state.withLock { state -> RunState in
            state.errors[failure.code, default: 0] += 1
            return state
        }
        report(snapshot)
    }

    func report(_ run: RunState) {
        let ledgerState = ledger.snapshot()
        progress(CollectProgress(
            done: run.resumed + run.answered + run.errors.values.reduce(0, +), total: total,
            errors: run.errors.values.reduce(0, +), spendUSD: ledgerState.actualUSD,
            elapsedSeconds: (ContinuousClock.now - started).seconds, resumed: run.resumed))
    }
}

/// A judge grader's calls go through the same sender (and so the same dispatcher and limits); their
/// cost comes back in the grade and is settled with the pair's reservation.
struct LedgerJudge: JudgeClient {
    let sender: any ChatSender
    let maxTokens: Int

    func complete(model: String, prompt: String) async throws(GradingError) -> (text: String, costUSD: Double) {
        let reply = await sender.send(model: model, prompt: prompt, maxTokens: maxTokens, temperature: 0, requestID: "judge@\(model)")
        if let error = reply.error { throw .judgeFailed(model: model, reason: error.description) }
        return (reply.text ?? "", reply.costUSD)
    }
}

/// Progress of a collect run, after each pair.
public struct CollectProgress: Sendable, Hashable {
    /// Pairs finished (reply or error), resumed ones included.
    public var done: Int
    public var total: Int
    public var errors: Int
    /// Spent by this run (models and judges).
    public var spendUSD: Double
    public var elapsedSeconds: Double
    /// Pairs that already had a reply when the run started.
    public var resumed: Int

    public init(done: Int, total: Int, errors: Int = 0, spendUSD: Double = 0, elapsedSeconds: Double = 0, resumed: Int = 0) {
        self.done = done
        self.total = total
        self.errors = errors
        self.spendUSD = spendUSD
        self.elapsedSeconds = elapsedSeconds
        self.resumed = resumed
    }
}
