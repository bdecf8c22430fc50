import Foundation
import Testing

/// `switchyard run --budget-usd` on a real batch against a real replay backend that bills 30 % more than
/// the data recorded: the score stage learns the actual/estimate ratio from settled spend and the batch
/// lands within its budget (up to the requests in flight), with estimated and actual spend in the summary.
/// In stage mode the actual costs come back to the score process over the spend feed.
@Suite("end to end: batch budgets with real spend", .serialized)
struct BudgetEndToEndTests {
    static let lines = 600
    static let concurrency = 8

    /// Three models, most expensive first (`first` prefers it), on one backend.
    static func configuration(_ harness: SwitchyardHarness, port: Int, coordinatorPort: Int, spendFeedPort: Int) throws -> URL {
        var yaml = """
            coordinator: {endpoint: "tcp://127.0.0.1:\(coordinatorPort)", journal: ./run/journal, lease_seconds: 20}
            stages: {profile: {workers: 1, batch: 32}, score: {workers: 1}, dispatch: {workers: 1, concurrency: \(concurrency)}}
            profiler: {embedder: hashed, dimension: 64}
            router: {strategy: first, spend_feed: "tcp://127.0.0.1:\(spendFeedPort)"}
            models:

            """
        for (name, input, output) in [("gpt-4o-2024-08-06", 2.5, 10.0), ("gpt-4o-mini-2024-07-18", 0.15, 0.6), ("gemini-1.5-flash", 0.075, 0.3)] {
            yaml += """
                  - name: \(name)
                    backend: {url: "http://127.0.0.1:\(port)/v1"}
                    price: {input_usd_per_mtok: \(input), output_usd_per_mtok: \(output)}
                    limits: {concurrency: 64}

                """
        }
        let url = harness.directory.appendingPathComponent("pipeline-budget.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test(arguments: [SwitchyardHarness.Mode.oneProcess, .processes])
    func budgetedBatchLandsWithinItsBudget(mode: SwitchyardHarness.Mode) async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (backend, port) = try await harness.startReplayBackend("replay-1.3x", extra: ["--cost-multiplier", "1.3"])
        defer { backend.stop() }
        let configuration = try Self.configuration(
            harness, port: port, coordinatorPort: try SwitchyardHarness.freePort(), spendFeedPort: try SwitchyardHarness.freePort())
        let (input, malformed) = try harness.writeInput(count: Self.lines, malformedEvery: 1_000_000)
        #expect(malformed == 0)
        let output = harness.directory.appendingPathComponent("out")
        // About a fifth of what sending everything to the first (priciest) model would cost.
        let budget = 0.25

        switch mode {
        case .oneProcess:
            let run = try harness.start("run", [
                "run", configuration.path, "--input", input.path, "--output", output.path, "--budget-usd", "\(budget)",
                "--log-level", "info", "--no-progress",
            ])
            let status = try await run.wait(timeout: 240)
            #expect(status == 0, "switchyard run failed:\n\(run.output.suffix(3000))")
            #expect(run.output.contains("budget=$0.250000"), "no budget in the end-of-run output:\n\(run.output.suffix(2000))")
        case .processes:
            let common = ["--config", configuration.path, "--log-level", "info"]
            let stages = try harness.startStages(
                common: common, input: input, output: output,
                score: ["--budget-usd", "\(budget)", "--expected-lines", "\(Self.lines)"], sink: ["--budget-usd", "\(budget)"])
            defer { stages.stopAll() }
            let (score, sink) = (stages.score, stages.sink)
            let sinkStatus = try await sink.wait(timeout: 240)
            #expect(sinkStatus == 0, "sink failed:\n\(sink.output.suffix(3000))")
            let scoreStatus = try await score.wait(timeout: 60)
            #expect(scoreStatus == 0, "score failed:\n\(score.output.suffix(3000))")
            // The score process settled real spend from the feed (its exit line shows the ledger).
            #expect(score.output.contains("score budget at exit"), "score log:\n\(score.output.suffix(2000))")
            #expect(!score.output.contains("ledger_actual=$0.000000 "), "no actual spend came back over the feed:\n\(score.output.suffix(2000))")
        }

        let result = try SwitchyardHarness.checkInvariant(output: output, inputLines: Self.lines)
        let spend = try #require(result.summary["spend"] as? [String: Any])
        let actual = try #require(spend["actual_usd"] as? Double)
        let estimated = try #require(spend["estimated_usd"] as? Double)
        #expect(spend["budget_usd"] as? Double == budget)
        // Actual spend lands within the budget, up to what the requests in flight at the end cost.
        let maxRequestCost = result.results.compactMap { ($0["routing"] as? [String: Any])?["actual_cost_usd"] as? Double }.max() ?? 0
        #expect(actual <= budget + Double(Self.concurrency) * maxRequestCost, "actual \(actual) over budget \(budget)")
        #expect(actual > budget * 0.5, "the budget was barely used: actual \(actual)")
        #expect(estimated > 0)
        let section = try #require(result.summary["budget"] as? [String: Any])
        #expect(section["budget_usd"] as? Double == budget)
        // Whether lines get downgraded before the budget runs out depends on how settles and decisions
        // interleave (unit-tested in ScoreBudgetTests); here only that the count is reported.
        #expect(section["downgraded"] is Int, "no downgrade count: \(section)")
        #expect(section["budget_exhausted"] is Int)
        let errors = result.errors.compactMap { ($0["error"] as? [String: Any])?["code"] as? String }
        #expect(errors.allSatisfy { $0 == "budget_exhausted" }, "unexpected errors: \(Set(errors))")
        if mode == .oneProcess {
            // The ledger ran in this process: actual spend as settled, nothing left reserved, ratio learned.
            #expect(abs((section["ledger_actual_usd"] as? Double ?? -1) - actual) < 1e-9)
            #expect(section["ledger_reserved_usd"] as? Double == 0)
            #expect(section["final_lambda"] is Double)
        }
        print("budget e2e (\(mode)): budget $\(budget), actual $\(actual), estimated $\(estimated), actual/budget \(actual / budget), budget section \(section)")
    }
}
