import ArgumentParser
import Evaluation
import Foundation
import Logging
import Pipeline
import Routing
import SwitchyardCore

/// `switchyard eval`: every strategy of an artifact against the references on a routing-data split.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Trace cost-quality curves of every strategy on routing data; write a report, metrics and a plot.",
        discussion: """
            Loads the artifact of `switchyard profile build`, featurises the data with the artifact's profiler, \
            sweeps λ for every strategy (argmax predicted quality − λ·estimated cost; realised quality and cost \
            come from the data's recorded outcomes and costs), spends batch budgets with the BudgetAllocator, \
            and writes DIR/report.md, DIR/metrics.json and DIR/cost_quality.svg. The headline is the router \
            `auto` runs (chosen on dev); the others follow. The metrics (AIQ, APGR, CPT, quality at a budget) \
            are defined in the README, section "Metrics used by switchyard eval".
            """
    )

    @OptionGroup var artifactOptions: ArtifactOptions

    @Option(help: "Routing data to evaluate on (JSON Lines with outcomes and costs), e.g. the test split.")
    var data: String

    @Option(help: "Output directory for report.md, metrics.json and cost_quality.svg.")
    var out: String

    @Option(help: "Comma-separated strategies (default: every strategy in the artifact).")
    var strategies: String?

    @Option(help: "Comma-separated batch budgets as fractions of the best single model's cost on the data.")
    var budgets: String = "0.1,0.25,0.5,1.0"

    @Option(help: "Name shown in the report (default: the data file's folder and name).")
    var name: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        let fractions = budgets.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        if fractions.contains(where: { $0 == nil || !($0! > 0) }) {
            throw ValidationError("--budgets must be positive fractions separated by commas, e.g. 0.1,0.25,0.5,1.0")
        }
    }

    func run() async throws {
        let (logger, _) = logging.bootstrap(label: "switchyard.eval")
        let manifest = try artifactOptions.manifest()
        let wanted = strategies.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let artifact = try artifactOptions.load(manifest: manifest, only: wanted.map(Set.init), logger: logger)
        let dataset = try RoutingDataset.load(path: data)
        logger.info("profiling prompts", metadata: ["prompts": "\(dataset.records.count)"])
        let (tables, predictions) = try ArtifactEvaluation.predictions(artifact: artifact, dataset: dataset, strategies: wanted)
        let fractions = budgets.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let evaluator = Evaluator(configuration: .init(budgetFractions: fractions))
        let label = name ?? URL(fileURLWithPath: data).deletingPathExtension().pathComponents.suffix(2).joined(separator: "/")
        let report = try evaluator.evaluate(tables, strategies: predictions, dataset: label, autoStrategy: manifest.autoStrategy)
        let paths = try EvaluationOutput.write(report, to: out)
        print(MarkdownReport.headline(report).replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "\n\n", with: "\n"))
        if let best = report.headlineStrategy, !best.budgets.isEmpty {
            let cells = best.budgets.map { String(format: "%.0f%%: %.4f", $0.fraction * 100, $0.quality) }
            print("quality at budget (\(best.name), fraction of the best single model's cost): " + cells.joined(separator: ", "))
        }
        print("report: \(paths.report)")
        print("metrics: \(paths.metrics)")
        print("plot: \(paths.plot)")
    }
}
