import ArgumentParser
import Embedding
import Evaluation
import Foundation
import Grading
import Logging
import Pipeline
import Profiling
import Routing
import SwitchyardCore

struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Learn the router from routing data.",
        subcommands: [ProfileBuildCommand.self]
    )
}

struct ProfileBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Learn model profiles, clusters and scorers from routing data (train, and dev for selection).",
        discussion: """
            Writes a versioned artifact directory (manifest.json, featurizer/, cost_model.json, \
            strategies/<name>/, and with task-labelled data task_prior/ and task_featurizer/) that \
            `switchyard route` and the score stage load. Train and dev are one labelled pool: every \
            hyper-parameter, the featurizer, the task-prior blends, the `ensemble` stack and `auto` are \
            chosen by K-fold cross-validation over it (--folds, stratified by task, seeded by --seed), and \
            the table prints each strategy's cross-validated AIQ ± its standard error over the folds. \
            `auto` is the best learned strategy, or the cheapest to run among those within 0.002 of it. \
            When the records carry a `task`, a task classifier is trained twice (on the routing features, \
            and on the whole prompt with its template) and strategies are blended toward the one that \
            cross-validates best. --test reads a held-out split once, after everything is chosen, and \
            prints its AIQ beside the estimate; it never chooses anything. \
            With --answers (gold answers and graders by prompt id, e.g. answers.jsonl beside the ZeroEval \
            data), the aptitude set keeps each prompt's answer and grader, so `switchyard models onboard` \
            can test and grade a new model by itself. \
            Featurizers: \(Featurizer.Configuration.presets.keys.sorted().joined(separator: ", ")).
            """
    )

    @Option(help: "Training routing data (JSON Lines: id, prompt, outcomes, costs).")
    var train: String

    @Option(help: "Dev routing data: labelled data like --train (both are cross-validated and fitted).")
    var dev: String?

    @Option(help: "Folds of the cross-validation every choice is made by.")
    var folds: Int = 5

    @Option(help: "Held-out routing data (e.g. the test split) to report AIQ on after the build, beside the cross-validated estimate; read once, never used to choose.")
    var test: String?

    @Option(help: "Artifact directory to write.")
    var out: String

    @Option(help: "Model prices (models.json); default: models.json beside the train file.")
    var models: String?

    @Option(help: "Featurizer preset.")
    var featurizer: String = Featurizer.Configuration.defaultPresetName

    @Option(help: "Compare these featurizer presets by cross-validation (comma-separated, or `all`) and keep the best; overrides --featurizer.")
    var compareFeaturizers: String?

    @Option(help: "Strategies to build (comma-separated); default all.")
    var strategies: String?

    @Option(help: "Gold answers ({\"id\", \"answer\", \"grader\"} lines) kept with the aptitude set, for `models onboard`.")
    var answers: String?

    @Option(help: "Seed of every random choice.")
    var seed: UInt64 = 0

    @Option(help: "Task prior to keep when the records carry a task: auto (whichever blends best by cross-validation), whole-prompt (its own classifier on the whole prompt, template kept) or routing (on the routing features).")
    var taskPrior: TaskPriorChoice = .auto

    enum TaskPriorChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, wholePrompt = "whole-prompt", routing
    }

    @Option(help: "MiniLM model directory (for minilm featurizers).")
    var minilmDir: String = ".models/all-MiniLM-L6-v2"

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if folds < 2 { throw ValidationError("--folds must be at least 2") }
    }

    func run() async throws {
        let (logger, _) = logging.bootstrap(label: "switchyard.profile")
        let presetNames: [String]
        if let compareFeaturizers {
            presetNames = compareFeaturizers == "all"
                ? Featurizer.Configuration.presets.keys.sorted()
                : compareFeaturizers.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        } else {
            presetNames = [featurizer]
        }
        let featurizers = try presetNames.map { name in
            guard let preset = Featurizer.Configuration.presets[name] else {
                throw ValidationError("unknown featurizer '\(name)'; known: \(Featurizer.Configuration.presets.keys.sorted().joined(separator: ", "))")
            }
            return preset
        }
        let embedders = try CLIEmbedders.load(names: Set(featurizers.compactMap(\.embedder)), minilmDir: minilmDir, logger: logger)
        let trainData = try RoutingDataset.load(path: train)
        let devData = try dev.map { path throws(SwitchyardError) in try RoutingDataset.load(path: path) }
        let pricesPath = models ?? URL(fileURLWithPath: train).deletingLastPathComponent().appendingPathComponent("models.json").path
        let catalog = try ModelInfo.loadCatalog(path: pricesPath)
        let prices = Dictionary(catalog.map { ($0.name, $0.price) }, uniquingKeysWith: { first, _ in first })

        var configuration = ProfileBuilder.Configuration(
            featurizers: featurizers,
            strategies: strategies.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } },
            seed: seed, folds: folds
        )
        configuration.taskPriorReadsWholePrompt = taskPrior == .auto ? nil : taskPrior == .wholePrompt
        let builder = ProfileBuilder(configuration: configuration, logger: logger)
        let manifest = try builder.build(
            train: trainData, dev: devData, prices: prices,
            sources: ProfileBuilder.Sources(trainFile: train, devFile: dev), embedders: embedders,
            to: URL(fileURLWithPath: out)
        )
        var testAIQ: [String: Double]? = nil
        if let test {
            // Everything is chosen and written: the held-out split is read once, to report.
            let artifact = try RouterArtifact.load(from: URL(fileURLWithPath: out), embedder: manifest.featurizer.embedder.flatMap { embedders[$0] })
            let (tables, predictions) = try ArtifactEvaluation.predictions(artifact: artifact, dataset: try RoutingDataset.load(path: test))
            let report = try Evaluator(configuration: .init(budgetFractions: [])).evaluate(tables, strategies: predictions, dataset: test)
            testAIQ = Dictionary(uniqueKeysWithValues: report.strategies.compactMap { result in result.metrics.aiq.map { (result.name, $0) } })
        }
        print(Self.summary(manifest, out: out, testAIQ: testAIQ))
        if let answers { print(try Self.attachAnswers(path: answers, artifact: URL(fileURLWithPath: out), logger: logger)) }
    }

    /// Stores each aptitude prompt's gold answer and grader in the artifact (after the build, so the
    /// build itself never depends on answers).
    static func attachAnswers(path: String, artifact: URL, logger: Logger) throws -> String {
        let gold = try LabelledPrompts.loadAnswers(path: path)
        for spec in Set(gold.values.map(\.grader)) {
            do {
                _ = try GraderSpec.local(spec)
            } catch {
                throw SwitchyardError.badFile(file: path, reason: "\(error)")
            }
        }
        let directory = RouterArtifact.strategyDirectory(artifact, AptitudeStrategy.strategyName)
        guard FileManager.default.fileExists(atPath: directory.path) else {
            return "answers: the artifact has no aptitude strategy, so there is no aptitude set to keep them with"
        }
        var strategy = try AptitudeStrategy.load(from: directory)
        let (set, missing) = strategy.set.attachingAnswers { id in gold[id].map { ($0.answer, $0.grader, $0.task) } }
        guard missing.count < set.count else {
            throw SwitchyardError.badFile(file: path, reason: "none of the \(set.count) aptitude prompt ids has an answer here (first: \(set.ids.first ?? "-")): is it the answers file of the training data?")
        }
        strategy.set = set
        try strategy.save(to: directory)
        if !missing.isEmpty {
            logger.warning("aptitude prompts without an answer: `models onboard` skips them", metadata: [
                "count": "\(missing.count)", "first": "\(missing.prefix(5).joined(separator: ","))",
            ])
        }
        return "aptitude set: answers and graders kept for \(set.count - missing.count) of \(set.count) prompts (models onboard can grade a new model)"
    }

    /// The build's table: every strategy's cross-validated AIQ ± standard error (and the held-out AIQ
    /// beside it when `testAIQ` is given), its blend, default λ, choice and training time.
    static func summary(_ manifest: RouterManifest, out: String, testAIQ: [String: Double]? = nil) -> String {
        let seconds = String(format: "%.1f", manifest.build.seconds)
        let folds = manifest.crossValidation.map { "\($0.folds)-fold CV over \($0.labelledRecords) labelled prompts" } ?? "dev"
        var lines: [String] = [
            "artifact: \(out)",
            "featurizer: \(manifest.featurizerLabel)  auto: \(manifest.autoStrategy)  default lambda: \(manifest.defaultLambda)  build: \(seconds) s  (\(folds))",
            "",
            "| strategy | CV AIQ ± s.e. |\(testAIQ == nil ? "" : " test AIQ |") task-prior weight | default λ | chosen | train s |",
            "|---|---|\(testAIQ == nil ? "" : "---|")---|---|---|---|",
        ]
        for entry in manifest.strategies {
            let aiq = String(format: "%.4f", entry.cvAIQ) + (entry.cvStandardError.map { String(format: " ± %.4f", $0) } ?? "")
            let test = testAIQ.map { table in " " + (table[entry.name].map { String(format: "%.4f", $0) } ?? "-") + " |" } ?? ""
            let prior = entry.taskPriorWeight.map { String(format: "%.2f", 1 - $0) } ?? "0"
            let lambda = entry.defaultLambda.map { String(format: "%.4g", $0) } ?? "-"
            let train = String(format: "%.2f", entry.trainSeconds)
            lines.append("| \(entry.name) | \(aiq) |\(test) \(prior) | \(lambda) | \(entry.choice ?? "") | \(train) |")
        }
        if !manifest.featurizerComparison.isEmpty {
            let names: [String] = manifest.strategies.map { $0.name }
            let header: String = "| featurizer | " + names.joined(separator: " | ") + " |"
            let rule: String = "|---|" + String(repeating: "---|", count: names.count)
            lines += ["", "Featurizer comparison (cross-validated AIQ ± s.e.):", "", header, rule]
            for trial in manifest.featurizerComparison {
                var cells: [String] = []
                for name in names {
                    if let value = trial.cvAIQ[name] {
                        cells.append(String(format: "%.4f", value) + (trial.cvStandardError?[name].map { String(format: " ± %.4f", $0) } ?? ""))
                    } else {
                        cells.append("-")
                    }
                }
                lines.append("| \(trial.featurizer) | " + cells.joined(separator: " | ") + " |")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Embedders named by featurizers, loaded once for the CLI.
enum CLIEmbedders {
    static func load(names: Set<String>, minilmDir: String, logger: Logger) throws -> [String: any Embedder] {
        var out: [String: any Embedder] = [:]
        for name in names {
            if name == "minilm" {
                out[name] = try MiniLMEmbedder(modelDirectory: minilmDir, logger: logger)
            } else if name.hasPrefix("hashed-"), let dimension = Int(name.dropFirst("hashed-".count)) {
                out[name] = try HashedEmbedder(dimension: dimension)
            } else {
                throw ValidationError("unknown embedder '\(name)' (known: minilm, hashed-N)")
            }
        }
        return out
    }
}
