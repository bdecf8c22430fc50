import ArgumentParser
import Collecting
import Embedding
import Foundation
import Grading
import Logging
import Pipeline
import Profiling
import Routing
import SwitchyardCore

struct ModelsOnboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onboard",
        abstract: "Onboard a running model: give it the artifact's aptitude test, grade it, and add it (models add, measured).",
        discussion: """
            Sends the artifact's aptitude prompts (all, or the first --per-category k of each \
            category) to the model NAME of pipeline.yaml through the dispatcher, grades each reply \
            with the answer and grader the artifact keeps (`profile build --answers`, or pass \
            --answers), and adds the model exactly as `models add` would with those outcomes and \
            the configured price: no retraining.

            With --validation (labelled prompts the router was not trained on) the model also \
            answers them, and UniRoute's per-cluster quality comes from those outcomes (UniRoute's \
            own recipe) instead of the aptitude prompts.

            Replies and grades go to OUT (default PROFILES/onboarding/NAME); a rerun resumes. \
            Prints the model's aptitude per category and the share of decisions each updated \
            strategy would now give it at the artifact's default lambda.

            \(CollectExit.help) A model that answers no aptitude prompt exits 3 with the artifact unchanged.
            """
    )

    @OptionGroup var artifactOptions: ArtifactOptions

    @Option(help: "The pipeline configuration that serves the model (backend, price, limits).")
    var config: String = "pipeline.yaml"

    @Option(help: "The model to onboard, as pipeline.yaml names it.")
    var name: String

    @Option(name: .customLong("per-category"), help: "Ask only the first k aptitude prompts of each category (a short test; at least 1).")
    var perCategory: Int?

    @Option(help: "Labelled prompts ({\"id\", \"prompt\", \"answer\", \"grader\"}) held out of training: UniRoute's per-cluster error comes from them.")
    var validation: String?

    @Option(help: "Gold answers by prompt id, for an artifact built without --answers and for validation lines without answers.")
    var answers: String?

    @Option(help: "Prompts to count the model's decisions on ({\"id\", \"prompt\"} lines); default: the validation prompts, else the aptitude prompts.")
    var sample: String?

    @Option(help: "Directory for the replies (default PROFILES/onboarding/NAME).")
    var out: String?

    @Option(name: .customLong("budget-usd"), help: "Most the test may spend; prompts past it are not sent.")
    var budgetUSD: Double?

    @OptionGroup var requests: CollectRequestOptions

    @OptionGroup var process: ProcessOptions

    func validate() throws {
        if let perCategory, perCategory < 1 { throw ValidationError("--per-category must be at least 1") }
        if let budgetUSD, !(budgetUSD >= 0) || !budgetUSD.isFinite { throw ValidationError("--budget-usd must be 0 or more") }
    }

    func run() async throws {
        let (logger, console) = process.logging.bootstrap(label: "switchyard.onboard")
        let plan: OnboardingPlan
        do {
            plan = try prepare()
        } catch {
            throw ExitStatus.exit("models onboard", "\(error)", status: ExitStatus.badSetup)
        }
        let reporter = ProgressReporter(logger: logger, console: console, showBar: !requests.noProgress, budgetUSD: budgetUSD)
        let command = self
        try await CollectProcess.run(verb: "models onboard", pool: plan.pool, metrics: process.metrics(plan.pool.configuration, logger: logger), logger: logger) { stopper in
            try await command.onboard(plan, stopper: stopper, reporter: reporter, logger: logger)
        }
    }

    /// What `run` checks before anything is sent: the artifact, its answers, the prompts and the pool.
    struct OnboardingPlan: Sendable {
        var set: AptitudeSet
        var aptitudePrompts: [LabelledPrompt]
        var validationPrompts: [LabelledPrompt]?
        var pool: CollectPool
        var model: CollectModel
        var judges: Set<String>
    }

    func prepare() throws -> OnboardingPlan {
        let set = try OnboardingPrompts.aptitudeSet(profiles: artifactOptions.profiles, answers: answers)
        let gold = try answers.map { path throws(SwitchyardError) in try LabelledPrompts.loadAnswers(path: path) } ?? [:]
        guard set.answers != nil else {
            throw SwitchyardError.badFile(
                file: artifactOptions.profiles,
                reason: "its aptitude set keeps no answers, so the model's replies cannot be graded: rebuild with `switchyard profile build ... --answers FILE`, or pass --answers FILE")
        }
        let indices = set.onboardingIndices(perCategory: perCategory)
        guard !indices.isEmpty else {
            throw SwitchyardError.badFile(file: artifactOptions.profiles, reason: "no aptitude prompt has an answer and a grader: pass --answers FILE with their ids")
        }
        let aptitudePrompts = indices.compactMap { i -> LabelledPrompt? in
            guard let answer = set.answers?[i], let grader = set.graders?[i] else { return nil }
            return LabelledPrompt(id: set.ids[i], prompt: set.prompts[i], task: set.tasks?[i], answer: answer, grader: grader)
        }
        let validationPrompts = try validation.map { path throws(SwitchyardError) in try LabelledPrompts.load(path: path, answers: gold) }
        let pool = try CollectPool.load(config: config, models: name)
        guard let model = pool.chosen.first else { throw CollectPool.Failure(description: "model \(name) is not in \(config)") }
        let judges = try pool.judges(for: Set((aptitudePrompts + (validationPrompts ?? [])).map(\.grader)))
        return OnboardingPlan(set: set, aptitudePrompts: aptitudePrompts, validationPrompts: validationPrompts, pool: pool, model: model, judges: judges)
    }

    /// Collects the aptitude (and validation) replies, then changes the artifact; stopped by a signal
    /// before that, it exits 4 with the artifact unchanged (a rerun resumes from the replies kept).
    func onboard(_ plan: OnboardingPlan, stopper: CollectStopper, reporter: ProgressReporter, logger: Logger) async throws {
        let (set, aptitudePrompts, pool, model, judges) = (plan.set, plan.aptitudePrompts, plan.pool, plan.model, plan.judges)
        let directory = artifactOptions.directory
        let manifest = try artifactOptions.manifest()
        let outDirectory = out ?? directory.appendingPathComponent("onboarding").appendingPathComponent(name).path
        let (tokens, temperature) = (requests.maxTokens(pool.configuration), requests.temperature)
        print("onboarding \(name): \(aptitudePrompts.count) aptitude prompts of \(set.count)"
              + (perCategory.map { " (at most \($0) per category)" } ?? "") + " -> \(outDirectory)/aptitude")
        let (aptitudeSummary, aptitudeReplies) = try await pool.collect(
            prompts: aptitudePrompts, out: outDirectory + "/aptitude", maxTokens: tokens, temperature: temperature,
            budgetUSD: budgetUSD, judges: judges, stopper: stopper, reporter: reporter, logger: logger)
        try Self.checkStopped(aptitudeSummary)
        let asked = Set(aptitudePrompts.map(\.id))
        let mine = aptitudeReplies.filter { $0.model == name && asked.contains($0.id) }
        guard !mine.isEmpty else {
            throw ExitStatus.exit(
                "models onboard",
                "\(name) answered none of the \(aptitudePrompts.count) aptitude prompts (\(outDirectory)/aptitude/errors.jsonl says why); the artifact is unchanged",
                status: ExitStatus.tooManyErrors)
        }
        var outcomes: [String: Double] = [:]
        for reply in mine { outcomes[reply.id] = reply.outcome }
        let counted = mine.compactMap(\.completionTokens)
        let aptitude = AptitudeOutcomes(
            model: name, outcomes: outcomes,
            meanOutputTokens: counted.isEmpty ? nil : Double(counted.reduce(0, +)) / Double(counted.count))
        if let failed = aptitudeSummary.errors.first {
            logger.warning("some aptitude prompts got no outcome (errors.jsonl says why); onboarding from the rest", metadata: [
                "first_error_code": "\(failed.key)", "errors": "\(aptitudeSummary.errors.values.reduce(0, +))",
            ])
        }

        var validationSet: ModelOnboarding.Validation?
        var sampleSource = "the aptitude prompts"
        var samplePrompts = set.prompts
        let embedder = try artifactOptions.embedder(for: manifest, logger: logger)
        if let validationPrompts = plan.validationPrompts {
            print("validation: \(validationPrompts.count) prompts -> \(outDirectory)/validation")
            let (validationSummary, replies) = try await pool.collect(
                prompts: validationPrompts, out: outDirectory + "/validation", maxTokens: tokens, temperature: temperature,
                budgetUSD: budgetUSD.map { max(0, $0 - aptitudeSummary.spendUSD) }, judges: judges, stopper: stopper,
                reporter: reporter, logger: logger)
            try Self.checkStopped(validationSummary)
            var byID: [String: Double] = [:]
            for reply in replies where reply.model == name { byID[reply.id] = reply.outcome }
            let graded = validationPrompts.filter { byID[$0.id] != nil }
            guard !graded.isEmpty else {
                throw ExitStatus.exit(
                    "models onboard",
                    "no validation prompt of \(validation ?? "") got an outcome from \(name) (see \(outDirectory)/validation/errors.jsonl); the artifact is unchanged",
                    status: ExitStatus.tooManyErrors)
            }
            let featurizer = try RouterArtifact.load(from: directory, embedder: embedder, only: [AptitudeStrategy.strategyName]).featurizer
            validationSet = ModelOnboarding.Validation(
                vectors: try featurizer.vectors(graded.map(\.prompt)), outcomes: graded.map { Float(byID[$0.id] ?? 0) })
            sampleSource = "the validation prompts"
            samplePrompts = validationPrompts.map(\.prompt)
        }
        if let sample {
            samplePrompts = try Self.prompts(in: sample)
            sampleSource = sample
        }

        let report = try ModelOnboarding.onboard(
            directory: directory, model: name, price: model.price, outcomes: aptitude, validation: validationSet, logger: logger)
        print(Self.categoryTable(set: set, outcomes: outcomes))
        print("\(name): aptitude " + String(format: "%.3f", report.meanAptitude) + " on \(report.answered) answered prompts"
              + " (price $\(model.price.inputUSDPerMTok)/$\(model.price.outputUSDPerMTok) per Mtok); updated: \(report.updated.joined(separator: ", "))")
        if report.validationPrompts > 0 { print("uniroute per-cluster quality from \(report.validationPrompts) validation prompts") }
        print(try Self.decisionShare(directory: directory, embedder: embedder, model: name, strategies: report.updated, prompts: samplePrompts, source: sampleSource))
    }

    /// Exit 4 (the artifact unchanged) when a signal stopped the collect before every prompt was sent.
    static func checkStopped(_ summary: CollectSummary) throws {
        guard summary.stopped else { return }
        throw ExitStatus.exit(
            "models onboard", "stopped by a signal with \(summary.notSent) prompts not sent; the artifact is unchanged: rerun the same command to continue",
            status: ExitStatus.interrupted)
    }

    /// Mean outcome per aptitude category, named by its most common task.
    static func categoryTable(set: AptitudeSet, outcomes: [String: Double]) -> String {
        var lines = ["| category | task | asked | mean outcome |", "|---|---|---|---|"]
        for category in 0..<set.categoryCount {
            let members = (0..<set.count).filter { set.categories[$0] == category }
            var taskCounts: [String: Int] = [:]
            for i in members { if let task = set.tasks?[i] { taskCounts[task, default: 0] += 1 } }
            let task = taskCounts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? "-"
            let got = members.compactMap { outcomes[set.ids[$0]] }
            let mean = got.isEmpty ? "-" : String(format: "%.2f", got.reduce(0, +) / Double(got.count))
            lines.append("| \(category) | \(task) | \(got.count) of \(members.count) | \(mean) |")
        }
        return lines.joined(separator: "\n")
    }

    /// How many of `prompts` each updated strategy now sends to `model` at the artifact's default λ.
    static func decisionShare(
        directory: URL, embedder: (any Embedder)?, model: String, strategies: [String], prompts: [String], source: String
    ) throws -> String {
        let artifact = try RouterArtifact.load(from: directory, embedder: embedder, only: Set(strategies))
        let requests = prompts.enumerated().map { RouteRequest(id: "sample-\($0.offset)", prompt: $0.element) }
        var parts: [String] = []
        for strategy in strategies.sorted() {
            let batch = BatchRouter(profiler: artifact.profiler(), router: try artifact.router(strategy: strategy))
            let decisions = try batch.route(requests).compactMap { try? $0.result.get() }
            let taken = decisions.filter { $0.model == model }.count
            parts.append("\(strategy) \(taken)" + String(format: " (%.1f%%)", 100 * Double(taken) / Double(max(1, decisions.count))))
        }
        return "decisions \(model) would take at the default lambda " + String(format: "%.4g", artifact.manifest.defaultLambda)
            + " on \(prompts.count) prompts (\(source)): " + parts.joined(separator: ", ")
    }

    /// The `prompt` of every line of a JSON Lines file.
    static func prompts(in path: String) throws -> [String] {
        struct Line: Decodable { var prompt: String }
        var out: [String] = []
        try JSONLinesReader(path: path).decodeEach(Line.self) { line, _ throws(SwitchyardError) in out.append(line.prompt) }
        return out
    }
}

/// The artifact's aptitude set with the answers it keeps, merged with an answers file when given.
enum OnboardingPrompts {
    static func aptitudeSet(profiles: String, answers: String?) throws -> AptitudeSet {
        let directory = RouterArtifact.strategyDirectory(URL(fileURLWithPath: profiles), AptitudeStrategy.strategyName)
        let set = try AptitudeStrategy.load(from: directory).set
        guard let answers else { return set }
        let gold = try LabelledPrompts.loadAnswers(path: answers)
        return set.attachingAnswers { id in
            if let known = gold[id] { return (known.answer, known.grader, known.task) }
            guard let i = set.ids.firstIndex(of: id), let answer = set.answers?[i], let grader = set.graders?[i] else { return nil }
            return (answer, grader, set.tasks?[i])
        }.set
    }
}
