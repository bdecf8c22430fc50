import Backends
import Foundation
import Logging
import Payloads
import Pipeline
import SwitchyardCore
import Testing
import ZeroMQ

/// Answers every request from memory: the first candidate fails when it is `failing`, so fallbacks show.
struct RecordingSender: RequestSender {
    var failing: Set<String> = []
    /// USD billed per answering model (default 0.001 for any model).
    var costs: [String: Double] = [:]

    func send(_ request: DispatchRequest) async -> DispatchOutcome {
        var outcome = DispatchOutcome(requestID: request.requestID)
        var fallbacks: [Fallback] = []
        for model in request.candidates {
            if failing.contains(model) {
                outcome.attempts.append(AttemptRecord(model: model, statusCode: 503, latencySeconds: 0.001, result: "unavailable"))
                fallbacks.append(Fallback(model: model, reason: "503"))
                continue
            }
            outcome.attempts.append(AttemptRecord(model: model, statusCode: 200, latencySeconds: 0.001, result: "ok"))
            outcome.model = model
            outcome.statusCode = 200
            outcome.responseBody = Data(#"{"choices": [{"message": {"role": "assistant", "content": "ok"}}]}"#.utf8)
            outcome.usage = TokenUsage(promptTokens: 10, completionTokens: 5)
            outcome.actualCostUSD = costs[model] ?? 0.001
            outcome.fallbacks = fallbacks
            return outcome
        }
        outcome.fallbacks = fallbacks
        outcome.error = DispatchError(code: .backendUnavailable, message: "every candidate failed")
        return outcome
    }
}

@Suite("one-process pipeline: every stage over ZeroMQ inproc")
struct LocalPipelineTests {
    static let yaml = """
        coordinator: {endpoint: "inproc://switchyard-test", journal: null}
        stages: {profile: {workers: 2, batch: 8}, score: {workers: 1}, dispatch: {workers: 1, concurrency: 8}}
        profiler: {embedder: hashed, dimension: 64}
        router: {strategy: cheapest}
        models:
          - name: tiny
            price: {input_usd_per_mtok: 0.1, output_usd_per_mtok: 0.1}
          - name: small
            price: {input_usd_per_mtok: 0.2, output_usd_per_mtok: 0.4}
          - name: large
            price: {input_usd_per_mtok: 5, output_usd_per_mtok: 15}
        """

    static func input(in directory: URL, count: Int) throws -> (URL, Int) {
        var text = ""
        var malformed = 0
        for index in 1...count {
            if index % 10 == 0 {
                text += "{broken\n"
                malformed += 1
            } else if index % 2 == 0 {
                text += #"{"id": "p\#(index)", "prompt": "Question number \#(index): what is \#(index) squared?"}"# + "\n"
            } else {
                let model = index % 3 == 0 ? "large" : "auto"
                text += #"{"custom_id": "b\#(index)", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "\#(model)", "messages": [{"role": "user", "content": "Say \#(index)"}]}}"# + "\n"
            }
        }
        let url = directory.appendingPathComponent("input.jsonl")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return (url, malformed)
    }

    static func records(_ path: URL) throws -> [OutputRecord] {
        guard FileManager.default.fileExists(atPath: path.path) else { return [] }
        return try JSONLinesReader(path: path.path).map { try JSONDecoder().decode(OutputRecord.self, from: $0.bytes) }
    }

    static func components(_ configuration: PipelineConfiguration, sender: (any RequestSender)?, budget: Double? = nil) throws -> PipelineComponents {
        var components = try PipelineComponents.make(configuration: configuration, dryRun: true, budgetUSD: budget, logger: Logger(label: "test"))
        components.dispatch = DispatchStage(sender: sender, settler: components.score.budget)
        return components
    }

