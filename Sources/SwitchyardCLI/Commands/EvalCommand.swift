import ArgumentParser
import Evaluation
import Foundation
import Logging
import Routing
import SwitchyardCore

/// `switchyard eval`: every strategy of an artifact against the references on a routing-data split.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Trace cost-quality curves of every strategy on routing data; write a report, metrics and a plot.",
        discussion: """
            Loads the artifact of `switchyard profile build`, featurises the data with the artifact's profiler,
            sweeps λ for every strategy (argmax predicted quality − λ·estimated cost; realised quality and cost
            come from the data's recorded outcomes and costs), spends batch budgets with the BudgetAllocator,
            and writes DIR/report.md, DIR/metrics.json and DIR/cost_quality.svg (metric definitions:
            Sources/Evaluation/METRICS.md).
            """
    )

    @Option(help: "Artifact directory written by `switchyard profile build`.")
    var profiles: String

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

    @Option(help: "MiniLM model directory (when the artifact's featurizer uses MiniLM).")
    var minilmDir: String = ".models/all-MiniLM-L6-v2"

    func validate() throws {
        let fractions = budgets.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        if fractions.contains(where: { $0 == nil || !($0! > 0) }) {
            throw ValidationError("--budgets must be positive fractions separated by commas, e.g. 0.1,0.25,0.5,1.0")
        }
    }

    func run() async throws {
        let logger = Logger(label: "switchyard.eval", factory: { label in StreamLogHandler.standardError(label: label) })
        let directory = URL(fileURLWithPath: profiles)
        let manifest = try RouterManifest.load(from: directory)
        let wanted = strategies.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        let embedders = try CLIEmbedders.load(
            names: Set([manifest.featurizer.embedder].compactMap { $0 }), minilmDir: minilmDir, logger: logger)
        let artifact = try RouterArtifact.load(
            from: directory, embedder: manifest.featurizer.embedder.flatMap { embedders[$0] }, only: wanted)
        if let wanted, let missing = wanted.subtracting(artifact.strategies.keys).first {
            throw ValidationError("strategy '\(missing)' is not in \(profiles); available: \(artifact.strategies.keys.sorted().joined(separator: ", "))")
        }
        let dataset = try RoutingDataset.load(path: data)
        let pool = manifest.models.filter { dataset.models.contains($0) }
        guard !pool.isEmpty else {
            throw ValidationError("the data at \(data) has none of the artifact's models (\(manifest.models.joined(separator: ", "))): evaluate on data of the same pool")
        }
        let tables = try EvaluationTables(dataset: dataset, models: pool)
        logger.info("profiling prompts", metadata: ["prompts": "\(tables.count)", "models": "\(pool.count)"])

        let profiler = artifact.profiler()
        var features: [QueryFeatures] = []
        let prompts = dataset.records.map(\.prompt)
        for start in stride(from: 0, to: prompts.count, by: 256) {
            features += try profiler.profile(Array(prompts[start..<min(start + 256, prompts.count)])).map(QueryFeatures.init)
        }

        // Estimated cost per (prompt, pool model) from the artifact's cost model, as the Router estimates it.
        let m = pool.count
        let costColumns = pool.map { artifact.costModel.index(of: $0) }
        var estimated = [Double](repeating: 0, count: tables.count * m)
        for (i, f) in features.enumerated() {
            let all = artifact.costModel.estimate(inputTokens: f.inputTokens, group: nil)
            for j in 0..<m { estimated[i * m + j] = costColumns[j].map { all[$0] } ?? 1e6 }
        }
        var predictions: [StrategyPredictions] = []
        for strategyName in artifact.strategies.keys.sorted() {
            guard let strategy = artifact.strategies[strategyName] else { continue }
            let columns = pool.map { strategy.models.firstIndex(of: $0) }
            let rows = strategy.predictQuality(batch: features)
            var predicted = [Double](repeating: -1e6, count: tables.count * m)  // an unscored model is never chosen
            for (i, row) in rows.enumerated() {
                for j in 0..<m { if let k = columns[j], k < row.count { predicted[i * m + j] = row[k] } }
            }
            predictions.append(StrategyPredictions(name: strategyName, predicted: predicted, estimated: estimated))
        }
        let fractions = budgets.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let evaluator = Evaluator(configuration: .init(budgetFractions: fractions))
        let label = name ?? URL(fileURLWithPath: data).deletingPathExtension().pathComponents.suffix(2).joined(separator: "/")
        let report = try evaluator.evaluate(tables, strategies: predictions, dataset: label)
        let paths = try EvaluationOutput.write(report, to: out)
        print(MarkdownReport.headline(report).replacingOccurrences(of: "**", with: ""))
        if let best = report.bestStrategy, !best.budgets.isEmpty {
            let cells = best.budgets.map { String(format: "%.0f%%: %.4f", $0.fraction * 100, $0.quality) }
            print("quality at budget (\(best.name), fraction of the best single model's cost): " + cells.joined(separator: ", "))
        }
        print("report: \(paths.report)")
        print("metrics: \(paths.metrics)")
        print("plot: \(paths.plot)")
    }
}
