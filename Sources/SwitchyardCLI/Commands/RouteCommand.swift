import ArgumentParser
import Embedding
import Foundation
import Logging
import Pipeline
import Routing
import SwitchyardCore

struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Decide a model for every line of a batch, without calling any backend.",
        discussion: """
            Input lines: routing data, OpenAI Batch lines or {"id", "prompt", "max_cost_usd"?}. Writes one \
            decision per input line, same order: {"id", "model", "strategy", "predicted_quality", \
            "estimated_cost_usd", "alternatives"}; a line that cannot be routed becomes \
            {"id", "error": {"code", "message", "line"}} in its place.
            """
    )

    @OptionGroup var artifactOptions: ArtifactOptions

    @Option(help: "Batch to route (JSON Lines).")
    var input: String

    @Option(help: "Where to write the decisions (JSON Lines).")
    var output: String

    @Option(help: "Strategy (default auto: the artifact's best on dev).")
    var strategy: String = "auto"

    @Option(help: "Quality per USD traded against cost (0: best quality; default: the artifact's).")
    var lambda: Double?

    @Option(help: "Batch budget in USD: choose models for the whole batch within it (instead of --lambda).")
    var budgetUSD: Double?

    @Flag(help: "Print why each line went where it did (stderr).")
    var explain = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if lambda != nil && budgetUSD != nil { throw ValidationError("give --lambda or --budget-usd, not both") }
        if let lambda, !(lambda >= 0) { throw ValidationError("--lambda must be >= 0") }
        if let budgetUSD, !(budgetUSD >= 0) { throw ValidationError("--budget-usd must be >= 0") }
    }

    func run() async throws {
        let (logger, _) = logging.bootstrap(label: "switchyard.route")
        let manifest = try artifactOptions.manifest()
        let resolved = strategy == "auto" ? manifest.autoStrategy : strategy
        let artifact = try artifactOptions.load(manifest: manifest, only: [resolved], logger: logger)
        let batch = BatchRouter(profiler: artifact.profiler(), router: try artifact.router(strategy: resolved, lambda: lambda))

        // Lines are read by the pipeline's own parser, so `route` profiles exactly the prompt `run` and
        // `stage` profile for the same line (a pin must name one of the router's models).
        let parser = LineParser(poolModels: Set(batch.router.strategy.models))
        var requests: [RouteRequest] = []
        var slots: [Result<Int, RouteRequest.LineError>] = []
        var lineCount = 0
        for line in try JSONLinesReader(path: input) {
            lineCount = line.number
            switch parser.parse(line.bytes, requestID: RequestID(fileDigest: "route", line: line.number)) {
            case .success(let request):
                slots.append(.success(requests.count))
                requests.append(RouteRequest(id: request.customID, prompt: request.prompt, maxCostUSD: request.maxCostUSD,
                                             pinnedModel: request.pinnedModel))
            case .failure(let rejection):
                slots.append(.failure(.init(id: rejection.customID, code: rejection.code, message: rejection.message)))
            }
        }
        let outcomes = try batch.route(requests, budgetUSD: budgetUSD, explain: explain)
        let writer = try JSONLinesWriter(path: output)
        var routed = 0, failed = 0, cost = 0.0
        for (index, slot) in slots.enumerated() {
            let lineNumber = index + 1
            let result: Result<RoutingDecision, RouteRequest.LineError>
            var explanation: String? = nil
            switch slot {
            case .success(let r):
                result = outcomes[r].result
                explanation = outcomes[r].explanation
            case .failure(let error):
                result = .failure(error)
            }
            switch result {
            case .success(let decision):
                try writer.write(decision)
                routed += 1
                cost += decision.estimatedCostUSD
                if explain { Self.explain(decision, detail: explanation) }
            case .failure(let error):
                try writer.write(ErrorLine(id: error.id, error: .init(code: error.code, message: error.message, line: lineNumber)))
                failed += 1
                if explain { FileHandle.standardError.write(Data("\(error.id ?? "line \(lineNumber)"): \(error.code.rawValue): \(error.message)\n".utf8)) }
            }
        }
        writer.flush()
        let summary = "routed \(routed) of \(lineCount) lines with \(resolved) (errors: \(failed)); estimated cost \(String(format: "%.6f", cost)) USD\n"
        FileHandle.standardError.write(Data(summary.utf8))
    }

    static func explain(_ decision: RoutingDecision, detail: String?) {
        var text = "\(decision.id) -> \(decision.model) (q \(String(format: "%.3f", decision.predictedQuality)), $\(String(format: "%.7f", decision.estimatedCostUSD)))"
        let next = decision.alternatives.prefix(2).map { "\($0.model) (q \(String(format: "%.3f", $0.predictedQuality)), $\(String(format: "%.7f", $0.estimatedCostUSD)))" }
        if !next.isEmpty { text += "; next: " + next.joined(separator: ", ") }
        if let detail { text += "; " + detail }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    struct ErrorLine: Encodable {
        var id: String?
        var error: Detail
        struct Detail: Encodable {
            var code: ErrorCode
            var message: String
            var line: Int
        }
    }
}