    @Test func oneProcessRunKeepsTheInvariantAndFallsBack() async throws {
        let directory = try TemporaryDirectory()
        let configuration = try PipelineConfiguration.parse(yaml: Self.yaml)
        let (input, malformed) = try Self.input(in: directory.url, count: 500)
        let output = directory.url.appendingPathComponent("out")
        let pipeline = LocalPipeline(
            configuration: configuration,
            components: try Self.components(configuration, sender: RecordingSender(failing: ["tiny"])),
            options: RunOptions(input: input.path, outputDirectory: output.path, ordered: true, window: 64))
        let summary = try await pipeline.run(logger: Logger(label: "test"))
        #expect(summary.results + summary.errors == 500)
        #expect(summary.errors == malformed)
        let results = try Self.records(output.appendingPathComponent("results.jsonl"))
        #expect(results.map(\.line) == results.map(\.line).sorted())
        #expect(Set(results.map(\.id)).count == results.count)
        let routed = results.compactMap(\.routing)
        #expect(routed.allSatisfy { $0.model != "tiny" })
        #expect(routed.contains { $0.fallbacks == ["tiny"] && $0.model == "small" })
        #expect(results.filter { $0.customID.map { id in id.hasPrefix("b") && (Int(id.dropFirst()) ?? 0) % 3 == 0 } ?? false }
            .allSatisfy { $0.routing?.model == "large" })
        #expect(summary.spend.actualUSD > 0)
        #expect(summary.latencyMS.samples == summary.results)

        // Rerun into the same directory: everything is already there, nothing is written twice.
        let again = try await pipeline.run(logger: Logger(label: "test"))
        #expect(again.resumedRecords == 500)
        let all = try Self.records(output.appendingPathComponent("results.jsonl")) + Self.records(output.appendingPathComponent("errors.jsonl"))
        #expect(all.count == 500)
    }

    @Test func budgetExhaustionBecomesErrorRecords() async throws {
        let directory = try TemporaryDirectory()
        let configuration = try PipelineConfiguration.parse(yaml: Self.yaml)
        let (input, malformed) = try Self.input(in: directory.url, count: 200)
        let output = directory.url.appendingPathComponent("out")
        let pipeline = LocalPipeline(
            configuration: configuration,
            components: try Self.components(configuration, sender: RecordingSender(), budget: 0.0002),
            options: RunOptions(input: input.path, outputDirectory: output.path, budgetUSD: 0.0002))
        let summary = try await pipeline.run(logger: Logger(label: "test"))
        #expect(summary.results + summary.errors == 200)
        let exhausted = summary.errorsByCode["budget_exhausted"] ?? 0
        #expect(exhausted > 0)
        #expect(summary.errors == malformed + exhausted + (summary.errorsByCode["over_cost_cap"] ?? 0))
        #expect(summary.spend.estimatedUSD <= 0.0002 + 1e-12)
    }

    @Test func budgetedRunSettlesActualSpendAndReportsIt() async throws {
        let directory = try TemporaryDirectory()
        let configuration = try PipelineConfiguration.parse(yaml: Self.yaml)
        let (input, _) = try Self.input(in: directory.url, count: 200)
        let output = directory.url.appendingPathComponent("out")
        // Answers bill about 1.3 × the estimates: the ledger learns the ratio from settles.
        var components = try PipelineComponents.make(
            configuration: configuration, dryRun: true, budgetUSD: 0.02, expectedLines: 200, logger: Logger(label: "test"))
        components.dispatch = DispatchStage(sender: RecordingSender(costs: ["tiny": 3.5e-5, "small": 1.4e-4, "large": 5.1e-3]),
                                            settler: components.score.budget)
        let pipeline = LocalPipeline(configuration: configuration, components: components,
                                     options: RunOptions(input: input.path, outputDirectory: output.path, budgetUSD: 0.02))
        let summary = try await pipeline.run(logger: Logger(label: "test"))
        #expect(summary.results + summary.errors == 200)
        let budget = try #require(summary.budget)
        #expect(budget.budgetUSD == 0.02)
        #expect(budget.budgetExhausted == summary.errorsByCode["budget_exhausted"] ?? 0)
        #expect(budget.budgetExhausted > 0)
        #expect(budget.ledgerActualUSD == summary.spend.actualUSD || abs((budget.ledgerActualUSD ?? 0) - summary.spend.actualUSD) < 1e-9)
        #expect(budget.ledgerReservedUSD == 0)
        #expect(budget.inFlight == 0)
        // Pacing keeps reservations in flight under 25 % of the unspent budget, so bills 30 % above the
        // estimates overspend by at most 0.3 × 25 % of the budget, and less once the ratio is learned.
        #expect(summary.spend.actualUSD <= 0.02 * (1 + 0.3 * 0.25))
        #expect(summary.spend.actualUSD >= 0.02 * 0.5)
        #expect((budget.costRatio ?? 0) > 1.1)
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("summary.json"))) as? [String: Any]
        let section = try #require(saved?["budget"] as? [String: Any])
        #expect(section["ledger_actual_usd"] is Double)
        #expect(section["budget_exhausted"] as? Int == budget.budgetExhausted)
    }
}
