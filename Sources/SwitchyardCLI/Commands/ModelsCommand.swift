import ArgumentParser
import Foundation
import Logging
import Pipeline
import Routing
import SwitchyardCore

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Manage the model pool of a profile directory.",
        subcommands: [ModelsAddCommand.self, ModelsOnboardCommand.self, ModelsAptitudeSetCommand.self]
    )
}

struct ModelsAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Onboard a new model from its aptitude-test outcomes and price alone: no retraining.",
        discussion: """
            Run the new model on the artifact's aptitude prompts (`switchyard models aptitude-set`), \
            score its answers, and pass them as --aptitude: one {"id": <aptitude prompt id>, "outcome": 0|1} \
            line per prompt (optionally "output_tokens"), or routing-data lines whose "outcomes" hold the \
            model. The aptitude, uniroute and inference-dynamics strategies then score the model; others \
            keep their pool until the next `profile build`.
            """
    )

    @Option(help: "Artifact directory written by `switchyard profile build`.")
    var profiles: String

    @Option(help: "Name of the new model (as backends and decisions will call it).")
    var name: String

    @Option(help: "The model's outcomes on the aptitude prompts (JSON Lines).")
    var aptitude: String

    @Option(name: .customLong("input-usd-per-mtok"), help: "Input price, USD per million tokens.")
    var inputUSDPerMTok: Double

    @Option(name: .customLong("output-usd-per-mtok"), help: "Output price, USD per million tokens.")
    var outputUSDPerMTok: Double

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let (logger, _) = logging.bootstrap(label: "switchyard.models")
        do {
            let outcomes = try AptitudeOutcomes.load(path: aptitude, model: name)
            let report = try ModelOnboarding.onboard(
                directory: URL(fileURLWithPath: profiles), model: name,
                price: ModelPrice(inputUSDPerMTok: inputUSDPerMTok, outputUSDPerMTok: outputUSDPerMTok),
                outcomes: outcomes, logger: logger
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } catch where error is AptitudeError || error is SwitchyardError {
            throw ExitStatus.exit("models add", "\(error)", status: ExitStatus.failed)
        }
    }
}

struct ModelsAptitudeSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aptitude-set",
        abstract: "Write the artifact's aptitude prompts ({\"id\", \"prompt\"} lines): run a new model on these for `models add`.",
        discussion: """
            When the artifact keeps answers (`profile build --answers`), each line also has "answer", \
            "grader" and "task": a labelled prompts file `switchyard collect` can run as it is.
            """
    )

    @Option(help: "Artifact directory written by `switchyard profile build`.")
    var profiles: String

    @Option(help: "Output JSON Lines file.")
    var output: String

    @Option(name: .customLong("per-category"), help: "Only the first k prompts of each category that have an answer: the short test `models onboard --per-category k` gives.")
    var perCategory: Int?

    @Option(help: "Gold answers by prompt id, for an artifact built without --answers.")
    var answers: String?

    func validate() throws {
        if let perCategory, perCategory < 1 { throw ValidationError("--per-category must be at least 1") }
    }

    func run() async throws {
        do {
            let set = try OnboardingPrompts.aptitudeSet(profiles: profiles, answers: answers)
            let writer = try JSONLinesWriter(path: output)
            let rows = perCategory == nil ? Array(0..<set.count) : set.onboardingIndices(perCategory: perCategory)
            for i in rows {
                var line = ["id": set.ids[i], "prompt": set.prompts[i]]
                if let answer = set.answers?[i], let grader = set.graders?[i] {
                    line["answer"] = answer
                    line["grader"] = grader
                    if let task = set.tasks?[i] { line["task"] = task }
                }
                try writer.write(line)
            }
            writer.flush()
        } catch let error as SwitchyardError {
            throw ExitStatus.exit("models aptitude-set", "\(error)", status: ExitStatus.failed)
        }
    }
}
