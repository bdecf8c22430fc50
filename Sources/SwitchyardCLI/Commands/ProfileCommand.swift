import ArgumentParser
import Embedding
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
            `switchyard route` and the score stage load. Every strategy is scored on dev (area under the \
            cost-quality curve); `auto` is the best learned one. When the records carry a `task`, a task \
            classifier is trained twice (on the routing features, and on the whole prompt with its \
            template) and strategies are blended toward the one that scores best on dev. \
            With --answers (gold answers and graders by prompt id, e.g. answers.jsonl beside the ZeroEval \
            data), the aptitude set keeps each prompt's answer and grader, so `switchyard models onboard` \
            can test and grade a new model by itself. \
            Featurizers: \(Featurizer.Configuration.presets.keys.sorted().joined(separator: ", ")).
            """
    )

    @Option(help: "Training routing data (JSON Lines: id, prompt, outcomes, costs).")
    var train: String

    @Option(help: "Dev routing data, used to choose hyper-parameters, the featurizer and `auto`.")
    var dev: String?

    @Option(help: "Artifact directory to write.")
    var out: String

    @Option(help: "Model prices (models.json); default: models.json beside the train file.")
    var models: String?

    @Option(help: "Featurizer preset.")
    var featurizer: String = Featurizer.Configuration.defaultPresetName

    @Option(help: "Compare these featurizer presets on dev (comma-separated, or `all`) and keep the best; overrides --featurizer.")
    var compareFeaturizers: String?

    @Option(help: "Strategies to build (comma-separated); default all.")
    var strategies: String?

    @Option(help: "Gold answers ({\"id\", \"answer\", \"grader\"} lines) kept with the aptitude set, for `models onboard`.")
    var answers: String?

    @Option(help: "Seed of every random choice.")
    var seed: UInt64 = 0

    @Option(help: "Task prior to keep when the records carry a task: auto (whichever blends best on dev), whole-prompt (its own classifier on the whole prompt, template kept) or routing (on the routing features).")
    var taskPrior: TaskPriorChoice = .auto

    enum TaskPriorChoice: String, ExpressibleByArgument, CaseIterable {
        case auto, wholePrompt = "whole-prompt", routing
    }

    @Option(help: "MiniLM model directory (for minilm featurizers).")
    var minilmDir: String = ".models/all-MiniLM-L6-v2"

    @OptionGroup var logging: LoggingOptions

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
            seed: seed
        )
        configuration.taskPriorReadsWholePrompt = taskPrior == .auto ? nil : taskPrior == .wholePrompt
        let builder = ProfileBuilder(configuration: configuration, logger: logger)
        let manifest = try builder.build(
            train: trainData, dev: devData, prices: prices,
            sources: ProfileBuilder.Sources(trainFile: train, devFile: dev), embedders: embedders,
            to: URL(fileURLWithPath: out)
        )
        print(Self.summary(manifest, out: out))
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

    static func summary(_ manifest: RouterManifest, out: String) -> String {
        let seconds = String(format: "%.1f", manifest.build.seconds)
        var lines: [String] = [
            "artifact: \(out)",
            "featurizer: \(manifest.featurizerLabel)  auto: \(manifest.autoStrategy)  default lambda: \(manifest.defaultLambda)  build: \(seconds) s",
            "", "| strategy | dev AIQ | train s |", "|---|---|---|",
        ]
        for entry in manifest.strategies {
            let aiq = String(format: "%.4f", entry.devAIQ)
            let train = String(format: "%.2f", entry.trainSeconds)
            lines.append("| \(entry.name) | \(aiq) | \(train) |")
        }
        if !manifest.featurizerComparison.isEmpty {
            let names: [String] = manifest.strategies.map { $0.name }
            let header: String = "| featurizer | " + names.joined(separator: " | ") + " |"
            let rule: String = "|---|" + String(repeating: "---|", count: names.count)
            lines += ["", "Featurizer comparison (dev AIQ):", "", header, rule]
            for trial in manifest.featurizerComparison {
                var cells: [String] = []
                for name in names {
                    if let value = trial.devAIQ[name] { cells.append(String(format: "%.4f", value)) } else { cells.append("-") }
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
